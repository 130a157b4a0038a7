"""Mixed precision for ``tools/train.py --amp``, on GPUs and on CPUs.

mmengine's ``AmpOptimWrapper`` asserts that CUDA (or NPU/MLU/MUSA) is
available, and fp16 autocast brings nothing on a CPU, so on a CPU ``--amp``
selects :class:`CpuAmpOptimWrapper`: bfloat16 autocast and no loss scaling
(bfloat16 has float32's exponent range).
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from .config import ConfigOptionError


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


def enable_amp(cfg) -> str:
    """Switch ``cfg.optim_wrapper`` to mixed precision for this machine.

    With CUDA: ``AmpOptimWrapper``, float16 autocast and
    ``loss_scale='dynamic'``, as mmdet's ``--amp``. Without:
    :class:`CpuAmpOptimWrapper` (bfloat16).

    Args:
        cfg (mmengine.Config): The config, changed in place.

    Returns:
        str: the optim wrapper type now in the config.
    """
    if 'optim_wrapper' not in cfg:
        raise ConfigOptionError('--amp needs an `optim_wrapper` in the config')
    wrapper = cfg.optim_wrapper
    if torch.cuda.is_available():
        wrapper.type = 'AmpOptimWrapper'
        wrapper.loss_scale = 'dynamic'
        wrapper.setdefault('dtype', 'float16')
    else:
        wrapper.type = 'CpuAmpOptimWrapper'
        wrapper.pop('loss_scale', None)
        wrapper.dtype = 'bfloat16'
    return wrapper.type
