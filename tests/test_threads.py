"""The OpenMP wait default: set when mmhornet is imported before torch,
never over the user's own choice, and never too late to matter."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOW = "import os; print(os.environ.get('GOMP_SPINCOUNT', 'unset'))"


def _spin(code, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ('GOMP_SPINCOUNT', 'OMP_WAIT_POLICY')
    }
    base.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, '-c', code + '; ' + SHOW],
                          env=base,
                          capture_output=True,
                          text=True,
                          check=True,
                          timeout=120).stdout.split()[-1]


@pytest.mark.parametrize('code,env,expected', [
    ('import mmhornet', {}, '1000'),
    ('import mmhornet', dict(GOMP_SPINCOUNT='5'), '5'),
    ('import mmhornet', dict(OMP_WAIT_POLICY='PASSIVE'), 'unset'),
    ('import torch, mmhornet', {}, 'unset'),
])
def test_openmp_wait_default(code, env, expected):
    assert _spin(code, **env) == expected
