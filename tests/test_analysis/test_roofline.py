"""GemmReplay: a step's matrix products recorded once and replayed alone,
at the recorded shapes, layouts and dtypes, with their exact FLOPs."""
import torch
from torch import nn

from mmhornet.analysis.roofline import GemmReplay
from mmhornet.layers import GnConv

CPU = torch.device('cpu')


def test_replays_forward_and_backward_products_of_a_linear_stack():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    x = torch.randn(10, 16)  # no gradient: layer 1 needs no input grad

    def step():
        model(x).sum().backward()

    replay = GemmReplay.record(step, CPU)
    forward = 2 * 10 * (16 * 32 + 32 * 8)
    # Both weight gradients (as much as the forward) and layer 2's input
    # gradient.
    assert replay.flops == 2 * forward + 2 * 10 * 32 * 8
    assert len(replay.calls) == 2 + 3
    # The forward's addmm with its transposed weight, as it ran.
    op, (bias, a, b) = replay.calls[0]
    assert op is torch.ops.aten.addmm
    assert (tuple(a.shape), tuple(b.shape)) == ((10, 16), (16, 32))
    assert b.stride() == (1, 16) and not b.is_contiguous()
    assert bias.shape == (32, ) and torch.isfinite(a).all()
    assert replay.seconds() > 0


def test_gnconv_inference_products_and_their_flops():
    torch.manual_seed(0)
    dim, rows = 16, 2 * 5 * 5
    layer = GnConv(dim, order=2, data_format='channels_last').eval()
    x = torch.randn(2, 5, 5, dim)
    with torch.inference_mode():
        replay = GemmReplay.record(lambda: layer(x), CPU)
    # proj_in (C -> 2C, as two products), projs[0] (C/2 -> C), proj_out.
    assert replay.flops == 2 * rows * (
        dim * 2 * dim + dim // 2 * dim + dim * dim)
    assert len(replay.calls) == 4


def test_records_bf16_products_as_bf16():
    a = torch.randn(8, 4, dtype=torch.bfloat16)
    b = torch.randn(4, 6, dtype=torch.bfloat16)
    replay = GemmReplay.record(lambda: (a @ b, a.float() @ b.float()), CPU)
    assert [operands[0].dtype for _, operands in replay.calls] == \
        [torch.bfloat16, torch.float32]
