# An mmengine-only training config for the tools tests (see toy_modules.py):
# 40 iterations of a two-layer regressor, a checkpoint every 10, seeded and
# deterministic on the CPU.
default_scope = 'mmengine'
custom_imports = dict(imports=['toy_modules'], allow_failed_imports=False)

model = dict(type='ToyRegressor', in_dim=8, hidden=16, out_dim=2, norm=None)

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyRegressionDataset', num=64))
test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyRegressionDataset', num=64))
test_evaluator = dict(type='ToyMSEMetric')
test_cfg = dict(type='TestLoop')

train_cfg = dict(type='IterBasedTrainLoop', max_iters=40, val_interval=1000)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(
        type='MultiStepLR',
        milestones=[25],
        gamma=0.1,
        by_epoch=False,
        begin=0,
        end=40),
]
auto_scale_lr = dict(enable=False, base_batch_size=4)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10),
)
custom_hooks = [dict(type='ToyRecordHook', hang_at_iter=None)]
log_processor = dict(by_epoch=False, window_size=1)

env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0, deterministic=True)
log_level = 'INFO'
load_from = None
resume = False
