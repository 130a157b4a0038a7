"""Small building blocks shared by HorNet blocks."""
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .policy import cache_casts, in_place, matmul_bias

Weights = Tuple[Optional[torch.Tensor], ...]


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


class CastCache:
    """Mixin for a module whose projections keep their weights cast (see
    :func:`cast_weights`); ``.to()`` / ``.half()`` / ``.cuda()`` drop them
    with the old parameters. Put it before ``nn.Module`` in the bases."""

    def _apply(self, fn, *args, **kwargs):
        self.__dict__.get('_cast_cache', {}).clear()
        return super()._apply(fn, *args, **kwargs)


def cast_weights(owner: nn.Module, site: str, sources: Sequence[torch.Tensor],
                 make: Callable[[], Weights]) -> Weights:
    """The weights ``make()`` computes from the parameters ``sources``, kept
    on ``owner`` (a :class:`CastCache`) under the name ``site`` in the
    autocast dtype where :func:`~mmhornet.layers.policy.cache_casts`
    allows, else ``make()`` itself.

    A kept entry is used while every source has the same storage and
    version (in-place updates, ``load_state_dict`` and optimizer steps bump
    the version) and the autocast dtype is the same.
    """
    if not cache_casts(*sources):
        return make()
    dtype = torch.get_autocast_dtype(sources[0].device.type)
    key = (dtype, ) + tuple((s.data_ptr(), s._version) for s in sources)
    cache = owner.__dict__.setdefault('_cast_cache', {})
    hit = cache.get(site)
    if hit is not None and hit[0] == key:
        return hit[1]
    # Normal tensors even under inference_mode: a frozen layer may later
    # take inputs that need gradients, and autograd then saves its weights.
    with torch.inference_mode(False), torch.no_grad():
        weights = tuple(None if w is None else w.to(dtype) for w in make())
    cache[site] = (key, weights)
    return weights


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
