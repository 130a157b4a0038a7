# mmdet's Faster R-CNN R-50 1x with HorFPN in place of its FPN: the FPN's
# 3x3 output convs become order-2 g^nConv blocks with a 7x7 depthwise mixer
# (the HorNet paper's HorFPN); the neck's other settings, the backbone, heads,
# data and schedule are mmdet's config unchanged.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/default_runtime.py'
]
model = dict(
    neck=dict(
        type='HorFPN',
        gnconv_cfg=dict(
            order=2,
            mixer_cfg=dict(type='DW', kernel_size=7),
            scale=1.0,
            proj_out=True)))
