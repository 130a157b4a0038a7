# Mask R-CNN, HorNet-S (7x7), HorFPN with 7x7 depthwise g^nConv blocks
# (order 2) in place of the FPN's 3x3 output convs, 1x.
_base_ = ['./mask-rcnn_hornet-s_fpn_1x_coco.py']

model = dict(
    neck=dict(
        type='HorFPN',
        gnconv_cfg=dict(
            order=2,
            mixer_cfg=dict(type='DW', kernel_size=7),
            scale=1.0,
            proj_out=True)))
