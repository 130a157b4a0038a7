"""Helpers for the tests of ``tools/``: run the scripts as a user would.

The toy model, dataset and hooks live in ``tests/data/toy_modules.py``; the
scripts find it through ``PYTHONPATH``, as they find mmhornet itself.
"""
import importlib.util
import os
import os.path as osp
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'tests', 'data')
TOY_CONFIG = osp.join(DATA, 'toy_config.py')


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env(**extra):
    """The environment the scripts run in: this interpreter, mmhornet and the
    toy modules importable, one thread per process (2-core CI machines), and
    no GPU, so that the CPU (gloo) paths run on any machine; an ``extra``
    value of None unsets that variable."""
    env = dict(os.environ)
    env.update(
        PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join([REPO, DATA,
                                    env.get('PYTHONPATH',
                                            '')]).rstrip(os.pathsep),
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        CUDA_VISIBLE_DEVICES='')
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    for key in [k for k, v in extra.items() if v is None]:
        env.pop(key, None)
    return env


def run_tool(args, timeout=120, **env):
    """Run a command from the repository root; fail with its output if it
    does not exit with 0."""
    proc = subprocess.run(
        args,
        cwd=REPO,
        env=tool_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    assert proc.returncode == 0, (
        f'{" ".join(args)} exited with {proc.returncode}:\n'
        f'{proc.stdout[-6000:]}')
    return proc.stdout


def run_side_by_side(commands, timeout=300, envs=None, **env):
    """Run commands at once from the repository root (independent ones: each
    process mostly imports, on one core; or the ranks of one job) and return
    their ``CompletedProcess`` results in order, stdout and stderr captured
    (in files: a full pipe would stall a process). All must end within
    ``timeout`` seconds; the rest are killed. ``envs``: per command, more
    variables on top of ``env``."""
    with ExitStack() as files:
        outputs = [(files.enter_context(tempfile.TemporaryFile('w+')),
                    files.enter_context(tempfile.TemporaryFile('w+')))
                   for _ in commands]
        procs = [
            subprocess.Popen(
                cmd,
                cwd=REPO,
                env=tool_env(**env, **extra),
                stdout=out,
                stderr=err,
                text=True)
            for cmd, (out, err), extra in zip(commands, outputs, envs or [{}] *
                                              len(commands))
        ]
        deadline = time.monotonic() + timeout
        try:
            for proc in procs:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        results = []
        for cmd, proc, (out, err) in zip(commands, procs, outputs):
            out.seek(0)
            err.seek(0)
            results.append(
                subprocess.CompletedProcess(cmd, proc.returncode, out.read(),
                                            err.read()))
    return results


def train_cmd(*args):
    """``python tools/train.py TOY_CONFIG *args``."""
    return [sys.executable, 'tools/train.py', TOY_CONFIG, *args]


def load_record(work_dir, rank=0):
    """What ToyRecordHook saved for ``rank`` at the end of training."""
    return torch.load(osp.join(work_dir, f'toy_rank{rank}.pth'))


def load_tool(name):
    """Import ``tools/<name>.py`` as a module (``tools/`` is no package)."""
    spec = importlib.util.spec_from_file_location(
        f'mmhornet_tools_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
