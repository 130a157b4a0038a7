# The official HorNet ImageNet-1K schedule (github.com/raoyongming/HorNet,
# after ConvNeXt): AdamW, lr 4e-3 for a batch of 4096, weight decay 0.05
# except on norms, biases and layer scales, 300 epochs with 20 warm-up epochs
# then cosine decay to 1e-6. The variants set gradient clipping.
_base_ = ['mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py']

optim_wrapper = dict(
    # NOTE: lr 4e-3 is for a total batch of 4096 (32 GPUs x 128); see
    # auto_scale_lr.
    optimizer=dict(lr=4e-3),
    # Every 1-D parameter (norms, biases, the layer scales gamma1/gamma2) is
    # left undecayed, as the official `ndim == 1 or .bias` rule.
    paramwise_cfg=dict(
        _delete_=True,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        end=20,
        convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=20)
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
# NOTE: the batch the lr is set for; keep it when training on fewer GPUs.
auto_scale_lr = dict(base_batch_size=4096)
