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
#: ``AmpOptimWrapper`` arguments that a plain ``OptimWrapper`` does not take.
_AMP_ONLY_KEYS = ('loss_scale', 'dtype', 'use_fsdp')


def cpu_bf16_kernels() -> bool:
    """Whether this CPU runs bfloat16 matmuls and convolutions in oneDNN's
    kernels (AVX512 or AMX CPUs): the check PyTorch itself makes before
    handing them to oneDNN; without them they run in reference loops."""
    check = getattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', None)
    if check is None:  # a torch without the op: ask the CPU flags
        from mmhornet.analysis.roofline import bf16_supported
        return bf16_supported(torch.device('cpu'))
    return bool(check())


def amp_trains_in_float32() -> bool:
    """Whether an ``AmpOptimWrapper`` config (``--amp``) trains in float32
    on this machine: no CUDA and a CPU without bfloat16 kernels
    (:func:`amp_for_this_machine` then builds a plain ``OptimWrapper``)."""
    return not torch.cuda.is_available() and not cpu_bf16_kernels()


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
        if not cpu_bf16_kernels():
            print_log(
                'CpuAmpOptimWrapper on a CPU without bfloat16 kernels (no '
                'AVX512 / AMX): bfloat16 autocast runs many times slower '
                'than float32 here; drop --amp or use OptimWrapper.',
                logger='current',
                level=logging.WARNING)
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
    none), float16 replaced by bfloat16, the other arguments kept; on a CPU
    without bfloat16 kernels (:func:`cpu_bf16_kernels`) it becomes a plain
    ``OptimWrapper`` instead (float32, a warning says why), with the same
    optimizer, gradient clipping and accumulation.

    Args:
        optim_wrapper_cfg (dict): An optim wrapper config (not changed).

    Returns:
        dict: the config to build.
    """
    if (torch.cuda.is_available() or not isinstance(optim_wrapper_cfg, dict)
            or optim_wrapper_cfg.get('type') not in _AMP_TYPES):
        return optim_wrapper_cfg
    if amp_trains_in_float32():
        cfg = {
            k: v
            for k, v in optim_wrapper_cfg.items() if k not in _AMP_ONLY_KEYS
        }
        cfg['type'] = 'OptimWrapper'
        print_log(
            'AMP without CUDA on a CPU without bfloat16 kernels (no AVX512 '
            '/ AMX): training in float32, where bfloat16 autocast would run '
            'many times slower. To force it anyway, set '
            f"optim_wrapper.type='{CPU_AMP_WRAPPER}'.",
            logger='current',
            level=logging.WARNING)
        return cfg
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
