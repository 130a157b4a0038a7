"""The demo is seeded: the same seed gives the same run on a CPU, to the
last digit of every loss and metric (that another seed gives another run
is asserted in test_learning.py)."""
import pytest

from .helpers import run_demo, task_records


@pytest.mark.slow
def test_same_seed_same_run(demo_run, tmp_path):
    # The shared run again, its segmentation task alone, on the same data.
    run_demo(demo_run['data'], tmp_path / 'again', '--tasks', 'seg')
    first = task_records(demo_run['work'], 'seg')
    again = task_records(tmp_path / 'again', 'seg')
    assert len(first) >= 2  # a train log and the validation
    assert any('loss' in r for r in first) and any('mIoU' in r for r in first)
    assert first == again
