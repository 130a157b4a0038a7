"""Launchers: torchrun (dist_*.sh) and Slurm (slurm_*.sh) on CPU processes.

The end-to-end tests train the toy model with two gloo processes and check
that they trained one model: the same parameters on both ranks, equal to a
single process trained on the global batch; and that every launch exits 0
with nothing on stderr that says a rank aborted.
"""
import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import time

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel
from torch import nn

from mmhornet.engine import (CpuDistributedDataParallel, cpu_wrapper_cfg,
                             teardown_distributed)
from mmhornet.engine.dist import _expand_slurm_tasks_per_node, _slurm_env
from .helpers import (DATA, REPO, TOY_CONFIG, free_port, load_record,
                      run_side_by_side, run_tool, tool_env)

SLURM_ENV = '/tmp/mmhornet-slurm/env'
#: What a rank that died at exit leaves on stderr: libstdc++'s terminate
#: message, srun's and torchrun's reports of the signal, torch's warning for
#: a group never destroyed.
ABORT_SIGNS = ('terminate called', 'Aborted', 'SIGABRT', 'core dumped',
               'Signal 6', 'exitcode  : -', 'NOT been destroyed')
#: Extra 2-rank train + test launches per launcher in the repeated test.
REPEATS = 1


def run_launch(args, timeout=180, **env):
    """Run a launch script; assert exit code 0 and a stderr free of
    :data:`ABORT_SIGNS`; return stdout and stderr together."""
    proc = subprocess.run(
        args,
        cwd=REPO,
        env=tool_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f'{" ".join(args)} exited with {proc.returncode}:\n{output[-6000:]}')
    signs = [sign for sign in ABORT_SIGNS if sign in proc.stderr]
    assert not signs, (f'{" ".join(args)} exited 0 but a rank aborted '
                       f'({signs}):\n{proc.stderr[-6000:]}')
    return output


def assert_one_model(work_dir, reference_dir):
    """Both ranks hold the same parameters, which equal those of the
    single-process run on the global batch; the mean of the ranks' losses is
    the loss of the global batch at every iteration."""
    ranks = [load_record(work_dir, rank) for rank in (0, 1)]
    reference = load_record(reference_dir)
    assert [r['world_size'] for r in ranks] == [2, 2]
    for name, param in ranks[0]['params'].items():
        assert torch.equal(param, ranks[1]['params'][name]), name
        torch.testing.assert_close(
            param, reference['params'][name], rtol=1e-5, atol=1e-6)
    assert sorted(ranks[0]['losses']) == list(range(1, 41))
    for it in range(1, 41):
        # The two ranks saw different halves of the global batch.
        assert ranks[0]['losses'][it] != ranks[1]['losses'][it]
        mean = (ranks[0]['losses'][it] + ranks[1]['losses'][it]) / 2
        assert mean == pytest.approx(reference['losses'][it], rel=1e-5)
    # mmengine logs rank 0's loss (its half of the global batch).
    scalars = [
        json.loads(line)
        for line in open(next(_find(work_dir, 'scalars.json')))
        if 'loss' in line
    ]
    assert len(scalars) == 40
    for row in scalars:
        assert row['loss'] == pytest.approx(
            ranks[0]['losses'][row['iter']], rel=1e-4)


def _find(root, name):
    for folder, _, files in os.walk(root):
        if name in files:
            yield osp.join(folder, name)


def assert_test_results(out_file, log):
    """All 64 test samples gathered from the two ranks, evaluated once."""
    with open(out_file, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 64
    labels = torch.stack([r['label'] for r in results])
    assert torch.unique(labels, dim=0).shape[0] == 64
    assert 'mse:' in log


@pytest.mark.slow
def test_dist_train_and_test_on_cpu(tmp_path, reference_batch8):
    work_dir = str(tmp_path / 'work')
    log = run_launch(
        ['tools/dist_train.sh', TOY_CONFIG, '2', '--work-dir', work_dir],
        PORT=free_port())
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert_one_model(work_dir, reference_batch8)

    out = str(tmp_path / 'results.pkl')
    log = run_launch([
        'tools/dist_test.sh', TOY_CONFIG,
        osp.join(work_dir, 'iter_40.pth'), '2', '--out', out, '--work-dir',
        str(tmp_path / 'test')
    ],
                     PORT=free_port())
    assert_test_results(out, log)


def slurm_conf():
    """SLURM_CONF of a running cluster (tests/infra/local_slurm.sh)."""
    if shutil.which('sinfo') is None:
        pytest.skip('Slurm is not installed (no sinfo); install and start '
                    'one with tests/infra/local_slurm.sh install && '
                    'tests/infra/local_slurm.sh start')
    conf = os.environ.get('SLURM_CONF')
    if conf is None and osp.exists(SLURM_ENV):
        with open(SLURM_ENV) as f:
            conf = f.read().strip().split('=', 1)[1]
    env = dict(os.environ, **({'SLURM_CONF': conf} if conf else {}))
    proc = subprocess.run(['sinfo', '-h', '-p', 'debug', '-o', '%a %D %C'],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=15)
    assert proc.returncode == 0 and proc.stdout.startswith('up'), (
        'sinfo is installed but no Slurm partition "debug" answers; start '
        'the local cluster: eval "$(tests/infra/local_slurm.sh start)"\n'
        f'{proc.stdout}{proc.stderr}')
    return conf


@pytest.mark.slow
def test_slurm_train_and_test_on_cpu(tmp_path, reference_batch8):
    conf = slurm_conf()
    env = dict(GPUS=2, GPUS_PER_NODE=0, CPUS_PER_TASK=1)
    if conf:
        env['SLURM_CONF'] = conf
    work_dir = str(tmp_path / 'work')
    # srun queues, silently, while the node lacks CPUs: always a timeout.
    log = run_launch([
        'timeout', '170', 'tools/slurm_train.sh', 'debug', 'mmhornet-test',
        TOY_CONFIG, work_dir
    ],
                     MASTER_PORT=free_port(),
                     **env)
    assert '--gres' not in log
    assert 'Distributed launcher: slurm' in log
    assert_one_model(work_dir, reference_batch8)

    out = str(tmp_path / 'results.pkl')
    log = run_launch([
        'timeout', '170', 'tools/slurm_test.sh', 'debug', 'mmhornet-test',
        TOY_CONFIG,
        osp.join(work_dir, 'iter_40.pth'), '--out', out, '--work-dir',
        str(tmp_path / 'test')
    ],
                     MASTER_PORT=free_port(),
                     **env)
    assert_test_results(out, log)


def _launch_commands(launcher, work_dir):
    """Train and test commands of a short 2-rank toy run, and their env."""
    short = [
        '--cfg-options', 'train_cfg.max_iters=4',
        'default_hooks.checkpoint.interval=4'
    ]
    ckpt = osp.join(work_dir, 'iter_4.pth')
    if launcher == 'torchrun':
        return ([[
            'tools/dist_train.sh', TOY_CONFIG, '2', '--work-dir', work_dir,
            *short
        ],
                 [
                     'tools/dist_test.sh', TOY_CONFIG, ckpt, '2', '--work-dir',
                     work_dir + '_test'
                 ]], 'PORT', {})
    env = dict(GPUS=2, GPUS_PER_NODE=0, CPUS_PER_TASK=1)
    conf = slurm_conf()
    if conf:
        env['SLURM_CONF'] = conf
    return ([[
        'timeout', '170', 'tools/slurm_train.sh', 'debug', 'mmhornet-test',
        TOY_CONFIG, work_dir, *short
    ],
             [
                 'timeout', '170', 'tools/slurm_test.sh', 'debug',
                 'mmhornet-test', TOY_CONFIG, ckpt, '--work-dir',
                 work_dir + '_test'
             ]], 'MASTER_PORT', env)


@pytest.mark.slow
@pytest.mark.parametrize('launcher', ['torchrun', 'slurm'])
def test_repeated_launches_exit_cleanly(tmp_path, launcher):
    """Short 2-rank trainings and tests, each launch exiting 0 with no rank
    aborted. Before the teardown at exit, 2 of the 36 launches of a 9-round
    run of these four scripts aborted after finishing their work."""
    for i in range(REPEATS):
        commands, port_var, env = _launch_commands(launcher,
                                                   str(tmp_path / f'w{i}'))
        for cmd in commands:
            log = run_launch(cmd, **{port_var: free_port()}, **env)
        assert 'mse:' in log


def _two_ranks(script, timeout=60, **env):
    """Start ``script`` as ranks 0 and 1 of a gloo job; return the finished
    processes (``CompletedProcess``) and the seconds until both had
    exited."""
    start = time.monotonic()
    procs = run_side_by_side(
        [[sys.executable, script]] * 2,
        timeout,
        envs=[dict(RANK=rank, LOCAL_RANK=rank) for rank in (0, 1)],
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=free_port(),
        WORLD_SIZE=2,
        **env)
    return procs, time.monotonic() - start


@pytest.mark.slow
def test_no_abort_right_after_a_collective():
    """The abort's trigger, repeated: ranks that exit right after a burst of
    collectives. Without the teardown about half of such runs aborted."""
    script = osp.join(DATA, 'exit_after_collective.py')
    for _ in range(6):
        procs, _ = _two_ranks(script)
        for rank, proc in enumerate(procs):
            assert proc.returncode == 0, f'rank {rank}:\n{proc.stderr}'
            assert not any(sign in proc.stderr
                           for sign in ABORT_SIGNS), proc.stderr


def test_failing_rank_exits_at_once():
    """A rank that ends on an exception skips the barrier: it exits 1 with
    its traceback, at once, and its peer, finding it gone, still tears down
    and exits 0 instead of waiting for the barrier's timeout."""
    script = osp.join(DATA, 'exit_after_collective.py')
    procs, seconds = _two_ranks(script, FAIL_RANK=1)
    assert procs[1].returncode == 1, procs[1].stderr
    assert 'rank failed on purpose' in procs[1].stderr
    assert procs[0].returncode == 0, procs[0].stderr
    for proc in procs:
        assert not any(sign in proc.stderr
                       for sign in ABORT_SIGNS), proc.stderr
    assert seconds < 60


def test_teardown_destroys_the_group_once(gloo_group):
    assert torch_dist.is_initialized()
    assert teardown_distributed() is True
    assert not torch_dist.is_initialized()
    assert teardown_distributed() is False


def test_slurm_scripts_request_gpus_when_asked(tmp_path):
    """With GPUS_PER_NODE > 0 the srun line is mmdet's, --gres included."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'srun').write_text('#!/bin/sh\necho "srun $*"\n')
    (fake / 'srun').chmod(0o755)
    path = f'{fake}{os.pathsep}{os.environ["PATH"]}'
    out = run_tool(['tools/slurm_train.sh', 'p', 'j', 'c.py', 'w', '--amp'],
                   PATH=path,
                   GPUS=16,
                   GPUS_PER_NODE=8)
    line = [ln for ln in out.splitlines() if ln.startswith('srun')][-1]
    assert line.startswith('srun -p p --job-name=j --gres=gpu:8 '
                           '--ntasks-per-node=8 --ntasks=16 '
                           '--cpus-per-task=5 --kill-on-bad-exit=1 ')
    assert line.endswith('tools/train.py c.py --work-dir=w '
                         '--launcher=slurm --amp')
    out = run_tool(['tools/slurm_test.sh', 'p', 'j', 'c.py', 'x.pth'],
                   PATH=path,
                   GPUS=2,
                   GPUS_PER_NODE=0)
    line = [ln for ln in out.splitlines() if ln.startswith('srun')][-1]
    assert '--gres' not in line and '--ntasks-per-node' not in line
    assert line.endswith('tools/test.py c.py x.pth --launcher=slurm')


@pytest.mark.parametrize('env,threads', [(dict(CPUS_PER_TASK=3), '3'),
                                         (dict(), '5'),
                                         (dict(OMP_NUM_THREADS=2), '2')])
def test_slurm_ranks_get_a_thread_per_cpu_of_their_task(
        tmp_path, env, threads):
    """srun passes the environment on: each task's OpenMP threads default
    to the CPUs it gets, and OMP_NUM_THREADS set by the user wins."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'srun'
     ).write_text('#!/bin/sh\necho "threads=${OMP_NUM_THREADS:-unset}"\n')
    (fake / 'srun').chmod(0o755)
    path = f'{fake}{os.pathsep}{os.environ["PATH"]}'
    env = dict(env)
    if 'OMP_NUM_THREADS' not in env:
        env['OMP_NUM_THREADS'] = None  # unset: the script's default
    out = run_tool(['tools/slurm_train.sh', 'p', 'j', 'c.py', 'w'],
                   PATH=path,
                   GPUS_PER_NODE=0,
                   **env)
    assert f'threads={threads}' in out.splitlines()


def test_slurm_tasks_per_node():
    assert _expand_slurm_tasks_per_node('2') == [2]
    assert _expand_slurm_tasks_per_node('2(x3),1') == [2, 2, 2, 1]
    with pytest.raises(ValueError, match='cannot parse'):
        _expand_slurm_tasks_per_node('two')


def test_slurm_env(monkeypatch, tmp_path):
    """Slurm's variables become torch's env:// ones, as in mmengine."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'scontrol').write_text('#!/bin/sh\nprintf "node7\\nnode8\\n"\n')
    (fake / 'scontrol').chmod(0o755)
    monkeypatch.setenv('PATH', f'{fake}{os.pathsep}{os.environ["PATH"]}')
    for key in ('MASTER_ADDR', 'MASTER_PORT', 'LOCAL_WORLD_SIZE'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_NODELIST', 'node[7-8]')
    monkeypatch.setenv('SLURM_NTASKS', '5')
    monkeypatch.setenv('SLURM_PROCID', '4')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('SLURM_NODEID', '1')
    monkeypatch.setenv('SLURM_TASKS_PER_NODE', '3,2')
    for key in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'):
        monkeypatch.setenv(key, 'unset')
    _slurm_env(port=None)
    assert os.environ['MASTER_ADDR'] == 'node7'
    assert os.environ['MASTER_PORT'] == '29500'
    assert os.environ['WORLD_SIZE'] == '5'
    assert os.environ['RANK'] == '4'
    assert os.environ['LOCAL_RANK'] == '1'
    assert os.environ['LOCAL_WORLD_SIZE'] == '2'
    _slurm_env(port=12345)
    assert os.environ['MASTER_PORT'] == '12345'


def test_cpu_model_wrapper_config():
    assert cpu_wrapper_cfg(
        None, find_unused_parameters=True) == dict(
            type='mmhornet.CpuDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=True)
    mmengine_ddp = dict(
        type='MMDistributedDataParallel', detect_anomalous_params=1)
    assert cpu_wrapper_cfg(mmengine_ddp) == dict(
        type='mmhornet.CpuDistributedDataParallel', detect_anomalous_params=1)
    assert mmengine_ddp['type'] == 'MMDistributedDataParallel'
    assert cpu_wrapper_cfg(dict(type='MyWrapper')) == dict(type='MyWrapper')


class SyncBNNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.SyncBatchNorm(4)

    def forward(self, x):
        return self.bn(self.conv(x))


def test_cpu_ddp_reverts_sync_bn_and_trains(gloo_group):
    model = SyncBNNet()
    weight = model.bn.weight
    wrapped = CpuDistributedDataParallel(
        module=model, device_ids=[0], broadcast_buffers=False)
    assert isinstance(wrapped, MMDistributedDataParallel)
    assert wrapped.device_ids is None
    assert not any(
        isinstance(m, nn.SyncBatchNorm) for m in wrapped.module.modules())
    assert isinstance(wrapped.module.bn, nn.modules.batchnorm._BatchNorm)
    # The learnt affine parameters are carried over, not re-initialised.
    assert wrapped.module.bn.weight is weight
    out = wrapped(torch.randn(2, 3, 9, 7))
    out.sum().backward()
    assert wrapped.module.conv.weight.grad is not None
    # SyncBN itself fails on CPU tensors: the reason for the revert.
    with pytest.raises(ValueError, match='SyncBatchNorm expected input'):
        SyncBNNet()(torch.randn(2, 3, 9, 7))


def test_launch_scripts_print_usage():
    proc = subprocess.run(['tools/dist_train.sh', 'only_config'],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert 'usage: tools/dist_train.sh CONFIG GPUS' in proc.stderr
