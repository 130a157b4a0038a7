# Cascade Mask R-CNN, HorNet-B (7x7), FPN, 3x (results: metafile.yml).
_base_ = ['./cascade-mask-rcnn_hornet-t_fpn_3x_coco.py']

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-base_3rdparty_in1k_20220915-a06176bb.pth'  # noqa

model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.7,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[128, 256, 512, 1024]))

# NOTE: the official HorNet-B recipe decays slower (0.8) than T / S / L.
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8))
