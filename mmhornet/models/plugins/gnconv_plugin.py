"""g^nConv as a plugin of the hosts' CNN backbones.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022 (g^nConv as a plug-and-play
module for convolutional models).

mmdet's and mmseg's ``ResNet`` / ``ResNeXt`` build a plugin after a
Bottleneck's conv1, conv2 or conv3 from
``plugins=[dict(cfg=dict(type='mmhornet.GnConvPlugin', ...),
stages=(False, True, True, True), position='after_conv2')]`` with
``in_channels`` (mmcv's ``build_plugin_layer``); the plugin's output
replaces the feature. :class:`GnConvPlugin` is a pre-norm residual g^nConv
whose last projection starts at zero, as GCNet's ContextBlock's does: added
to a pretrained ResNet it changes no output until it is trained.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from mmhornet.layers import GnConv
from mmhornet.registry import MODELS


@MODELS.register_module()
class GnConvPlugin(BaseModule):
    """``x + gnconv(LayerNorm(x))`` on ``(N, C, H, W)`` maps, the residual
    branch zero at initialisation.

    Args:
        in_channels (int): Channels ``C`` (the host passes them).
        order (int): g^nConv order; ``C`` must be divisible by
            ``2 ** (order - 1)``. Defaults to 3.
        mixer_cfg (dict, optional): ``dict(type='DW', kernel_size=7)`` or
            ``dict(type='GF', h=h, w=w)`` (the filter size of the training
            maps; it is resized to others). Defaults to 7x7 DW.
        scale (float): Scale of the mixer output. Defaults to 1/3 (HorNet's).
        init_cfg (dict, optional): Defaults to None: truncated normal
            (std 0.02) for the projections and the mixer, and zero for the
            last projection.

    Shapes:
        ``(N, C, H, W) -> (N, C, H, W)``.
    """

    _abbr_ = 'gnconv_plugin'

    def __init__(self,
                 in_channels: int,
                 order: int = 3,
                 mixer_cfg: Optional[dict] = None,
                 scale: float = 1 / 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        try:
            self.gnconv = GnConv(
                in_channels,
                order,
                mixer_cfg,
                scale,
                data_format='channels_last')
        except ValueError as e:
            raise ValueError(
                f'GnConvPlugin(order={order}) on a {in_channels}-channel '
                f'feature: {e}') from e
        self.norm = nn.LayerNorm(in_channels, eps=1e-6)
        self._zero_last_projection()

    def _zero_last_projection(self) -> None:
        nn.init.zeros_(self.gnconv.proj_out.weight)
        nn.init.zeros_(self.gnconv.proj_out.bias)

    def init_weights(self) -> None:
        """HorNet's init for the g^nConv layers, the last projection zero
        (after the host's own init, which reaches every conv)."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        for m in self.gnconv.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self._zero_last_projection()
        self._is_init = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        y = self.norm(x.permute(0, 2, 3, 1))
        return x + self.gnconv(y).permute(0, 3, 1, 2)


#: Backbone types whose shallow depths are made of BasicBlocks, which take
#: no plugins (mmdet's and mmseg's assert 'Not implemented yet.').
_BASIC_BLOCK_DEPTHS = (18, 34)


def check_plugins(model_cfg) -> None:
    """Refuse, clearly, g^nConv plugins on backbones that cannot take them.

    mmdet's and mmseg's ResNet-18 / -34 are made of BasicBlocks, whose
    constructor asserts ``plugins is None`` ("Not implemented yet.").
    :class:`~mmhornet.engine.MMHornetRunner` calls this before it builds the
    model.

    Args:
        model_cfg (dict): A model config (its ``backbone`` is checked).

    Raises:
        ValueError: naming the backbone and what to use instead.
    """
    backbone = (model_cfg or {}).get('backbone') if isinstance(
        model_cfg, dict) else None
    if not isinstance(backbone, dict) or not backbone.get('plugins'):
        return
    depth = backbone.get('depth')
    if 'ResNe' in str(backbone.get('type', '')) and \
            depth in _BASIC_BLOCK_DEPTHS:
        names = sorted(
            {str(p.get('cfg', {}).get('type'))
             for p in backbone['plugins']})
        raise ValueError(
            f'{backbone["type"]} depth {depth} is made of BasicBlocks, which '
            f'take no plugins (the host raises "Not implemented yet."), so '
            f'{", ".join(names)} cannot go into it. Use depth 50, 101 or 152 '
            '(Bottleneck blocks take plugins after conv1, conv2 or conv3).')
