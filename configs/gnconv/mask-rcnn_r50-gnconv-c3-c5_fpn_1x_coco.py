# mmdet's Mask R-CNN R-50 1x with a g^nConv plugin (order 3, 7x7 depthwise)
# in every Bottleneck of stages c3-c5: the twin of mmdet's GCNet config
# (gcnet/mask-rcnn_r50-gcb-r4-c3-c5_fpn_1x_coco.py), everything else mmdet's.
# The plugin sits after conv2, on the bottleneck width (128 / 256 / 512
# channels), where it costs about what GCNet's r4 ContextBlock after conv3
# does; after conv3 it would work on 4x the channels (see README.md).
# Its last projection starts at zero, so the ImageNet-pretrained R-50 starts
# from exactly its own features.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
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
