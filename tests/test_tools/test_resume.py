"""Resume without loss: safe loading, atomic saving, exact continuation."""
import os
import os.path as osp
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from mmhornet.checkpoint import (AtomicLocalBackend,
                                 find_last_complete_checkpoint,
                                 is_checkpoint_file, register_safe_globals)
from .helpers import (REPO, TOY_CONFIG, load_record, run_tool, tool_env,
                      train_cmd)


@pytest.fixture
def clean_safe_globals():
    """Run a test with torch's allowlist empty; restore it afterwards."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(saved)


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    """A checkpoint written by mmengine's Runner (toy model, 3 iterations)."""
    sys.path.insert(0, osp.join(REPO, 'tests', 'data'))
    try:
        cfg = Config.fromfile(TOY_CONFIG)
    finally:
        sys.path.remove(osp.join(REPO, 'tests', 'data'))
    work_dir = tmp_path_factory.mktemp('mmengine_ckpt')
    cfg.merge_from_dict(
        dict(
            work_dir=str(work_dir),
            experiment_name='safe_globals_ckpt',
            log_level='WARNING',
            custom_hooks=[],
            train_cfg=dict(max_iters=3),
            default_hooks=dict(checkpoint=dict(interval=3))))
    Runner.from_cfg(cfg).train()
    return str(work_dir / 'iter_3.pth')


class Payload:
    """An arbitrary class: a weights-only load must refuse to build it."""

    def __init__(self, value):
        self.value = value


class Exploit:
    """Unpickling it would run a command."""

    def __reduce__(self):
        return os.system, ('echo pwned', )


class GetattrEscape:
    """Reaches past HistoryBuffer's methods through ``getattr``."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_mmengine_checkpoint_needs_the_allowlist(mmengine_checkpoint,
                                                 clean_safe_globals):
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(mmengine_checkpoint, weights_only=True)
    register_safe_globals()
    ckpt = torch.load(mmengine_checkpoint, weights_only=True)
    assert ckpt['meta']['iter'] == 3
    loss = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.current() == pytest.approx(loss.data[0][-1])
    assert isinstance(ckpt['message_hub']['runtime_info']['eta'], np.number)
    assert set(ckpt['optimizer']['state']) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    'obj, match', [
        (Payload(1), 'Payload'),
        (Exploit(), 'system'),
        (GetattrEscape(), "getattr.*'__init__'.*not allowed"),
        (np.array([Payload(2)], dtype=object), 'Payload'),
    ],
    ids=['class', 'reduce-to-system', 'getattr-escape', 'object-array'])
def test_safety_is_kept(tmp_path, clean_safe_globals, obj, match):
    register_safe_globals()
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, extra=obj), path)
    with pytest.raises(pickle.UnpicklingError, match=match):
        torch.load(path, weights_only=True)


def test_is_checkpoint_file(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(dict(w=torch.ones(1000)), good)
    legacy = tmp_path / 'legacy.pth'
    torch.save(
        dict(w=torch.ones(3)), legacy, _use_new_zipfile_serialization=False)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:2000])
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    assert is_checkpoint_file(str(good))
    assert is_checkpoint_file(str(legacy))
    assert not is_checkpoint_file(str(truncated))
    assert not is_checkpoint_file(str(empty))
    assert not is_checkpoint_file(str(tmp_path / 'missing.pth'))


def test_find_last_complete_checkpoint_skips_partial_files(tmp_path):
    assert find_last_complete_checkpoint(str(tmp_path / 'none')) is None
    for it in (10, 20):
        torch.save(dict(it=it), tmp_path / f'iter_{it}.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    # mmengine's record is trusted when it names a whole checkpoint.
    assert find_last_complete_checkpoint(str(tmp_path)) == str(tmp_path /
                                                               'iter_10.pth')
    # A save killed half-way: the record names a truncated file.
    good = (tmp_path / 'iter_20.pth').read_bytes()
    (tmp_path / 'iter_30.pth').write_bytes(good[:len(good) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_30.pth'))
    assert find_last_complete_checkpoint(str(tmp_path)) == str(tmp_path /
                                                               'iter_20.pth')
    # The record itself truncated to nothing.
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_last_complete_checkpoint(str(tmp_path)) == str(tmp_path /
                                                               'iter_20.pth')


def test_atomic_backend_is_what_the_config_names(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'abc', str(tmp_path / 'sub' / 'f.bin'))
    backend.put_text('xyz', str(tmp_path / 'f.txt'))
    assert (tmp_path / 'sub' / 'f.bin').read_bytes() == b'abc'
    assert (tmp_path / 'f.txt').read_text() == 'xyz'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['f.txt', 'sub']


def test_atomic_backend_failed_write_leaves_old_file(tmp_path, monkeypatch):
    target = tmp_path / 'iter_10.pth'
    target.write_bytes(b'old')

    def broken_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk full'):
        AtomicLocalBackend().put(b'new', str(target))
    assert target.read_bytes() == b'old'
    assert [p.name for p in tmp_path.iterdir()] == ['iter_10.pth']


def test_atomic_backend_killed_save_never_shows_the_name(tmp_path):
    """SIGKILL a process while it saves a checkpoint: the final name never
    appears half-written, and auto-resume picks the previous checkpoint."""
    torch.save(dict(it=10), tmp_path / 'iter_10.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    target = tmp_path / 'iter_20.pth'
    # The data is fully written and synced before os.replace; stall there so
    # the kill lands at the worst moment, deterministically.
    script = textwrap.dedent(f"""
        import io, os, time, torch
        from mmhornet.checkpoint import AtomicLocalBackend
        def stalled_replace(src, dst):
            open({str(tmp_path / 'ready')!r}, 'w').close()
            time.sleep(60)
        os.replace = stalled_replace
        buf = io.BytesIO()
        torch.save(dict(w=torch.zeros(1 << 20)), buf)
        AtomicLocalBackend().put(buf.getvalue(), {str(target)!r})
        """)
    proc = subprocess.Popen([sys.executable, '-c', script],
                            cwd=REPO,
                            env=tool_env())
    try:
        deadline = time.time() + 60
        while not (tmp_path / 'ready').exists():
            assert proc.poll() is None, 'the saving process died early'
            assert time.time() < deadline, 'the save never started'
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.glob('iter_20.pth.*.tmp')]
    assert len(leftovers) == 1
    assert find_last_complete_checkpoint(str(tmp_path)) == str(tmp_path /
                                                               'iter_10.pth')


@pytest.mark.slow
def test_killed_training_resumes_exactly(tmp_path, reference_batch4):
    """Kill a run after its iteration-20 checkpoint, resume it with
    ``--resume``: it continues at iteration 21 and ends with exactly the
    parameters, optimizer state and lr of an uninterrupted run."""
    work_dir = tmp_path / 'work'
    proc = subprocess.Popen(
        train_cmd('--work-dir', str(work_dir), '--cfg-options',
                  'custom_hooks.0.hang_at_iter=25'),
        cwd=REPO,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while not (work_dir / 'hanging0').exists():
            assert proc.poll() is None, 'training exited before iteration 25'
            assert time.time() < deadline, 'training never got to iter 25'
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir /
                                                             'iter_20.pth')
    assert not list(work_dir.glob('*.tmp'))
    # And as if a save of iteration 30 without atomic writes had been killed:
    # a truncated file that mmengine's record points at.
    whole = (work_dir / 'iter_20.pth').read_bytes()
    (work_dir / 'iter_30.pth').write_bytes(whole[:len(whole) // 2])
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_30.pth'))

    log = run_tool(train_cmd('--work-dir', str(work_dir), '--resume'))
    assert 'not a complete checkpoint' in log
    assert f'Load checkpoint from {work_dir / "iter_20.pth"}' in log
    assert 'resumed epoch: 0, iter: 20' in log

    resumed = load_record(work_dir)
    reference = load_record(reference_batch4)
    assert resumed['start_iter'] == 20
    assert sorted(resumed['losses']) == list(range(21, 41))
    for it in range(21, 41):
        assert resumed['losses'][it] == reference['losses'][it]
    assert resumed['lr'] == reference['lr'] == pytest.approx(0.001)
    for name, param in reference['params'].items():
        assert torch.equal(resumed['params'][name], param), name

    final = torch.load(work_dir / 'iter_40.pth', weights_only=False)
    expected = torch.load(
        osp.join(reference_batch4, 'iter_40.pth'), weights_only=False)
    momentum = final['optimizer']['state']
    for idx, state in expected['optimizer']['state'].items():
        assert torch.equal(momentum[idx]['momentum_buffer'],
                           state['momentum_buffer'])
    assert final['param_schedulers'] == expected['param_schedulers']
    assert final['message_hub']['runtime_info']['iter'] == 39
    assert (
        final['message_hub']['log_scalars']['train/loss'].data[0] ==
        expected['message_hub']['log_scalars']['train/loss'].data[0]).all()
