"""The backbone on one device: fp32 parity with mmpretrain, autocast (bf16;
fp16 on CUDA) forward and backward through the 7x7 and GF paths (GF's FFT),
and ``.half()`` on CUDA.

The suite runs these on the CPU; ``tools/analysis/gpu_check.sh`` runs the same
tests on a GPU with ``MMHORNET_TEST_DEVICE=cuda``.
"""
import os
import os.path as osp
import sys

import pytest
import torch

from .helpers import tiny_arch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEVICE = torch.device(os.environ.get('MMHORNET_TEST_DEVICE', 'cpu'))
# Stage maps 24, 12, 6, 3: not powers of two (cuFFT's half-precision FFTs
# need them), the GF filters resized to 6x4 and 3x2.
SIZE = (96, 96)
GF = ((6, 4), (3, 2))


@pytest.fixture(scope='module', autouse=True)
def device_ready():
    if DEVICE.type == 'cuda':
        # A GPU asked for and missing is a failure, not a skip.
        assert torch.cuda.is_available(), 'MMHORNET_TEST_DEVICE=cuda: no GPU'
        matmul, cudnn = (torch.backends.cuda.matmul.allow_tf32,
                         torch.backends.cudnn.allow_tf32)
        # fp32 parity means fp32 products, not TF32's 10-bit mantissas.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        yield
        torch.backends.cuda.matmul.allow_tf32 = matmul
        torch.backends.cudnn.allow_tf32 = cudnn
    else:
        yield


def _pair(seed=0):
    """mmpretrain's and mmhornet's HorNet, same weights (the benchmark's
    pair), on DEVICE, in eval mode."""
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
    try:
        from benchmark import build_pair
    finally:
        sys.path.pop(0)
    models = build_pair(
        tiny_arch(GF),
        seed,
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False)
    for model in models.values():
        model.to(DEVICE)
        model.eval()  # (mmpretrain's HorNet.train returns None)
    return models['mmhornet'], models['mmpretrain']


def _rel(a, b):
    return ((a.float() - b.float()).abs().max() / b.float().abs().max()).item()


def _input(batch=2):
    torch.manual_seed(1)
    return torch.randn(batch, 3, *SIZE).to(DEVICE)


def test_fp32_matches_mmpretrain():
    ours, ref = _pair()
    x = _input()
    with torch.no_grad():
        for a, b in zip(ours(x), ref(x)):
            assert a.dtype == torch.float32
            assert _rel(a, b) < 1e-5


DTYPES = [torch.bfloat16]
if DEVICE.type == 'cuda':
    DTYPES.append(torch.float16)


@pytest.mark.parametrize('dtype', DTYPES, ids=lambda d: str(d)[6:])
def test_autocast_forward_backward(dtype):
    ours, _ = _pair()
    ours.train()
    x = _input()
    with torch.no_grad():
        ours.eval()
        reference = ours(x)
        ours.train()
    with torch.autocast(DEVICE.type, dtype=dtype):
        outs = ours(x)
    for out, ref in zip(outs, reference):
        assert torch.isfinite(out).all()
        assert _rel(out, ref) < 5e-2
    sum(o.float().square().mean() for o in outs).backward()
    grads = {n: p.grad for n, p in ours.named_parameters()}
    assert all(
        g is not None and torch.isfinite(g).all() for g in grads.values())
    # The global filters' weights learn through the fp32 FFT.
    filters = [g for n, g in grads.items() if 'complex_weight' in n]
    assert filters and all(g.abs().sum() > 0 for g in filters)


@pytest.mark.skipif(
    DEVICE.type != 'cuda', reason='fp16 weights are for GPUs (CPU: bf16)')
def test_half_model():
    ours, _ = _pair()
    x = _input()
    with torch.no_grad():
        reference = ours(x)
        outs = ours.half()(x.half())
    for out, ref in zip(outs, reference):
        assert out.dtype == torch.float16
        assert torch.isfinite(out).all()
        assert _rel(out, ref) < 1e-2
