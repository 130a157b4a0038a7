"""tools/analysis/benchmark.py end to end on small archs: both
implementations timed, outputs agreeing, every number positive. No timing
comparisons: the CI machine's speed proves nothing."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = 'tools/analysis/benchmark.py'

pytest.importorskip(
    'mmpretrain.models.backbones',
    reason='mmpretrain is part of the pinned stack (make test installs it)')


def _run(tmp_path, *args):
    out = tmp_path / 'bench.json'
    proc = subprocess.run([
        sys.executable, SCRIPT, *args, '--repeats', '1', '--warmup', '0',
        '--threads', '1', '--gemm-size', '512', '--json',
        str(out)
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, json.loads(out.read_text())


@pytest.mark.slow
def test_benchmark_tiny_archs(tmp_path):
    stdout, result = _run(tmp_path, '--tiny', '--size', '64', '--batch', '1',
                          '2', '--det-size', '64', '96', '--det-archs',
                          'tiny-gf-smoke')
    rows = result['rows']
    cases = {row['case'] for row in rows}
    # 2 archs x 2 batch sizes x (train, its fwd+bwd part, infer) + the
    # detection-size case.
    assert len(cases) == 13
    assert {row['mode'] for row in rows} == {'train', 'fwd+bwd', 'infer'}
    assert {row['batch'] for row in rows} == {1, 2}
    assert any('det 64x96' in c for c in cases)
    for case in cases:
        impls = {row['impl']: row for row in rows if row['case'] == case}
        assert set(impls) == {'mmhornet', 'mmpretrain'}
        ours = impls['mmhornet']
        assert ours['speedup_vs_mmpretrain'] > 0
        paired = ours['paired_speedup']
        assert paired['p25'] <= paired['median'] <= paired['p75']
        # One round: the paired ratio is the ratio of the two times.
        assert paired['median'] == pytest.approx(
            impls['mmpretrain']['median_ms'] / ours['median_ms'])
    assert result['all_agree'] is True
    # The roofline: the machine's GEMM peak measured at the start of the run
    # and again in every round of each case, each case's FLOPs from the
    # counter, and its fraction of the peak measured beside it.
    env = result['env']
    assert env['cpu']['model'] and isinstance(env['cpu']['isa'], list)
    assert env['gemm_peak_gflops']['fp32'] > 0
    for row in rows:
        assert row['gflops'] == pytest.approx(row['flops'] /
                                              (row['median_ms'] * 1e-3) / 1e9)
        peak = row['gemm_peak']
        assert peak['dtype'] == 'fp32'
        assert len(peak['rounds_gflops']) == 1  # one timed round
        assert peak['median_gflops'] == peak['rounds_gflops'][0] > 0
        assert row['peak_fraction'] == pytest.approx(row['gflops'] /
                                                     peak['median_gflops'])
        if row['mode'] != 'infer':
            infer = next(
                r for r in rows if r['impl'] == row['impl']
                and r['case'] == row['case'].replace(row['mode'], 'infer'))
            assert row['flops'] == pytest.approx(3 * infer['flops'])
    assert 'GEMM peak' in stdout
    for row in rows:
        assert row['agree'] and 0 <= row['agree_rel_err'] < 1e-5
        assert row['median_ms'] > 0 and row['images_per_s'] > 0
        assert row['min_ms'] <= row['median_ms'] <= row['max_ms']
        if row['mode'] == 'infer':
            assert row['memory_bytes'] is None
        else:
            # CPU: activations saved for backward, a positive byte count.
            assert row['memory_bytes'] > 0
        if row['mode'] == 'fwd+bwd':
            # The first part of each timed train step: shorter, round by
            # round, so also in sorted order.
            step = next(
                r for r in rows if r['impl'] == row['impl']
                and r['case'] == row['case'].replace('fwd+bwd', 'train'))
            assert len(row['times_ms']) == len(step['times_ms'])
            assert all(a < b
                       for a, b in zip(row['times_ms'], step['times_ms']))
    # The markdown table names both implementations on every case.
    table = [line for line in stdout.splitlines() if line.startswith('| ')]
    assert table[0].startswith('| case | impl | median ms')
    assert '| GFLOP/s | % of GEMM peak |' in table[0]
    assert sum('| mmhornet |' in line for line in table) == 13
    assert sum('| mmpretrain |' in line for line in table) == 13
    assert 'saved for backward' in stdout


@pytest.mark.slow
def test_benchmark_json_arch(tmp_path):
    arch = json.dumps(
        dict(
            base_dim=8,
            depths=[1, 1, 1, 1],
            orders=[1, 2, 2, 3],
            dw_cfg=[dict(type='DW', kernel_size=3)] * 2 +
            [dict(type='GF', h=4, w=3),
             dict(type='GF', h=2, w=2)]))
    stdout, result = _run(tmp_path, '--archs', arch, '--size', '64', '--batch',
                          '1', '--modes', 'infer', '--no-det', '--gemm-floor')
    assert [row['impl']
            for row in result['rows']] == ['mmhornet', 'mmpretrain']
    assert all(row['agree'] for row in result['rows'])
    ours = result['rows'][0]
    assert ours['arch'] == 'custom-0'
    # The GEMM floor beside mmhornet's row: its products replayed, fewer
    # FLOPs than the whole forward (convolutions and the stem are not
    # GEMMs), a time per round, and the bound it puts on the speed-up.
    floor = ours['gemm_floor']
    assert floor['gemms'] > 0 and 0 < floor['flops'] < ours['flops']
    assert floor['p25_ms'] <= floor['median_ms'] <= floor['p75_ms']
    assert floor['median_ms'] > 0 and floor['share_of_mmhornet'] > 0
    # One round: the bound is mmpretrain's time over the floor.
    assert floor['speedup_bound_vs_mmpretrain'] == pytest.approx(
        result['rows'][1]['median_ms'] / floor['median_ms'])
    assert 'gemm_floor' not in result['rows'][1]
    floor_lines = stdout[stdout.index('GEMM floor'):].splitlines()
    header = next(i for i, line in enumerate(floor_lines)
                  if line.startswith('| case | GEMMs |'))
    assert floor_lines[header + 2].startswith(f"| {ours['case']} | ")


@pytest.mark.slow
def test_benchmark_convnext_rows(tmp_path):
    _, result = _run(tmp_path, '--tiny', '--convnext', '--size', '64',
                     '--batch', '1', '--modes', 'infer', '--no-det')
    by_case = {}
    for row in result['rows']:
        by_case.setdefault(row['case'], {})[row['impl']] = row
    first, second = by_case.values()
    # ConvNeXt-T beside the first arch only, against mmhornet, with its own
    # FLOPs (a real ConvNeXt-T: 4.5 GMACs at 224, scaled to 64 px).
    assert set(first) == {'mmhornet', 'mmpretrain', 'convnext-t (mmpretrain)'}
    assert set(second) == {'mmhornet', 'mmpretrain'}
    convnext = first['convnext-t (mmpretrain)']
    scale = 2 * (64 / 224)**2
    assert scale * 4.4e9 < convnext['flops'] < scale * 4.6e9
    assert convnext['flops'] > 10 * first['mmhornet']['flops']
    ratio = convnext['paired_speedup_vs_mmhornet']['median']
    assert ratio == pytest.approx(first['mmhornet']['median_ms'] /
                                  convnext['median_ms'])


def test_compile_needs_a_warmup_round():
    proc = subprocess.run(
        [sys.executable, SCRIPT, '--compile', '--warmup', '0'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 2
    assert '--compile compiles in the warm-up: --warmup >= 1' in proc.stderr


def test_frozen_rows_trace_under_the_freezing_flag():
    # Dynamo reads inductor's flag when it traces; the compile option alone
    # would leave the weights as graph inputs (nothing frozen).
    import importlib.util

    import torch
    import torch._inductor.config as inductor_config
    spec = importlib.util.spec_from_file_location('benchmark_tool',
                                                  ROOT / SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    seen = []

    class Model(torch.nn.Module):

        def forward(self, x):
            seen.append(inductor_config.freezing)

    for frozen in (True, False):
        timer = bench.StepTimer(Model(), 'infer', torch.zeros(1),
                                torch.device('cpu'), None)
        timer.frozen = frozen
        timer.step()
    assert seen == [True, False]
