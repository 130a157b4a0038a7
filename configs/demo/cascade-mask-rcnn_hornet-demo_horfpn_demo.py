# The demo detector: the real Cascade Mask R-CNN HorNet config
# (configs/coco/cascade-mask-rcnn_hornet-t-gf_fpn_3x_coco.py) with the paper's
# g^nConv FPN, overridden only where a 15-minute CPU run on the demo data must:
# the data, a small HorNet trained from scratch, narrow heads, BN instead of
# SyncBN, small images, and an iteration schedule. `python tools/demo.py` runs
# it (data: tools/misc/make_demo_data.py).
_base_ = [
    '../coco/cascade-mask-rcnn_hornet-t-gf_fpn_3x_coco.py',
    './_base_/demo_scenes.py'
]

data_root = 'data/demo/coco/'
metainfo = dict(classes=_base_.classes, palette=_base_.palette)
num_classes = len(_base_.classes)
# keep_ratio=False below: every image becomes 384x384, so batches need no
# zero padding. Padding is constant zero input, where HorNet's LayerNorms see
# zero variance at a from-scratch init (all biases 0) and multiply gradients by
# 1/sqrt(eps) = 1000 each: the gradient norm reached 3e10 at the stem.
image_scale = (384, 384)
width = 64  # neck / head channels (the paper's: 256)

model = dict(
    backbone=dict(
        # GF filters sized for the stage maps of a 384 px image.
        arch=dict(
            _delete_=True,
            **_base_.demo_arch,
            dw_cfg=[
                dict(type='DW', kernel_size=7),
                dict(type='DW', kernel_size=7),
                dict(type='GF', h=24, w=13),
                dict(type='GF', h=12, w=7)
            ]),
        drop_path_rate=0.1,
        init_cfg=None),
    neck=dict(
        _delete_=True,
        type='HorFPN',
        in_channels=[32, 64, 128, 256],
        out_channels=width,
        num_outs=5,
        gnconv_cfg=dict(order=2, mixer_cfg=dict(type='DW', kernel_size=7))),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        # Lists replace, not merge: update the base's three stage heads
        # (GIoU loss and all), with 2 fcs instead of 4 convs + 1 fc: the
        # convs over every RoI are most of a CPU iteration.
        bbox_head=[
            dict(
                head,
                num_shared_convs=0,
                num_shared_fcs=2,
                in_channels=width,
                fc_out_channels=256,
                num_classes=num_classes,
                norm_cfg=_base_.demo_norm_cfg)
            for head in _base_.model.roi_head.bbox_head
        ],
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(
            num_convs=2,
            in_channels=width,
            conv_out_channels=width,
            num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=[
            dict(stage, sampler=dict(stage.sampler, num=128))
            for stage in _base_.model.train_cfg.rcnn
        ]),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'annotations/instances_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator

# From scratch on one CPU: a higher lr than the fine-tuning recipe's 2e-4,
# no layer-wise decay (nothing pretrained to protect), cosine to the end.
max_iters = 300
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(decay_rate=1.0),
    clip_grad=dict(max_norm=10.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=50,
        end=max_iters,
        eta_min=1e-5)
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(
    # Metrics at the iteration they were measured (the curve's x axis).
    logger=dict(interval=20, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    visualization=dict(draw=True, interval=2))
log_processor = dict(by_epoch=False)
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
