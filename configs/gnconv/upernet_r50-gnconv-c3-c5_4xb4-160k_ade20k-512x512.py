# mmseg's UPerNet R-50 (ResNetV1c) 160k ADE20K with the g^nConv plugin in
# stages c3-c5, as mask-rcnn_r50-gnconv-c3-c5_fpn_1x_coco.py does for mmdet;
# everything else mmseg's.
_base_ = [
    'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py',
    '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(
                type='mmhornet.GnConvPlugin',
                order=3,
                mixer_cfg=dict(type='DW', kernel_size=7)),
            stages=(False, True, True, True),
            position='after_conv2')
    ]))
