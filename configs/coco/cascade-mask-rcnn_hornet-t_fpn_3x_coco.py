# Cascade Mask R-CNN, HorNet-T (7x7), FPN, 3x schedule with DETR-style
# multi-scale / crop augmentation (Rao et al., HorNet, NeurIPS 2022, Table 3;
# results: metafile.yml). The other cascade configs override this one.
_base_ = [
    '../_base_/models/cascade-mask-rcnn_hornet_fpn.py',
    '../_base_/datasets/coco_instance_detr-aug.py',
    '../_base_/schedules/adamw-lrd_3x_coco.py',
    'mmdet::_base_/default_runtime.py', '../_base_/default_runtime.py'
]

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-tiny_3rdparty_in1k_20220915-0e8eedff.pth'  # noqa

model = dict(
    backbone=dict(
        arch='tiny',
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
