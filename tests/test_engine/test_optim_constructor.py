import logging
import math
import uuid
from importlib import import_module

import pytest
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mmhornet.engine.optim_constructor as optim_constructor
from mmhornet.engine import LayerDecayOptimWrapperConstructor
from mmhornet.models import HorNet

CONSTRUCTOR = 'mmhornet.LayerDecayOptimWrapperConstructor'
BASE_LR = 2e-4
WD = 0.05
# The official depths and orders at a tiny width: the layer ids of the real
# models, stage-2 blocks 0..17 included.
TINY_ARCH = dict(
    base_dim=8,
    depths=[2, 3, 18, 2],
    orders=[2, 3, 4, 5],
    dw_cfg=[dict(type='DW', kernel_size=7)] * 2 +
    [dict(type='GF', h=4, w=3),
     dict(type='GF', h=2, w=2)])


class Detector(nn.Module):
    """backbone / neck / head, as mmdet / mmseg / mmpretrain models are."""

    def __init__(self, **backbone_kwargs):
        super().__init__()
        self.backbone = HorNet(
            TINY_ARCH,
            out_indices=(0, 1, 2, 3),
            gap_before_final_norm=False,
            **backbone_kwargs)
        self.neck = nn.Conv2d(64, 16, 1)
        self.head = nn.Linear(16, 4)


def official_layer_id(name):
    """The official HorNet layer ids for lr decay (12 layers), stated
    independently of HorNet.get_layer_depth."""
    parts = name.split('.')
    if parts[0] != 'backbone':
        return 13
    if parts[1] == 'downsample_layers':
        return {0: 0, 1: 2, 2: 3, 3: 12}[int(parts[2])]
    if parts[1] == 'stages':
        stage, block = int(parts[2]), int(parts[3])
        return {0: 1, 1: 2, 2: min(3 + block // 2, 11), 3: 12}[stage]
    return 13  # output norms


def build(model,
          decay_rate=0.7,
          num_layers=12,
          decay_type='layer_wise',
          scope='mmdet',
          **optimizer):
    cfg = dict(
        optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=WD, **optimizer),
        constructor=CONSTRUCTOR,
        paramwise_cfg=dict(
            decay_rate=decay_rate,
            decay_type=decay_type,
            num_layers=num_layers))
    with DefaultScope.overwrite_default_scope(scope):
        return build_optim_wrapper(model, cfg)


def groups_by_param(optim_wrapper, model):
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            assert names[id(p)] not in out, 'parameter in two groups'
            out[names[id(p)]] = group
    return out


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_scoped_name_resolves_from_every_host(scope):
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
    import_module(f'{scope}.utils').register_all_modules(False)
    with DefaultScope.overwrite_default_scope(scope):
        with OPTIM_WRAPPER_CONSTRUCTORS.switch_scope_and_registry(
                scope) as registry:
            assert registry.scope == scope
            assert registry.get(CONSTRUCTOR) is \
                LayerDecayOptimWrapperConstructor


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain', None])
def test_layer_wise_cascade_settings(scope):
    model = Detector()
    groups = groups_by_param(build(model, scope=scope), model)
    assert set(groups) == {n for n, _ in model.named_parameters()}
    for name, group in groups.items():
        layer_id = official_layer_id(name)
        assert group['layer_id'] == layer_id, name
        scale = 0.7**(13 - layer_id)
        assert math.isclose(group['lr_scale'], scale), name
        assert math.isclose(group['lr'], BASE_LR * scale), name
    # The numbers of the Cascade Mask R-CNN recipe.
    assert math.isclose(
        groups['backbone.downsample_layers.0.0.weight']['lr_scale'], 0.7**13)
    assert math.isclose(
        groups['backbone.stages.2.5.gnconv.proj_in.weight']['lr_scale'],
        0.7**8)
    assert math.isclose(
        groups['backbone.stages.3.1.pwconv1.weight']['lr_scale'], 0.7)
    for name in ('neck.weight', 'head.weight', 'head.bias',
                 'backbone.norm3.weight'):
        assert groups[name]['lr_scale'] == 1. and \
            groups[name]['lr'] == BASE_LR


def test_stage_wise():
    model = Detector()
    groups = groups_by_param(
        build(model, decay_rate=0.5, num_layers=4, decay_type='stage_wise'),
        model)
    expected = {
        'backbone.downsample_layers.0.0.weight': (0, 0.5**5),
        'backbone.downsample_layers.3.1.weight': (0, 0.5**5),
        'backbone.stages.0.1.pwconv1.weight': (1, 0.5**4),
        'backbone.stages.2.17.gnconv.proj_out.weight': (3, 0.5**2),
        'backbone.stages.3.0.gamma2.weight': (4, 0.5),
        'backbone.norm2.weight': (5, 1.),
        'head.weight': (5, 1.),
    }
    for name, (layer_id, scale) in expected.items():
        assert groups[name]['layer_id'] == layer_id, name
        assert math.isclose(groups[name]['lr_scale'], scale), name


def test_scales_capped_at_one():
    # The reference's Mask R-CNN setting: num_layers 6 while the ids run to
    # 12 (13 outside the backbone); uncapped, stage 3 would get 0.95 ** -5.
    model = Detector()
    groups = groups_by_param(
        build(model, decay_rate=0.95, num_layers=6), model)
    assert all(g['lr'] <= BASE_LR for g in groups.values())
    for name, group in groups.items():
        layer_id = official_layer_id(name)
        assert math.isclose(group['lr_scale'], min(1.,
                                                   0.95**(7 - layer_id))), name
    assert math.isclose(
        groups['backbone.downsample_layers.0.0.weight']['lr_scale'], 0.95**7)
    assert groups['backbone.stages.3.0.pwconv1.weight']['lr_scale'] == 1.
    assert groups['head.weight']['lr_scale'] == 1.


def test_no_decay_for_1d_params_and_biases():
    model = Detector()
    groups = groups_by_param(build(model), model)
    params = dict(model.named_parameters())
    for name, group in groups.items():
        flat = params[name].ndim == 1 or name.endswith('.bias')
        assert group['weight_decay'] == (0. if flat else WD), name
        assert group['group_name'].endswith('_no_decay' if flat else '_decay')
    assert groups['backbone.stages.2.0.gamma1.weight']['weight_decay'] == 0.
    assert groups['backbone.norm1.bias']['weight_decay'] == 0.
    assert groups['backbone.stages.2.0.gnconv.dwconv.complex_weight'][
        'weight_decay'] == WD


def test_frozen_params_skipped():
    model = Detector(frozen_stages=1)
    model.head.bias.requires_grad_(False)
    optim_wrapper = build(model)
    grouped = {
        id(p)
        for g in optim_wrapper.optimizer.param_groups
        for p in g['params']
    }
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert grouped == trainable
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert 'backbone.stages.1.2.pwconv2.weight' in frozen
    assert 'backbone.norm1.weight' in frozen and 'head.bias' in frozen
    # Stem, stage 0 and stage 1 (ids 0-2) are frozen whole.
    assert min(g['layer_id']
               for g in optim_wrapper.optimizer.param_groups) == 3


def test_backbone_as_the_model():
    backbone = HorNet(TINY_ARCH)
    groups = groups_by_param(build(backbone), backbone)
    assert groups['stages.2.5.norm1.weight']['layer_id'] == 5
    assert groups['downsample_layers.0.0.weight']['layer_id'] == 0


class _Logs(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_summary_logged_once_on_rank0(monkeypatch):
    logger = MMLogger.get_instance(f'lrd-{uuid.uuid4().hex}', log_level='INFO')
    handler = _Logs()
    logger.addHandler(handler)
    build(Detector())
    tables = [m for m in handler.messages if 'layer_0_decay' in m]
    assert len(tables) == 1
    lines = tables[0].splitlines()
    assert 'layer_wise decay 0.7, num_layers 12' in lines[0]
    assert lines[2].split() == [
        'group', 'tensors', 'params', 'lr', 'scale', 'lr', 'weight', 'decay'
    ]
    row = next(line.split() for line in lines
               if line.startswith('layer_13_decay '))
    assert row[3] == '1' and row[5] == '0.05'

    handler.messages.clear()
    monkeypatch.setattr(optim_constructor, 'get_rank', lambda: 1)
    build(Detector())
    assert not [m for m in handler.messages if 'layer_0_decay' in m]


def test_bad_configs():
    model = Detector()
    with pytest.raises(ValueError, match=r"unknown \['layer_decay_rate'\]"):
        build_optim_wrapper(
            model,
            dict(
                optimizer=dict(type='AdamW', lr=1e-4),
                constructor=CONSTRUCTOR,
                paramwise_cfg=dict(
                    layer_decay_rate=0.7, decay_rate=0.7, num_layers=12)))
    with pytest.raises(ValueError, match=r"missing \['num_layers'\]"):
        build_optim_wrapper(
            model,
            dict(
                optimizer=dict(type='AdamW', lr=1e-4),
                constructor=CONSTRUCTOR,
                paramwise_cfg=dict(decay_rate=0.7)))
    with pytest.raises(ValueError, match="decay_type must be one of"):
        build(model, decay_type='block_wise')
    with pytest.raises(ValueError, match=r'decay_rate must be in \(0, 1\]'):
        build(model, decay_rate=1.5)

    class NoDepth(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Conv2d(3, 4, 3)

    with pytest.raises(
            NotImplementedError, match='model.backbone .* get_layer_depth'):
        build(NoDepth())
    # Stage-wise ids need no get_layer_depth.
    assert len(
        build(NoDepth(), decay_type='stage_wise',
              num_layers=4).optimizer.param_groups) == 2


def test_mmpretrain_constructor_with_hornet():
    """mmpretrain's own constructor reads HorNet.get_layer_depth through
    its ImageClassifier: decay ** (14 - id - 1)."""
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(type='mmhornet.HorNet', arch=TINY_ARCH),
                head=dict(type='LinearClsHead', num_classes=5,
                          in_channels=64)))
        optim_wrapper = build_optim_wrapper(
            model,
            dict(
                optimizer=dict(type='AdamW', lr=1e-3, weight_decay=WD),
                constructor='LearningRateDecayOptimWrapperConstructor',
                paramwise_cfg=dict(layer_decay_rate=0.7)))
    lrs = {
        g['param_name']: g['lr']
        for g in optim_wrapper.optimizer.param_groups
    }
    assert math.isclose(lrs['backbone.downsample_layers.0.0.weight'],
                        1e-3 * 0.7**13)
    assert math.isclose(lrs['backbone.stages.2.5.gnconv.proj_in.weight'],
                        1e-3 * 0.7**8)
    assert math.isclose(lrs['head.fc.weight'], 1e-3)
