import pytest
import torch

from mmhornet.layers import GlobalLocalFilter, GnConv, LayerNorm2d
from mmhornet.layers import gnconv as gnconv_module
from mmhornet.layers.policy import DFT_MAX_SIDE
from tests.reference_hornet import (global_local_filter, gnconv,
                                    ln_channels_first, rel_err)


def _randomize(module):
    """Non-trivial values everywhere (LayerNorm affine included)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3 + (1. if p.ndim == 1 else 0.))
    return module


@pytest.mark.parametrize('order', [1, 2, 3, 5])
@pytest.mark.parametrize('mixer', [
    dict(type='DW', kernel_size=7),
    dict(type='DW', kernel_size=3),
    dict(type='GF', h=6, w=4)
])
def test_gnconv_matches_reference(order, mixer):
    m = _randomize(GnConv(32, order=order, mixer_cfg=mixer, scale=1 / 3))
    x = torch.randn(2, 32, 13, 17)
    out = m(x)
    assert out.shape == x.shape
    assert rel_err(out, gnconv(m, x)) < 1e-5


def test_gnconv_channels_last_equals_channels_first():
    cf = _randomize(GnConv(16, order=3))
    cl = GnConv(16, order=3, data_format='channels_last')
    cl.load_state_dict(cf.state_dict())
    x = torch.randn(2, 16, 9, 10)
    torch.testing.assert_close(
        cl(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), cf(x))


def test_gnconv_gradients_reach_every_parameter():
    m = _randomize(GnConv(16, order=3, mixer_cfg=dict(type='GF', h=5, w=3)))
    m(torch.randn(2, 16, 8, 8)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('dim,order', [(12, 4), (10, 3), (7, 2)])
def test_gnconv_rejects_indivisible_channels(dim, order):
    with pytest.raises(ValueError, match=r'divisible by 2 \*\* \(order - 1\)'):
        GnConv(dim, order=order)


def test_gnconv_rejects_bad_config():
    with pytest.raises(ValueError, match='order must be an int >= 1'):
        GnConv(16, order=0)
    with pytest.raises(ValueError, match="Unknown spatial mixer type 'FFT'"):
        GnConv(16, order=2, mixer_cfg=dict(type='FFT'))
    with pytest.raises(ValueError, match=r"Unknown keys \['size'\]"):
        GnConv(16, order=2, mixer_cfg=dict(type='GF', size=3))
    with pytest.raises(ValueError, match='kernel_size must be odd'):
        GnConv(16, order=2, mixer_cfg=dict(type='DW', kernel_size=4))
    with pytest.raises(ValueError, match='data_format'):
        GnConv(16, order=2, data_format='NCHW')


@pytest.mark.parametrize('size', [(7, 7), (8, 13), (257, 311), (100, 152)])
def test_global_filter_any_size_matches_reference(size):
    gf = _randomize(GlobalLocalFilter(8, h=14, w=8))
    x = torch.randn(1, 8, *size)
    out = gf(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert out.shape == x.shape
    assert rel_err(out, global_local_filter(gf, x)) < 1e-5


def test_global_filter_detection_size():
    # A stage-2 map of an 800x1216 image is 50x76; the layer works at the
    # image size too.
    gf = GlobalLocalFilter(2, h=14, w=8)
    x = torch.randn(1, 800, 1216, 2)
    assert gf(x).shape == x.shape


def test_global_filter_cache_is_used_and_invalidated():
    gf = GlobalLocalFilter(4, h=5, w=3)
    with torch.no_grad():
        first = gf.filter_for_grid((9, 5))
        assert gf.filter_for_grid((9, 5)) is first
        other = gf.filter_for_grid((4, 3))
        assert other.shape == (4, 3, 2, 2)
        gf.complex_weight.add_(1.)  # e.g. an optimizer step
        updated = gf.filter_for_grid((9, 5))
    assert updated is not first
    assert not torch.allclose(updated, first)
    # With gradients flowing into the filter, nothing stale is reused and the
    # weight gets its gradient.
    x = torch.randn(1, 9, 8, 4)
    gf(x).sum().backward()
    assert gf.complex_weight.grad is not None
    assert gf.complex_weight.grad.abs().sum() > 0
    # .to() / .half() drop the cache.
    gf.double()
    assert gf._filter_cache == {}


def test_traced_global_filter_resizes_its_filter_in_the_graph():
    # FLOP counters trace a model that may have run before: a cached filter
    # would enter the trace as a constant and hide its interpolation.
    gf = GlobalLocalFilter(4, h=5, w=3)
    x = torch.randn(1, 9, 8, 4)
    with torch.no_grad():
        gf(x)  # fills the cache for the (9, 5) grid
        graph = torch.jit.trace(gf, x, check_trace=False).graph
    assert 'upsample_bilinear2d' in str(graph)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_global_filter_under_autocast_and_half(dtype):
    gf = _randomize(GlobalLocalFilter(8, h=6, w=4))
    x = torch.randn(2, 11, 10, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = gf(x)
    assert out.dtype == x.dtype and torch.isfinite(out).all()
    half = gf.to(dtype)
    out = half(x.to(dtype))
    assert out.dtype == dtype and torch.isfinite(out).all()


@pytest.mark.parametrize('shape', [(2, 14, 14, 6), (2, 7, 7, 4),
                                   (3, 13, 10, 2), (1, 5, 1, 3), (1, 1, 6, 2),
                                   (1, 1, 1, 2)])
def test_dft_global_filter_equals_fft(shape):
    # A random complex filter is not Hermitian in the width's bin 0 / Nyquist
    # bin, whose imaginary parts irfft2 drops: the DFT path must drop them
    # the same way. Float64 so only formula differences would show.
    n, h, w, c = shape
    base = torch.randn(n, h, w, 2 * c, dtype=torch.float64, requires_grad=True)
    filt = torch.randn(
        h, w // 2 + 1, c, 2, dtype=torch.float64, requires_grad=True)
    grads = []
    for transform in (gnconv_module.dft_global_filter,
                      gnconv_module.fft_global_filter):
        x = base.chunk(2, dim=-1)[1]  # strided, as in the layer
        out = transform(x, filt)
        out.backward(
            torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out))
        grads.append((out.detach(), base.grad.clone(), filt.grad.clone()))
        base.grad, filt.grad = None, None
    for dft, fft in zip(*grads):
        assert (dft - fft).abs().max() <= 1e-12 * fft.abs().max()


def test_global_filter_transform_choice(monkeypatch):
    calls = []
    for name in ('dft_global_filter', 'fft_global_filter'):
        fn = getattr(gnconv_module, name)
        monkeypatch.setattr(
            gnconv_module,
            name,
            lambda *a, _fn=fn, _name=name: calls.append(_name) or _fn(*a))
    gf = GlobalLocalFilter(4, h=5, w=3)
    side = DFT_MAX_SIDE
    gf(torch.randn(1, side, side, 4))
    gf(torch.randn(1, side + 1, 4, 4))
    # FLOP counters trace the model: FFTs must show as FFTs there.
    torch.jit.trace(gf, torch.randn(1, 6, 6, 4), check_trace=False)
    assert calls == [
        'dft_global_filter', 'fft_global_filter', 'fft_global_filter'
    ]


def test_dft_matrices_made_in_inference_mode_train():
    # The matrices are cached: made under inference_mode they must still be
    # usable (saved for backward) in training.
    gnconv_module._dft_matrices.cache_clear()
    gf = _randomize(GlobalLocalFilter(4, h=3, w=2))
    x = torch.randn(2, 3, 3, 4)
    with torch.inference_mode():
        expected = gf(x)
    x.requires_grad_(True)
    out = gf(x)
    out.sum().backward()
    assert torch.equal(out.detach(), expected)
    assert x.grad is not None and gf.complex_weight.grad is not None
    # Also in float64, where no dtype conversion makes fresh tensors.
    x = torch.randn(1, 5, 5, 2, dtype=torch.float64)
    filt = torch.randn(5, 3, 2, 2, dtype=torch.float64)
    with torch.inference_mode():
        gnconv_module.dft_global_filter(x, filt)
    x.requires_grad_(True)
    gnconv_module.dft_global_filter(x, filt).sum().backward()
    assert x.grad is not None


def test_global_filter_rejects_odd_channels():
    with pytest.raises(ValueError, match='dim must be even'):
        GlobalLocalFilter(7)


def test_layernorm2d_matches_channels_first_formula():
    ln = _randomize(LayerNorm2d(6))
    x = torch.randn(2, 6, 5, 7) * 3 + 1
    torch.testing.assert_close(
        ln(x), ln_channels_first(x, ln.weight, ln.bias), rtol=1e-5, atol=1e-5)
