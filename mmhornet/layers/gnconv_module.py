"""g^nConv as a drop-in for a decoder's ``ConvModule``, on ``(N, C, H, W)``.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022 (g^nConv in dense-prediction
decoders: HorFPN, the g^nConv UPerNet head).
Reference: https://github.com/raoyongming/HorNet (``mmcv_custom/
gn_module.py`` in ``object_detection/`` and ``semantic_segmentation/``).

:class:`GnConvModule` serves mmhornet's HorFPN and HorUPerHead (and any
model's code); :func:`check_gnconv_cfg` is the one validator of their
``gnconv_cfg``. Plain torch: the norm and the activation come built (the
OpenMMLab necks and heads build them from their ``norm_cfg`` / ``act_cfg``).
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .gnconv import GnConv
from .utils import linear

#: The reference's decoder g^nConv: order 2, a 7x7 depthwise mixer, no scale.
DEFAULT_GNCONV_CFG = dict(
    order=2, mixer_cfg=dict(type='DW', kernel_size=7), scale=1.0)
#: Keys a ``gnconv_cfg`` may have (``proj_out``: the official HorFPN configs
#: set it, always True).
GNCONV_CFG_KEYS = ('order', 'mixer_cfg', 'scale', 'proj_out')


def check_gnconv_cfg(cfg: Optional[dict]) -> dict:
    """Validate a decoder's ``gnconv_cfg``; return a copy with the defaults.

    Args:
        cfg (dict, optional): Keys from :data:`GNCONV_CFG_KEYS`, e.g.
            ``dict(order=2, mixer_cfg=dict(type='GF', h=32, w=17))``. None
            means :data:`DEFAULT_GNCONV_CFG`.

    Returns:
        dict: ``order``, ``mixer_cfg`` and ``scale``.

    Raises:
        TypeError: ``cfg`` is not a dict (e.g. the reference's strings).
        ValueError: an unknown key, or ``proj_out`` other than True.
    """
    if cfg is None:
        return copy.deepcopy(DEFAULT_GNCONV_CFG)
    if not isinstance(cfg, dict):
        raise TypeError(
            f'gnconv_cfg must be a dict such as dict(order=2, mixer_cfg='
            f"dict(type='DW', kernel_size=7)) or dict(order=2, mixer_cfg="
            f"dict(type='GF', h=32, w=17)); got {cfg!r}")
    unknown = sorted(set(cfg) - set(GNCONV_CFG_KEYS))
    if unknown:
        raise ValueError(f'Unknown gnconv_cfg keys {unknown}; valid keys are '
                         f'{GNCONV_CFG_KEYS}.')
    cfg = copy.deepcopy(dict(cfg))
    proj_out = cfg.pop('proj_out', True)
    if proj_out is not True:
        raise ValueError(
            'gnconv_cfg proj_out must be True: g^nConv always ends with its '
            '1x1 output projection (as the official HorFPN configs set); got '
            f'proj_out={proj_out!r}.')
    return {**copy.deepcopy(DEFAULT_GNCONV_CFG), **cfg}


class GnConvModule(GnConv):
    """Optional 1x1 projection, g^nConv, optional norm and activation:
    ``(N, in_channels, H, W) -> (N, out_channels, H, W)``.

    ``proj_in``, the spatial mixer, the recursive gating and ``proj_out``
    are :class:`~mmhornet.layers.GnConv`'s (so the keys match the
    reference's ``GNConvModule`` up to its ``pws`` -> ``projs``, as in the
    backbone), run channels-last: the input is made channels-last once (the
    projection, a bias-free matmul, writes it so), a LayerNorm runs on the
    channels-last map, and the output is returned contiguous
    ``(N, C, H, W)``, the layout mmcv's RoI ops read.

    Args:
        in_channels (int): Input channels.
        out_channels (int, optional): Output channels; divisible by
            ``2 ** (order - 1)`` (and even for a GF mixer). Defaults to
            ``in_channels`` (no projection).
        gnconv_cfg (dict, optional): See :func:`check_gnconv_cfg`. Defaults
            to :data:`DEFAULT_GNCONV_CFG`.
        norm (nn.Module, optional): Norm after g^nConv; an ``nn.LayerNorm``
            over the channels (:class:`~mmhornet.layers.LayerNorm2d`) runs
            on the channels-last map. Defaults to None.
        act (nn.Module, optional): Activation last. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: Optional[int] = None,
                 gnconv_cfg: Optional[dict] = None,
                 norm: Optional[nn.Module] = None,
                 act: Optional[nn.Module] = None) -> None:
        out_channels = out_channels or in_channels
        super().__init__(
            out_channels,
            data_format='channels_last',
            **check_gnconv_cfg(gnconv_cfg))
        # g^nConv's proj_in is itself a 1x1 conv with a bias, so the
        # projection only changes the width and needs no bias of its own.
        self.proj = nn.Conv2d(in_channels, out_channels, 1, bias=False) \
            if in_channels != out_channels else None
        self.norm = norm
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W)."""
        x = x.permute(0, 2, 3, 1)
        if self.proj is not None:
            x = linear(x, self.proj.weight.flatten(1), None)
        else:
            # One explicit channels-last copy: the 1x1 projections would each
            # copy a permuted view.
            x = x.contiguous()
        x = super().forward(x)
        layer_norm = isinstance(self.norm, nn.LayerNorm)
        if layer_norm:
            x = F.layer_norm(x, self.norm.normalized_shape, self.norm.weight,
                             self.norm.bias, self.norm.eps)
        x = x.permute(0, 3, 1, 2).contiguous()
        if self.norm is not None and not layer_norm:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        return x
