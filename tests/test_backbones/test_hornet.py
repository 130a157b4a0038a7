import pytest
import torch
import torch.nn as nn

from mmhornet.layers import GlobalLocalFilter
from mmhornet.models import ARCH_ALIASES, ARCH_ZOO, HorNet, resolve_arch

TINY = dict(
    base_dim=8,
    depths=[1, 1, 2, 1],
    orders=[2, 2, 3, 3],
    dw_cfg=[dict(type='DW', kernel_size=7)] * 2 +
    [dict(type='GF', h=4, w=3)] * 2)


def _maps(**kwargs):
    kwargs.setdefault('arch', TINY)
    return HorNet(
        out_indices=(0, 1, 2, 3), gap_before_final_norm=False, **kwargs)


@pytest.mark.parametrize('size', [(224, 224), (112, 137), (256, 309),
                                  (33, 65)])
def test_output_shapes_at_odd_sizes(size):
    model = _maps()
    outs = model(torch.randn(2, 3, *size))
    h, w = size
    expected = []
    h, w = h // 4, w // 4
    for i in range(4):
        expected.append((2, 8 * 2**i, h, w))
        h, w = h // 2, w // 2
    assert [tuple(o.shape) for o in outs] == expected
    assert all(o.is_contiguous() for o in outs)


def test_classification_output():
    model = HorNet(TINY)  # out_indices=(3,), gap_before_final_norm=True
    (out, ) = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 64)


def test_presets_and_aliases():
    assert set(ARCH_ALIASES.values()) <= set(ARCH_ZOO)
    sizes = dict(t='tiny', s='small', b='base', l='large')
    for alias, name in ARCH_ALIASES.items():
        head, _, tail = alias.partition('-')
        assert name == sizes[head] + ('-' + tail if tail else '')
        assert resolve_arch(alias) == resolve_arch(name) == ARCH_ZOO[name]
        assert resolve_arch(alias.upper()) == ARCH_ZOO[name]
    gf = ARCH_ZOO['tiny-gf']['dw_cfg']
    assert gf[:2] == [dict(type='DW', kernel_size=7)] * 2
    assert gf[2:] == [dict(type='GF', h=14, w=8), dict(type='GF', h=7, w=4)]
    assert ARCH_ZOO['large-gf384']['dw_cfg'][2:] == [
        dict(type='GF', h=24, w=13),
        dict(type='GF', h=12, w=7)
    ]
    assert [
        ARCH_ZOO[a]['base_dim'] for a in ('tiny', 'small', 'base', 'large')
    ] == [64, 96, 128, 192]
    m = HorNet('T-GF', out_indices=(2, ))
    assert isinstance(m.stages[2][0].gnconv.dwconv, GlobalLocalFilter)
    assert not isinstance(m.stages[1][0].gnconv.dwconv, GlobalLocalFilter)
    assert m.stages[2][0].gnconv.dwconv.complex_weight.shape == (
        (256 // 8 + 256 // 4 + 256 // 2 + 256) // 2, 14, 8, 2)


@pytest.mark.parametrize('name,alias,dim', [('tiny-gf384', 't-gf384', 64),
                                            ('small-gf384', 's-gf384', 96)])
def test_gf384_presets_equal_the_ade20k_configs_dicts(name, alias, dim):
    """'tiny-gf384' / 'small-gf384' are the arch dicts the ADE20K T-GF / S-GF
    configs spelled out before they named the presets."""
    dw7 = dict(type='DW', kernel_size=7)
    spelled_out = dict(
        base_dim=dim,
        depths=[2, 3, 18, 2],
        orders=[2, 3, 4, 5],
        dw_cfg=[
            dw7, dw7,
            dict(type='GF', h=24, w=13),
            dict(type='GF', h=12, w=7)
        ])
    assert ARCH_ALIASES[alias] == name
    assert ARCH_ZOO[name] == spelled_out
    assert resolve_arch(alias) == spelled_out


def test_bad_arch_errors():
    with pytest.raises(
            ValueError, match=r"Unknown HorNet arch 'huge'.*"
            r'tiny-gf.*t-gf'):
        HorNet('huge')
    bad = dict(TINY)
    del bad['orders']
    with pytest.raises(ValueError, match=r"missing \['orders'\]"):
        HorNet(bad)
    with pytest.raises(ValueError, match=r"unknown \['extra'\]"):
        HorNet(dict(TINY, extra=1))
    with pytest.raises(ValueError, match=r"arch\['depths'\] must list one"):
        HorNet(dict(TINY, depths=[1, 1, 1]))
    with pytest.raises(ValueError, match=r"orders'\]\[0\]=5 does not fit"):
        HorNet(dict(TINY, orders=[5, 2, 2, 2]))
    with pytest.raises(ValueError, match=r'out_indices .* \[-4, 3\].* 4'):
        HorNet(TINY, out_indices=(0, 4))
    with pytest.raises(
            ValueError, match=r'frozen_stages must be in \[-1, 3\]'):
        HorNet(TINY, frozen_stages=4)
    with pytest.raises(ValueError, match='too small'):
        HorNet(TINY)(torch.randn(1, 3, 16, 64))


def test_negative_out_indices():
    model = HorNet(TINY, out_indices=(-1, -2), gap_before_final_norm=False)
    assert model.out_indices == [2, 3]
    assert hasattr(model, 'norm2') and hasattr(model, 'norm3')
    assert not hasattr(model, 'norm0')


@pytest.mark.parametrize('frozen_stages', [0, 1, 3])
def test_frozen_stages_freeze_blocks_and_their_output_norms(frozen_stages):
    model = _maps(frozen_stages=frozen_stages)
    assert model.train() is model
    for i in range(4):
        frozen = i <= frozen_stages
        for m in (model.downsample_layers[i], model.stages[i],
                  getattr(model, f'norm{i}')):
            assert m.training is not frozen
            for p in m.parameters():
                assert p.requires_grad is not frozen
    # Frozen parameters get no gradient; the rest do.
    out = model(torch.randn(1, 3, 64, 64))[-1]
    if frozen_stages == 3:
        assert not out.requires_grad
        return
    out.sum().backward()
    assert model.downsample_layers[0][0].weight.grad is None
    assert model.stages[3][0].pwconv1.weight.grad is not None


def test_norm_eval_keeps_norms_in_eval_mode():
    model = _maps(norm_eval=True)
    model.train()
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(not m.training for m in norms)
    assert model.stages[0][0].pwconv1.training
    assert all(m.training for m in _maps().train().modules())


def test_with_cp_same_result_and_grads():
    torch.manual_seed(1)
    plain = _maps(drop_path_rate=0.)
    cp = _maps(with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    outs = []
    for m in (plain, cp):
        m.train()
        out = m(x.clone().requires_grad_())
        sum(o.square().sum() for o in out).backward()
        outs.append(out)
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b)
    for (name, p), q in zip(plain.named_parameters(), cp.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def test_drop_path_is_stochastic_in_train_only():
    model = _maps(drop_path_rate=0.5)
    for block in model.stages[3]:
        with torch.no_grad():
            block.gamma1.weight.fill_(1.)
            block.gamma2.weight.fill_(1.)
    x = torch.randn(4, 3, 64, 64)
    model.eval()
    torch.testing.assert_close(model(x)[3], model(x)[3])
    model.train()
    torch.manual_seed(0)
    a = model(x)[3]
    torch.manual_seed(1)
    assert not torch.allclose(a, model(x)[3])


def test_layer_scale_off_and_init_value():
    model = _maps(use_layer_scale=False)
    assert not any('gamma' in k for k in model.state_dict())
    model = _maps(layer_scale_init_value=0.5)
    assert torch.all(model.stages[0][0].gamma1.weight == 0.5)


def test_default_init_is_truncated_normal():
    """The official init is init_weights()'s default (init_cfg): building
    does not pay for it."""
    model = HorNet('tiny', out_indices=(0, 1, 2, 3))
    block = model.stages[2][0]
    assert not torch.all(block.pwconv1.bias == 0)  # torch's own init
    model.init_weights()
    for layer in (block.pwconv1, block.gnconv.proj_in, block.gnconv.dwconv,
                  model.downsample_layers[0][0]):
        # timm-style trunc_normal_(std=.02) truncates at +-2 (absolute), as
        # the official init does.
        assert 0.017 < layer.weight.std().item() < 0.023, layer
        assert torch.all(layer.bias == 0)
    assert torch.all(block.norm1.weight == 1)


def test_get_layer_depth_official_ids():
    model = HorNet('tiny', out_indices=(0, 1, 2, 3))
    names = {
        'backbone.downsample_layers.0.0.weight': 0,
        'backbone.stages.0.1.gnconv.proj_in.weight': 1,
        'backbone.downsample_layers.1.1.weight': 2,
        'backbone.stages.1.2.norm1.weight': 2,
        'backbone.downsample_layers.2.0.bias': 3,
        'backbone.stages.2.0.pwconv1.weight': 3,
        'backbone.stages.2.5.gnconv.proj_in.weight': 5,
        'backbone.stages.2.17.gamma2.weight': 11,
        'backbone.stages.3.1.pwconv2.bias': 12,
        'backbone.downsample_layers.3.1.weight': 12,
        'backbone.norm3.weight': 13,
        'neck.lateral_convs.0.conv.weight': 13,
        'roi_head.bbox_head.0.fc_cls.weight': 13,
    }
    for name, layer_id in names.items():
        assert model.get_layer_depth(name, 'backbone.') == (layer_id, 14), name
    # Every parameter of the model has an id in [0, 13].
    for name, _ in model.named_parameters():
        assert 0 <= model.get_layer_depth(name)[0] <= 13


def test_state_dict_round_trip_is_strict():
    a, b = _maps(), _maps()
    b.load_state_dict(a.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    for oa, ob in zip(a.eval()(x), b.eval()(x)):
        torch.testing.assert_close(oa, ob)
