"""Small building blocks shared by HorNet blocks."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .policy import in_place, matmul_bias


def mul_into(out: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``out * other``, written into ``out`` where :func:`in_place`
    allows."""
    return out.mul_(other) if in_place(out, other) else out * other


def add_into(out: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``out + other``, written into ``out`` where :func:`in_place`
    allows."""
    return out.add_(other) if in_place(out, other) else out + other


def gelu_into(x: torch.Tensor, approximate: str = 'none') -> torch.Tensor:
    """``F.gelu(x)``, written into ``x`` where :func:`in_place` allows."""
    if in_place(x):
        return torch.ops.aten.gelu_(x, approximate=approximate)
    return F.gelu(x, approximate=approximate)


def linear(x: torch.Tensor, weight: torch.Tensor,
           bias: torch.Tensor) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` over the last dim of ``x``; a matmul and
    an in-place bias where :func:`matmul_bias` allows."""
    if matmul_bias(x, weight, bias):
        return torch.matmul(x, weight.t()).add_(bias)
    return F.linear(x, weight, bias)


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
