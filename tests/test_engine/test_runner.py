"""MMHornetRunner: each of its changes to mmengine's Runner, on the toy model
(tests/data/toy_modules.py). The distributed ones (gloo, CPU DDP, teardown)
run in tests/test_tools/test_launch.py; here only that a distributed runner
registers the teardown."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.registry import RUNNERS

from mmhornet.checkpoint import ATOMIC_BACKEND, CheckpointMismatchError
from mmhornet.engine import CpuAmpOptimWrapper, MMHornetRunner, optim_wrappers

DATA = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data')


@pytest.fixture
def toy_cfg(monkeypatch, tmp_path):
    """The toy config with mmhornet's runner, quiet, in a fresh work dir."""
    monkeypatch.syspath_prepend(DATA)
    cfg = Config.fromfile(osp.join(DATA, 'toy_config.py'))
    cfg.merge_from_dict(
        dict(
            runner_type='mmhornet.MMHornetRunner',
            log_level='WARNING',
            work_dir=str(tmp_path / 'work')))
    return cfg


def build(cfg, **options):
    cfg = cfg.copy()
    cfg.merge_from_dict(options)
    # A name per runner: mmengine keys its logger and visualizer by it.
    build.count = getattr(build, 'count', 0) + 1
    cfg.experiment_name = f'toy_runner_{build.count}'
    return RUNNERS.build(cfg)


def checkpoint_hook(runner):
    (hook, ) = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
    return hook


@pytest.mark.parametrize('scope', ['mmengine', 'mmdet', 'mmseg', 'mmpretrain'])
def test_runner_type_selects_it_under_every_host(toy_cfg, scope):
    runner = build(toy_cfg, default_scope=scope)
    assert type(runner) is MMHornetRunner
    assert checkpoint_hook(runner).backend_args == dict(backend=ATOMIC_BACKEND)


def test_distributed_runner_registers_the_teardown(toy_cfg, gloo_group,
                                                   monkeypatch):
    """The wiring the launch tests can only catch by chance (an abort at
    exit is a race): a distributed MMHornetRunner registers the teardown,
    a non-distributed one does not."""
    import mmhornet.engine.runner as runner_module
    calls = []
    monkeypatch.setattr(runner_module, 'register_teardown',
                        lambda: calls.append('registered'))
    for name in ('RANK', 'LOCAL_RANK'):
        monkeypatch.setenv(name, '0')
    for name in ('WORLD_SIZE', 'LOCAL_WORLD_SIZE'):
        monkeypatch.setenv(name, '1')
    for launcher, expected in (('none', []), ('pytorch', ['registered'])):
        runner = build(toy_cfg, launcher=launcher)
        assert runner.distributed is (launcher != 'none')
        assert calls == expected, launcher


def test_checkpoint_hook_with_its_own_backend_is_left_alone(toy_cfg):
    runner = build(
        toy_cfg,
        default_hooks=dict(
            checkpoint=dict(backend_args=dict(backend='local'))))
    assert checkpoint_hook(runner).backend_args == dict(backend='local')
    # The checkpoint hook mmengine adds when a config names none is atomic.
    del toy_cfg.default_hooks['checkpoint']
    assert checkpoint_hook(
        build(toy_cfg)).backend_args == dict(backend=ATOMIC_BACKEND)


def test_auto_resume_takes_the_newest_complete_checkpoint(toy_cfg):
    work_dir = toy_cfg.work_dir
    build(toy_cfg, train_cfg=dict(max_iters=10)).train()
    # A later save killed half-way and recorded as the last checkpoint.
    whole = open(osp.join(work_dir, 'iter_10.pth'), 'rb').read()
    with open(osp.join(work_dir, 'iter_20.pth'), 'wb') as f:
        f.write(whole[:len(whole) // 2])
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'iter_20.pth'))
    runner = build(toy_cfg, resume=True, train_cfg=dict(max_iters=12))
    runner.train()
    record = torch.load(osp.join(work_dir, 'toy_rank0.pth'))
    assert record['start_iter'] == 10
    assert sorted(record['losses']) == [11, 12]


def test_auto_resume_without_checkpoints_starts_afresh(toy_cfg):
    runner = build(toy_cfg, resume=True, train_cfg=dict(max_iters=2))
    runner.train()
    assert runner.iter == 2
    record = torch.load(osp.join(toy_cfg.work_dir, 'toy_rank0.pth'))
    assert record['start_iter'] == 0


def test_test_refuses_a_checkpoint_of_another_model(toy_cfg, tmp_path):
    build(toy_cfg, train_cfg=dict(max_iters=10), model=dict(hidden=32)).train()
    wide = osp.join(toy_cfg.work_dir, 'iter_10.pth')
    runner = build(toy_cfg, load_from=wide, work_dir=str(tmp_path / 'test'))
    with pytest.raises(
            CheckpointMismatchError,
            match=r'another architecture: 3 tensors differ in '
            r'shape:\n  fc1.weight: checkpoint \(32, 8\) vs '
            r'model \(16, 8\)'):
        runner.test()
    # Fine-tuning from another model's weights stays as in mmengine: what
    # fits is loaded, the rest is reported.
    build(
        toy_cfg,
        load_from=wide,
        work_dir=str(tmp_path / 'finetune'),
        train_cfg=dict(max_iters=1)).train()


def train_amp_config(toy_cfg, monkeypatch, bf16_kernels):
    """Train the toy config's ``AmpOptimWrapper`` without CUDA, on a CPU
    with or without bfloat16 kernels."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(optim_wrappers, 'cpu_bf16_kernels',
                        lambda: bf16_kernels)
    runner = build(
        toy_cfg,
        train_cfg=dict(max_iters=2),
        optim_wrapper=dict(type='AmpOptimWrapper', loss_scale='dynamic'))
    runner.train()
    return runner


def test_amp_config_trains_in_bfloat16_without_cuda(toy_cfg, monkeypatch):
    runner = train_amp_config(toy_cfg, monkeypatch, bf16_kernels=True)
    assert isinstance(runner.optim_wrapper, CpuAmpOptimWrapper)
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16


def test_amp_config_trains_in_float32_on_a_cpu_without_bf16_kernels(
        toy_cfg, monkeypatch):
    runner = train_amp_config(toy_cfg, monkeypatch, bf16_kernels=False)
    assert type(runner.optim_wrapper).__name__ == 'OptimWrapper'
    assert not isinstance(runner.optim_wrapper, CpuAmpOptimWrapper)
