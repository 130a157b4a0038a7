"""The process group: gloo on machines without CUDA, torn down at exit.

mmengine 0.10.7's ``init_dist('pytorch' | 'slurm')`` calls
``torch.cuda.set_device`` unconditionally, which fails without a GPU. So on a
CPU-only machine :func:`init_cpu_dist` initialises the process group itself,
with gloo, from the launcher's variables (``Runner.setup_env`` calls
``init_dist`` only while ``is_distributed()`` is False). With CUDA nothing
changes: mmengine's own NCCL path runs.

Either way the group is torn down before the interpreter finalises
(:func:`teardown_distributed`, registered by :func:`register_teardown`):
mmengine never destroys it, and a gloo worker thread that drops the last
reference to a finished collective's tensors while Python shuts down aborts
the process ("terminate called without an active exception").
:class:`~mmhornet.engine.MMHornetRunner` does both.
"""
import atexit
import datetime
import logging
import os
import re
import subprocess
import sys
from typing import List, Optional

import torch.distributed as torch_dist
from mmengine.logging import print_log


def _expand_slurm_tasks_per_node(spec: str) -> List[int]:
    """Expand ``SLURM_TASKS_PER_NODE``: ``'2(x3),1'`` -> ``[2, 2, 2, 1]``."""
    counts: List[int] = []
    for part in spec.split(','):
        match = re.fullmatch(r'(\d+)(?:\(x(\d+)\))?', part.strip())
        if match is None:
            raise ValueError(f'cannot parse SLURM_TASKS_PER_NODE={spec!r}')
        counts += [int(match.group(1))] * int(match.group(2) or 1)
    return counts


def _slurm_env(port: Optional[int] = None) -> None:
    """Set torch's env:// variables from Slurm's, like mmengine's
    ``_init_dist_slurm``: the first host of the job is the master."""
    node_list = os.environ['SLURM_NODELIST']
    hosts = subprocess.run(['scontrol', 'show', 'hostnames', node_list],
                           capture_output=True,
                           text=True,
                           check=True).stdout.split()
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ.setdefault('MASTER_ADDR', hosts[0])
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ['SLURM_LOCALID']
    if 'SLURM_TASKS_PER_NODE' in os.environ:
        per_node = _expand_slurm_tasks_per_node(
            os.environ['SLURM_TASKS_PER_NODE'])
        node = int(os.environ.get('SLURM_NODEID', 0))
        os.environ['LOCAL_WORLD_SIZE'] = str(per_node[node])


def _mpi_env() -> None:
    """Set torch's env:// variables from Open MPI's, like mmengine's
    ``_init_dist_mpi``."""
    if 'MASTER_ADDR' not in os.environ:
        raise KeyError('the launcher "mpi" needs MASTER_ADDR in the '
                       'environment')
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']


def init_cpu_dist(launcher: str,
                  timeout: Optional[float] = None,
                  port: Optional[int] = None) -> None:
    """Initialise the default process group with gloo (no GPU needed).

    Args:
        launcher (str): ``'pytorch'`` (torchrun's env:// variables),
            ``'slurm'`` or ``'mpi'``.
        timeout (float, optional): Collective timeout in seconds. Defaults
            to torch's.
        port (int, optional): Master port for ``'slurm'``. Defaults to
            ``MASTER_PORT`` from the environment, else 29500.
    """
    if launcher == 'slurm':
        _slurm_env(port)
    elif launcher == 'mpi':
        _mpi_env()
    elif launcher != 'pytorch':
        raise ValueError(
            f'invalid launcher {launcher!r}; use pytorch, slurm or mpi')
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(
        backend='gloo', init_method='env://', **kwargs)


#: Seconds every rank waits at exit for the others before it tears down.
TEARDOWN_BARRIER_TIMEOUT = 120.
_teardown_registered = False


def _exiting_on_error() -> bool:
    # Python sets sys.last_value (3.12: also last_exc) for the uncaught
    # exception it is exiting on, before it runs the atexit handlers.
    return getattr(sys, 'last_value', None) is not None


def teardown_distributed(
        barrier_timeout: float = TEARDOWN_BARRIER_TIMEOUT) -> bool:
    """Wait for every rank, then destroy the default process group.

    A process group that is never destroyed keeps its backend's threads
    alive into interpreter shutdown. With gloo, a worker thread then releases
    the last reference to a finished collective's tensors, needs the GIL to
    free their Python objects, and is ended by the exiting interpreter in the
    middle of a C++ destructor: ``std::terminate``, "terminate called without
    an active exception", SIGABRT. :class:`~mmhornet.engine.MMHornetRunner`
    registers this function with :mod:`atexit` (:func:`register_teardown`),
    which runs while the interpreter is still whole; it can also be called
    directly.

    The barrier first lets no rank leave while a peer still needs the group
    (rank 0 also serves the rendezvous store); it is skipped when the
    process exits on an uncaught exception, so a failing rank exits at once
    instead of waiting for peers that will never arrive.

    Args:
        barrier_timeout (float): Seconds to wait for the other ranks (gloo;
            NCCL's barrier waits up to the group's own timeout). Defaults to
            :data:`TEARDOWN_BARRIER_TIMEOUT`.

    Returns:
        bool: whether a process group was destroyed.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return False
    if not _exiting_on_error() and torch_dist.get_world_size() > 1:
        try:
            if torch_dist.get_backend() == 'gloo':
                torch_dist.monitored_barrier(
                    timeout=datetime.timedelta(seconds=barrier_timeout))
            else:
                torch_dist.barrier()
        except RuntimeError as e:
            print_log(
                f'the ranks did not all reach the end of the run ({e}); '
                'tearing down this rank\'s process group anyway',
                logger='current',
                level=logging.WARNING)
    torch_dist.destroy_process_group()
    return True


def register_teardown() -> None:
    """Run :func:`teardown_distributed` at exit (once per process)."""
    global _teardown_registered
    if not _teardown_registered:
        atexit.register(teardown_distributed)
        _teardown_registered = True
