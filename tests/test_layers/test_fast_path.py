"""The fast-path policy: its switch, its decisions, and the fast paths
against the plain computation across the matrix (fp32 train / no_grad /
inference_mode, bf16 autocast, jit trace, torch.compile), in outputs and
gradients."""
import statistics

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhornet.layers import depthwise, fast_path, gnconv, policy, set_fast_path
from mmhornet.layers.utils import linear
from tests.reference_hornet import rel_err
from .helpers import mixed_model as _model
from .helpers import record_fast_convs


def _forward(model, x, backward=False):
    outs = model(x)
    if not backward:
        return [o.detach() for o in outs]
    # Fixed random weights on the outputs: each output leaves a LayerNorm,
    # whose mean square is ~1 whatever its input, so a square loss would
    # leave the early stages rounding noise for gradients.
    gen = torch.Generator().manual_seed(1)
    sum((o * torch.randn(o.shape, generator=gen)).sum()
        for o in outs).backward()
    grads = {
        n.removeprefix('_orig_mod.'): p.grad.clone()
        for n, p in model.named_parameters()
    }
    model.zero_grad(set_to_none=True)
    return [o.detach() for o in outs], grads


def _close(fast, plain, tol, same_dtype=True):
    for a, b in zip(fast, plain):
        assert a.dtype == b.dtype or not same_dtype
        assert rel_err(a.float(), b.float()) < tol


X = torch.randn(2, 3, 64, 96)


def test_switch_and_context_manager():
    assert policy.fast_path_enabled()
    with fast_path(False):
        assert not policy.fast_path_enabled()
        with fast_path(True):
            assert policy.fast_path_enabled()
        assert not policy.fast_path_enabled()
    assert policy.fast_path_enabled()
    with pytest.raises(RuntimeError), fast_path(False):
        raise RuntimeError
    assert policy.fast_path_enabled()
    set_fast_path(False)
    try:
        assert not policy.fast_path_enabled()
    finally:
        set_fast_path(True)


def test_in_place_decisions():
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    assert policy.in_place(a, b) and policy.in_place(a)
    w = torch.randn(2, 3, requires_grad=True)
    assert not policy.in_place(a, w)  # autograd records the op
    with torch.no_grad():
        assert policy.in_place(a, w)
    # bf16 + fp32 is fp32: writing into the bf16 tensor would truncate.
    assert not policy.in_place(a.bfloat16(), b)
    assert policy.in_place(a, b.bfloat16())
    # The result must have out's shape.
    assert not policy.in_place(torch.randn(1, 3), a)
    assert policy.in_place(a, torch.randn(3))
    with fast_path(False):
        assert not policy.in_place(a, b)


def test_every_fast_path_off_with_the_switch_and_while_tracing():
    conv = nn.Conv2d(8, 8, 7, padding=3, groups=8)
    x = torch.randn(2, 8, 10, 10)
    w = torch.randn(4, 8)
    small = torch.randn(1, 6, 6, 4)

    def decisions():
        with torch.no_grad():
            eager = [
                policy.in_place(x),
                policy.matmul_bias(x, w, w[0]),
                policy.dft_filter(small),
                policy.cache_filter(w.requires_grad_(True))
            ]
        w.requires_grad_(False)
        return eager + [policy.depthwise_weight_grad(x, conv)]

    assert decisions() == [True] * 5
    assert policy.fold_scales() and policy.split_projection()
    with fast_path(False):
        assert decisions() == [False] * 5
        assert not policy.fold_scales() and not policy.split_projection()
    seen = []

    class Probe(nn.Module):

        def forward(self, t):
            seen.append(decisions() + [policy.fold_scales()])
            return t * 2

    torch.jit.trace(Probe(), torch.ones(1), check_trace=False)
    assert seen == [[False] * 5 + [True]]


def test_linear_equals_f_linear():
    x = torch.randn(2, 5, 7, 16)
    w, b = torch.randn(8, 16, requires_grad=True), torch.randn(8)
    with torch.no_grad():  # matmul + in-place bias
        fast = linear(x, w, b)
    out = linear(x, w, b)  # recorded: F.linear
    assert out.requires_grad and not fast.requires_grad
    torch.testing.assert_close(fast, F.linear(x, w, b))
    torch.testing.assert_close(out.detach(), fast)


def test_plain_path_runs_no_fast_path(monkeypatch):

    def refuse(*args, **kwargs):
        raise AssertionError('a fast path ran with the switch off')

    monkeypatch.setattr(depthwise._SameDepthwiseConv2d, 'apply', refuse)
    monkeypatch.setattr(gnconv, 'dft_global_filter', refuse)
    monkeypatch.setattr(torch.ops.aten, 'gelu_', refuse)
    model = _model()
    with fast_path(False):
        _forward(model, X, backward=True)
        with torch.inference_mode():
            model.eval()(X)
    assert all(not m._filter_cache for m in model.modules()
               if isinstance(m, gnconv.GlobalLocalFilter))


def test_fast_equals_plain_training():
    """fp32, forward and backward: every fast path that applies in training
    (depthwise weight gradient, DFT filter, folded scales, split proj_in)."""
    model = _model()
    fast, fast_grads = _forward(model, X, backward=True)
    with fast_path(False):
        plain, plain_grads = _forward(model, X, backward=True)
    _close(fast, plain, 1e-5)
    for name, grad in plain_grads.items():
        assert rel_err(fast_grads[name], grad) < 1e-5, name


@pytest.mark.parametrize('grad_mode', ['no_grad', 'inference_mode'])
def test_fast_equals_plain_inference(grad_mode):
    """Inference adds in-place writes, matmul + bias and the filter cache;
    a second call takes the cached filters."""
    model = _model().eval()
    context = getattr(torch, grad_mode)
    with context():
        fast, cached = model(X), model(X)
        with fast_path(False):
            plain = model(X)
    _close(fast, plain, 1e-5)
    _close(cached, plain, 1e-5)


def test_fast_equals_plain_under_bf16_autocast():
    model = _model().eval()
    with torch.no_grad():
        exact = model(X)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            fast = model(X)
            with fast_path(False):
                plain = model(X)
    # The folded layer scales keep the residual stream in bf16 where the
    # plain path's fp32 scales promote it (policy.fold_scales); both are as
    # close to fp32.
    assert {o.dtype for o in fast} == {torch.bfloat16}
    assert {o.dtype for o in plain} == {torch.float32}
    _close(fast, plain, 3e-2, same_dtype=False)
    for f, p, e in zip(fast, plain, exact):
        assert rel_err(f.float(), e) < 3e-2 and rel_err(p.float(), e) < 3e-2


def test_fast_training_under_bf16_autocast(monkeypatch):
    """bf16 autocast training: the depthwise convs take the fast gradients
    in bf16; outputs and gradients are about as close to fp32's as the
    plain path's."""
    calls = record_fast_convs(monkeypatch)
    model = _model()
    exact, exact_grads = _forward(model, X, backward=True)
    calls.clear()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        fast, fast_grads = _forward(model, X, backward=True)
        assert calls and set(calls) == {torch.bfloat16}
        with fast_path(False):
            plain, plain_grads = _forward(model, X, backward=True)
    _close(fast, exact, 3e-2, same_dtype=False)
    _close(plain, exact, 3e-2, same_dtype=False)
    for grads in (fast_grads, plain_grads):
        assert {g.dtype for g in grads.values()} == {torch.float32}
        errors = [rel_err(grads[n], g) for n, g in exact_grads.items()]
        # Seen here: medians 1.2% (fast) and 1.0% (plain), worst 6.1% and
        # 5.4% (the stem's norm, at the end of the backward).
        assert max(errors) < 0.1 and statistics.median(errors) < 0.02


def test_traced_fast_model_equals_plain():
    """Traced with the switch on (gradients on, as FLOP counters and
    exporters trace): plain ops only in the graph, FFTs as FFTs, and the
    plain model's numbers."""
    model = _model().eval()
    traced = torch.jit.trace(model, X)
    graph = str(traced.inlined_graph)
    assert 'PythonOp' not in graph and 'fft_rfft2' in graph
    assert 'gelu_' not in graph
    with fast_path(False), torch.no_grad():
        plain = model(X)
    _close([t.detach() for t in traced(X)], plain, 1e-5)


def test_compiled_fast_model_equals_plain():
    torch._dynamo.reset()
    model = _model()
    compiled = torch.compile(model, backend='aot_eager')
    fast, fast_grads = _forward(compiled, X, backward=True)
    with fast_path(False):
        plain, plain_grads = _forward(model, X, backward=True)
    _close(fast, plain, 1e-5)
    for name, grad in plain_grads.items():
        assert rel_err(fast_grads[name], grad) < 1e-5, name
