# The official HorNet ADE20K schedule: AdamW with stage-wise lr decay, 1500
# linear warm-up iterations, then poly decay to 0 at 160k. The variants set
# decay_rate / num_layers and, for the GF backbones, gradient clipping.
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    # NOTE: lr 1e-4 is for 16 images per iteration (8 GPUs x 2).
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmhornet.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', num_layers=12))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=160000)
]
