"""`make demo`'s job, shortened: a few iterations of each demo config on a
small demo set, trained and evaluated through mmdet's CocoMetric and mmseg's
IoUMetric, with pictures and training curves."""
import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_trains_evaluates_and_draws(demo_run):
    stdout = demo_run['stdout']
    assert 'mmhornet demo summary (seed 3;' in stdout
    summary = json.loads((demo_run['work'] / 'summary.json').read_text())
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
        assert f"summary figure: {r['summary_figure']}" in stdout
        assert set(r['phase_minutes']) == {'train', 'val', 'rest'}
        assert r['target']['metric'] in r['metrics']
