# Mask R-CNN, HorNet-S (7x7), HorFPN with global-filter g^nConv blocks, 1x.
# The (32, 17) filters are the official neck's; they are resized to each
# pyramid level's FFT grid at run time.
_base_ = ['./mask-rcnn_hornet-s_horfpn_1x_coco.py']

model = dict(
    neck=dict(
        gnconv_cfg=dict(mixer_cfg=dict(_delete_=True, type='GF', h=32, w=17))))
