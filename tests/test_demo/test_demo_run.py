"""`make demo`'s job, shortened: a few iterations of each demo config on a
small demo set, trained and evaluated through mmdet's CocoMetric and mmseg's
IoUMetric, with pictures and training curves."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_trains_evaluates_and_draws(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [
        sys.executable, 'tools/demo.py', '--data',
        str(tmp_path / 'data'), '--work-dir',
        str(tmp_path / 'work'), '--iters', '2', '--num-train', '8',
        '--num-val', '6', '--seed', '3'
    ]
    run = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert 'mmhornet demo summary (seed 3;' in run.stdout
    summary = json.loads((tmp_path / 'work' / 'summary.json').read_text())
    assert summary['seed'] == 3
    results = {r['task']: r for r in summary['tasks']}
    det, seg = results['det'], results['seg']
    # 6 val images: the visualization hooks (every 2nd / 6th val batch)
    # draw at least one picture per task.
    # The real metrics ran on the val split (values are near 0 after two
    # iterations; what matters is that they exist and are in range).
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert 0.0 <= det['metrics'][key] <= 1.0
    assert 0.0 <= seg['metrics']['mIoU'] <= 100.0
    for r in (det, seg):
        assert r['pictures'], r
        assert all(Path(p).stat().st_size > 0 for p in r['pictures'])
        assert Path(r['curve']).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        # One summary figure per task, its path printed.
        assert Path(r['summary_figure']).read_bytes()[:4] == b'\x89PNG'
        assert f"summary figure: {r['summary_figure']}" in run.stdout
        assert set(r['phase_minutes']) == {'train', 'val', 'rest'}
        assert r['target']['metric'] in r['metrics']
