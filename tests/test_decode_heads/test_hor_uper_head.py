"""HorUPerHead: mmseg's UPerHead with g^nConv fusion."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.structures import PixelData
from mmseg.models.decode_heads import UPerHead
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from mmhornet.layers import GlobalLocalFilter, GnConv, GnConvModule
from mmhornet.models import HorUPerHead

IN_CHANNELS = [8, 16, 32, 64]
CHANNELS = 16
NUM_CLASSES = 5
# The maps HorNet gives for a 97x131 image (floors at strides 4 ... 32), and
# odd maps as another backbone could give.
HORNET_97x131 = [(24, 32), (12, 16), (6, 8), (3, 4)]
ODD = [(25, 33), (13, 17), (7, 9), (3, 5)]
MIXERS = {
    'DW': dict(type='DW', kernel_size=7),
    'GF': dict(type='GF', h=8, w=5),
}


@pytest.fixture(autouse=True)
def _mmseg_scope():
    # Builds resolve through the default scope, which another host's tests
    # may have left set.
    register_all_modules()


def _head(mixer='DW', gnconv_fpn_convs=False, **kwargs):
    cfg = dict(
        type='HorUPerHead',
        in_channels=IN_CHANNELS,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=CHANNELS,
        dropout_ratio=0.1,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        gnconv_cfg=dict(order=2, mixer_cfg=MIXERS[mixer]),
        gnconv_fpn_convs=gnconv_fpn_convs,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _feats(sizes, batch=2):
    return [
        torch.randn(batch, c, h, w) for c, (h, w) in zip(IN_CHANNELS, sizes)
    ]


def _samples(batch, size):
    samples = []
    for _ in range(batch):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, NUM_CLASSES, (1, ) + size))
        sample.set_metainfo(dict(img_shape=size, ori_shape=size))
        samples.append(sample)
    return samples


@pytest.mark.parametrize('mixer', ['DW', 'GF'])
@pytest.mark.parametrize('gnconv_fpn_convs', [False, True])
@pytest.mark.parametrize('sizes', [HORNET_97x131, ODD])
def test_output_shape(mixer, gnconv_fpn_convs, sizes):
    head = _head(mixer, gnconv_fpn_convs)
    out = head(_feats(sizes))
    assert out.shape == (2, NUM_CLASSES) + sizes[0]
    assert torch.isfinite(out).all()
    head.eval()
    with torch.no_grad():
        assert head(_feats(sizes, batch=1)).shape == (1, NUM_CLASSES) + \
            sizes[0]


@pytest.mark.parametrize('mixer', ['DW', 'GF'])
@pytest.mark.parametrize('gnconv_fpn_convs', [False, True])
def test_modules(mixer, gnconv_fpn_convs):
    head = _head(mixer, gnconv_fpn_convs)
    assert isinstance(head, UPerHead)
    bottleneck = head.fpn_bottleneck
    assert isinstance(bottleneck, GnConvModule)
    assert isinstance(bottleneck, GnConv) and bottleneck.order == 2
    # 1x1 from the concatenated pyramid to the head's width, no bias.
    assert bottleneck.proj.weight.shape == (CHANNELS, 4 * CHANNELS, 1, 1)
    assert bottleneck.proj.bias is None
    assert isinstance(bottleneck.norm, nn.BatchNorm2d)
    assert isinstance(bottleneck.act, nn.ReLU)
    mixer_module = bottleneck.dwconv
    if mixer == 'GF':
        assert isinstance(mixer_module, GlobalLocalFilter)
        assert mixer_module.complex_weight.shape[1:3] == (8, 5)
    else:
        assert isinstance(mixer_module, nn.Conv2d)
        assert mixer_module.kernel_size == (7, 7)
        assert mixer_module.groups == mixer_module.in_channels
    assert len(head.fpn_convs) == len(IN_CHANNELS) - 1
    for fpn_conv in head.fpn_convs:
        if gnconv_fpn_convs:
            assert isinstance(fpn_conv, GnConvModule)
            # Width unchanged: no projection in front of g^nConv.
            assert fpn_conv.proj is None
        else:
            assert isinstance(fpn_conv, ConvModule)
            assert fpn_conv.conv.kernel_size == (3, 3)
    # No 3x3 conv is left where g^nConv replaced it.
    replaced = [bottleneck] + (
        list(head.fpn_convs) if gnconv_fpn_convs else [])
    for module in replaced:
        assert not any(
            isinstance(m, nn.Conv2d) and m.kernel_size == (3,
                                                           3) and m.groups == 1
            for m in module.modules())


def test_same_as_uperhead_but_the_bottleneck():
    """Everything but the bottleneck is mmseg's: same names, and with the
    bottleneck swapped into an UPerHead the outputs are equal."""
    head = _head('GF').eval()
    kwargs = dict(
        in_channels=IN_CHANNELS,
        in_index=[0, 1, 2, 3],
        channels=CHANNELS,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN'))
    uper = UPerHead(**kwargs).eval()
    ours = {
        k: v
        for k, v in head.state_dict().items()
        if not k.startswith('fpn_bottleneck.')
    }
    theirs = {
        k
        for k in uper.state_dict() if not k.startswith('fpn_bottleneck.')
    }
    assert set(ours) == theirs
    uper.load_state_dict(ours, strict=False)
    uper.fpn_bottleneck = head.fpn_bottleneck
    feats = _feats(ODD)
    with torch.no_grad():
        torch.testing.assert_close(head(feats), uper(feats))


def _official_gnconv_module(module, x):
    """The reference's GNConvModule (order 2, DW mixer, proj_out, norm,
    ReLU) in plain channels-first convolutions, its fused ``proj_in`` being
    our bias-free projection followed by g^nConv's ``proj_in``."""
    gn = module
    fused = (gn.proj_in.weight.flatten(1) @ module.proj.weight.flatten(1))
    x = F.conv2d(x, fused[..., None, None], gn.proj_in.bias)
    pwa, abc = torch.split(x, (gn.dims[0], sum(gn.dims)), dim=1)
    dw = gn.dwconv
    abc = F.conv2d(
        abc, dw.weight, dw.bias, padding=dw.padding,
        groups=dw.groups) * gn.scale
    qs = torch.split(abc, gn.dims, dim=1)
    x = pwa * qs[0]
    for proj, q in zip(gn.projs, qs[1:]):
        x = F.conv2d(x, proj.weight, proj.bias) * q
    x = F.conv2d(x, gn.proj_out.weight, gn.proj_out.bias)
    return F.relu(module.norm(x))


def test_bottleneck_numerics_against_reference():
    head = _head('DW').eval()
    with torch.no_grad():
        for p in head.fpn_bottleneck.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
        bn = head.fpn_bottleneck.norm
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        x = torch.randn(2, 4 * CHANNELS, 13, 17)
        torch.testing.assert_close(
            head.fpn_bottleneck(x),
            _official_gnconv_module(head.fpn_bottleneck, x),
            rtol=1e-4,
            atol=1e-4)


@pytest.mark.parametrize('mixer', ['DW', 'GF'])
@pytest.mark.parametrize('gnconv_fpn_convs', [False, True])
def test_loss_and_gradients(mixer, gnconv_fpn_convs):
    head = _head(mixer, gnconv_fpn_convs)
    feats = [f.requires_grad_() for f in _feats(HORNET_97x131)]
    losses = head.loss(feats, _samples(2, (97, 131)), train_cfg=dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert losses['loss_ce'].ndim == 0
    assert torch.isfinite(losses['loss_ce'])
    # Random logits over 5 classes: near log(5).
    assert 0.5 < losses['loss_ce'].item() < 5.0
    losses['loss_ce'].backward()
    gn = head.fpn_bottleneck
    mixer_params = [gn.dwconv.complex_weight, gn.dwconv.dw.weight] \
        if mixer == 'GF' else [gn.dwconv.weight]
    params = [
        head.fpn_bottleneck.proj.weight, gn.proj_in.weight, gn.projs[0].weight,
        gn.proj_out.weight, *mixer_params, head.lateral_convs[0].conv.weight,
        head.bottleneck.conv.weight, head.conv_seg.weight
    ]
    if gnconv_fpn_convs:
        params.append(head.fpn_convs[0].proj_in.weight)
    else:
        params.append(head.fpn_convs[0].conv.weight)
    for p in params:
        assert p.grad is not None
        assert torch.isfinite(p.grad).all()
        assert p.grad.abs().sum() > 0
    for f in feats:
        assert f.grad is not None and f.grad.abs().sum() > 0


def test_predict_resizes_to_image():
    head = _head('GF').eval()
    metas = [dict(img_shape=(97, 131), ori_shape=(97, 131))]
    with torch.no_grad():
        logits = head.predict(
            _feats(HORNET_97x131, batch=1), metas, test_cfg=dict())
    assert logits.shape == (1, NUM_CLASSES, 97, 131)


def test_defaults_are_the_reference():
    head = _head()
    head_default = MODELS.build(
        dict(
            type='HorUPerHead',
            in_channels=IN_CHANNELS,
            in_index=[0, 1, 2, 3],
            channels=CHANNELS,
            num_classes=NUM_CLASSES))
    assert head_default.gnconv_cfg == dict(
        order=2, mixer_cfg=dict(type='DW', kernel_size=7), scale=1.0)
    assert head_default.gnconv_fpn_convs is False
    assert isinstance(head_default.fpn_convs[0], ConvModule)
    assert head.gnconv_cfg == head_default.gnconv_cfg
    # Only the mixer given: the order is filled in.
    gf = HorUPerHead(
        in_channels=IN_CHANNELS,
        in_index=[0, 1, 2, 3],
        channels=CHANNELS,
        num_classes=NUM_CLASSES,
        gnconv_cfg=dict(mixer_cfg=MIXERS['GF']))
    assert gf.fpn_bottleneck.order == 2
    assert isinstance(gf.fpn_bottleneck.dwconv, GlobalLocalFilter)


def test_higher_order():
    head = _head(gnconv_cfg=dict(order=3, mixer_cfg=MIXERS['DW'], scale=0.5))
    gn = head.fpn_bottleneck
    assert gn.order == 3 and gn.scale == 0.5
    assert gn.dims == [CHANNELS // 4, CHANNELS // 2, CHANNELS]
    assert head(_feats(ODD)).shape == (2, NUM_CLASSES) + ODD[0]


def test_errors():
    with pytest.raises(TypeError, match='gnconv_cfg must be a dict'):
        _head(gnconv_cfg='partial(gnconv, order=2, s=1/3)')
    with pytest.raises(ValueError, match=r"Unknown gnconv_cfg keys \['h'\]"):
        _head(gnconv_cfg=dict(order=2, h=32))
    with pytest.raises(
            ValueError, match=r"Unknown gnconv_cfg keys "
            r"\['data_format'\]"):
        _head(gnconv_cfg=dict(data_format='channels_last'))
    with pytest.raises(ValueError, match='divisible by'):
        _head(channels=18, gnconv_cfg=dict(order=3))
    with pytest.raises(ValueError, match='Unknown spatial mixer type'):
        _head(gnconv_cfg=dict(mixer_cfg=dict(type='gngf')))


def test_without_norm_and_activation():
    module = GnConvModule(8, 8)
    assert module.norm is None and module.act is None
    x = torch.randn(1, 8, 9, 11)
    plain = GnConv(8, order=2)
    plain.load_state_dict(module.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(module(x), plain(x))
