"""When mmhornet's layers take their fast paths: the one policy, and the
switch that turns them all off.

The layers compute HorNet's functions exactly; the fast paths change how,
never what (outputs and gradients equal within fp32 rounding; tested against
the plain computation in ``tests/test_layers/test_fast_path.py``). Each has
one predicate here, and the layers ask only these:

=====================  =====================================================
:func:`in_place`       elementwise results (gate products, residual adds,
                       GELU) written into a fresh intermediate: saves an
                       allocation, whose first touch costs page faults.
:func:`matmul_bias`    a projection as ``matmul`` then the bias added in
                       place: ``addmm`` first copies the bias into the
                       output, then accumulates into it.
:func:`depthwise_weight_grad`  the 7x7 depthwise conv's gradients as
                       depthwise *forward* convs (PyTorch sends the weight
                       gradient to oneDNN's generic backward-weights kernel
                       on CPU; fp32 and bf16).
:func:`dft_filter`     GF's global filter as DFT matrix products instead of
                       ``rfft2`` / ``irfft2`` (small maps on CPU; also
                       compiled).
:func:`cache_filter`   GF's learnt filter resized to a grid once, not every
                       forward.
:func:`fold_scales`    the layer scales and g^nConv's ``scale`` folded into
                       the weights they follow (an ``(O, I)`` multiply, not a
                       pass over the activations).
:func:`split_projection`  g^nConv's ``proj_in`` as two matmuls on row blocks
                       of its weight, so the mixer's input comes out
                       contiguous (no copy before the depthwise conv).
=====================  =====================================================

Where each applies, and why there only, is in its docstring; what each buys,
measured, is in ``tools/analysis/benchmark_layers.py`` (fast and plain side
by side in one process).

Off (``set_fast_path(False)``, or ``with fast_path(False):``), every
predicate is False and the layers run the plain formulation: ``F.linear`` /
``F.conv2d`` / ``torch.fft``, out of place, scales as multiplies after
``LayerScale`` and the GELU module. While a graph is recorded
(:func:`recording`: ``torch.jit.trace``, as FLOP counters and exporters
use, or ``torch.compile``) the fast paths are off too, except the scale
folding and the split projection, which are plain ops, and, for
``torch.compile`` only, the DFT filter (matrix products on matrices made
in the graph, not read from their cache) and the depthwise gradients
(dynamo traces their autograd Function, forward and backward, into plain
convs): a recorder then sees only plain ops, the same forward with and
without gradients, and no Python-side cache.
"""
from contextlib import contextmanager
from typing import Iterator, Optional, Union

import torch
import torch.nn as nn

#: Largest map side (H and W) for which the global filter runs as DFT matrix
#: products on CPU; beyond it the FFT's ``log(HW)`` work per element wins
#: over the matrices' ``H + W`` (``tools/analysis/benchmark_layers.py``).
DFT_MAX_SIDE = 24
#: Smallest depthwise kernel whose weight gradient takes the forward-conv
#: formulation (for GF's 3x3 local conv oneDNN's own kernel is faster).
DW_GRAD_MIN_KERNEL = 5

_enabled = True
_exporting = False


def fast_path_enabled() -> bool:
    """Whether the fast paths may run (the switch; default True)."""
    return _enabled


def set_fast_path(enabled: bool) -> None:
    """Turn every fast path on or off, process-wide.

    Args:
        enabled (bool): False runs the plain computation everywhere.
    """
    global _enabled
    _enabled = bool(enabled)


@contextmanager
def fast_path(enabled: bool = True) -> Iterator[None]:
    """Run a block with the fast paths on or off, then restore the switch.

    Example:
        >>> with fast_path(False):
        ...     reference = model(x)
    """
    previous = _enabled
    set_fast_path(enabled)
    try:
        yield
    finally:
        set_fast_path(previous)


@contextmanager
def export_mode() -> Iterator[None]:
    """Record a model for export (ONNX): GF's global filter as DFT matrix
    products at every map size and on every device (the matrices of the
    recorded size become constants, so the graph has no FFT and no complex
    tensor), every other fast path off."""
    global _exporting
    previous = _exporting
    _exporting = True
    try:
        with fast_path(False):
            yield
    finally:
        _exporting = previous


def exporting() -> bool:
    """Inside :func:`export_mode`."""
    return _exporting


def recording() -> bool:
    """A graph is being recorded: ``torch.jit.trace`` (FLOP counters, ONNX
    and TorchScript export) or ``torch.compile``."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def autograd_records(*tensors: torch.Tensor) -> bool:
    """Whether autograd records an op on ``tensors``."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _forward_only_recording() -> bool:
    """A recorder that keeps the forward alone: ``torch.jit.trace`` or
    ``torch.export`` (not ``torch.compile``, which traces backward too)."""
    return torch.jit.is_tracing() or torch.compiler.is_exporting()


def _eager() -> bool:
    return _enabled and not recording()


def _cpu_dtype(*tensors: torch.Tensor) -> Optional[torch.dtype]:
    """The dtype a CPU conv or matmul on ``tensors`` computes in: bf16
    autocast's where it casts them (fp32 and bf16 inputs), else their own
    shared dtype; None off the CPU or for mixed dtypes."""
    if not all(t.device.type == 'cpu' for t in tensors):
        return None
    dtypes = {t.dtype for t in tensors}
    if torch.is_autocast_enabled('cpu'):
        autocast = torch.get_autocast_dtype('cpu')
        if dtypes <= {torch.float32, autocast}:
            return autocast
    return dtypes.pop() if len(dtypes) == 1 else None


def in_place(out: torch.Tensor, *others: torch.Tensor) -> bool:
    """``out``, a fresh intermediate, may take the result of an elementwise
    op with ``others`` in place.

    Only where autograd does not record (inference, frozen layers): under
    autograd an in-place op on ``out``, often a view of a 2-D matmul output,
    costs a clone and copies in backward. And only where the result keeps
    ``out``'s dtype and shape: under autocast a bf16 ``out`` plus an fp32
    ``other`` is fp32, which an in-place op would truncate.
    """
    if not _eager() or autograd_records(out, *others):
        return False
    # promote_types, not result_type: the same for two non-scalar tensors,
    # stricter for a 0-dim one.
    return all(
        torch.promote_types(out.dtype, o.dtype) == out.dtype
        and torch.broadcast_shapes(out.shape, o.shape) == out.shape
        for o in others)


def matmul_bias(x: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor) -> bool:
    """A projection may run as ``matmul`` then an in-place bias add: fp32 on
    CPU, no autograd (the in-place add would cost a copy in backward), no
    autocast, and not recorded (FLOP counters count ``linear`` ops)."""
    return (_eager() and bias is not None
            and _cpu_dtype(x, weight, bias) == torch.float32
            and not autograd_records(x, weight, bias))


def depthwise_weight_grad(x: torch.Tensor, conv: nn.Conv2d) -> bool:
    """A depthwise conv's gradients may be computed as forward convs
    (:mod:`mmhornet.layers.depthwise`): on CPU in fp32, or in bf16 (bf16
    tensors, or under bf16 autocast, where oneDNN's backward-weights kernel
    is slower still), where the weight needs a gradient, for stride-1
    dilation-1 'same' convs of kernel :data:`DW_GRAD_MIN_KERNEL` and up
    (HorNet's 7x7). Also under ``torch.compile``, which traces the autograd
    Function's backward (plain convs) into the backward graph; not under
    ``torch.jit.trace`` nor ``torch.export``, which record the forward
    only."""
    kh, kw = conv.kernel_size
    same = (
        conv.stride == (1, 1) and conv.dilation == (1, 1)
        and conv.padding == (kh // 2, kw // 2) and kh % 2 == kw % 2 == 1
        and conv.groups == conv.in_channels == conv.out_channels)
    return (_enabled and not _forward_only_recording() and same
            and min(kh, kw) >= DW_GRAD_MIN_KERNEL
            and _cpu_dtype(x, conv.weight) in (torch.float32, torch.bfloat16)
            and torch.is_grad_enabled() and conv.weight.requires_grad)


def dft_filter(x: torch.Tensor) -> bool:
    """GF's global filter may run as DFT matrix products: on CPU (no GPU was
    measured) for maps up to :data:`DFT_MAX_SIDE`. Always in
    :func:`export_mode`, which needs them as matrices.

    Also under ``torch.compile``, which traces the matrices' making into
    the graph (folded into constants when it is frozen). Not under
    ``torch.export`` (kept to the FFT it exported before) nor under
    ``torch.jit.trace``, with which FLOP counters must see FFTs as FFTs, not
    as linears.
    """
    if _exporting:
        return True
    if not _enabled or x.device.type != 'cpu' or _forward_only_recording():
        return False
    return max(x.shape[-3:-1]) <= DFT_MAX_SIDE


def cache_filter(weight: torch.Tensor) -> bool:
    """GF's resized filter may be cached: no gradient flows into the weight
    (eval, ``no_grad``, frozen), and no graph is recorded (a tracer would
    record a cache hit as a constant, the compiler would guard on it)."""
    return _eager() and not autograd_records(weight)


def fold_scales() -> bool:
    """Layer scales and g^nConv's ``scale`` may be folded into the weights
    they follow. Also while recording: the folded graph holds fewer ops and
    the same numbers.

    Under autocast a folded projection's output stays in the autocast dtype,
    where the plain ``y * gamma`` (an fp32 parameter) promotes to fp32: the
    fast residual stream is bfloat16, the plain one float32, with the same
    values within bfloat16 rounding.
    """
    return _enabled


def split_projection() -> bool:
    """g^nConv's ``proj_in`` may run as two matmuls on row blocks of its
    weight (plain ops: also while recording)."""
    return _enabled


def fold_scale(weight: torch.Tensor, bias: Union[torch.Tensor, None],
               scale: Union[torch.Tensor, float]):
    """``(weight, bias)`` of a layer whose output is then scaled by
    ``scale``: a scalar, or one factor per output channel (dim 0 of
    ``weight``).

    Returns:
        tuple: the scaled weight and bias (``None`` stays ``None``).
    """
    if isinstance(scale, torch.Tensor):
        weight = weight * scale.view(-1, *(1, ) * (weight.ndim - 1))
    else:
        weight = weight * scale
    return weight, None if bias is None else bias * scale
