"""HorNet under torch.compile: one graph (no graph breaks), and the compiled
model (``aot_eager``: dynamo + AOT autograd, no code generation, so it is
quick on CPU) computes what the eager one does, in eval and in training."""
import pytest
import torch

from mmhornet.layers.policy import fast_path
from mmhornet.models.backbones.hornet import HorNet
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
        sum(o.square().mean() for o in outs).backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        compiled_outs = compiled(x)
        sum(o.square().mean() for o in compiled_outs).backward()
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


def test_compiler_sees_the_dft_filter_as_constant_matrices():
    # On CPU eager runs GF's global filter on small maps as DFT matrix
    # products; compiled, the same, the matrices as constants (no FFT in the
    # graph, nothing computed to make them). Fast paths off: the FFT.
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
        nodes = list(graph.graph.nodes)
        calls = [str(n.target) for n in nodes if n.op == 'call_function']
        constants = [
            n.target for n in nodes
            if n.op == 'get_attr' and '_dft_constants' in n.target
        ]
        return calls, constants

    calls, constants = traced(True)
    assert not [c for c in calls if 'fft' in c]
    # rfft_w, dft_h, idft_h, irfft_w of each GF layer.
    assert len(constants) == 4 * num_gf
    calls, constants = traced(False)
    assert [c for c in calls if 'rfft2' in c] and not constants
