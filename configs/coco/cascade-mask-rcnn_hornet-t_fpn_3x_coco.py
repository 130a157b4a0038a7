# Cascade Mask R-CNN, HorNet-T (7x7), FPN, 3x schedule with DETR-style
# multi-scale / crop augmentation (Rao et al., HorNet, NeurIPS 2022, Table 3:
# 51.7 box AP / 44.8 mask AP). The other cascade configs override this one.
custom_imports = dict(imports=['mmhornet'], allow_failed_imports=False)
_base_ = [
    '../_base_/models/cascade-mask-rcnn_hornet_fpn.py',
    '../_base_/datasets/coco_instance_detr-aug.py',
    '../_base_/schedules/adamw-lrd_3x_coco.py',
    'mmdet::_base_/default_runtime.py'
]

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-tiny_3rdparty_in1k_20220915-0e8eedff.pth'  # noqa

model = dict(
    backbone=dict(
        arch='tiny',
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))

# NOTE: lr 2e-4 (see the schedule) is for 16 images per iteration; layer-wise
# decay 0.7 over HorNet's 12 layer ids as in the official recipe.
optim_wrapper = dict(
    optimizer=dict(lr=2e-4),
    paramwise_cfg=dict(decay_rate=0.7, decay_type='layer_wise', num_layers=12))
