# UPerNet with a HorNet backbone (mmseg), as the official HorNet ADE20K models
# (github.com/raoyongming/HorNet, semantic_segmentation/): mmseg's UPerNet
# (the model its ConvNeXt and ResNet UPerNets share) with mmhornet's HorNet-T
# as the backbone. Variants override the arch, the widths and the weights.
_base_ = ['mmseg::_base_/models/upernet_r50.py']

checkpoint = None  # the ImageNet weights, set by each variant
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmhornet.HorNet',
        arch='tiny',
        drop_path_rate=0.4,
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False),
    decode_head=dict(in_channels=[64, 128, 256, 512], num_classes=150),
    auxiliary_head=dict(in_channels=256, num_classes=150))
