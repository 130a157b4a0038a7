"""The demo is seeded: the same seed gives the same run on a CPU, to the
last digit of every loss and metric (that another seed gives another run
is asserted in test_learning.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Fields of scalars.json that are timings, not results.
TIMINGS = {'time', 'data_time', 'eta'}


def _run(tmp_path, seed, name):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    work = tmp_path / name
    cmd = [
        sys.executable, 'tools/demo.py', '--tasks', 'seg', '--data',
        str(tmp_path / 'data'), '--work-dir',
        str(work), '--iters', '3', '--num-train', '8', '--num-val', '3',
        '--seed',
        str(seed)
    ]
    run = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    scalars, = work.glob('seg/*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


@pytest.mark.slow
def test_same_seed_same_run(tmp_path):
    first = _run(tmp_path, 5, 'a')
    again = _run(tmp_path, 5, 'b')
    assert len(first) >= 2  # a train log and the validation
    assert any('loss' in r for r in first) and any('mIoU' in r for r in first)
    assert first == again
