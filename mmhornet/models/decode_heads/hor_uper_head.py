"""UPerNet decode head whose FPN fusion is a recursive gated convolution.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022 (g^nConv in the dense-prediction
decoders).
Reference: https://github.com/raoyongming/HorNet
(``semantic_segmentation/decode_heads/gn_uper_head.py`` and
``semantic_segmentation/mmcv_custom/gn_module.py``).

Differences from the reference: the g^nConv block is mmhornet's
:class:`~mmhornet.layers.gnconv_module.GnConvModule` (HorFPN's), a bias-free
1x1 projection ahead of g^nConv where the width changes (the reference folds
that projection into g^nConv's ``proj_in``), and the mixer is configured as
data (``dict(type='DW', kernel_size=7)`` or ``dict(type='GF', h=32, w=17)``)
instead of ``type='gnconv'`` / ``type='gngf'`` strings.
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmseg.models.decode_heads import UPerHead
from mmseg.registry import MODELS

from mmhornet.layers.gnconv_module import GnConvModule, check_gnconv_cfg


@MODELS.register_module()
class HorUPerHead(UPerHead):
    """UPerNet head with g^nConv fusion (HorNet's segmentation decoder).

    mmseg's :class:`~mmseg.models.decode_heads.UPerHead` with its
    ``fpn_bottleneck`` (the 3x3 conv over the concatenated pyramid) replaced
    by a :class:`~mmhornet.layers.gnconv_module.GnConvModule`, and
    optionally its per-level ``fpn_convs``
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
            norm = build_norm_layer(self.norm_cfg, self.channels)[1] \
                if self.norm_cfg is not None else None
            act = build_activation_layer(self.act_cfg) \
                if self.act_cfg is not None else None
            return GnConvModule(in_channels, self.channels, gnconv_cfg, norm,
                                act)

        # Replacing UPerHead's 3x3 ConvModules (rather than copying its
        # __init__) keeps every other layer, and its names, mmseg's.
        self.fpn_bottleneck = make(len(self.in_channels) * self.channels)
        if gnconv_fpn_convs:
            self.fpn_convs = nn.ModuleList(
                make(self.channels) for _ in self.in_channels[:-1])
