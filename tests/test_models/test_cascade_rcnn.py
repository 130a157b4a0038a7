"""End to end: Cascade Mask R-CNN with a (tiny) HorNet and HorFPN, built from
the real COCO config, trains a step and predicts on the CPU."""
import copy
import os.path as osp

import pytest
import torch
from mmengine import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from .helpers import CONFIG_DIR, det_batch, tiny_arch

CONFIG = osp.join(CONFIG_DIR, 'coco', 'hornet_cascade.py')
NUM_CLASSES = 3
WIDTH = 32
TINY_ARCH = tiny_arch(gf=((14, 8), (7, 4)))
IMAGE = (128, 160)


def _small_detector_cfg():
    """The shipped config, made small: a tiny HorNet, HorFPN with GF
    blocks, 32-channel heads, BN instead of SyncBN (no process group on the
    CPU)."""
    cfg = Config.fromfile(CONFIG)
    model = copy.deepcopy(cfg.model)
    model.backbone.update(arch=TINY_ARCH, init_cfg=None, drop_path_rate=0.1)
    model.neck = dict(
        type='HorFPN',
        in_channels=[16, 32, 64, 128],
        out_channels=WIDTH,
        num_outs=5,
        gnconv_cfg=dict(mixer_cfg=dict(type='GF', h=32, w=17)))
    model.rpn_head.update(in_channels=WIDTH, feat_channels=WIDTH)
    roi = model.roi_head
    roi.bbox_roi_extractor.out_channels = WIDTH
    roi.mask_roi_extractor.out_channels = WIDTH
    for head in roi.bbox_head:
        head.update(
            in_channels=WIDTH,
            conv_out_channels=WIDTH,
            fc_out_channels=64,
            num_classes=NUM_CLASSES,
            norm_cfg=dict(type='BN', requires_grad=True))
    roi.mask_head.update(
        in_channels=WIDTH, conv_out_channels=WIDTH, num_classes=NUM_CLASSES)
    # Fewer proposals and samples for CPU speed; keep every detection of the
    # random model, so predict has output.
    model.train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
    for stage in model.train_cfg.rcnn:
        stage.sampler.num = 32
    model.test_cfg.rpn.update(nms_pre=300, max_per_img=100)
    model.test_cfg.rcnn.update(score_thr=0., max_per_img=20)
    return cfg, model


def _batch():
    return det_batch(IMAGE, ([[10., 20., 70., 90.], [80., 30., 150., 120.]
                              ], [[5., 5., 60., 50.], [40., 60., 130., 125.]]),
                     ([0, 1], [0, 2]))


@pytest.fixture(scope='module')
def detector():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg, model_cfg = _small_detector_cfg()
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(model_cfg)
        model.init_weights()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim_wrapper


def test_built_from_the_config(detector):
    from mmdet.models.detectors import CascadeRCNN

    from mmhornet.layers import GlobalLocalFilter
    from mmhornet.models import HorFPN, HorNet
    model, optim_wrapper = detector
    assert type(model) is CascadeRCNN
    assert type(model.backbone) is HorNet
    assert type(model.neck) is HorFPN
    assert isinstance(model.neck.fpn_convs[0].dwconv, GlobalLocalFilter)
    assert isinstance(model.backbone.stages[2][0].gnconv.dwconv,
                      GlobalLocalFilter)
    # Layer-wise decay from the config: the stem learns slowest.
    lrs = sorted(g['lr'] for g in optim_wrapper.optimizer.param_groups)
    assert lrs[0] == pytest.approx(2e-4 * 0.7**13) and lrs[-1] == 2e-4


def test_train_step(detector):
    model, optim_wrapper = detector
    model.train()
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 's0.loss_cls', 's0.loss_bbox',
                's0.loss_mask', 's2.loss_mask'):
        assert key in log_vars, key
    assert all(torch.isfinite(v).all() for v in log_vars.values()), log_vars
    assert loss.item() > 0

    optim_wrapper.zero_grad()
    loss.backward()
    stem = model.backbone.downsample_layers[0][0].weight
    assert stem.grad is not None and stem.grad.abs().sum() > 0
    gf = model.backbone.stages[3][0].gnconv.dwconv.complex_weight
    assert gf.grad is not None and gf.grad.abs().sum() > 0
    before = stem.detach().clone()
    optim_wrapper.step()
    assert not torch.equal(before, stem.detach())


def test_predict(detector):
    from mmdet.structures import DetDataSample
    model, _ = detector
    model.eval()
    with torch.no_grad():
        results = model.test_step(_batch())
    assert len(results) == 2
    for result in results:
        assert isinstance(result, DetDataSample)
        pred = result.pred_instances
        n = len(pred)
        assert n > 0
        assert pred.bboxes.shape == (n, 4)
        assert pred.scores.shape == (n, ) and pred.labels.shape == (n, )
        assert int(pred.labels.max()) < NUM_CLASSES
        assert pred.masks.shape == (n, *IMAGE)
        assert pred.masks.dtype == torch.bool
        assert (pred.bboxes[:, 2] <= IMAGE[1]).all() and \
            (pred.bboxes[:, 3] <= IMAGE[0]).all()
