"""What the tests of whole models share: the configs they start from and a
tiny HorNet to put in them."""
import os.path as osp

# A mmdet batch of random images with the given boxes, labels and masks.
from mmhornet.analysis.whole_model import \
    boxed_batch as det_batch  # noqa: F401,E501

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
