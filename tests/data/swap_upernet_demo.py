# The mmseg twin of swap_retinanet_demo.py: mmseg's UPerNet R-50 on ADE20K
# with HorNet as the backbone, run with mmseg's own tools. This one also
# selects mmhornet's runner, the one line that brings it to a host's config.
# Shrunk for a CPU test on the small demo data: a small HorNet, narrow heads,
# 128 px images without random augmentation, no dropout, 8 iterations.
_base_ = ['mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py']
custom_imports = dict(
    imports=['mmhornet', 'toy_modules'], allow_failed_imports=False)
runner_type = 'mmhornet.MMHornetRunner'

size = (128, 128)
model = dict(
    data_preprocessor=dict(size=size),
    pretrained=None,
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
    decode_head=dict(
        in_channels=[16, 32, 64, 128],
        channels=32,
        dropout_ratio=0.,
        num_classes=7),
    auxiliary_head=dict(
        in_channels=64, channels=16, dropout_ratio=0., num_classes=7))

data_root = 'data/demo/ade/'
dataset = dict(
    _delete_=True,
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(
        classes=('background', 'disk', 'rectangle', 'triangle', 'star', 'ring',
                 'cross')),
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='Resize', scale=size, keep_ratio=False),
    dict(type='PackSegInputs')
]
test_pipeline = [  # mmseg scores predictions at the original size
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=size, keep_ratio=False),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        dataset,
        data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        dataset,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=8, val_interval=100)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=4))
custom_hooks = [dict(type='ToyRecordHook')]
randomness = dict(seed=0, deterministic=True)
