"""What mmhornet promises holds under the launchers users already have.

Configs that bring mmhornet by ``custom_imports`` alone (and one that also
names ``runner_type='mmhornet.MMHornetRunner'``), trained by mmdet's and
mmseg's own ``tools/train.py`` (the copies in the installed hosts'
``.mim/tools/``) and by a script calling mmengine's ``Runner.from_cfg``:
killed mid-run, resumed with the launcher's own ``--resume``, they end
exactly where an uninterrupted run ends; and a malicious checkpoint is
refused on every path.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
import torch

from .helpers import (DATA, REPO, TOY_CONFIG, load_record, run_side_by_side,
                      tool_env, train_cmd)

PLAIN_CONFIG = osp.join(DATA, 'toy_config_plain_runner.py')
PLAIN_SCRIPT = osp.join(DATA, 'plain_runner.py')
#: Per host: the swap config, its demo data root, the iteration to kill at
#: (right after it, a checkpoint of an earlier iteration is the last one) and
#: the iteration the resumed run starts from.
HOSTS = {
    'mmdet':
    dict(
        config='swap_retinanet_demo.py',
        root='coco_root',
        kill_after=5,
        resumes_at=4),
    'mmseg':
    dict(
        config='swap_upernet_demo.py',
        root='ade_root',
        kill_after=6,
        resumes_at=4),
}


def host_train_script(host):
    """The host's own ``tools/train.py``, as installed with it."""
    script = Path(
        find_spec(host).origin).parent / '.mim' / 'tools' / ('train.py')
    assert script.is_file(), script
    return str(script)


def host_cmd(host, data, work_dir, *extra, options=()):
    """``python <host>/.mim/tools/train.py SWAP_CONFIG`` on the demo data,
    ``options`` added to its ``--cfg-options``."""
    root = data[HOSTS[host]['root']] + '/'
    options = [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
    ] + list(options)
    if host == 'mmdet':
        ann = root + 'annotations/instances_val.json'
        options += [
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}'
        ]
    return [
        sys.executable,
        host_train_script(host),
        osp.join(DATA, HOSTS[host]['config']), '--work-dir',
        str(work_dir), *extra, '--cfg-options', *options
    ]


def run(cmd, timeout=300):
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd} exited {proc.returncode}:\n' + (
        output[-6000:])
    return output


def kill_when_hanging(cmd, work_dir, timeout=240):
    """Start ``cmd`` (whose ToyRecordHook hangs at a set iteration), SIGKILL
    it once it hangs there."""
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while not (Path(work_dir) / 'hanging0').exists():
            assert proc.poll() is None, f'{cmd} exited before it hung'
            assert time.time() < deadline, f'{cmd} never got there'
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def assert_resumed_exactly(resumed, reference, start):
    """The resumed run started at ``start`` and ended with the reference
    run's losses (from there on) and parameters."""
    assert resumed['start_iter'] == start
    assert sorted(resumed['losses']) == [
        it for it in sorted(reference['losses']) if it > start
    ]
    for it, loss in resumed['losses'].items():
        assert loss == reference['losses'][it], it
    for name, param in reference['params'].items():
        assert torch.equal(resumed['params'][name], param), name


@pytest.mark.slow
@pytest.mark.parametrize('host', sorted(HOSTS))
def test_host_train_tool_kill_and_resume(tmp_path, small_demo_data, host):
    case = HOSTS[host]
    reference_dir = tmp_path / 'reference'
    log = run(host_cmd(host, small_demo_data, reference_dir))
    assert 'Saving checkpoint' in log
    reference = load_record(str(reference_dir))

    work_dir = tmp_path / 'work'
    kill_when_hanging(
        host_cmd(
            host,
            small_demo_data,
            work_dir,
            options=[f'custom_hooks.0.hang_at_iter={case["kill_after"]}']),
        work_dir)
    if host == 'mmseg':
        # This config runs mmhornet's runner: as if a later save without the
        # atomic backend had been killed half-way and recorded, the resume
        # must skip the truncated file.
        whole = (work_dir / 'iter_4.pth').read_bytes()
        (work_dir / 'iter_8.pth').write_bytes(whole[:len(whole) // 2])
        (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_8.pth'))
    log = run(host_cmd(host, small_demo_data, work_dir, '--resume'))
    assert f'resumed epoch: {int(host == "mmdet")}, iter: ' \
        f'{case["resumes_at"]}' in log
    if host == 'mmseg':
        assert 'not a complete checkpoint' in log
    assert not list(work_dir.glob('*.tmp'))
    assert_resumed_exactly(
        load_record(str(work_dir)), reference, case['resumes_at'])


@pytest.mark.slow
def test_plain_runner_script_kill_and_resume(tmp_path, reference_batch4):
    """mmengine's own Runner.from_cfg with mmhornet in custom_imports only:
    its resume reads mmengine's checkpoint under torch's safe loader."""
    work_dir = tmp_path / 'work'
    kill_when_hanging([
        sys.executable, PLAIN_SCRIPT, PLAIN_CONFIG,
        str(work_dir), 'custom_hooks.0.hang_at_iter=25'
    ], work_dir)
    log = run([
        sys.executable, PLAIN_SCRIPT, PLAIN_CONFIG,
        str(work_dir), '--resume'
    ])
    assert 'resumed epoch: 0, iter: 20' in log
    assert_resumed_exactly(
        load_record(str(work_dir)), load_record(reference_batch4), 20)


class Exploit:
    """Unpickling it would create the file ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f'touch {self.path}', )


@pytest.mark.slow
def test_malicious_checkpoint_refused_on_every_path(tmp_path, small_demo_data):
    markers = {}

    def work_dir(name):
        # Each path its own checkpoint, whose unpickling would make its own
        # marker file (the paths run side by side).
        folder = tmp_path / name
        folder.mkdir()
        markers[name] = tmp_path / f'pwned-{name}'
        evil = folder / 'evil.pth'
        torch.save(
            dict(
                meta=dict(epoch=1, iter=4),
                state_dict={},
                extra=Exploit(markers[name])), evil)
        (folder / 'last_checkpoint').write_text(str(evil))
        return str(folder)

    paths = {
        'mmhornet tools/train.py --resume':
        train_cmd('--work-dir', work_dir('ours'), '--resume'),
        'mmhornet tools/test.py': [
            sys.executable, 'tools/test.py', TOY_CONFIG,
            osp.join(work_dir('test'), 'evil.pth'), '--work-dir',
            str(tmp_path / 'test')
        ],
        'mmdet tools/train.py --resume':
        host_cmd('mmdet', small_demo_data, work_dir('mmdet'), '--resume'),
        'Runner.from_cfg, resume=True': [
            sys.executable, PLAIN_SCRIPT, PLAIN_CONFIG,
            work_dir('plain'), '--resume'
        ],
    }
    procs = run_side_by_side(list(paths.values()))
    assert len(markers) == len(paths)
    for (name, cmd), proc in zip(paths.items(), procs):
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0, name
        assert 'Weights only load failed' in output, (name, output[-3000:])
        assert 'GLOBAL posix.system' in output, (name, output[-3000:])
    assert not [m for m in markers.values() if m.exists()]
