# Swap the backbone of an unmodified mmdet config for HorNet: mmdet's Mask
# R-CNN R-50 1x, everything but the backbone (and the neck's input widths)
# left as it is. It runs with mmdet's own tools too.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']
custom_imports = dict(imports=['mmhornet'], allow_failed_imports=False)
# Optional: mmhornet's runner (gloo and bfloat16 --amp without CUDA, atomic
# checkpoints, validated auto-resume, checked test checkpoints, clean exit).
runner_type = 'mmhornet.MMHornetRunner'

checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-tiny_3rdparty_in1k_20220915-0e8eedff.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmhornet.HorNet',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
