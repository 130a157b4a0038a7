"""Running `tools/demo.py` from the demo tests."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The shared run's arguments, less its work dir.
DEMO_ARGS = ('--iters', '2', '--num-train', '8', '--num-val', '6', '--seed',
             '3')
#: Fields of scalars.json that are timings, not results.
TIMINGS = {'time', 'data_time', 'eta'}


def run_demo(data, work_dir, *extra):
    """Run ``tools/demo.py`` with :data:`DEMO_ARGS` and ``extra``; return the
    finished process (the test fails on a non-zero exit)."""
    cmd = [
        sys.executable, 'tools/demo.py', '--data',
        str(data), '--work-dir',
        str(work_dir), *DEMO_ARGS, *extra
    ]
    run = subprocess.run(
        cmd,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def task_records(work_dir, task):
    """The results logged by ``task``'s training, without the timings."""
    scalars, = Path(work_dir).glob(f'{task}/*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]
