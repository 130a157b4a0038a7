# The user story "swap HorNet into my mmdet config and run it with mmdet's own
# tools": mmdet's RetinaNet R-50 1x with its backbone replaced, and nothing of
# mmhornet but custom_imports. Shrunk for a CPU test on the small demo data
# (tests/test_engine/test_any_launcher.py sets data_root): a small HorNet,
# narrow heads, 128 px images without random augmentation (so that a resumed
# run can equal an uninterrupted one), two epochs.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']
custom_imports = dict(
    imports=['mmhornet', 'toy_modules'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhornet.HorNet',
        arch=dict(
            base_dim=16,
            depths=[1, 1, 1, 1],
            orders=[2, 2, 2, 2],
            dw_cfg=[dict(type='DW', kernel_size=7)] * 4),
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(
        num_classes=6, in_channels=32, feat_channels=32, stacked_convs=1))

data_root = 'data/demo/coco/'
metainfo = dict(
    classes=('disk', 'rectangle', 'triangle', 'star', 'ring', 'cross'))
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=False),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=2, val_interval=100)
default_hooks = dict(logger=dict(interval=1))
custom_hooks = [dict(type='ToyRecordHook')]
randomness = dict(seed=0, deterministic=True)
