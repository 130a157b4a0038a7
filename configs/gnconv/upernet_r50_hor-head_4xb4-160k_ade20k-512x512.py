# mmseg's UPerNet R-50 160k ADE20K with HorUPerHead in place of its UPerHead:
# the FPN fusion conv becomes an order-2 g^nConv block with a 7x7 depthwise
# mixer (the HorNet paper's g^nConv UPerNet head); backbone, auxiliary head,
# data and schedule are mmseg's config unchanged.
_base_ = [
    'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py',
    '../_base_/default_runtime.py'
]
model = dict(
    decode_head=dict(
        type='HorUPerHead',
        gnconv_cfg=dict(order=2, mixer_cfg=dict(type='DW', kernel_size=7)),
        gnconv_fpn_convs=False))
