# mmhornet's default detector: Cascade Mask R-CNN with HorNet-T (GF), FPN,
# 3x schedule. See cascade-mask-rcnn_hornet-t-gf_fpn_3x_coco.py.
_base_ = ['./cascade-mask-rcnn_hornet-t-gf_fpn_3x_coco.py']
