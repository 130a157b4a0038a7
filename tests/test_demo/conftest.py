"""One short `tools/demo.py` run shared by the demo tests (each launch of it
costs tens of seconds on a 2-core machine)."""
import pytest

from .helpers import run_demo


@pytest.fixture(scope='session')
def demo_run(tmp_path_factory):
    """Both demo tasks, 2 iterations each on 8 / 6 images, seed 3."""
    root = tmp_path_factory.mktemp('demo')
    run = run_demo(root / 'data', root / 'work')
    return dict(data=root / 'data', work=root / 'work', stdout=run.stdout)
