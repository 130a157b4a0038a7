"""The model wrapper for distributed training on CPU processes (gloo)."""
import logging

from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from torch import nn

from mmhornet.registry import MODEL_WRAPPERS

CPU_WRAPPER = 'mmhornet.CpuDistributedDataParallel'
_DDP_TYPES = ('MMDistributedDataParallel',
              'mmengine.MMDistributedDataParallel')


def _sync_bn_count(module: nn.Module) -> int:
    # mmcv's MMSyncBN is no nn.SyncBatchNorm but shares the class name.
    return sum(
        isinstance(m, nn.SyncBatchNorm) or type(m).__name__ == 'SyncBatchNorm'
        for m in module.modules())


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


def cpu_wrapper_cfg(wrapper_cfg, find_unused_parameters=False):
    """The model wrapper config for a CPU process of a distributed run.

    No config: the arguments mmengine would use (``broadcast_buffers=False``,
    ``find_unused_parameters``) with :class:`CpuDistributedDataParallel`. One
    naming ``MMDistributedDataParallel`` keeps its arguments and gets the CPU
    type. Another wrapper type is kept, with a warning.

    Args:
        wrapper_cfg (dict, optional): The config's ``model_wrapper_cfg``
            (not changed).
        find_unused_parameters (bool): The config's top-level setting.
            Defaults to False.

    Returns:
        dict: the wrapper config to build.
    """
    if wrapper_cfg is None:
        return dict(
            type=CPU_WRAPPER,
            broadcast_buffers=False,
            find_unused_parameters=find_unused_parameters)
    wrapper_cfg = dict(wrapper_cfg)
    if wrapper_cfg.get('type', 'MMDistributedDataParallel') in _DDP_TYPES:
        wrapper_cfg['type'] = CPU_WRAPPER
    else:
        print_log(
            f'model_wrapper_cfg.type={wrapper_cfg["type"]!r} is kept on CPU; '
            'it must not pass device_ids to DistributedDataParallel',
            logger='current',
            level=logging.WARNING)
    return wrapper_cfg
