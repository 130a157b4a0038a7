import pytest
import torch
import torch.nn as nn

from mmhornet.layers import depthwise
from mmhornet.layers.depthwise import depthwise_conv_nhwc
from tests.reference_hornet import rel_err
from .helpers import aot_eager_recording_backward, record_fast_convs


@pytest.mark.parametrize(
    'channels, size, kernel, bias',
    [
        (24, (13, 17), 7, True),  # odd sizes, HorNet's 7x7 with bias
        (16, (5, 9), 7, True),  # kernel larger than the map
        (20, (8, 8), 5, False),  # no bias, the smallest kernel it takes
    ])
def test_fast_weight_gradient_matches_autograd(channels, size, kernel, bias,
                                               monkeypatch):
    torch.manual_seed(0)
    calls = []
    apply = depthwise._SameDepthwiseConv2d.apply
    monkeypatch.setattr(depthwise._SameDepthwiseConv2d, 'apply',
                        lambda *a: calls.append(1) or apply(*a))
    conv = nn.Conv2d(
        channels,
        channels,
        kernel,
        padding=kernel // 2,
        groups=channels,
        bias=bias)
    ref = nn.Conv2d(
        channels,
        channels,
        kernel,
        padding=kernel // 2,
        groups=channels,
        bias=bias).double()
    ref.load_state_dict(conv.state_dict())
    x = torch.randn(3, *size, channels, requires_grad=True)
    x64 = x.detach().double().requires_grad_()
    grad = torch.randn(3, *size, channels)

    out = depthwise_conv_nhwc(conv, x, scale=0.5)
    expected = ref(x64.permute(0, 3, 1, 2)).permute(0, 2, 3, 1) * 0.5
    assert out.shape == x.shape
    assert rel_err(out.double(), expected) < 1e-6

    params = [conv.weight] + ([conv.bias] if bias else [])
    ref_params = [ref.weight] + ([ref.bias] if bias else [])
    ours = torch.autograd.grad(out, [x] + params, grad)
    theirs = torch.autograd.grad(expected, [x64] + ref_params, grad.double())
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert rel_err(a.double(), b) < 1e-5
    assert calls == [1]  # the fast gradient was the one checked


def test_fast_path_taken_only_where_it_applies(monkeypatch):
    calls = []
    apply = depthwise._SameDepthwiseConv2d.apply
    monkeypatch.setattr(depthwise._SameDepthwiseConv2d, 'apply',
                        lambda *a: calls.append(1) or apply(*a))
    conv = nn.Conv2d(8, 8, 7, padding=3, groups=8)
    x = torch.randn(2, 10, 10, 8)
    depthwise_conv_nhwc(conv, x)
    assert calls == [1]
    with torch.no_grad():  # inference: plain conv
        depthwise_conv_nhwc(conv, x)
    conv.requires_grad_(False)  # frozen weight: plain conv
    depthwise_conv_nhwc(conv, x.requires_grad_())
    strided = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
    out = depthwise_conv_nhwc(strided, x)  # not 'same': plain conv
    assert out.shape == (2, 5, 5, 8)
    small = nn.Conv2d(8, 8, 3, padding=1, groups=8)
    depthwise_conv_nhwc(small, x)  # 3x3: oneDNN's own gradient is faster
    assert calls == [1]


@pytest.mark.parametrize('autocast', [True, False])
def test_fast_gradients_in_bf16(autocast, monkeypatch):
    """bf16 autocast (fp32 parameters) and a bf16 module both take the fast
    gradients; they match float64 autograd within bf16 rounding, and the
    parameters' gradients keep the parameters' dtype."""
    torch.manual_seed(0)
    calls = record_fast_convs(monkeypatch)
    conv = nn.Conv2d(32, 32, 7, padding=3, groups=32)
    ref = nn.Conv2d(32, 32, 7, padding=3, groups=32).double()
    if not autocast:
        conv.bfloat16()
    ref.load_state_dict(conv.state_dict())
    x = torch.randn(2, 12, 10, 32, dtype=conv.weight.dtype)
    x.requires_grad_()
    grad = torch.randn(2, 12, 10, 32)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        out = depthwise_conv_nhwc(conv, x)
    assert out.dtype == torch.bfloat16 and calls == [torch.bfloat16]
    x64 = x.detach().double().requires_grad_()
    expected = ref(x64.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert rel_err(out.double(), expected) < 1e-2
    ours = torch.autograd.grad(out, [x, conv.weight, conv.bias],
                               grad.to(out.dtype))
    theirs = torch.autograd.grad(expected, [x64, ref.weight, ref.bias],
                                 grad.to(out.dtype).double())
    for a, b, like in zip(ours, theirs, [x, conv.weight, conv.bias]):
        assert a.dtype == like.dtype and a.shape == b.shape
        assert rel_err(a.double(), b) < 1e-2


def test_fp16_autocast_keeps_the_plain_conv(monkeypatch):
    monkeypatch.setattr(depthwise._SameDepthwiseConv2d, 'apply',
                        lambda *a: pytest.fail('fast path under fp16'))
    conv = nn.Conv2d(8, 8, 7, padding=3, groups=8)
    with torch.autocast('cpu', dtype=torch.float16):
        out = depthwise_conv_nhwc(conv, torch.randn(2, 10, 10, 8))
    assert out.dtype == torch.float16


@pytest.mark.parametrize('autocast', [False, True])
def test_compiled_fast_gradients_match_eager(autocast):
    # dynamo traces the autograd Function (no graph break, no
    # convolution_backward in the backward graph). Its backward must not
    # rely on strides the tracer predicts: under bf16 autocast it predicts
    # this loss's output gradient contiguous, which is channels-last when
    # the graph runs.
    dynamo = pytest.importorskip('torch._dynamo')
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 16, 7, padding=3, groups=16)
    x = torch.randn(2, 12, 12, 16, requires_grad=True)

    def loss(x):
        return depthwise_conv_nhwc(conv, x).permute(0, 3, 1, 2).square().sum()

    def grads(fn):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            return torch.autograd.grad(fn(x), [x, conv.weight, conv.bias])

    expected = grads(loss)
    graphs = []
    backend = aot_eager_recording_backward(graphs)
    try:
        compiled = grads(torch.compile(loss, backend=backend, fullgraph=True))
    finally:
        dynamo.reset()
    (targets, ) = graphs
    assert not [t for t in targets if 'convolution_backward' in t]
    assert sum('convolution.default' in t for t in targets) == 2
    for a, b in zip(compiled, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
