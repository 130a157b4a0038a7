# HorNet-B (7x7) on ImageNet-1K (results: metafile.yml).
_base_ = ['./hornet-tiny_32xb128_in1k.py']
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.5),
    head=dict(in_channels=1024))
optim_wrapper = dict(clip_grad=dict(max_norm=5.0))
