"""What the tests of whole models share: the configs they start from and a
tiny HorNet to put in them."""
import os.path as osp

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs')


def tiny_arch(gf=((4, 3), (2, 2))):
    """HorNet's real layout at width 16 with one order-2 block a stage: 7x7
    DW in stages 0-1, global filters of the ``(h, w)`` sizes ``gf`` in
    stages 2-3."""
    return dict(
        base_dim=16,
        depths=[1, 1, 1, 1],
        orders=[2, 2, 2, 2],
        dw_cfg=[
            dict(type='DW', kernel_size=7),
            dict(type='DW', kernel_size=7),
        ] + [dict(type='GF', h=h, w=w) for h, w in gf])


def det_batch(size, boxes_per_image, labels_per_image):
    """A mmdet batch: random uint8 images of ``size`` (H, W), each with its
    boxes (x1, y1, x2, y2), labels and box-shaped masks."""
    import numpy as np
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    h, w = size
    inputs, samples = [], []
    for i, (boxes,
            labels) in enumerate(zip(boxes_per_image, labels_per_image)):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
        masks = np.zeros((len(boxes), h, w), dtype=np.uint8)
        for j, (x1, y1, x2, y2) in enumerate(boxes):
            masks[j, int(y1):int(y2), int(x1):int(x2)] = 1
        sample = DetDataSample(
            metainfo=dict(
                img_id=i,
                img_shape=size,
                ori_shape=size,
                scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes),
            labels=torch.tensor(labels),
            masks=BitmapMasks(masks, h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)
