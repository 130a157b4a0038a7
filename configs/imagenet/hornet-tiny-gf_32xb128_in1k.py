# HorNet-T (GF) on ImageNet-1K (results: metafile.yml).
_base_ = ['./hornet-tiny_32xb128_in1k.py']
model = dict(backbone=dict(arch='tiny-gf'))
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
