# UPerNet with HorNet-T (GF) on ADE20K (results: metafile.yml). 'tiny-gf384'
# has the stage-2/3 global filters sized for 512x512 crops, (24, 13) and
# (12, 7); the 224-pixel ImageNet filters (14, 8) / (7, 4) are resized on
# loading.
_base_ = ['./upernet_hornet-t_8xb2-160k_ade20k-512x512.py']
checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-tiny-gf_3rdparty_in1k_20220915-4c35a66b.pth'  # noqa
model = dict(
    backbone=dict(arch='tiny-gf384', init_cfg=dict(checkpoint=checkpoint)))
optim_wrapper = dict(clip_grad=dict(max_norm=1, norm_type=2))
