"""FLOP counting: the FFT handles against hand counts, the paper's ImageNet
figures, and mmpretrain's HorNet counted the same way."""
import functools
import math

import pytest
import torch
import torch.nn as nn

from mmhornet.analysis import PAPER_GFLOPS, classifier_flops, count_flops
from mmhornet.layers import GlobalLocalFilter, GnConv


class _ChannelsFirstFilter(nn.Module):
    """The reference's Fourier filter: (N, C, H, W), dims (2, 3)."""

    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(weight)  # (C, H', W', 2)

    def forward(self, x):
        freq = torch.fft.rfft2(x, dim=(2, 3), norm='ortho')
        freq = freq * torch.view_as_complex(self.weight)
        return torch.fft.irfft2(freq, s=x.shape[2:], dim=(2, 3), norm='ortho')


@functools.lru_cache(maxsize=None)
def _classifier(arch, impl='mmhornet', shape=(224, 224)):
    """Count once per module run: building HorNet-B alone takes seconds."""
    return classifier_flops(arch, impl, shape)


def _fft_macs(channels, h, w, batch=1):
    """Module doc's formula: 2 real FFTs of N = h * w points at 1.25 N log2 N
    MACs each, and 3 MACs per complex product on the (h, w // 2 + 1) grid."""
    n = h * w
    return batch * channels * (2 * 1.25 * n * math.log2(n) + 3 * h *
                               (w // 2 + 1))


def test_fft_part_of_global_local_filter_matches_formula():
    gf = GlobalLocalFilter(64, h=14, w=8)
    report = count_flops(gf, torch.randn(2, 14, 14, 64))['']
    assert report.by_operator['fft'] + report.by_operator['fft_filter'] == \
        pytest.approx(_fft_macs(32, 14, 14, batch=2))
    # The local half: a 3x3 depthwise conv over 32 channels.
    assert report.by_operator['conv'] == 2 * 32 * 9 * 14 * 14


def test_fft_count_follows_the_transformed_dims():
    # Channels-first (dims 2, 3) at an odd width counts the same as the
    # formula: the handle reads `dim`, not a fixed layout.
    weight = torch.randn(6, 9, 6, 2)
    report = count_flops(
        _ChannelsFirstFilter(weight), torch.randn(3, 6, 9, 11))['']
    assert report.fft == pytest.approx(_fft_macs(6, 9, 11, batch=3))
    assert report.conv_linear == 0


def test_channels_last_gnconv_linears_are_counted():
    # g^nConv runs its 1x1 convs as F.linear on channels-last tensors; the
    # count must equal the 1x1 conv MACs: C*2C + sum(d_i * d_{i+1}) + C*C
    # per pixel, plus the 7x7 depthwise conv over sum(dims) channels.
    dim, h, w = 32, 10, 12
    m = GnConv(dim, order=3, data_format='channels_last')
    report = count_flops(m, torch.randn(1, h, w, dim))['']
    dims = [8, 16, 32]
    pointwise = dim * 2 * dim + dims[0] * dims[1] + dims[1] * dims[2] + \
        dim * dim
    assert report.by_operator['linear'] == h * w * pointwise
    assert report.by_operator['conv'] == h * w * sum(dims) * 49
    # Gates: a real multiply per output element, reported apart.
    assert report.group('elementwise') > 0
    assert report.fft == 0


@pytest.mark.slow
@pytest.mark.parametrize('arch', sorted(PAPER_GFLOPS))
def test_paper_imagenet_figures(arch):
    reports = _classifier(arch)
    model, backbone = reports[''], reports['backbone']
    paper = PAPER_GFLOPS[arch]
    assert model.conv_linear / 1e9 == pytest.approx(paper, rel=0.03)
    # The 1000-class head is the only difference to the bare backbone.
    channels = {'tiny': 512, 'small': 768, 'base': 1024}[arch.split('-')[0]]
    assert model.conv_linear - backbone.conv_linear == channels * 1000
    if arch.endswith('-gf'):
        assert model.fft > 0
        # Small next to the convolutions: it cannot move the paper's
        # one-decimal figure by more than a rounding step.
        assert model.fft < 0.01 * model.conv_linear
    else:
        assert model.fft == 0


@pytest.mark.slow
@pytest.mark.parametrize('arch, shape', [('tiny', (224, 224)),
                                         ('tiny-gf', (224, 224)),
                                         ('tiny-gf', (256, 320))])
def test_same_count_as_mmpretrain(arch, shape):
    # 256x320: the GF filters are resized to a new FFT grid.
    pytest.importorskip('mmpretrain.models.backbones')
    ours = _classifier(arch, 'mmhornet', shape)['']
    theirs = _classifier(arch, 'mmpretrain', shape)['']
    assert ours.params == theirs.params
    assert ours.conv_linear == theirs.conv_linear
    assert ours.fft == pytest.approx(theirs.fft)
    # Norms are not compared: mmpretrain's channels-first LayerNorms are
    # elementwise ops that fvcore skips, mmhornet's are aten::layer_norm.
