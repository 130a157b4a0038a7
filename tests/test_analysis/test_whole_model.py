"""Whole-model cases: HorNet-T in the real COCO / ADE20K configs, mmpretrain's
HorNet-T in the same models and the hosts' ConvNeXt-T configs, built with
random weights (nothing downloaded) and stepped."""
import json
import runpy
import sys
from pathlib import Path

import pytest
import torch

from mmhornet.analysis.whole_model import (WholeStep, seg_batch, time_whole,
                                           whole_cases, whole_table)

ROOT = Path(__file__).resolve().parents[2]
DET_SHAPE, SEG_SHAPE = (96, 128), (64, 64)


def _params(module):
    return sum(p.numel() for p in module.parameters())


def test_cases_swap_only_the_backbone():
    from mmpretrain.models.backbones import ConvNeXt
    from mmpretrain.models.backbones import HorNet as PretrainHorNet

    from mmhornet.models import HorNet
    cases = whole_cases(DET_SHAPE, SEG_SHAPE)
    assert [c.name for c in cases] == [
        'HorNet-T (mmhornet)', 'HorNet-T (mmpretrain)',
        'ConvNeXt-T (mmdet config)'
    ] + [
        'HorNet-T (mmhornet)', 'HorNet-T (mmpretrain)',
        'ConvNeXt-T (mmseg config)'
    ]
    for group in (cases[:3], cases[3:]):
        ours, theirs, convnext = (c.build() for c in group)
        assert type(ours.backbone) is HorNet
        assert type(theirs.backbone) is PretrainHorNet
        assert type(convnext.backbone) is ConvNeXt
        # The same HorNet-T, and everything around it the same.
        assert _params(ours.backbone) == _params(theirs.backbone)
        assert _params(ours) == _params(theirs)
        assert type(ours) is type(convnext)


@pytest.mark.slow
def test_detector_train_step_on_the_same_proposals():
    case = whole_cases(DET_SHAPE, SEG_SHAPE, tasks=('det', ))[0]
    step = WholeStep(
        case, 'train', torch.device('cpu'), None, seed=0, same_proposals=True)
    model = step.model
    stem = next(model.backbone.parameters())
    before = stem.detach().clone()
    seen, losses = [], []
    roi_loss, rpn_loss = model.roi_head.loss, model.rpn_head.loss_and_predict

    def record_roi(x, rpn_results, samples):
        seen.append(torch.cat([r.bboxes for r in rpn_results]).clone())
        if len(seen) == 1:
            return roi_loss(x, rpn_results, samples)  # pops the boxes
        return dict(loss_roi=x[0].mean() * 0)  # only the proposals checked

    def record_rpn(*args, **kwargs):
        out = rpn_loss(*args, **kwargs)
        losses.append(out[0])
        return out

    refined = []
    refine = model.roi_head.bbox_head[0].refine_bboxes

    def record_refine(*args, **kwargs):
        out = refine(*args, **kwargs)
        refined.append(out[0].bboxes.clone())  # the next stage pops them
        return out

    model.roi_head.loss = record_roi
    model.rpn_head.loss_and_predict = record_rpn
    model.roi_head.bbox_head[0].refine_bboxes = record_refine
    for _ in range(2):  # the RoI heads pop the boxes: a fresh copy each step
        assert step.step() > 0
    # The step updates the weights and clears the gradients; so does the
    # backbone's own step.
    assert not torch.equal(before, stem.detach())
    assert all(p.grad is None for p in model.parameters())
    assert step.backbone_step() > 0
    assert all(p.grad is None for p in model.parameters())
    count = model.train_cfg.rpn_proposal.max_per_img
    assert seen[0].shape == (count, 4)
    assert torch.equal(seen[0], seen[1])
    h, w = DET_SHAPE
    assert seen[0][:, 0].min() >= 0 and seen[0][:, 2].max() <= w
    assert bool((seen[0][:, 2:] > seen[0][:, :2]).all())
    # Boxes near the ground truth: positives for the RoI heads.
    from mmdet.structures.bbox import bbox_overlaps
    gt = step.batch['data_samples'][0].gt_instances.bboxes
    assert (bbox_overlaps(seen[0], gt).max(1).values > 0.5).sum() > 100
    # The RPN still trains.
    assert all('loss_rpn_cls' in out for out in losses)
    # The cascade's second stage gets fixed proposals too, not stage one's
    # refined boxes: a subset of the same proposals.
    boxes = refined[0]  # one image
    assert 0 < len(boxes) <= count
    assert bool((boxes[:, None] == seen[0][None]).all(-1).any(1).all())


def test_inference_rows_through_the_benchmark(tmp_path):
    out = tmp_path / 'whole.json'
    argv = [
        'benchmark.py', '--whole', '--whole-tasks', 'seg', '--modes', 'infer',
        '--whole-seg-size', *map(str, SEG_SHAPE), '--repeats', '2', '--warmup',
        '0', '--json',
        str(out)
    ]
    old = sys.argv
    sys.argv = argv
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(
                str(ROOT / 'tools/analysis/benchmark.py'), run_name='__main__')
    finally:
        sys.argv = old
    assert done.value.code == 0
    rows = json.loads(out.read_text())['whole']
    assert [r['name'] for r in rows] == [
        'HorNet-T (mmhornet)', 'HorNet-T (mmpretrain)',
        'ConvNeXt-T (mmseg config)'
    ]
    for row in rows:
        assert row['mode'] == 'infer' and row['batch'] == 2
        assert len(row['seconds']) == 2 and min(row['seconds']) > 0
        assert 0 < row['backbone_share'] < 1
    assert rows[0]['paired_vs_first'] == 1.0
    table = whole_table(rows)
    assert len(table.splitlines()) == 2 + 1 + 3  # header, group, rows
    assert '| **UPerNet, 2x64x64** | infer |' in table


def test_time_whole_interleaves_a_group():
    calls = []

    class Fake:

        def __init__(self, case, mode, *args):
            self.name = case.name

        def step(self):
            calls.append(self.name)
            return 1.0

        def backbone_step(self):
            return 0.25

        def peak_memory(self):
            return None

    import mmhornet.analysis.whole_model as whole
    cases = whole_cases(DET_SHAPE, SEG_SHAPE, tasks=('det', ))[:2]
    real = whole.WholeStep
    whole.WholeStep = Fake
    try:
        rows = time_whole(cases, modes=('infer', ), repeats=2, warmup=1)
    finally:
        whole.WholeStep = real
    a, b = (c.name for c in cases)
    assert calls == [a, b, b, a, a, b]
    assert [r['backbone_share'] for r in rows] == [0.25, 0.25]


def test_seg_batch_label_maps():
    batch = seg_batch((40, 70), 2, 150, torch.Generator().manual_seed(0))
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 40, 70)] * 2
    for sample in batch['data_samples']:
        label = sample.gt_sem_seg.data
        assert label.shape == (1, 40, 70)
        assert 0 <= label.min() and label.max() < 150
        assert len(label.unique()) > 1
