# UPerNet with HorNet-B (GF) on ADE20K (results: metafile.yml). 'base-gf384'
# has the filters sized for 512x512 crops, (24, 13) and (12, 7).
_base_ = ['./upernet_hornet-b_8xb2-160k_ade20k-512x512.py']
checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-base-gf_3rdparty_in1k_20220915-82c06fa7.pth'  # noqa
model = dict(
    backbone=dict(
        arch='base-gf384',
        drop_path_rate=0.5,
        init_cfg=dict(checkpoint=checkpoint)))
optim_wrapper = dict(clip_grad=dict(max_norm=1, norm_type=2))
