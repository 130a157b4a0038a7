"""Fixtures for the tests of ``tools/``."""
import pytest

from mmhornet.demo import generate_demo_data
from .helpers import DATA, run_tool, train_cmd


@pytest.fixture
def toy_on_path(monkeypatch):
    """Make ``custom_imports=['toy_modules']`` of the toy config importable
    in this process."""
    monkeypatch.syspath_prepend(DATA)


def _reference(tmp_path_factory, batch):
    work_dir = str(tmp_path_factory.mktemp(f'reference_batch{batch}'))
    run_tool(
        train_cmd('--work-dir', work_dir, '--cfg-options',
                  f'train_dataloader.batch_size={batch}'))
    return work_dir


@pytest.fixture(scope='session')
def reference_batch4(tmp_path_factory):
    """Work dir of an uninterrupted single-process run of the toy config."""
    return _reference(tmp_path_factory, 4)


@pytest.fixture(scope='session')
def reference_batch8(tmp_path_factory):
    """The same with batch 8: the global batch of two processes of 4."""
    return _reference(tmp_path_factory, 8)


@pytest.fixture(scope='session')
def small_demo_data(tmp_path_factory):
    """8 train / 4 val images of the demo scenes, COCO and ADE20K style."""
    return generate_demo_data(
        str(tmp_path_factory.mktemp('demo')),
        num_train=8,
        num_val=4,
        min_size=128,
        max_size=160,
        progress=False)
