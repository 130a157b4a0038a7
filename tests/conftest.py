import pytest
import torch
import torch.distributed as torch_dist


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same RNG state."""
    torch.manual_seed(0)
    yield


@pytest.fixture
def gloo_group(tmp_path):
    """A one-process gloo group, as the CPU launch path creates."""
    torch_dist.init_process_group(
        'gloo',
        init_method=f'file://{tmp_path / "store"}',
        rank=0,
        world_size=1)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
