# Cascade Mask R-CNN, HorNet-S (GF), FPN, 3x (results: metafile.yml).
_base_ = ['./cascade-mask-rcnn_hornet-s_fpn_3x_coco.py']

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-small-gf_3rdparty_in1k_20220915-649ca492.pth'  # noqa

model = dict(
    backbone=dict(
        arch='small-gf',
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
