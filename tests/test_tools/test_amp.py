"""AMP on CPU: bfloat16 autocast through CpuAmpOptimWrapper, which
MMHornetRunner builds for an AmpOptimWrapper config without CUDA."""
import pytest
import torch
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from mmhornet.engine import CpuAmpOptimWrapper, amp_for_this_machine
from .helpers import load_record, run_tool, train_cmd


def make_wrapper(model):
    return OPTIM_WRAPPERS.build(
        dict(
            type='mmhornet.CpuAmpOptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))


def test_forward_runs_in_bfloat16_and_updates_float32_weights():
    model = nn.Linear(4, 3)
    before = model.weight.detach().clone()
    wrapper = make_wrapper(model)
    assert isinstance(wrapper, CpuAmpOptimWrapper)
    with wrapper.optim_context(model):
        out = model(torch.randn(5, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, before)
    # Outside the context the model runs in float32 again.
    assert model(torch.randn(5, 4)).dtype == torch.float32


def test_rejects_float16_and_loads_gpu_amp_state():
    with pytest.raises(ValueError, match='only bfloat16'):
        CpuAmpOptimWrapper(
            dtype='float16',
            optimizer=torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1))
    model = nn.Linear(4, 3)
    wrapper = make_wrapper(model)
    state = dict(wrapper.state_dict(), loss_scaler=dict(scale=65536.0))
    state['param_groups'][0]['lr'] = 0.5
    wrapper.load_state_dict(state)
    assert wrapper.get_lr()['lr'] == [0.5]


def test_amp_config_adapted_to_the_machine(monkeypatch):
    amp = dict(
        type='AmpOptimWrapper',
        loss_scale='dynamic',
        dtype='float16',
        optimizer=dict(type='SGD', lr=0.1))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cpu = amp_for_this_machine(amp)
    assert cpu == dict(
        type='mmhornet.CpuAmpOptimWrapper',
        dtype='bfloat16',
        optimizer=dict(type='SGD', lr=0.1))
    assert amp['type'] == 'AmpOptimWrapper'  # the config is not changed
    plain = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    assert amp_for_this_machine(plain) is plain
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert amp_for_this_machine(amp) is amp


@pytest.mark.slow
def test_train_with_amp_on_cpu(tmp_path):
    work_dir = str(tmp_path)
    log = run_tool(
        train_cmd('--amp', '--work-dir', work_dir, '--cfg-options',
                  'train_cfg.max_iters=3'))
    assert "type='AmpOptimWrapper'" in log
    assert 'AMP without CUDA: bfloat16 autocast' in log
    record = load_record(work_dir)
    assert sorted(record['losses']) == [1, 2, 3]
    assert all(p.dtype == torch.float32 for p in record['params'].values())
