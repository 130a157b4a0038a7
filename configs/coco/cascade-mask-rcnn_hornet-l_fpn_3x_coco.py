# Cascade Mask R-CNN, HorNet-L (7x7) pre-trained on ImageNet-22K, FPN, 3x
# (results: metafile.yml).
_base_ = ['./cascade-mask-rcnn_hornet-t_fpn_3x_coco.py']

# mmpretrain publishes no HorNet-L weights. Download the official
# ImageNet-22K release (github.com/raoyongming/HorNet, HorNet-L (7x7):
# https://cloud.tsinghua.edu.cn/f/4de41e26cb254c28a61a/?dl=1) to this path;
# mmhornet's loader converts it when training starts. (That URL has no file
# name, so mmengine's URL loader cannot cache it: hence a local path.)
checkpoint = 'pretrained/hornet_large_7x7_in22k.pth'

model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.7,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[192, 384, 768, 1536]))

# NOTE: lr 1e-4 for 16 images per iteration, half the T / S / B lr.
optim_wrapper = dict(optimizer=dict(lr=1e-4))
