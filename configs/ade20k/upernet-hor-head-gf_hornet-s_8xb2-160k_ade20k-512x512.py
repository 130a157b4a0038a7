# UPerNet with HorNet-S (7x7) and the g^nConv decoder with a global-local
# filter mixer, as the official horfpn_gf_upernet_hornet_small_7x7 config:
# a (32, 17) filter (resized to each stride-4 map's FFT grid) and gradient
# clipping at 0.1.
_base_ = ['./upernet-hor-head_hornet-s_8xb2-160k_ade20k-512x512.py']
model = dict(
    decode_head=dict(
        gnconv_cfg=dict(mixer_cfg=dict(_delete_=True, type='GF', h=32, w=17))))
optim_wrapper = dict(clip_grad=dict(max_norm=0.1, norm_type=2))
