"""HorNet under torch.compile: one graph (no graph breaks), and the compiled
model (``aot_eager``: dynamo + AOT autograd, no code generation, so it is
quick on CPU) computes what the eager one does, in eval and in training."""
import pytest
import torch

from mmhornet.layers.policy import fast_path
from mmhornet.models.backbones.hornet import HorNet
from tests.reference_hornet import rel_err
from tests.test_layers.helpers import aot_eager_recording_backward
from tests.test_models.helpers import tiny_arch

dynamo = pytest.importorskip('torch._dynamo')


def _model(training):
    torch.manual_seed(0)
    # 7x7 stages, and GF stages whose filters fit a 64x64 input's maps.
    model = HorNet(
        tiny_arch(),
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False,
        layer_scale_init_value=0.5)
    return model.train(training)


def _loss(outs):
    # Fixed random projections of the maps: their squares' mean would be
    # about constant after the final LayerNorms (weight 1, bias 0), with
    # gradients of rounding noise.
    weights = [
        torch.randn(o.shape, generator=torch.Generator().manual_seed(i))
        for i, o in enumerate(outs)
    ]
    return sum((o.float() * w).sum() for o, w in zip(outs, weights))


@pytest.mark.parametrize('training', [False, True])
def test_hornet_traces_as_one_graph(training):
    model = _model(training)
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode(not training):
        explanation = dynamo.explain(model)(x)
    dynamo.reset()
    assert explanation.graph_break_count == 0, [
        str(b.reason)[:200] for b in explanation.break_reasons
    ]
    assert explanation.graph_count == 1


def test_compiled_hornet_matches_eager():
    model = _model(True)
    x = torch.randn(2, 3, 64, 64)
    compiled = torch.compile(model, backend='aot_eager')
    try:
        outs = model(x)
        _loss(outs).backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        compiled_outs = compiled(x)
        _loss(compiled_outs).backward()
        for a, b in zip(compiled_outs, outs):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        for p, g in zip(model.parameters(), grads):
            torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-7)
        model.eval()
        with torch.inference_mode():
            torch.testing.assert_close(
                compiled(x), model(x), rtol=1e-5, atol=1e-6)
    finally:
        dynamo.reset()


def _gradients(model, x, fast, autocast, compiled):
    """The parameters' gradients of one step, eager or compiled
    (``aot_eager``), and the number of ``convolution_backward`` calls in
    the compiled backward graph (None eager)."""
    graphs = []
    backend = aot_eager_recording_backward(graphs)
    model.zero_grad(set_to_none=True)
    run = torch.compile(model, backend=backend) if compiled else model
    try:
        with fast_path(fast), torch.autocast(
                'cpu', dtype=torch.bfloat16, enabled=autocast):
            _loss(run(x)).backward()
    finally:
        dynamo.reset()
    assert len(graphs) == int(compiled)
    calls = [sum('convolution_backward' in t for t in g) for g in graphs]
    return [p.grad.clone() for p in model.parameters()], (calls or [None])[0]


@pytest.mark.parametrize('autocast', [False, True])
def test_compiled_training_takes_the_fast_depthwise_gradients(autocast):
    # The compiler traces the 7x7 convs' autograd Function: its backward
    # graph holds forward convs for their gradients, not
    # convolution_backward, and gives eager's gradients (fp32 and bf16).
    model = _model(True)
    x = torch.randn(2, 3, 64, 64)
    num_7x7 = sum(
        isinstance(m, torch.nn.Conv2d) and m.kernel_size == (7, 7)
        for m in model.modules())
    assert num_7x7 == 2
    calls, compiled = {}, {}
    for fast in (True, False):
        eager, _ = _gradients(model, x, fast, autocast, compiled=False)
        compiled[fast], calls[fast] = _gradients(
            model, x, fast, autocast, compiled=True)
        for a, b in zip(compiled[fast], eager):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert calls[False] - calls[True] == num_7x7
    if not autocast:  # and the fast gradients are the plain ones
        for a, b in zip(compiled[True], compiled[False]):
            assert rel_err(a, b) < 1e-5


def test_compiled_eval_runs_without_recompiling():
    # The GF filters' Python-side cache is off under compile: guards on it
    # recompiled every GF layer (and hit dynamo's recompile limit).
    model = _model(False)
    x = torch.randn(1, 3, 64, 64)
    compiled = torch.compile(model, backend='eager')
    try:
        with torch.inference_mode():
            compiled(x)
            with dynamo.config.patch(error_on_recompile=True):
                for _ in range(2):
                    outs = compiled(x)
            for a, b in zip(outs, model(x)):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    finally:
        dynamo.reset()


def test_compiler_sees_the_dft_filter():
    # On CPU eager runs GF's global filter on small maps as DFT matrix
    # products; compiled, the same (the matrices made in the graph, not
    # taken from the Python-side cache). Fast paths off: the FFT.
    model = _model(False)
    x = torch.randn(1, 3, 64, 64)
    num_gf = sum(
        type(m).__name__ == 'GlobalLocalFilter' for m in model.modules())
    assert num_gf > 0

    def traced(fast):
        graphs = []

        def backend(gm, inputs):
            graphs.append(gm)
            return gm.forward

        try:
            with fast_path(fast), torch.inference_mode():
                torch.testing.assert_close(
                    torch.compile(model, backend=backend)(x),
                    model(x),
                    rtol=1e-5,
                    atol=1e-6)
        finally:
            dynamo.reset()
        (graph, ) = graphs
        return [
            str(n.target) for n in graph.graph.nodes if n.op == 'call_function'
        ]

    calls = traced(True)
    assert not [c for c in calls if 'fft' in c]
    # The four transforms of each GF layer.
    assert sum('matmul' in c for c in calls) == 4 * num_gf
    calls = traced(False)
    assert [c for c in calls if 'rfft2' in c]
    assert not [c for c in calls if 'matmul' in c]


def test_dft_filter_steps_aside_for_dynamic_shapes_and_export():
    # Symbolic sizes: the FFT, one graph (constant matrices need a size).
    # torch.export: the FFT too, and the matrix cache keeps no fake tensors.
    from mmhornet.layers.gnconv import GlobalLocalFilter, _dft_matrices
    torch.manual_seed(0)
    layer = GlobalLocalFilter(8, 4, 3).eval()
    x = torch.randn(1, 6, 6, 8)
    _dft_matrices.cache_clear()
    try:
        with torch.inference_mode():
            expected = layer(x)
            compiled = torch.compile(
                layer, backend='eager', dynamic=True, fullgraph=True)
            for size in (6, 10):
                y = torch.randn(1, size, size, 8)
                torch.testing.assert_close(
                    compiled(y), layer(y), rtol=1e-5, atol=1e-6)
        _dft_matrices.cache_clear()
        torch.export.export(layer, (x, ))
        with torch.inference_mode():
            out = layer(x)
        assert type(out) is torch.Tensor
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    finally:
        dynamo.reset()
