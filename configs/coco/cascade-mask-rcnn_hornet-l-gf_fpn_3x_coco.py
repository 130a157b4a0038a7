# Cascade Mask R-CNN, HorNet-L (GF) pre-trained on ImageNet-22K, FPN, 3x
# (results: metafile.yml).
_base_ = ['./cascade-mask-rcnn_hornet-l_fpn_3x_coco.py']

# The official ImageNet-22K HorNet-L (GF) release (mmpretrain publishes
# none): download https://cloud.tsinghua.edu.cn/f/8679b6acf63c41e285d9/?dl=1
# (github.com/raoyongming/HorNet) to this path. Its global filters are sized
# (14, 8) / (7, 4) for 224x224 inputs; like the official detector, this one
# uses the larger (24, 13) / (12, 7) filters of 'large-gf384', and the loader
# resizes the pretrained filters to fit.
checkpoint = 'pretrained/hornet_large_gf_in22k.pth'

model = dict(
    backbone=dict(
        arch='large-gf384',
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
