# COCO instance segmentation with the DETR / Sparse R-CNN training
# augmentation of HorNet's (and ConvNeXt's, Swin's) detection recipes:
# flip, then either a multi-scale resize or resize -> random crop ->
# multi-scale resize. Test pipeline: mmdet's (1333x800).
_base_ = ['mmdet::_base_/datasets/coco_instance.py']

multi_scales = [(480, 1333), (512, 1333), (544, 1333), (576, 1333),
                (608, 1333), (640, 1333), (672, 1333), (704, 1333),
                (736, 1333), (768, 1333), (800, 1333)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [
                dict(
                    type='RandomChoiceResize',
                    scales=multi_scales,
                    keep_ratio=True)
            ],
            [
                dict(
                    type='RandomChoiceResize',
                    scales=[(400, 1333), (500, 1333), (600, 1333)],
                    keep_ratio=True),
                dict(
                    type='RandomCrop',
                    crop_type='absolute_range',
                    crop_size=(384, 600),
                    allow_negative_crop=True),
                dict(
                    type='RandomChoiceResize',
                    scales=multi_scales,
                    keep_ratio=True),
            ],
        ]),
    dict(type='PackDetInputs'),
]
# NOTE: 2 images per GPU on 8 GPUs: the learning rates of the HorNet
# schedules are for this total batch of 16.
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
