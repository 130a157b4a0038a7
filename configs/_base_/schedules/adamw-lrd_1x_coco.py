# AdamW with layer-wise lr decay on mmdet's 1x schedule: 12 epochs, lr x0.1
# at epochs 8 and 11, linear warm-up over the first 500 iterations from
# 0.001 x lr. The constructor is mmhornet's: configs using this base import
# mmhornet (custom_imports).
_base_ = ['mmdet::_base_/schedules/schedule_1x.py']

optim_wrapper = dict(
    type='OptimWrapper',
    constructor='mmhornet.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        decay_rate=0.95, decay_type='layer_wise', num_layers=12),
    optimizer=dict(
        _delete_=True,
        type='AdamW',
        lr=1e-4,
        betas=(0.9, 0.999),
        weight_decay=0.05))

# NOTE: the lrs in these configs are for a total batch of 16 images (8 GPUs
# x 2 images). Training on another number of GPUs: keep base_batch_size=16
# and pass --auto-scale-lr to mmdet's tools/train.py to scale the lr.
auto_scale_lr = dict(enable=False, base_batch_size=16)
