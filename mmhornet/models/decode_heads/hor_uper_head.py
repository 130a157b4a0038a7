"""UPerNet decode head whose FPN fusion is a recursive gated convolution.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022 (g^nConv in the dense-prediction
decoders).
Reference: https://github.com/raoyongming/HorNet
(``semantic_segmentation/decode_heads/gn_uper_head.py`` and
``semantic_segmentation/mmcv_custom/gn_module.py``).

Differences from the reference: the g^nConv block is mmhornet's
:class:`~mmhornet.layers.GnConv` behind a bias-free 1x1 projection
(the reference folds that projection into g^nConv's ``proj_in``), and the
mixer is configured as data (``dict(type='DW', kernel_size=7)`` or
``dict(type='GF', h=32, w=17)``) instead of ``type='gnconv'`` /
``type='gngf'`` strings.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmseg.models.decode_heads import UPerHead
from mmseg.registry import MODELS

from mmhornet.layers import GnConv

#: The reference's decoder g^nConv: order 2 with a 7x7 depthwise mixer.
DEFAULT_GNCONV_CFG = dict(order=2, mixer_cfg=dict(type='DW', kernel_size=7))
GNCONV_KEYS = ('order', 'mixer_cfg', 'scale')


def check_gnconv_cfg(cfg: Optional[dict]) -> dict:
    """Validate a head's ``gnconv_cfg`` and return a copy with defaults.

    Raises:
        TypeError: ``cfg`` is not a dict (e.g. the reference's strings).
        ValueError: keys other than ``order``, ``mixer_cfg``, ``scale``.
    """
    if cfg is None:
        return copy.deepcopy(DEFAULT_GNCONV_CFG)
    if not isinstance(cfg, dict):
        raise TypeError(
            f'gnconv_cfg must be a dict such as dict(order=2, mixer_cfg='
            f"dict(type='DW', kernel_size=7)) or dict(order=2, mixer_cfg="
            f"dict(type='GF', h=32, w=17)); got {cfg!r}")
    unknown = sorted(set(cfg) - set(GNCONV_KEYS))
    if unknown:
        raise ValueError(f'Unknown gnconv_cfg keys {unknown}; valid keys are '
                         f'{GNCONV_KEYS} (the head sets data_format).')
    return {**copy.deepcopy(DEFAULT_GNCONV_CFG), **copy.deepcopy(dict(cfg))}


class GnConvModule(nn.Module):
    """g^nConv in place of a ``ConvModule``: 1x1 projection, g^nConv, norm,
    activation.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels; g^nConv needs them divisible by
            ``2 ** (order - 1)``.
        gnconv_cfg (dict, optional): Keyword arguments of
            :class:`~mmhornet.layers.GnConv`: ``order`` (int),
            ``mixer_cfg`` (dict) and ``scale`` (float). Defaults to
            ``dict(order=2, mixer_cfg=dict(type='DW', kernel_size=7))``.
        norm_cfg (dict, optional): Norm after g^nConv, built by mmcv's
            ``build_norm_layer``. Defaults to None (no norm).
        act_cfg (dict, optional): Activation last, built by mmcv's
            ``build_activation_layer``. Defaults to ``dict(type='ReLU')``.

    Shapes:
        ``(N, in_channels, H, W) -> (N, out_channels, H, W)``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 gnconv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU')) -> None:
        super().__init__()
        gnconv_cfg = check_gnconv_cfg(gnconv_cfg)
        # g^nConv's proj_in is itself a 1x1 conv with a bias, so the
        # projection only changes the width and needs no bias of its own.
        self.proj = nn.Conv2d(in_channels, out_channels, 1, bias=False) \
            if in_channels != out_channels else nn.Identity()
        self.gnconv = GnConv(
            out_channels, data_format='channels_first', **gnconv_cfg)
        if norm_cfg is not None:
            self.norm_name, norm = build_norm_layer(norm_cfg, out_channels)
            self.add_module(self.norm_name, norm)
        else:
            self.norm_name = None
        self.activate = build_activation_layer(act_cfg) \
            if act_cfg is not None else nn.Identity()

    @property
    def norm(self) -> Optional[nn.Module]:
        """The norm layer, or None."""
        return getattr(self, self.norm_name) if self.norm_name else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W)."""
        x = self.gnconv(self.proj(x))
        if self.norm_name:
            x = self.norm(x)
        return self.activate(x)


@MODELS.register_module()
class HorUPerHead(UPerHead):
    """UPerNet head with g^nConv fusion (HorNet's segmentation decoder).

    mmseg's :class:`~mmseg.models.decode_heads.UPerHead` with its
    ``fpn_bottleneck`` (the 3x3 conv over the concatenated pyramid) replaced
    by a :class:`GnConvModule`, and optionally its per-level ``fpn_convs``
    (3x3) too. Everything else (PPM, lateral convs, top-down path, losses)
    is mmseg's. Registered in mmseg's ``MODELS`` because it builds mmseg
    losses: configs name ``type='HorUPerHead'`` under ``default_scope
    'mmseg'`` after ``custom_imports=dict(imports=['mmhornet'])``.

    Args:
        gnconv_cfg (dict, optional): g^nConv settings: ``order`` (int),
            ``mixer_cfg`` (``dict(type='DW', kernel_size=k)`` or
            ``dict(type='GF', h=h, w=w)``) and ``scale`` (float). Defaults
            to ``dict(order=2, mixer_cfg=dict(type='DW', kernel_size=7))``.
        gnconv_fpn_convs (bool): Make the per-level FPN convs g^nConv
            modules as well. The reference replaces only the bottleneck.
            Defaults to False.
        **kwargs: :class:`~mmseg.models.decode_heads.UPerHead` arguments
            (``pool_scales``, ``in_channels``, ``channels``, ``norm_cfg``,
            ...). ``channels`` must be divisible by ``2 ** (order - 1)``.

    Shapes:
        ``forward`` takes the backbone's ``(N, C_i, H_i, W_i)`` maps and
        returns logits ``(N, num_classes, H_0, W_0)`` at the resolution of
        the first selected map.
    """

    def __init__(self,
                 gnconv_cfg: Optional[dict] = None,
                 gnconv_fpn_convs: bool = False,
                 **kwargs) -> None:
        # Fail before UPerHead allocates its (large) 3x3 layers.
        gnconv_cfg = check_gnconv_cfg(gnconv_cfg)
        super().__init__(**kwargs)
        self.gnconv_cfg = gnconv_cfg
        self.gnconv_fpn_convs = gnconv_fpn_convs

        def make(in_channels: int) -> GnConvModule:
            return GnConvModule(
                in_channels, self.channels, gnconv_cfg,
                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

        # Replacing UPerHead's 3x3 ConvModules (rather than copying its
        # __init__) keeps every other layer, and its names, mmseg's.
        self.fpn_bottleneck = make(len(self.in_channels) * self.channels)
        if gnconv_fpn_convs:
            self.fpn_convs = nn.ModuleList(
                make(self.channels) for _ in self.in_channels[:-1])
