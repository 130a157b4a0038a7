# Cascade Mask R-CNN, HorNet-T (GF), FPN, 3x (results: metafile.yml). The
# global filters are sized for 224x224 ImageNet inputs and are resized to each
# feature map at run time.
_base_ = ['./cascade-mask-rcnn_hornet-t_fpn_3x_coco.py']

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-tiny-gf_3rdparty_in1k_20220915-4c35a66b.pth'  # noqa

model = dict(
    backbone=dict(
        arch='tiny-gf',
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
