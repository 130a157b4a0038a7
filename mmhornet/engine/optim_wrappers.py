"""Mixed precision on GPUs and on CPUs.

mmengine's ``AmpOptimWrapper`` asserts that CUDA (or NPU/MLU/MUSA) is
available, and fp16 autocast brings nothing on a CPU, so on a CPU
:class:`~mmhornet.engine.MMHornetRunner` builds an ``AmpOptimWrapper`` config
(what mmdet's, mmseg's and mmhornet's ``--amp`` write) as
:class:`CpuAmpOptimWrapper`: bfloat16 autocast and no loss scaling (bfloat16
has float32's exponent range).
"""
import copy
import logging
from contextlib import contextmanager

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from mmhornet.registry import OPTIM_WRAPPERS
from .cpu_autocast import fp32_mmcv_ops_under_cpu_autocast

CPU_AMP_WRAPPER = 'mmhornet.CpuAmpOptimWrapper'
_AMP_TYPES = ('AmpOptimWrapper', 'mmengine.AmpOptimWrapper')


@OPTIM_WRAPPERS.register_module()
class CpuAmpOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` running forward and loss in CPU autocast.

    Args:
        dtype (str | torch.dtype): Autocast dtype; CPU autocast supports only
            bfloat16. Defaults to 'bfloat16'.
        **kwargs: Passed to :class:`OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(
                f'CPU autocast supports only bfloat16, got dtype={dtype!r}')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16
        # mmdet's detectors call mmcv ops without bf16 CPU kernels.
        fp32_mmcv_ops_under_cpu_autocast()

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """:class:`OptimWrapper`'s context plus bfloat16 autocast.

        Args:
            model (torch.nn.Module): The training model.
        """
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state, dropping a GPU run's loss scaler.

        Args:
            state_dict (dict): State of an :class:`OptimWrapper` or an
                ``AmpOptimWrapper``.
        """
        state_dict = dict(state_dict)
        state_dict.pop('loss_scaler', None)
        super().load_state_dict(state_dict)


def amp_for_this_machine(optim_wrapper_cfg: dict) -> dict:
    """An ``AmpOptimWrapper`` config as it can run on this machine.

    With CUDA, or for any other wrapper type, the config is returned as it
    is. Without CUDA an ``AmpOptimWrapper`` becomes
    :class:`CpuAmpOptimWrapper`: ``loss_scale`` dropped (bfloat16 needs
    none), float16 replaced by bfloat16, the other arguments kept.

    Args:
        optim_wrapper_cfg (dict): An optim wrapper config (not changed).

    Returns:
        dict: the config to build.
    """
    if (torch.cuda.is_available() or not isinstance(optim_wrapper_cfg, dict)
            or optim_wrapper_cfg.get('type') not in _AMP_TYPES):
        return optim_wrapper_cfg
    cfg = copy.copy(optim_wrapper_cfg)
    cfg['type'] = CPU_AMP_WRAPPER
    cfg.pop('loss_scale', None)
    cfg.pop('use_fsdp', None)
    cfg['dtype'] = 'bfloat16'
    print_log(
        'AMP without CUDA: bfloat16 autocast on the CPU '
        f'({CPU_AMP_WRAPPER}, no loss scaling)',
        logger='current',
        level=logging.INFO)
    return cfg
