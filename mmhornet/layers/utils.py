"""Small building blocks shared by HorNet blocks."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def autograd_records(*tensors: torch.Tensor) -> bool:
    """Whether autograd records an op on ``tensors``."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def can_write_into(out: torch.Tensor, *others: torch.Tensor) -> bool:
    """Whether ``out``, a fresh intermediate, may take the result of an
    elementwise op with ``others`` in place.

    True when autograd does not record (inference, frozen layers), no graph
    is being recorded (a tracer must see the same ops with and without
    gradients), and the result keeps ``out``'s dtype and shape (under autocast a bf16 ``out``
    plus an fp32 ``other`` is fp32, which an in-place op would truncate).
    Writing in place saves one large allocation, whose first touch costs
    page faults on CPU.
    """
    if autograd_records(out, *others) or capturing_graph():
        return False
    # promote_types, not result_type: the same for two non-scalar tensors,
    # stricter for a 0-dim one, and torch.compile traces it (result_type
    # returns a dtype from tensors, a graph break).
    return all(
        torch.promote_types(out.dtype, o.dtype) == out.dtype
        and torch.broadcast_shapes(out.shape, o.shape) == out.shape
        for o in others)


def mul_into(out: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``out * other``, written into ``out`` where :func:`can_write_into`
    allows."""
    return out.mul_(other) if can_write_into(out, other) else out * other


def add_into(out: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``out + other``, written into ``out`` where :func:`can_write_into`
    allows. Not under autograd: ``out`` is often a view of a 2-D matmul
    output, and an in-place op on a view costs a clone and copies in
    backward (~25 ms a HorNet-T train step here)."""
    return out.add_(other) if can_write_into(out, other) else out + other


def capturing_graph() -> bool:
    """A tracer (``torch.jit.trace``, as mmengine's FLOP counter uses) or
    ``torch.compile`` is recording the ops: use the plain ones they know,
    and no Python-side caches (a tracer would record a cache hit as a
    constant; the compiler would guard on the cache and recompile)."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def cpu_fp32_eager(*tensors: torch.Tensor) -> bool:
    """All ``tensors`` are fp32 on CPU, outside autocast: where the CPU
    kernel workarounds of this package apply (see :func:`linear` and
    :mod:`mmhornet.layers.depthwise`)."""
    return (all(t.device.type == 'cpu' and t.dtype == torch.float32
                for t in tensors)
            and not torch.is_autocast_enabled('cpu'))


def linear(x: torch.Tensor, weight: torch.Tensor,
           bias: torch.Tensor) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` over the last dim of ``x``.

    In fp32 on CPU where autograd does not record: a matmul, then the bias
    added in place. ``addmm`` first copies the bias into the (fresh) output
    and then accumulates the matmul into it, which measured up to 25% slower
    (HorNet-T stage 0, 64 -> 256 channels: 2.9 vs 2.2 ms).
    """
    if (bias is None or not cpu_fp32_eager(x, weight, bias)
            or autograd_records(x, weight, bias)
            or torch.jit.is_tracing()):  # FLOP counters look for linear
        return F.linear(x, weight, bias)
    return torch.matmul(x, weight.t()).add_(bias)


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample.

    Args:
        drop_prob (float): Probability of dropping a sample's branch.
            Defaults to 0.
    """

    def __init__(self, drop_prob: float = 0.) -> None:
        super().__init__()
        if not 0. <= drop_prob < 1.:
            raise ValueError(f'drop_prob must be in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Any shape whose first dim is the batch."""
        if not self.training or self.drop_prob == 0.:
            return x
        keep = 1. - self.drop_prob
        shape = (x.shape[0], ) + (1, ) * (x.ndim - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


class LayerScale(nn.Module):
    """Per-channel learnable scale of a channels-last tensor.

    The parameter is called ``weight`` as in mmpretrain's ``LayerScale``, so
    mmpretrain checkpoints load as they are (the official code names it
    ``gammaX`` directly; the checkpoint converter renames it).

    Args:
        dim (int): Number of channels (the last dim).
        init_value (float): Initial scale. Defaults to 1e-6.
    """

    def __init__(self, dim: int, init_value: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((dim, ), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., C)."""
        return x * self.weight
