"""The g^nConv plugin in the hosts' own ResNets: a pretrained ResNet keeps
its outputs when the plugin is added, the plugin learns, every position
works, and what cannot work is refused clearly."""
import pytest
import torch
from mmengine.registry import DefaultScope

from mmhornet.engine import MMHornetRunner
from mmhornet.layers import GlobalLocalFilter
from mmhornet.models import GnConvPlugin, check_plugins

#: (scope, backbone type) of the hosts' ResNets that take plugins.
HOSTS = [('mmdet', 'ResNet'), ('mmseg', 'ResNetV1c')]
POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')
#: A narrow ResNet-50 (Bottleneck widths 16, 32, 64, 128) for speed.
BASE = 16


def _plugins(position, **cfg):
    return [
        dict(
            cfg=dict(type='mmhornet.GnConvPlugin', **cfg),
            stages=(False, True, True, True),
            position=position)
    ]


def _resnet(scope, type_, **kwargs):
    """A host ResNet, by default the narrow ResNet-50."""
    import mmdet.models  # noqa: F401  (registers the hosts' backbones)
    import mmseg.models  # noqa: F401
    from mmengine.registry import MODELS
    cfg = dict(type=type_, depth=50, base_channels=BASE)
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg)


def _randomize_bn(model, seed=0):
    """Running statistics and affine BN parameters away from their init, so
    that 'same outputs' says more than 'both are identity-ish'."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + .5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + .5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """``{host: (checkpoint path, outputs on x, x)}`` of plain ResNets."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 64, 64)
    out = {}
    for scope, type_ in HOSTS:
        model = _resnet(scope, type_)
        model.init_weights()
        _randomize_bn(model)
        path = tmp_path_factory.mktemp(scope) / 'resnet.pth'
        torch.save(model.state_dict(), path)
        with torch.no_grad():
            model.eval()
            out[scope] = (str(path), model(x), x)
    return out


@pytest.mark.parametrize('position', POSITIONS)
@pytest.mark.parametrize('scope,type_', HOSTS)
def test_pretrained_resnet_keeps_its_outputs(scope, type_, position,
                                             pretrained):
    path, expected, x = pretrained[scope]
    model = _resnet(
        scope,
        type_,
        plugins=_plugins(position),
        init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    plugins = [m for m in model.modules() if isinstance(m, GnConvPlugin)]
    assert len(plugins) == 4 + 6 + 3  # every block of stages c3-c5
    # The plugin sees the feature of its position: the bottleneck width
    # after conv1 / conv2, 4x that after conv3.
    widths = [p.norm.normalized_shape[0] for p in plugins]
    factor = 4 if position == 'after_conv3' else 1
    assert widths == [
        factor * BASE * 2**i for i, n in ((1, 4), (2, 6), (3, 3))
        for _ in range(n)
    ]
    for p in plugins:
        # HorNet's init reached the layers; only the last projection is 0.
        assert p.gnconv.proj_in.weight.abs().sum() > 0
        assert p.gnconv.dwconv.weight.abs().sum() > 0
        assert not p.gnconv.proj_out.weight.any()
        assert not p.gnconv.proj_out.bias.any()
    with torch.no_grad():
        model.eval()
        got = model(x)
    for a, b in zip(got, expected):
        assert torch.equal(a, b)


@pytest.mark.parametrize('scope,type_', HOSTS)
def test_train_steps_reach_the_plugin(scope, type_):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 64, 64)
    # The host zero-inits each block's last BN (zero_init_residual), which
    # would cut every gradient to the blocks' insides at the first step.
    model = _resnet(
        scope,
        type_,
        plugins=_plugins('after_conv2'),
        zero_init_residual=False)
    model.init_weights()
    model.train()
    with torch.no_grad():
        before = model(x)
    plugin = model.layer3[0].gnconv_plugin
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    grads = []
    for _ in range(2):
        optimizer.zero_grad()
        sum(o.square().mean() for o in model(x)).backward()
        grads.append({
            n: p.grad.abs().sum().item()
            for n, p in plugin.named_parameters()
        })
        optimizer.step()
    # The zero last projection gets a gradient at once, the layers before
    # it once it is no longer zero.
    assert grads[0]['gnconv.proj_out.weight'] > 0
    assert grads[0]['gnconv.proj_in.weight'] == 0
    assert all(g > 0 for g in grads[1].values()), grads[1]
    assert torch.all(plugin.gnconv.proj_out.weight.detach() != 0)
    with torch.no_grad():
        after = model(x)
    assert not torch.allclose(after[-1], before[-1])


def test_gf_mixer_on_another_map_size():
    plugin = GnConvPlugin(32, order=2, mixer_cfg=dict(type='GF', h=4, w=3))
    assert isinstance(plugin.gnconv.dwconv, GlobalLocalFilter)
    torch.nn.init.normal_(plugin.gnconv.proj_out.weight)
    x = torch.randn(1, 32, 12, 20)
    y = plugin(x)
    assert y.shape == x.shape and not torch.allclose(y, x)


def test_channels_not_divisible_by_the_order():
    with pytest.raises(
            ValueError,
            match=r'GnConvPlugin\(order=3\) on a '
            r'6-channel feature'):
        GnConvPlugin(6, order=3)
    # In a host ResNet: the error names the plugin and the channels.
    with pytest.raises(ValueError, match='order=4.*12-channel'):
        _resnet(
            'mmdet',
            'ResNet',
            base_channels=6,
            plugins=_plugins('after_conv2', order=4))


@pytest.mark.parametrize('depth', [18, 34])
def test_basic_block_resnets_are_refused(depth, tmp_path):
    backbone = dict(
        type='ResNet', depth=depth, plugins=_plugins('after_conv2'))
    # The host's own error says only 'Not implemented yet.'
    with pytest.raises(AssertionError, match='Not implemented yet'):
        _resnet('mmdet', 'ResNet', depth=depth, plugins=backbone['plugins'])
    message = (f'ResNet depth {depth} is made of BasicBlocks.*'
               'mmhornet.GnConvPlugin.*Use depth 50, 101 or 152')
    with pytest.raises(ValueError, match=message):
        check_plugins(dict(type='RetinaNet', backbone=backbone))
    # mmhornet's runner checks before it builds.
    with pytest.raises(ValueError, match=message):
        MMHornetRunner(
            model=dict(type='RetinaNet', backbone=backbone),
            work_dir=str(tmp_path),
            default_scope='mmdet')
    # Bottleneck depths and backbones without plugins pass.
    check_plugins(dict(backbone=dict(backbone, depth=50)))
    check_plugins(dict(backbone=dict(type='ResNet', depth=18)))
