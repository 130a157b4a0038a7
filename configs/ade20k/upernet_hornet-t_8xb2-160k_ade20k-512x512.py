# UPerNet with HorNet-T (7x7) on ADE20K, the official recipe (Rao et al.,
# HorNet, NeurIPS 2022; github.com/raoyongming/HorNet; results:
# metafile.yml).
_base_ = [
    '../_base_/models/upernet_hornet.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', '../_base_/default_runtime.py',
    '../_base_/schedules/upernet_hornet_adamw_160k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-tiny_3rdparty_in1k_20220915-0e8eedff.pth'  # noqa
# The base model is HorNet-T (drop path 0.4); this adds its weights and the
# sliding-window test.
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

# Stage-wise lr decay over 6 layer ids for the tiny model (12 for the rest).
optim_wrapper = dict(paramwise_cfg=dict(num_layers=6))

# NOTE: 8 GPUs x 2 images; the lr is set for this total of 16.
train_dataloader = dict(batch_size=2)
