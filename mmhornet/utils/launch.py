"""Distributed launch on machines without CUDA: gloo on CPU processes.

mmengine 0.10.7's ``init_dist('pytorch' | 'slurm')`` calls
``torch.cuda.set_device`` unconditionally, and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to ``DistributedDataParallel``; both fail without
a GPU. So on a CPU-only machine :func:`setup_distributed` initialises the
process group itself, with gloo (``Runner.setup_env`` calls ``init_dist`` only
while ``is_distributed()`` is False), and points the config's model wrapper
at :class:`CpuDistributedDataParallel`. With CUDA nothing changes: mmengine's
own NCCL path runs.

Either way the process group is torn down before the interpreter finalises
(:func:`teardown_distributed`, registered by :func:`setup_distributed`):
mmengine never destroys it, and a gloo worker thread that drops the last
reference to a finished collective's tensors while Python shuts down aborts
the process ("terminate called without an active exception").
"""
import atexit
import datetime
import logging
import os
import re
import subprocess
import sys
from typing import List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

CPU_WRAPPER = 'CpuDistributedDataParallel'
_DDP_TYPES = ('MMDistributedDataParallel',
              'mmengine.MMDistributedDataParallel')


def _sync_bn_count(module: nn.Module) -> int:
    # mmcv's MMSyncBN is no nn.SyncBatchNorm but shares the class name.
    return sum(
        isinstance(m, nn.SyncBatchNorm)
        or type(m).__name__ == 'SyncBatchNorm' for m in module.modules())


@MODEL_WRAPPERS.register_module()
class CpuDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` for CPU processes on gloo.

    ``DistributedDataParallel`` of a CPU module needs ``device_ids=None``
    (mmengine passes the local rank), and ``SyncBatchNorm`` runs only on
    GPUs, so its layers are reverted to ``BatchNorm`` with a warning: each
    process then normalises with its own batch statistics.

    Args:
        module (nn.Module): The model to wrap.
        **kwargs: Passed to :class:`MMDistributedDataParallel`;
            ``device_ids`` and ``output_device`` are dropped.
    """

    def __init__(self, module: nn.Module, **kwargs):
        kwargs['device_ids'] = None
        kwargs.pop('output_device', None)
        num_sync_bn = _sync_bn_count(module)
        if num_sync_bn:
            print_log(
                f'SyncBatchNorm needs CUDA: reverting {num_sync_bn} SyncBN '
                'layer(s) to BatchNorm for CPU training; each process '
                'normalises with its own batch',
                logger='current',
                level=logging.WARNING)
            module = revert_sync_batchnorm(module)
        super().__init__(module=module, **kwargs)


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


def use_cpu_model_wrapper(cfg) -> None:
    """Point ``cfg.model_wrapper_cfg`` at :class:`CpuDistributedDataParallel`.

    A config without ``model_wrapper_cfg`` gets the arguments mmengine would
    use (``broadcast_buffers=False``, the top-level
    ``find_unused_parameters``); one naming ``MMDistributedDataParallel``
    keeps its arguments. Another wrapper type is kept, with a warning.

    Args:
        cfg (mmengine.Config): The config, changed in place.
    """
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type=CPU_WRAPPER,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') in _DDP_TYPES:
        wrapper['type'] = CPU_WRAPPER
    else:
        print_log(
            f'model_wrapper_cfg.type={wrapper["type"]!r} is kept on CPU; it '
            'must not pass device_ids to DistributedDataParallel',
            logger='current',
            level=logging.WARNING)


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
    an active exception", SIGABRT. :func:`setup_distributed` registers this
    function with :mod:`atexit`, which runs while the interpreter is still
    whole; it can also be called directly.

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


def setup_distributed(cfg, launcher: str) -> str:
    """Prepare distributed training or testing for ``launcher``.

    ``'none'``: nothing to do. With CUDA available, mmengine's own path
    (NCCL) runs. Without CUDA: gloo is initialised here,
    ``cfg.env_cfg.dist_cfg.backend`` set to ``'gloo'`` and the model wrapper
    to :class:`CpuDistributedDataParallel`. With either backend the process
    group is torn down at exit (:func:`teardown_distributed`).

    Args:
        cfg (mmengine.Config): The config, changed in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        str: the backend of the run, ``'none'`` for a single process.
    """
    if launcher == 'none':
        return 'none'
    register_teardown()
    if cfg.get('env_cfg') is None:
        cfg.env_cfg = dict()
    if cfg.env_cfg.get('dist_cfg') is None:
        cfg.env_cfg.dist_cfg = dict()
    dist_cfg = cfg.env_cfg.dist_cfg
    if torch.cuda.is_available():
        return dist_cfg.get('backend', 'nccl')
    if not torch_dist.is_initialized():
        init_cpu_dist(
            launcher,
            timeout=dist_cfg.get('timeout'),
            port=dist_cfg.get('port'))
    dist_cfg.backend = 'gloo'
    use_cpu_model_wrapper(cfg)
    return 'gloo'
