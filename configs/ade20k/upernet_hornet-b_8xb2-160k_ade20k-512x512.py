# UPerNet with HorNet-B (7x7) on ADE20K (results: metafile.yml).
_base_ = ['./upernet_hornet-t_8xb2-160k_ade20k-512x512.py']
checkpoint = 'https://download.openmmlab.com/mmclassification/v0/hornet/hornet-base_3rdparty_in1k_20220915-a06176bb.pth'  # noqa
model = dict(
    backbone=dict(
        arch='base', drop_path_rate=0.4, init_cfg=dict(checkpoint=checkpoint)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
