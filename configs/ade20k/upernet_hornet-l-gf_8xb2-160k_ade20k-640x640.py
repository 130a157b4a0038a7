# UPerNet with HorNet-L (GF) on ADE20K at 640x640 (results: metafile.yml),
# from the official ImageNet-22K hornet_large_gf weights
# (https://cloud.tsinghua.edu.cn/f/8679b6acf63c41e285d9/?dl=1, saved into
# pretrained/). 'large-gf384' has the filters the official model uses here,
# (24, 13) and (12, 7); activation checkpointing as the official config.
_base_ = ['./upernet_hornet-l_8xb2-160k_ade20k-640x640.py']
checkpoint = 'pretrained/hornet_large_gf_in22k.pth'
model = dict(
    backbone=dict(
        arch='large-gf384', with_cp=True, init_cfg=dict(
            checkpoint=checkpoint)))
optim_wrapper = dict(clip_grad=dict(max_norm=0.1, norm_type=2))
