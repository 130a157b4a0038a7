"""A small UPerNet (HorNet + HorUPerHead) through mmseg's EncoderDecoder,
built from the g^nConv-head ADE20K config with tiny widths."""
import copy
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from mmhornet.layers import GlobalLocalFilter, GnConvModule
from mmhornet.models import HorNet, HorUPerHead
from .helpers import CONFIG_DIR, tiny_arch

CONFIG = osp.join(CONFIG_DIR, 'ade20k',
                  'upernet-hor-head-gf_hornet-s_8xb2-160k_ade20k-512x512.py')
NUM_CLASSES = 4
TINY = tiny_arch()
BN = dict(type='BN', requires_grad=True)


def _build():
    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.data_preprocessor.size = None
    model_cfg.data_preprocessor.size_divisor = 32
    model_cfg.backbone = dict(
        type='mmhornet.HorNet',
        arch=TINY,
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False)
    model_cfg.decode_head.update(
        in_channels=[16, 32, 64, 128],
        channels=16,
        norm_cfg=BN,
        num_classes=NUM_CLASSES)
    model_cfg.auxiliary_head.update(
        in_channels=64, channels=8, norm_cfg=BN, num_classes=NUM_CLASSES)
    model_cfg.test_cfg = dict(
        mode='slide', crop_size=(64, 64), stride=(43, 43))
    model = MODELS.build(model_cfg)
    model.init_weights()
    return cfg, model


def _sample(size, with_gt=True):
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
    if with_gt:
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, NUM_CLASSES, (1, ) + size))
    return sample


def _images(n, size):
    return [
        torch.randint(0, 256, (3, ) + size, dtype=torch.uint8)
        for _ in range(n)
    ]


def test_model_is_built_from_the_config():
    _, model = _build()
    assert type(model).__name__ == 'EncoderDecoder'
    assert isinstance(model.backbone, HorNet)
    assert isinstance(model.decode_head, HorUPerHead)
    bottleneck = model.decode_head.fpn_bottleneck
    assert isinstance(bottleneck, GnConvModule)
    assert isinstance(bottleneck.dwconv, GlobalLocalFilter)
    assert type(model.auxiliary_head).__name__ == 'FCNHead'
    assert model.auxiliary_head.in_index == 2
    stage2 = model.backbone.stages[2][0].gnconv.dwconv
    assert isinstance(stage2, GlobalLocalFilter)


def test_train_step():
    cfg, model = _build()
    model.train()
    # The config's optimizer: AdamW with mmhornet's stage-wise lr decay.
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    size = (96, 128)
    data = dict(
        inputs=_images(2, size), data_samples=[_sample(size),
                                               _sample(size)])
    log_vars = {
        k: float(torch.as_tensor(v).detach())
        for k, v in model.train_step(data, optim_wrapper).items()
    }
    for key in ('loss', 'decode.loss_ce', 'aux.loss_ce'):
        assert math.isfinite(log_vars[key])
    assert log_vars['decode.loss_ce'] > 0 and log_vars['aux.loss_ce'] > 0
    # The total is the sum of the weighted decode and auxiliary losses.
    assert log_vars['loss'] == pytest.approx(log_vars['decode.loss_ce'] +
                                             log_vars['aux.loss_ce'])
    changed = [
        k for k, v in model.named_parameters()
        if not torch.equal(v.detach(), before[k])
    ]
    for name in ('backbone.downsample_layers.0.0.weight',
                 'backbone.stages.2.0.gnconv.dwconv.complex_weight',
                 'decode_head.fpn_bottleneck.proj_in.weight',
                 'decode_head.fpn_bottleneck.dwconv.complex_weight',
                 'decode_head.conv_seg.weight',
                 'auxiliary_head.conv_seg.weight'):
        assert name in changed


def test_slide_predict():
    _, model = _build()
    model.eval()
    crops = []
    handle = model.backbone.register_forward_hook(
        lambda m, args, out: crops.append(tuple(args[0].shape[-2:])))
    size = (97, 131)
    with torch.no_grad():
        results = model.test_step(
            dict(
                inputs=_images(1, size),
                data_samples=[_sample(size, with_gt=False)]))
    handle.remove()
    # 2 x 3 windows of 64x64 with stride 43 cover 97x131.
    assert crops == [(64, 64)] * 6
    assert len(results) == 1
    result = results[0]
    assert isinstance(result, SegDataSample)
    assert result.pred_sem_seg.data.shape == (1, ) + size
    assert result.seg_logits.data.shape == (NUM_CLASSES, ) + size
    labels = result.pred_sem_seg.data
    assert labels.min() >= 0 and labels.max() < NUM_CLASSES
    torch.testing.assert_close(labels[0], result.seg_logits.data.argmax(0))
