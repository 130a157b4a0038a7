"""The OpenMP wait default: set when mmhornet is imported before torch,
never over the user's own choice, and never too late to matter."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOW = "import os; print(os.environ.get('GOMP_SPINCOUNT', 'unset'))"
#: Prefix that prints the variable at the moment torch starts to load (what
#: its OpenMP runtime will read), tagged so that a run whose hook never fired
#: cannot pass, then ends the process there.
AT_TORCH_LOAD = """
import os, sys
class AtTorch:
    def find_spec(self, name, path=None, target=None):
        if name == 'torch':
            print('at-torch-load:' + os.environ.get('GOMP_SPINCOUNT', 'unset'),
                  flush=True)
            os._exit(0)
sys.meta_path.insert(0, AtTorch())
"""


def _spin(code, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ('GOMP_SPINCOUNT', 'OMP_WAIT_POLICY')
    }
    base.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, '-c', code + '\n' + SHOW],
                          env=base,
                          capture_output=True,
                          text=True,
                          check=True,
                          timeout=120).stdout.split()[-1]


@pytest.mark.parametrize(
    'code,env,expected',
    [
        # Seen by torch as it loads: mmhornet sets it first.
        (AT_TORCH_LOAD + 'import mmhornet', {}, 'at-torch-load:1000'),
        (AT_TORCH_LOAD + 'import mmhornet', dict(GOMP_SPINCOUNT='5'),
         'at-torch-load:5'),
        (AT_TORCH_LOAD + 'import mmhornet', dict(OMP_WAIT_POLICY='PASSIVE'),
         'at-torch-load:unset'),
        # Torch first: too late, so not set at all.
        ('import torch, mmhornet', {}, 'unset'),
    ],
    ids=['default', 'user-spincount', 'user-policy', 'torch-first'])
def test_openmp_wait_default(code, env, expected):
    assert _spin(code, **env) == expected
