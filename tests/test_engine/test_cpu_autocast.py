"""mmcv's nms and roi_align under CPU bf16 autocast (the ops mmdet's
detectors call; their CPU kernels are fp32 / fp64 only)."""
import sys

import pytest
import torch
from mmcv.ops import batched_nms
from mmcv.ops.roi_align import RoIAlign

from mmhornet.engine.cpu_autocast import fp32_mmcv_ops_under_cpu_autocast


def _boxes(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 80
    boxes = torch.cat([xy, xy + 5 + torch.rand(n, 2, generator=g) * 30], 1)
    return boxes, torch.rand(
        n, generator=g), torch.randint(
            3, (n, ), generator=g)


@pytest.fixture(scope='module', autouse=True)
def wrapped():
    fp32_mmcv_ops_under_cpu_autocast()


def test_wrapping_is_idempotent():
    nms = sys.modules['mmcv.ops.nms'].nms
    fp32_mmcv_ops_under_cpu_autocast()
    assert sys.modules['mmcv.ops.nms'].nms is nms
    assert nms.fp32_under_cpu_autocast


def test_batched_nms_in_bf16_autocast_keeps_the_fp32_boxes():
    boxes, scores, labels = _boxes()
    cfg = dict(type='nms', iou_threshold=0.5)
    dets, keep = batched_nms(boxes, scores, labels, cfg)
    half = [t.bfloat16() for t in (boxes, scores)]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        dets16, keep16 = batched_nms(*half, labels, cfg)
    # The same boxes survive (bf16-rounded inputs, fp32 kernel).
    ref, _ = batched_nms(*[t.float() for t in half], labels, cfg)
    assert dets16.dtype == torch.bfloat16
    assert torch.equal(dets16.float(), ref.bfloat16().float())
    assert 0 < len(keep16) < len(boxes)
    assert len(keep) > 0


def test_roi_align_in_bf16_autocast_returns_bf16():
    feats = torch.randn(2, 8, 24, 24)
    rois = torch.tensor([[0, 2., 3., 15., 20.], [1, 0., 0., 23., 10.]])
    op = RoIAlign((7, 7), spatial_scale=1., sampling_ratio=2)
    ref = op(feats.bfloat16().float(), rois)
    feats16 = feats.bfloat16().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = op(feats16, rois)
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), ref, rtol=1e-2, atol=1e-2)
    out.float().sum().backward()
    assert feats16.grad.dtype == torch.bfloat16
    assert feats16.grad.abs().sum() > 0


def test_outside_autocast_the_op_is_untouched():
    boxes, scores, labels = _boxes()
    with pytest.raises(RuntimeError, match='BFloat16'):
        # bf16 without autocast: the kernel's own error, as before.
        batched_nms(boxes.bfloat16(), scores.bfloat16(), labels,
                    dict(type='nms', iou_threshold=0.5))
