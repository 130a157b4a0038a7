# UPerNet with HorNet-S (GF) on ADE20K (results: metafile.yml). 'small-gf384'
# has the filters sized for 512x512 crops, as in the T-GF config.
_base_ = ['./upernet_hornet-s_8xb2-160k_ade20k-512x512.py']
checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-small-gf_3rdparty_in1k_20220915-649ca492.pth'  # noqa
model = dict(
    backbone=dict(arch='small-gf384', init_cfg=dict(checkpoint=checkpoint)))
optim_wrapper = dict(clip_grad=dict(max_norm=1, norm_type=2))
