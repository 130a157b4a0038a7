"""AMP on CPU: bfloat16 autocast through CpuAmpOptimWrapper, which
MMHornetRunner builds for an AmpOptimWrapper config without CUDA."""
import logging

import pytest
import torch
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from mmhornet.engine import (CpuAmpOptimWrapper, amp_for_this_machine,
                             cpu_bf16_kernels, optim_wrappers)
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
    monkeypatch.setattr(optim_wrappers, 'cpu_bf16_kernels', lambda: True)
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


def test_amp_config_stays_float32_on_a_cpu_without_bf16_kernels(monkeypatch):
    amp = dict(
        type='AmpOptimWrapper',
        loss_scale='dynamic',
        dtype='float16',
        clip_grad=dict(max_norm=1.0),
        accumulative_counts=2,
        optimizer=dict(type='SGD', lr=0.1))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(optim_wrappers, 'cpu_bf16_kernels', lambda: False)
    logged = []
    monkeypatch.setattr(optim_wrappers, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    plain = amp_for_this_machine(amp)
    assert plain == dict(
        type='OptimWrapper',
        clip_grad=dict(max_norm=1.0),
        accumulative_counts=2,
        optimizer=dict(type='SGD', lr=0.1))
    assert amp['type'] == 'AmpOptimWrapper'
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            plain,
            optimizer=torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)))
    assert type(wrapper).__name__ == 'OptimWrapper'
    ((msg, level), ) = logged
    assert level == logging.WARNING and 'without bfloat16 kernels' in msg
    assert "optim_wrapper.type='mmhornet.CpuAmpOptimWrapper'" in msg
    # With CUDA nothing changes, whatever the CPU.
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert amp_for_this_machine(amp) is amp


def test_cpu_bf16_kernels_is_pytorchs_own_check(monkeypatch):
    assert cpu_bf16_kernels() is bool(
        torch.ops.mkldnn._is_mkldnn_bf16_supported())
    # A torch without the op: the CPU flags decide.
    monkeypatch.setattr(torch.ops, 'mkldnn', object())
    from mmhornet.analysis import roofline
    monkeypatch.setattr(roofline, 'cpu_info',
                        lambda: dict(model='x', isa=['avx2', 'fma']))
    assert cpu_bf16_kernels() is False
    monkeypatch.setattr(roofline, 'cpu_info',
                        lambda: dict(model='x', isa=['avx512_bf16']))
    assert cpu_bf16_kernels() is True


@pytest.mark.slow
def test_train_with_amp_on_cpu(tmp_path):
    work_dir = str(tmp_path)
    log = run_tool(
        train_cmd('--amp', '--work-dir', work_dir, '--cfg-options',
                  'train_cfg.max_iters=3'))
    assert "type='AmpOptimWrapper'" in log
    # What this machine's CPU can do decides (both branches are unit-tested
    # above and in test_runner).
    if cpu_bf16_kernels():
        assert 'AMP without CUDA: bfloat16 autocast' in log
    else:
        assert 'training in float32' in log
    record = load_record(work_dir)
    assert sorted(record['losses']) == [1, 2, 3]
    assert all(p.dtype == torch.float32 for p in record['params'].values())
