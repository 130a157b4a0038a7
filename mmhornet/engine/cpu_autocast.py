"""mmcv ops that have no bfloat16 CPU kernel, run in fp32 under CPU autocast.

mmdet's detectors call mmcv's ``nms`` (through ``batched_nms``, in the RPN and
at test time) and ``roi_align`` (the RoI extractors). Their CPU kernels take
fp32 and fp64 only, so under ``torch.autocast('cpu', dtype=torch.bfloat16)``
a detector stopped with "expected scalar type Float but found BFloat16".
:func:`fp32_mmcv_ops_under_cpu_autocast` wraps the two: when CPU autocast is
on and an argument is a bf16 tensor, the op runs in fp32 on fp32 copies and
its floating outputs are cast back to bf16 (the RoI extractor writes them
into a bf16 buffer); in every other case the op runs as it was.
"""
import functools
import importlib
from typing import Callable

import torch

#: (module, function): looked up in the module at call time by their callers.
OPS = (('mmcv.ops.nms', 'nms'), ('mmcv.ops.roi_align', 'roi_align'))


def _is_bf16(t) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype == torch.bfloat16


def _fp32_under_cpu_autocast(op: Callable) -> Callable:

    @functools.wraps(op)
    def wrapper(*args, **kwargs):
        if not (torch.is_autocast_enabled('cpu')
                and any(_is_bf16(a) for a in (*args, *kwargs.values()))):
            return op(*args, **kwargs)
        args = [a.float() if _is_bf16(a) else a for a in args]
        kwargs = {
            k: v.float() if _is_bf16(v) else v
            for k, v in kwargs.items()
        }
        with torch.autocast('cpu', enabled=False):
            out = op(*args, **kwargs)

        def back(t):
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                return t.to(torch.bfloat16)
            return t

        return tuple(map(back, out)) if isinstance(out, tuple) else back(out)

    wrapper.fp32_under_cpu_autocast = True
    return wrapper


def fp32_mmcv_ops_under_cpu_autocast() -> None:
    """Wrap :data:`OPS` in their modules (once; later calls do nothing)."""
    for module_name, name in OPS:
        module = importlib.import_module(module_name)
        op = getattr(module, name)
        if not getattr(op, 'fp32_under_cpu_autocast', False):
            setattr(module, name, _fp32_under_cpu_autocast(op))
