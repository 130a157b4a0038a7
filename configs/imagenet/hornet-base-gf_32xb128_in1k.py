# HorNet-B (GF) on ImageNet-1K (results: metafile.yml), with RandAugment
# magnitude 15 (timm rand-m15-mstd0.5-inc1) instead of 9: the HorNet-S (GF)
# recipe with HorNet-B's model (as in hornet-base_32xb128_in1k.py).
_base_ = ['./hornet-small-gf_32xb128_in1k.py']
model = dict(
    backbone=dict(arch='base-gf', drop_path_rate=0.5),
    head=dict(in_channels=1024))

# mmengine cannot override one entry of a list: HorNet-S (GF)'s pipeline with
# another RandAugment magnitude.
train_pipeline = [
    dict(step, magnitude_level=15) if step.type == 'RandAugment' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
