# UPerNet with HorNet-L (7x7) on ADE20K at 640x640 (results: metafile.yml),
# from the official ImageNet-22K weights. mmpretrain publishes no HorNet-L,
# so download hornet_large_7x7 from github.com/raoyongming/HorNet
# (https://cloud.tsinghua.edu.cn/f/4de41e26cb254c28a61a/?dl=1) into
# pretrained/; mmhornet converts the official keys on loading.
_base_ = [
    '../_base_/models/upernet_hornet.py',
    'mmseg::_base_/datasets/ade20k_640x640.py',
    'mmseg::_base_/default_runtime.py', '../_base_/default_runtime.py',
    '../_base_/schedules/upernet_hornet_adamw_160k.py'
]
crop_size = (640, 640)
data_preprocessor = dict(size=crop_size)
checkpoint = 'pretrained/hornet_large_7x7_in22k.pth'
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        arch='large',
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(426, 426)))

optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8))

# NOTE: 8 GPUs x 2 images; the lr is set for this total of 16.
train_dataloader = dict(batch_size=2)
