import torch

from mmhornet.layers.utils import can_write_into, linear
from mmhornet.models import HorNet


def test_can_write_into():
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    assert can_write_into(a, b) and can_write_into(a)
    w = torch.randn(2, 3, requires_grad=True)
    assert not can_write_into(a, w)  # autograd records the op
    with torch.no_grad():
        assert can_write_into(a, w)
    # bf16 + fp32 is fp32: writing into the bf16 tensor would truncate.
    assert not can_write_into(a.bfloat16(), b)
    assert can_write_into(a, b.bfloat16())
    # The result must have out's shape.
    assert not can_write_into(torch.randn(1, 3), a)
    assert can_write_into(a, torch.randn(3))


def test_inference_in_place_matches_autograd_path():
    """Inference (in-place residuals, gates, GELU) equals the recorded path,
    in fp32 and under bf16 autocast."""
    torch.manual_seed(0)
    model = HorNet(dict(base_dim=16, depths=[1, 1, 2, 1], orders=[2, 3, 4, 5],
                        dw_cfg=[dict(type='DW', kernel_size=7)] * 2 +
                        [dict(type='GF', h=4, w=3), dict(type='GF', h=2, w=2)]),
                   out_indices=(0, 1, 2, 3), gap_before_final_norm=False,
                   layer_scale_init_value=0.5)
    model.eval()
    x = torch.randn(2, 3, 64, 96)
    for autocast in (False, True):
        with torch.autocast('cpu', torch.bfloat16, enabled=autocast):
            recorded = model(x)  # parameters require grad: no in-place
            with torch.inference_mode():
                fast = model(x)
        for a, b in zip(fast, recorded):
            assert a.dtype == b.dtype
            torch.testing.assert_close(a, b.detach(), rtol=0, atol=0)


def test_linear_equals_f_linear():
    x = torch.randn(2, 5, 7, 16)
    w, b = torch.randn(8, 16, requires_grad=True), torch.randn(8)
    with torch.no_grad():  # matmul + in-place bias
        fast = linear(x, w, b)
    out = linear(x, w, b)  # recorded: F.linear
    assert out.requires_grad and not fast.requires_grad
    torch.testing.assert_close(fast, torch.nn.functional.linear(x, w, b))
    torch.testing.assert_close(out.detach(), fast)
