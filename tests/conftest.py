import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same RNG state."""
    torch.manual_seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    # Tests that need mmcv's compiled ops (mmdet / mmseg / mmpretrain models)
    # are the point of the suite, so a missing mmcv is an error, not a skip:
    # `make test` installs it.
    pass
