"""A small HorNet shared by the layer tests."""
import torch

from mmhornet.layers import depthwise
from mmhornet.models import HorNet


def record_fast_convs(monkeypatch):
    """The input dtype of every call of the depthwise fast path, in a list
    that fills as the test runs."""
    calls = []
    apply = depthwise._SameDepthwiseConv2d.apply
    monkeypatch.setattr(depthwise._SameDepthwiseConv2d, 'apply',
                        lambda *a: calls.append(a[0].dtype) or apply(*a))
    return calls


def mixed_model(**kwargs):
    """DW stages and GF stages whose maps (64x96 input: 8x12, 4x6) take the
    DFT path; layer scales far from their 1e-6 init, so folding matters."""
    torch.manual_seed(0)
    model = HorNet(
        dict(
            base_dim=16,
            depths=[1, 1, 2, 1],
            orders=[2, 3, 4, 5],
            dw_cfg=[dict(type='DW', kernel_size=7)] * 2 +
            [dict(type='GF', h=4, w=3),
             dict(type='GF', h=2, w=2)]),
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False,
        layer_scale_init_value=0.5,
        **kwargs)
    model.init_weights()
    return model


def aot_eager_recording_backward(graphs):
    """A ``torch.compile`` backend: ``aot_eager`` that appends each backward
    graph's ``call_function`` targets (as strings) to ``graphs``."""
    from functorch.compile import make_boxed_func
    from torch._functorch.aot_autograd import aot_module_simplified

    def record(gm, inputs):
        graphs.append(
            [str(n.target) for n in gm.graph.nodes if n.op == 'call_function'])
        return make_boxed_func(gm.forward)

    def backend(gm, inputs):
        return aot_module_simplified(
            gm,
            inputs,
            fw_compiler=lambda gm, _: make_boxed_func(gm.forward),
            bw_compiler=record)

    return backend
