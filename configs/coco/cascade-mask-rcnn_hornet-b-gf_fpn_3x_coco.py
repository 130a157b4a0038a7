# Cascade Mask R-CNN, HorNet-B (GF), FPN, 3x (results: metafile.yml).
_base_ = ['./cascade-mask-rcnn_hornet-b_fpn_3x_coco.py']

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-base-gf_3rdparty_in1k_20220915-82c06fa7.pth'  # noqa

model = dict(
    backbone=dict(
        arch='base-gf',
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
