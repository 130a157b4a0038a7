"""Recursive gated convolution (g^nConv) and HorNet's global-local filter.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022.
Reference: https://github.com/raoyongming/HorNet (``hornet.py``) and
mmpretrain's ``mmpretrain/models/backbones/hornet.py``.

Differences from the reference, all with identical parameters and numerics:

* The layers compute in channels-last (``(N, H, W, C)``) layout: 1x1
  projections become matmuls (``F.linear`` on the conv weight viewed as
  ``(O, I)``), LayerNorms become ``F.layer_norm``, and depthwise convolutions
  run on channels-last memory. Parameters keep the reference's names and
  shapes, so official and mmpretrain weights load unchanged.
* The global filter runs its FFT in fp32 under autocast and for ``.half()``
  models and returns the input dtype.
* Fast paths, each decided in :mod:`mmhornet.layers.policy` (which also
  turns them off): on CPU, small maps (the 14x14 and 7x7 of 224 inputs) take
  the same transform as DFT matrix products (:func:`dft_global_filter`); the
  filter resized to each FFT grid is cached while no gradient flows into it;
  the mixer ``scale`` and a block's layer scale are folded into weights.
"""
import copy
import functools
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .depthwise import depthwise_conv_nhwc
from .policy import (cache_filter, dft_filter, fold_scale, fold_scales,
                     split_projection)
from .utils import linear, mul_into

MIXER_TYPES = ('DW', 'GF')


@functools.lru_cache(maxsize=32)
@torch.inference_mode(False)  # cached, so maybe saved for backward later
def _dft_matrices(height: int, width: int, dtype: torch.dtype,
                  device: torch.device) -> Tuple[torch.Tensor, ...]:
    """Real matrices of ``rfft2`` / ``irfft2`` (``norm='ortho'``) for an
    ``(height, width)`` map, in the layouts :func:`dft_global_filter` uses;
    computed in float64 with numpy, so that a tracer (jit, ONNX export) sees
    constants, not the ops that make them.

    Returns:
        tuple[Tensor]: ``rfft_w`` ``(2F, W)`` (rows: real parts of bins
        ``0..F-1``, then imaginary parts; ``F = W // 2 + 1``), ``dft_h`` and
        ``idft_h`` ``(2H, 2H)`` (complex DFT / inverse DFT along H, rows and
        columns interleaved ``(h, re/im)``), ``irfft_w`` ``(W, 2F)``.
    """
    freqs = width // 2 + 1
    ang = 2 * np.pi * np.outer(np.arange(freqs), np.arange(width)) / width
    rfft_w = np.concatenate((np.cos(ang), -np.sin(ang))) / np.sqrt(width)
    # c2r: bins 1..F-1 stand for themselves and their conjugates (weight 2),
    # except the Nyquist bin of an even width; the sines of bin 0 and of the
    # Nyquist bin are 0, so their imaginary parts are dropped as irfft does.
    twice = np.full((freqs, 1), 2.)
    twice[0] = 1.
    if width % 2 == 0:
        twice[-1] = 1.
    irfft_w = np.concatenate(
        (np.cos(ang) * twice, -np.sin(ang) * twice)).T / np.sqrt(width)
    ang = 2 * np.pi * np.outer(np.arange(height), np.arange(height)) / height
    cos, sin = np.cos(ang), np.sin(ang)

    def dft(sign: float) -> np.ndarray:
        # (cos + i sign sin)(re + i im) = cos re - sign sin im
        #                                 + i (sign sin re + cos im)
        mat = np.stack((np.stack(
            (cos, -sign * sin), -1), np.stack((sign * sin, cos), -1)), 1)
        return mat.reshape(2 * height, 2 * height) / np.sqrt(height)

    return tuple(
        torch.as_tensor(m, dtype=dtype, device=device).contiguous()
        for m in (rfft_w, dft(-1.), dft(1.), irfft_w))


def _dft_constants(height: int, width: int, dtype: torch.dtype,
                   device: torch.device) -> Tuple[torch.Tensor, ...]:
    """:func:`_dft_matrices`, from their cache; under ``torch.compile`` made
    afresh instead, so the compiler traces their numpy code into the graph
    (constants it folds when frozen; symbolic sizes work too) and guards on
    no Python-side cache."""
    if torch.compiler.is_compiling():
        return _dft_matrices.__wrapped__(height, width, dtype, device)
    return _dft_matrices(height, width, dtype, device)


def dft_global_filter(x: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
    """``irfft2(rfft2(x) * filt)`` over H, W (``norm='ortho'``) as real
    matrix products.

    Exactly the FFT path's transform, including ``irfft2`` ignoring the
    imaginary parts of the width's bin 0 and Nyquist bin. For small maps on
    CPU four small batched matmuls beat the FFT and its strided copies
    (:data:`~mmhornet.layers.policy.DFT_MAX_SIDE`); the work grows as
    ``H + W`` per element against the FFT's ``log(HW)``.

    Real tensors only (the filter as its real and imaginary parts), so that
    a graph recorded at a fixed size holds only MatMul / Mul / Add and
    standard ops: the form :mod:`mmhornet.deployment` exports.

    Args:
        x (Tensor): ``(N, H, W, C)`` real, the last dim contiguous.
        filt (Tensor): ``(H, W // 2 + 1, C, 2)``: real and imaginary parts.

    Returns:
        Tensor: ``(N, H, W, C)``.
    """
    n, height, width, c = x.shape
    freqs = width // 2 + 1
    rfft_w, dft_h, idft_h, irfft_w = _dft_constants(height, width, x.dtype,
                                                    x.device)
    # Along W: (N*H, 2F, C), rows (re, im) x bins.
    y = torch.matmul(rfft_w, x.reshape(n * height, width, c))
    # Along H on rows (h, re/im): (N, 2H, F*C) is a view of y.
    z = torch.matmul(dft_h, y.view(n, 2 * height, freqs * c))
    # Complex multiply on (N, H, re/im, F, C): re' = re wr - im wi,
    # im' = im wr + re wi, i.e. z * (wr, wr) + swap(z) * (-wi, wi). Both
    # factors (H, 2, F, C) broadcast over N only: the filter's gradient is
    # then a cheap sum over dim 0, not over dims 0 and 2.
    z = z.view(n, height, 2, freqs, c)
    wr, wi = filt.unbind(-1)
    z = torch.addcmul(z * torch.stack((wr, wr), 1), z.flip(2),
                      torch.stack((-wi, wi), 1))
    z = torch.matmul(idft_h, z.view(n, 2 * height, freqs * c))
    out = torch.matmul(irfft_w, z.view(n * height, 2 * freqs, c))
    return out.view(n, height, width, c)


def fft_global_filter(x: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
    """``irfft2(rfft2(x) * filt)`` over dims 1, 2 of ``(N, H, W, C)``
    (``norm='ortho'``); ``filt`` is ``(H, W // 2 + 1, C, 2)``, its real and
    imaginary parts."""
    height, width = x.shape[1:3]
    freq = torch.fft.rfft2(x, dim=(1, 2), norm='ortho') * \
        torch.view_as_complex(filt)
    return torch.fft.irfft2(freq, s=(height, width), dim=(1, 2), norm='ortho')


def resize_filter(weight: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
    """A GF ``complex_weight`` ``(C, h, w, 2)`` resized to ``(C, *grid, 2)``:
    bilinear, ``align_corners=True``, in fp32, as the reference resizes it
    for other input sizes (and checkpoint loading for other filter sizes)."""
    weight = weight.float().permute(3, 0, 1, 2)
    weight = F.interpolate(
        weight, size=tuple(grid), mode='bilinear', align_corners=True)
    return weight.permute(1, 2, 3, 0)


def _linear_1x1(conv: nn.Conv2d,
                x: torch.Tensor,
                scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Apply a 1x1 ``nn.Conv2d`` to a channels-last ``(..., C)`` tensor,
    then multiply by ``scale`` (per output channel; folded into the weight
    and bias where :func:`~mmhornet.layers.policy.fold_scales` allows)."""
    weight, bias = conv.weight.flatten(1), conv.bias
    if scale is None:
        return linear(x, weight, bias)
    if fold_scales():
        return linear(x, *fold_scale(weight, bias, scale))
    return linear(x, weight, bias) * scale


class GlobalLocalFilter(nn.Module):
    """HorNet's global-local filter (GF), channels-last.

    LayerNorm, then half of the channels go through a 3x3 depthwise conv
    (local) and half are multiplied by a learnable complex filter in the
    Fourier domain (global), the halves are interleaved channel by channel as
    in the reference, and a second LayerNorm follows.

    The learnable filter has a fixed size ``(h, w)``; inputs of any size are
    handled by resizing it to the ``rfft2`` grid ``(H, W // 2 + 1)`` (bilinear,
    ``align_corners=True``, as the reference does).

    Args:
        dim (int): Number of channels ``C`` (even).
        h (int): Filter height (the FFT grid height it was trained for).
            Defaults to 14.
        w (int): Filter width (``W // 2 + 1`` of the training size).
            Defaults to 8.
    """

    def __init__(self, dim: int, h: int = 14, w: int = 8) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(
                f'GlobalLocalFilter splits its channels in half, so dim must '
                f'be even; got dim={dim}.')
        if h < 1 or w < 1:
            raise ValueError(f'GF filter size must be positive, got h={h}, '
                             f'w={w}.')
        self.dim = dim
        self.dw = nn.Conv2d(
            dim // 2, dim // 2, 3, padding=1, bias=False, groups=dim // 2)
        self.complex_weight = nn.Parameter(
            torch.randn(dim // 2, h, w, 2, dtype=torch.float32) * 0.02)
        self.pre_norm = nn.LayerNorm(dim, eps=1e-6)
        self.post_norm = nn.LayerNorm(dim, eps=1e-6)
        # grid size -> (weight version key, complex filter (H', W', C/2))
        self._filter_cache: Dict[Tuple[int, int], tuple] = {}

    def _weight_key(self) -> tuple:
        w = self.complex_weight
        return (w._version, w.data_ptr(), w.device, w.dtype)

    def filter_for_grid(self, grid: Tuple[int, int]) -> torch.Tensor:
        """The filter for an ``rfft2`` grid, as ``(H', W', C/2, 2)`` (real
        and imaginary parts; fp32, contiguous).

        Cached per grid where
        :func:`~mmhornet.layers.policy.cache_filter` allows; the entry is
        dropped once the weight changes (in-place updates bump the tensor's
        version).
        """
        grid = tuple(int(s) for s in grid)
        weight = self.complex_weight
        cacheable = cache_filter(weight)
        if cacheable:
            hit = self._filter_cache.get(grid)
            if hit is not None and hit[0] == self._weight_key():
                return hit[1]
        w = weight.float()
        if tuple(w.shape[1:3]) != grid:
            w = resize_filter(w, grid)
        filt = w.permute(1, 2, 0, 3).contiguous()
        if cacheable:
            self._filter_cache[grid] = (self._weight_key(), filt)
        return filt

    def _apply(self, fn, *args, **kwargs):
        # .to() / .half() / .cuda() make new weights: drop stale filters.
        self._filter_cache.clear()
        return super()._apply(fn, *args, **kwargs)

    def global_filter(self, x: torch.Tensor) -> torch.Tensor:
        """Fourier-domain filter of an ``(N, H, W, C/2)`` tensor.

        The transform runs in fp32 (autocast off) and the result is cast
        back to ``x``'s dtype: half-precision FFTs are unsupported on CPU and
        lose accuracy on GPU. :func:`dft_global_filter` where
        :func:`~mmhornet.layers.policy.dft_filter` allows (and always in
        :func:`~mmhornet.layers.policy.export_mode`), else
        :func:`fft_global_filter`.
        """
        height, width = x.shape[1:3]
        transform = dft_global_filter if dft_filter(x) else fft_global_filter
        with torch.autocast(device_type=x.device.type, enabled=False):
            filt = self.filter_for_grid((height, width // 2 + 1))
            out = transform(x.float(), filt)
        return out.to(x.dtype)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """(N, H, W, C) -> (N, H, W, C), in ``x``'s dtype; the output is
        multiplied by ``scale`` (folded into the last norm's affine where
        :func:`~mmhornet.layers.policy.fold_scales` allows)."""
        dtype = x.dtype
        x = self.pre_norm(x)
        # chunk, not two slices: its backward is one cat, where each slice's
        # backward zero-fills a full-size gradient.
        local, glob = x.chunk(2, dim=-1)
        local = depthwise_conv_nhwc(self.dw, local)
        glob = self.global_filter(glob)
        # Interleave (local_0, global_0, local_1, ...) as the reference does
        # (cat on a new dim 2, then reshape): later layers depend on it.
        x = torch.stack((local, glob.to(local.dtype)), dim=-1).flatten(-2)
        norm = self.post_norm
        if scale == 1.0:
            x = norm(x)
        elif fold_scales():
            x = F.layer_norm(x, norm.normalized_shape,
                             *fold_scale(norm.weight, norm.bias, scale),
                             norm.eps)
        else:
            x = norm(x) * scale
        return x.to(dtype)

    def extra_repr(self) -> str:
        h, w = self.complex_weight.shape[1:3]
        return f'dim={self.dim}, filter=({h}, {w})'


def build_spatial_mixer(channels: int, cfg: Optional[dict]) -> nn.Module:
    """Build g^nConv's spatial mixer from a config dict.

    Args:
        channels (int): Channels to mix.
        cfg (dict, optional): ``dict(type='DW', kernel_size=7)`` (depthwise,
            with bias, as the reference) or ``dict(type='GF', h=14, w=8)``.
            None means ``dict(type='DW', kernel_size=7)``.

    Returns:
        nn.Module: an ``nn.Conv2d`` for DW, a :class:`GlobalLocalFilter` for
        GF (so checkpoint keys match the reference's ``dwconv.*``).
    """
    cfg = copy.deepcopy(cfg) if cfg is not None else dict(type='DW')
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(
            f"spatial mixer config must be a dict with a 'type' in "
            f"{MIXER_TYPES}, e.g. dict(type='DW', kernel_size=7) or "
            f"dict(type='GF', h=14, w=8); got {cfg!r}")
    mixer_type = cfg.pop('type')
    allowed = {'DW': {'kernel_size'}, 'GF': {'h', 'w'}}.get(mixer_type)
    if allowed is None:
        raise ValueError(f'Unknown spatial mixer type {mixer_type!r}; '
                         f'valid types are {MIXER_TYPES}.')
    unknown = set(cfg) - allowed
    if unknown:
        raise ValueError(
            f'Unknown keys {sorted(unknown)} for a {mixer_type!r} mixer; '
            f'valid keys are {sorted(allowed)}.')
    if mixer_type == 'DW':
        k = cfg.get('kernel_size', 7)
        if k < 1 or k % 2 == 0:
            raise ValueError(
                f'DW kernel_size must be odd and positive so the output '
                f'keeps the input size; got {k}.')
        return nn.Conv2d(
            channels, channels, k, padding=k // 2, groups=channels, bias=True)
    return GlobalLocalFilter(channels, **cfg)


class GnConv(nn.Module):
    """Recursive gated convolution g^nConv.

    ``proj_in`` (1x1, C -> 2C) splits into a gate ``p0`` of ``C / 2^(n-1)``
    channels and features for the spatial mixer; the mixed features are
    scaled by ``scale`` and split into ``q_0..q_{n-1}`` of ``C/2^(n-1), ...,
    C/2, C`` channels; then ``p_{k+1} = proj_k(p_k) * q_k`` for ``n`` orders,
    and ``proj_out`` (1x1, C -> C).

    Args:
        dim (int): Channels ``C``; must be divisible by ``2 ** (order - 1)``.
        order (int): Interaction order ``n >= 1``. Defaults to 5.
        mixer_cfg (dict, optional): Spatial mixer, see
            :func:`build_spatial_mixer`. Defaults to 7x7 depthwise.
        scale (float): Scale of the mixer output (the reference's ``s``).
            Defaults to 1.0.
        data_format (str): ``'channels_first'`` for ``(N, C, H, W)`` in and
            out (use in necks / heads), ``'channels_last'`` for
            ``(N, H, W, C)`` (the backbone). Defaults to 'channels_first'.
    """

    def __init__(self,
                 dim: int,
                 order: int = 5,
                 mixer_cfg: Optional[dict] = None,
                 scale: float = 1.0,
                 data_format: str = 'channels_first') -> None:
        super().__init__()
        if not isinstance(order, int) or order < 1:
            raise ValueError(f'g^nConv order must be an int >= 1, got '
                             f'{order!r}.')
        if dim % 2**(order - 1):
            raise ValueError(
                f'g^nConv with order={order} splits its {dim} channels '
                f'{order - 1} times in half, so dim must be divisible by '
                f'2 ** (order - 1) = {2**(order - 1)}; got dim={dim}. Use a '
                f'multiple of {2**(order - 1)} or a lower order.')
        if data_format not in ('channels_first', 'channels_last'):
            raise ValueError(f"data_format must be 'channels_first' or "
                             f"'channels_last', got {data_format!r}.")
        self.dim = dim
        self.order = order
        self.scale = scale
        self.data_format = data_format
        self.dims: List[int] = [dim // 2**i for i in range(order)][::-1]
        self.proj_in = nn.Conv2d(dim, 2 * dim, 1)
        self.dwconv = build_spatial_mixer(sum(self.dims), mixer_cfg)
        # proj_out before projs: the reference's (and checkpoints') order.
        self.proj_out = nn.Conv2d(dim, dim, 1)
        self.projs = nn.ModuleList(
            nn.Conv2d(self.dims[i], self.dims[i + 1], 1)
            for i in range(order - 1))

    def _mix(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial mixing times ``scale``, (N, H, W, C') -> (N, H, W, C')."""
        if isinstance(self.dwconv, GlobalLocalFilter):
            return self.dwconv(x, scale=self.scale)
        return depthwise_conv_nhwc(self.dwconv, x, scale=self.scale)

    def forward(self,
                x: torch.Tensor,
                out_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(N, C, H, W) or (N, H, W, C) per ``data_format``, shape kept.

        ``out_scale`` (C, ) multiplies the output channels (a block's layer
        scale), folded into ``proj_out``.
        """
        if self.data_format == 'channels_first':
            x = x.permute(0, 2, 3, 1)
        sizes = (self.dims[0], 2 * self.dim - self.dims[0])
        weight, bias = self.proj_in.weight.flatten(1), self.proj_in.bias
        if split_projection():
            # proj_in as two matmuls on row blocks of its weight: the mixer's
            # input comes out contiguous, so the depthwise conv needs no
            # copy. (split, not slicing: its backward is one cat.)
            (w_gate, w_feat), (b_gate, b_feat) = (weight.split(sizes),
                                                  bias.split(sizes))
            gate, feats = linear(x, w_gate, b_gate), linear(x, w_feat, b_feat)
        else:
            gate, feats = linear(x, weight, bias).split(sizes, dim=-1)
        feats = self._mix(feats)
        qs = feats.split(self.dims, dim=-1)
        x = mul_into(gate, qs[0])
        for proj, q in zip(self.projs, qs[1:]):
            x = mul_into(_linear_1x1(proj, x), q)
        x = _linear_1x1(self.proj_out, x, out_scale)
        if self.data_format == 'channels_first':
            x = x.permute(0, 3, 1, 2)
        return x

    def extra_repr(self) -> str:
        return (f'dim={self.dim}, order={self.order}, scale={self.scale:.4g}'
                f', data_format={self.data_format}')
