# mmseg's UPerNet Swin-T 160k ADE20K with HorUPerHead in place of its
# UPerHead, as upernet_r50_hor-head_4xb4-160k_ade20k-512x512.py does for the
# R-50 one; everything else mmseg's config unchanged.
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',  # noqa
    '../_base_/default_runtime.py'
]
model = dict(
    decode_head=dict(
        type='HorUPerHead',
        gnconv_cfg=dict(order=2, mixer_cfg=dict(type='DW', kernel_size=7)),
        gnconv_fpn_convs=False))
