# HorNet-S (7x7) on ImageNet-1K (results: metafile.yml).
_base_ = ['./hornet-tiny_32xb128_in1k.py']
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.4),
    head=dict(in_channels=768))
optim_wrapper = dict(clip_grad=dict(max_norm=5.0))
