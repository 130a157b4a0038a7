# HorNet-S (GF) on ImageNet-1K (results: metafile.yml), with RandAugment
# magnitude 12 (timm rand-m12-mstd0.5-inc1) instead of 9.
_base_ = ['./hornet-small_32xb128_in1k.py']
model = dict(backbone=dict(arch='small-gf'))
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))

# mmengine cannot override one entry of a list, so the pipeline is restated:
# mmpretrain's imagenet_bs64_swin_224 train pipeline with magnitude_level 12.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=12,
        magnitude_std=0.5,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=[103.53, 116.28, 123.675],
        fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
