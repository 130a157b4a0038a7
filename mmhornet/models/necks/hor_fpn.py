"""HorFPN: a feature pyramid whose output convs are g^nConv blocks.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022 (Sec. 4.4, "HorFPN").
Reference: https://github.com/raoyongming/HorNet
(``object_detection/necks/gn_fpn.py``, ``mmcv_custom/gn_module.py``).

:class:`HorFPN` is mmdet's :class:`~mmdet.models.necks.FPN` with its 3x3
output convs replaced; lateral convs, the top-down path and ``forward`` are
mmdet's. Fixed here: extra levels (``add_extra_convs``) work in every mode
(the reference passes a list to ``nn.Sequential`` and crashes), the block is
configured by a dict instead of ``partial`` strings, and it prints nothing.
"""
from typing import List, Optional

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet.models.necks import FPN
from mmdet.registry import MODELS

from mmhornet.layers import LayerNorm2d
from mmhornet.layers.gnconv_module import GnConvModule, check_gnconv_cfg


def resolve_norm_cfg(norm_cfg: Optional[dict]) -> Optional[dict]:
    """Map ``type='LN2d'`` (channel LayerNorm on ``(N, C, H, W)``, which
    mmdet's registry lacks) to :class:`~mmhornet.layers.LayerNorm2d`, so
    mmcv's ``build_norm_layer`` (and so ``ConvModule``) can build it."""
    if norm_cfg is not None and norm_cfg.get('type') == 'LN2d':
        norm_cfg = dict(norm_cfg, type=LayerNorm2d)
        norm_cfg.setdefault('eps', 1e-6)
    return norm_cfg


@MODELS.register_module()
class HorFPN(FPN):
    """FPN with g^nConv output blocks (HorFPN, Rao et al., NeurIPS 2022).

    Lateral 1x1 convs and the top-down path are mmdet's FPN. Each output
    level goes through a :class:`~mmhornet.layers.gnconv_module.GnConvModule`
    instead of a 3x3 conv; an extra level (``add_extra_convs``) is a stride-2
    3x3 ``ConvModule`` followed by a ``GnConvModule``, so the extra levels'
    entries of ``fpn_convs`` are ``nn.Sequential(conv, gnconv)``. Every
    ``add_extra_convs`` mode of mmdet's FPN works.

    Args:
        in_channels (list[int]): Input channels per scale.
        out_channels (int): Output channels at every scale; must be
            divisible by ``2 ** (order - 1)`` (and even for a GF mixer).
        num_outs (int): Number of output scales.
        gnconv_cfg (dict, optional): The g^nConv blocks' settings, keys
            ``order`` (int), ``mixer_cfg`` (dict:
            ``dict(type='DW', kernel_size=7)`` or
            ``dict(type='GF', h=32, w=17)``), ``scale`` (float) and
            ``proj_out`` (True); see
            :func:`~mmhornet.layers.gnconv_module.check_gnconv_cfg`.
            Defaults to ``dict(order=2, mixer_cfg=dict(type='DW',
            kernel_size=7), scale=1.0)``, the reference's.
        norm_cfg (dict, optional): Norm for the lateral convs, extra convs
            and g^nConv blocks (``'LN2d'`` is accepted besides mmcv's norm
            types). Defaults to None.
        act_cfg (dict, optional): Activation of the same layers. Defaults to
            None.
        **kwargs: The rest of :class:`~mmdet.models.necks.FPN`'s arguments
            (``start_level``, ``end_level``, ``add_extra_convs``,
            ``relu_before_extra_convs``, ``no_norm_on_lateral``,
            ``conv_cfg``, ``upsample_cfg``, ``init_cfg``).

    Inputs (forward):
        tuple[Tensor]: ``(N, in_channels[i], H_i, W_i)`` per level.

    Returns (forward):
        tuple[Tensor]: ``num_outs`` maps ``(N, out_channels, H'_j, W'_j)``:
        the input sizes from ``start_level`` on, then extra levels of
        ``ceil(H / 2) x ceil(W / 2)`` the one before (stride-2 conv or, with
        ``add_extra_convs=False``, max-pooling).

    Example:
        >>> neck = HorFPN([16, 32], 16, 3, add_extra_convs='on_output')
        >>> outs = neck((torch.rand(1, 16, 28, 35), torch.rand(1, 32, 14, 18)))
        >>> [tuple(o.shape) for o in outs]
        [(1, 16, 28, 35), (1, 16, 14, 18), (1, 16, 7, 9)]
    """

    def __init__(self,
                 in_channels: List[int],
                 out_channels: int,
                 num_outs: int,
                 gnconv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        norm_cfg = resolve_norm_cfg(norm_cfg)
        super().__init__(
            list(in_channels),
            out_channels,
            num_outs,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            **kwargs)
        self.gnconv_cfg = check_gnconv_cfg(gnconv_cfg)

        def block() -> GnConvModule:
            norm = build_norm_layer(norm_cfg, out_channels)[1] \
                if norm_cfg is not None else None
            act = build_activation_layer(act_cfg) \
                if act_cfg is not None else None
            return GnConvModule(out_channels, out_channels, self.gnconv_cfg,
                                norm, act)

        # FPN built the 3x3 output convs and, for extra levels, the stride-2
        # ConvModules (with the right input channels for every
        # add_extra_convs mode); keep the latter and put a g^nConv block
        # after each.
        num_levels = self.backbone_end_level - self.start_level
        self.fpn_convs = nn.ModuleList([block() for _ in range(num_levels)] + [
            nn.Sequential(extra, block())
            for extra in self.fpn_convs[num_levels:]
        ])
