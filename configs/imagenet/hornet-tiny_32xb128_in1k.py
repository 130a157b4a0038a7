# HorNet-T (7x7) on ImageNet-1K, the official recipe (Rao et al., HorNet,
# NeurIPS 2022; github.com/raoyongming/HorNet; results: metafile.yml).
# Evaluates mmpretrain's hornet-tiny_3rdparty_in1k weights through load_from
# as is.
_base_ = [
    'mmpretrain::_base_/models/hornet/hornet-tiny.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    '../_base_/schedules/imagenet_bs4096_adamw_hornet.py',
    'mmpretrain::_base_/default_runtime.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(type='mmhornet.HorNet', arch='tiny', drop_path_rate=0.2),
    head=dict(in_channels=512))

# NOTE: 32 GPUs x 128 images = 4096, the batch of the lr.
train_dataloader = dict(batch_size=128)

optim_wrapper = dict(clip_grad=dict(max_norm=100.0))

# EMA decay 0.9999 (mmengine's momentum is 1 - decay).
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
