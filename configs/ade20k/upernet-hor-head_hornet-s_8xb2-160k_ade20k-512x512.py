# UPerNet with HorNet-S (7x7) and the g^nConv decoder (HorUPerHead): the FPN
# fusion is an order-2 g^nConv with a 7x7 depthwise mixer, as the official
# horfpn_7x7_upernet_hornet_small_7x7_512_160k_ade20k config.
_base_ = ['./upernet_hornet-s_8xb2-160k_ade20k-512x512.py']
model = dict(
    decode_head=dict(
        type='HorUPerHead',
        gnconv_cfg=dict(order=2, mixer_cfg=dict(type='DW', kernel_size=7)),
        # The official model replaces only the fusion (bottleneck) conv.
        gnconv_fpn_convs=False))
