# Mask R-CNN, HorNet-S (7x7), plain FPN, 1x with DETR-style augmentation:
# the baseline of the HorFPN study (Rao et al., HorNet, NeurIPS 2022,
# Table 5). mask-rcnn_hornet-s_horfpn*_1x_coco.py swap the neck.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_instance_detr-aug.py',
    '../_base_/schedules/adamw-lrd_1x_coco.py',
    'mmdet::_base_/default_runtime.py', '../_base_/default_runtime.py'
]

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-small_3rdparty_in1k_20220915-5935f60f.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhornet.HorNet',
        arch='small',
        drop_path_rate=0.6,
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[96, 192, 384, 768]))

# NOTE: lr 1e-4 is for 16 images per iteration. The official configs set
# num_layers=6 with layer-wise decay 0.95, but HorNet's layer ids run to 12
# (13 for the neck and heads), so decay ** (num_layers + 1 - id) gave stage 3
# and the late stage-2 blocks lr scales up to 1.29: faster than the heads.
# mmhornet keeps num_layers=6 (the official scales for the stem and early
# stages) and its constructor caps every scale at 1, so those layers train at
# the base lr, never above it.
optim_wrapper = dict(
    optimizer=dict(lr=1e-4),
    paramwise_cfg=dict(decay_rate=0.95, decay_type='layer_wise', num_layers=6))
