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
def test_detector_train_step_updates_and_clears():
    case = whole_cases(DET_SHAPE, SEG_SHAPE, tasks=('det', ))[0]
    step = WholeStep(case, 'train', torch.device('cpu'), None, seed=0)
    stem = next(step.model.backbone.parameters())
    before = stem.detach().clone()
    assert step.step() > 0
    assert not torch.equal(before, stem.detach())
    assert all(p.grad is None for p in step.model.parameters())
    assert step.backbone_step() > 0
    assert all(p.grad is None for p in step.model.parameters())


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
