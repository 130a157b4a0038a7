from importlib import import_module

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.necks import FPN
from mmengine.registry import DefaultScope

from mmhornet.layers import (GlobalLocalFilter, GnConv, GnConvModule,
                             LayerNorm2d)
from mmhornet.models.necks import HorFPN
from tests.reference_hornet import gnconv, rel_err

IN_CHANNELS = [8, 16, 24, 32]
# Odd sizes, as HorNet gives them for a 140x113 image (floor at each /2).
SIZES = [(35, 28), (17, 14), (8, 7), (4, 3)]
OUT = 16


def _inputs(batch=2):
    return tuple(
        torch.randn(batch, c, h, w) for c, (h, w) in zip(IN_CHANNELS, SIZES))


def _halve(size):
    # Both a 3x3 stride-2 conv with padding 1 and a 1x1 stride-2 max-pool.
    return tuple((s - 1) // 2 + 1 for s in size)


def _randomize(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3 + (1. if p.ndim == 1 else 0.))
    return module


@pytest.mark.parametrize('add_extra_convs',
                         [False, True, 'on_input', 'on_lateral', 'on_output'])
@pytest.mark.parametrize('num_outs', [4, 6])
def test_output_shapes_every_extra_mode(add_extra_convs, num_outs):
    neck = HorFPN(IN_CHANNELS, OUT, num_outs, add_extra_convs=add_extra_convs)
    outs = neck(_inputs())
    expected = list(SIZES)
    while len(expected) < num_outs:
        expected.append(_halve(expected[-1]))
    assert [tuple(o.shape) for o in outs] == [(2, OUT, *s) for s in expected]
    assert all(o.is_contiguous() for o in outs)
    assert all(torch.isfinite(o).all() for o in outs)

    extra = num_outs - len(IN_CHANNELS) if add_extra_convs else 0
    assert len(neck.fpn_convs) == len(IN_CHANNELS) + extra
    for block in neck.fpn_convs[:len(IN_CHANNELS)]:
        assert type(block) is GnConvModule and isinstance(block, GnConv)
    for i, block in enumerate(neck.fpn_convs[len(IN_CHANNELS):]):
        assert isinstance(block, nn.Sequential) and len(block) == 2
        conv, gn = block
        assert isinstance(conv, ConvModule) and conv.conv.stride == (2, 2)
        assert type(gn) is GnConvModule
        on_input = i == 0 and add_extra_convs in (True, 'on_input')
        assert conv.in_channels == (IN_CHANNELS[-1] if on_input else OUT)
    # Lateral convs are mmdet's 1x1 ConvModules.
    assert all(
        isinstance(m, ConvModule) and m.conv.kernel_size == (1, 1)
        for m in neck.lateral_convs)


def test_start_and_end_level():
    neck = HorFPN(IN_CHANNELS, OUT, 2, start_level=1, end_level=2)
    outs = neck(_inputs())
    assert [tuple(o.shape[-2:]) for o in outs] == SIZES[1:3]
    assert len(neck.fpn_convs) == 2


def test_equals_mmdet_fpn_top_down_then_gnconv():
    """HorFPN's output i is its g^nConv block applied to mmdet FPN's
    top-down feature i (same lateral weights, FPN's 3x3 convs removed)."""
    hor = HorFPN(IN_CHANNELS, OUT, 6, add_extra_convs='on_lateral')
    hor.init_weights()
    fpn = FPN(IN_CHANNELS, OUT, 4)
    fpn.lateral_convs.load_state_dict(hor.lateral_convs.state_dict())
    fpn.fpn_convs = nn.ModuleList(nn.Identity() for _ in IN_CHANNELS)
    inputs = _inputs()
    top_down = fpn(inputs)
    outs = hor(inputs)
    for i in range(4):
        torch.testing.assert_close(outs[i], hor.fpn_convs[i](top_down[i]))
    # 'on_lateral': the first extra level reads the top lateral, the next
    # the previous output.
    torch.testing.assert_close(outs[4], hor.fpn_convs[4](top_down[3]))
    torch.testing.assert_close(outs[5], hor.fpn_convs[5](outs[4]))
    assert rel_err(outs[0], top_down[0]) > 0.1


def test_relu_before_extra_convs():
    inputs = _inputs()
    for relu in (False, True):
        # O(1) weights: g^nConv is quadratic in its input, so with the
        # Xavier init and zero biases the chained extra levels are ~1e-30.
        neck = _randomize(
            HorFPN(
                IN_CHANNELS,
                OUT,
                6,
                add_extra_convs='on_output',
                relu_before_extra_convs=relu))
        outs = neck(inputs)
        src = F.relu(outs[4]) if relu else outs[4]
        torch.testing.assert_close(outs[5], neck.fpn_convs[5](src))
        assert rel_err(neck.fpn_convs[5](F.relu(outs[4])),
                       neck.fpn_convs[5](outs[4])) > 1e-3


def test_gf_mixer_variant():
    neck = HorFPN(
        IN_CHANNELS,
        OUT,
        5,
        add_extra_convs='on_input',
        gnconv_cfg=dict(mixer_cfg=dict(type='GF', h=32, w=17)))
    for block in list(neck.fpn_convs[:4]) + [neck.fpn_convs[4][1]]:
        assert isinstance(block.dwconv, GlobalLocalFilter)
        assert block.dwconv.complex_weight.shape == (OUT * 3 // 4, 32, 17, 2)
    outs = neck(_inputs())
    assert [tuple(o.shape[-2:]) for o in outs] == SIZES + [_halve(SIZES[-1])]
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize(
    'mixer', [dict(type='DW', kernel_size=7),
              dict(type='GF', h=8, w=5)])
def test_gradients_reach_every_parameter(mixer):
    neck = HorFPN(
        IN_CHANNELS,
        OUT,
        6,
        add_extra_convs='on_input',
        gnconv_cfg=dict(mixer_cfg=mixer))
    neck.init_weights()
    inputs = [x.requires_grad_() for x in _inputs()]
    sum(o.square().mean() for o in neck(inputs)).backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(x.grad.abs().sum() > 0 for x in inputs)


@pytest.mark.parametrize('mixer', [
    dict(type='DW', kernel_size=7),
    dict(type='DW', kernel_size=3),
    dict(type='GF', h=6, w=4)
])
@pytest.mark.parametrize('order', [1, 2, 3])
def test_gnconv_module_matches_reference(order, mixer):
    block = _randomize(
        GnConvModule(
            OUT, gnconv_cfg=dict(order=order, mixer_cfg=mixer, scale=0.5)))
    x = torch.randn(2, OUT, 13, 10)
    out = block(x)
    assert out.shape == x.shape and out.is_contiguous()
    assert rel_err(out, gnconv(block, x)) < 1e-5


def test_gnconv_module_keeps_gnconv_parameter_names():
    block = GnConvModule(
        OUT, gnconv_cfg=dict(order=2), norm=nn.BatchNorm2d(OUT))
    plain = GnConv(OUT, order=2)
    assert set(plain.state_dict()) < set(block.state_dict())
    assert {k for k in block.state_dict() if k not in plain.state_dict()} == \
        {f'norm.{k}' for k in block.norm.state_dict()}


def test_ln2d_norms_channels_everywhere():
    neck = HorFPN(
        IN_CHANNELS,
        OUT,
        5,
        add_extra_convs='on_input',
        norm_cfg=dict(type='LN2d'))
    block = neck.fpn_convs[0]
    assert isinstance(block.norm, LayerNorm2d) and block.norm.eps == 1e-6
    # Laterals and extra convs get the same channel LayerNorm through mmcv.
    assert isinstance(neck.lateral_convs[0].norm, LayerNorm2d)
    assert isinstance(neck.fpn_convs[4][0].norm, LayerNorm2d)
    assert len(neck(_inputs())) == 5
    out = block(torch.randn(2, OUT, 11, 9))
    torch.testing.assert_close(
        out.mean(1), torch.zeros(2, 11, 9), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        out.var(1, unbiased=False), torch.ones(2, 11, 9), atol=1e-3, rtol=0)


def test_batch_norm_and_activation():
    neck = HorFPN(
        IN_CHANNELS,
        OUT,
        5,
        add_extra_convs='on_output',
        norm_cfg=dict(type='BN', requires_grad=True),
        act_cfg=dict(type='ReLU'))
    block = neck.fpn_convs[1]
    assert isinstance(block.norm, nn.BatchNorm2d)
    assert isinstance(block.act, nn.ReLU)
    x = torch.randn(4, OUT, 10, 7)
    pre = F.batch_norm(
        gnconv(block, x), None, None, training=True, eps=block.norm.eps)
    torch.testing.assert_close(block(x), F.relu(pre), atol=1e-5, rtol=1e-4)
    outs = neck(_inputs())
    assert all((o >= 0).all() for o in outs)


def test_bad_gnconv_cfg():
    with pytest.raises(
            ValueError,
            match=r"Unknown gnconv_cfg keys \['kernel_size', 'type'\]"
    ):  # noqa
        HorFPN(
            IN_CHANNELS, OUT, 4, gnconv_cfg=dict(type='gngf', kernel_size=7))
    with pytest.raises(TypeError, match='gnconv_cfg must be a dict'):
        HorFPN(IN_CHANNELS, OUT, 4, gnconv_cfg='partial(gnconv, order=2)')
    with pytest.raises(
            ValueError, match='divisible by 2 \\*\\* \\(order - 1\\)'):  # noqa
        HorFPN(IN_CHANNELS, 12, 4, gnconv_cfg=dict(order=4))
    with pytest.raises(ValueError, match='proj_out must be True'):
        HorFPN(IN_CHANNELS, OUT, 4, gnconv_cfg=dict(proj_out=False))
    with pytest.raises(ValueError, match='dim must be even'):
        HorFPN(
            IN_CHANNELS,
            6,
            4,
            gnconv_cfg=dict(mixer_cfg=dict(type='GF', h=4, w=3)))


def test_built_through_registries():
    cfg = dict(
        type='HorFPN',
        in_channels=IN_CHANNELS,
        out_channels=OUT,
        num_outs=5,
        add_extra_convs='on_output',
        gnconv_cfg=dict(order=3, mixer_cfg=dict(type='GF', h=8, w=5)))
    with DefaultScope.overwrite_default_scope('mmdet'):
        neck = import_module('mmdet.registry').MODELS.build(cfg)
    assert type(neck) is HorFPN and neck.fpn_convs[0].order == 3
    # Other hosts (and mmhornet) name it with mmdet's scope.
    for scope in ('mmseg', 'mmpretrain', 'mmhornet'):
        registry = import_module(f'{scope}.registry').MODELS
        with DefaultScope.overwrite_default_scope(scope):
            neck = registry.build(dict(cfg, type='mmdet.HorFPN'))
        assert type(neck) is HorFPN, scope
    assert [tuple(o.shape[-2:]) for o in neck(_inputs())] == \
        SIZES + [_halve(SIZES[-1])]
