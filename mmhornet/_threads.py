"""The OpenMP wait default for jobs that share a CPU, set before torch
loads its OpenMP runtime (which reads the environment once, at load).

GNU OpenMP (libgomp, what PyTorch's Linux wheels use) lets a thread that
waits at the end of a parallel region spin before it sleeps. With another
busy process on the same cores the spinning threads take the cores from
the ones doing work: two HorNet-T trainings side by side on 2 cores each ran
about 4x slower than alone, not 2x. A short spin keeps the speed of a job
alone and gives jobs side by side their fair share (README, "Sharing a
machine"). ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` set by the user win.
"""
import os
import sys

#: Spins before an idle OpenMP thread sleeps (libgomp's default: 300000).
GOMP_SPINCOUNT = '1000'


def set_openmp_wait_default() -> bool:
    """Set ``GOMP_SPINCOUNT`` unless the user chose a wait policy or torch is
    loaded already (too late to matter). Returns whether it was set."""
    if 'torch' in sys.modules or 'GOMP_SPINCOUNT' in os.environ or \
            'OMP_WAIT_POLICY' in os.environ:
        return False
    os.environ['GOMP_SPINCOUNT'] = GOMP_SPINCOUNT
    return True
