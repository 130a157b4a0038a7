# Cascade Mask R-CNN, HorNet-S (7x7), FPN, 3x (results: metafile.yml).
_base_ = ['./cascade-mask-rcnn_hornet-t_fpn_3x_coco.py']

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-small_3rdparty_in1k_20220915-5935f60f.pth'  # noqa

model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.6,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[96, 192, 384, 768]))
