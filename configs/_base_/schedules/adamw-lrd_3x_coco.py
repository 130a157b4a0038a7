# AdamW with layer-wise lr decay on a 3x schedule: 36 epochs, lr x0.1 at
# epochs 27 and 33, linear warm-up over the first 500 iterations.
_base_ = ['./adamw-lrd_1x_coco.py']

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[27, 33],
        gamma=0.1)
]
optim_wrapper = dict(
    paramwise_cfg=dict(decay_rate=0.7), optimizer=dict(lr=2e-4))
