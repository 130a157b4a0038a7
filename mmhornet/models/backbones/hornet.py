"""HorNet backbone for classification, detection and segmentation.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022.
Reference: https://github.com/raoyongming/HorNet and mmpretrain's
``mmpretrain/models/backbones/hornet.py``, whose arguments and parameter
names this class keeps (so mmpretrain configs and weights work unchanged).

Fixed here: ``frozen_stages`` freezes the matching output norm (mmpretrain
freezes ``norm{i+1}``), ``train()`` returns ``self``, the ``-gf384`` filter
sizes follow the official models ((24, 13) and (12, 7)), and bad arguments
raise errors that say what is allowed.

Layout: blocks compute in channels-last ``(N, H, W, C)`` (see
:mod:`mmhornet.layers.gnconv`); the outputs are ordinary ``(N, C, H, W)``.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule

from mmhornet.layers import DropPath, GnConv, LayerScale
from mmhornet.layers.policy import fold_scale, fold_scales
from mmhornet.layers.utils import add_into, gelu_into, linear
from mmhornet.registry import MODELS


def _dw(kernel_size: int = 7) -> dict:
    return dict(type='DW', kernel_size=kernel_size)


def _arch(base_dim: int,
          gf: Optional[Tuple[Tuple[int, int], ...]] = None) -> dict:
    """Official settings: depths (2, 3, 18, 2), orders (2, 3, 4, 5), GF in
    stages 2-3 when ``gf`` gives their filter sizes."""
    mixers = [_dw(), _dw(), _dw(), _dw()]
    if gf is not None:
        mixers[2:] = [dict(type='GF', h=h, w=w) for h, w in gf]
    return dict(
        base_dim=base_dim,
        depths=[2, 3, 18, 2],
        orders=[2, 3, 4, 5],
        dw_cfg=mixers)


_GF224 = ((14, 8), (7, 4))
_GF384 = ((24, 13), (12, 7))

#: Preset architectures. Filter sizes are those of the official models:
#: ``(h, w)`` is the ``rfft2`` grid of the training resolution's stage map.
ARCH_ZOO: Dict[str, dict] = {
    'tiny': _arch(64),
    'tiny-gf': _arch(64, _GF224),
    'tiny-gf384': _arch(64, _GF384),
    'small': _arch(96),
    'small-gf': _arch(96, _GF224),
    'small-gf384': _arch(96, _GF384),
    'base': _arch(128),
    'base-gf': _arch(128, _GF224),
    'base-gf384': _arch(128, _GF384),
    'large': _arch(192),
    'large-gf': _arch(192, _GF224),
    'large-gf384': _arch(192, _GF384),
}
ARCH_ALIASES = {
    't': 'tiny',
    't-gf': 'tiny-gf',
    't-gf384': 'tiny-gf384',
    's': 'small',
    's-gf': 'small-gf',
    's-gf384': 'small-gf384',
    'b': 'base',
    'b-gf': 'base-gf',
    'b-gf384': 'base-gf384',
    'l': 'large',
    'l-gf': 'large-gf',
    'l-gf384': 'large-gf384'
}
ARCH_KEYS = ('base_dim', 'depths', 'orders', 'dw_cfg')
#: The official init: truncated normal (std 0.02) for every conv and linear,
#: zero biases; LayerNorms (1, 0) and the GF filters (N(0, 0.02)) keep what
#: they are built with. ``init_weights()`` applies it, as mmpretrain's
#: ConvNeXt applies its ``init_cfg`` default.
DEFAULT_INIT_CFG = [
    dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.)
]


def resolve_arch(arch: Union[str, dict]) -> dict:
    """Return a validated copy of an arch preset name or arch dict.

    Raises:
        ValueError: an unknown preset name (the message lists the valid
            ones), or a dict with missing, unknown or inconsistent keys.
        TypeError: neither a name nor a dict.
    """
    if isinstance(arch, str):
        name = ARCH_ALIASES.get(arch.lower(), arch.lower())
        if name not in ARCH_ZOO:
            valid = sorted(ARCH_ZOO) + sorted(ARCH_ALIASES)
            raise ValueError(
                f'Unknown HorNet arch {arch!r}. Valid names: '
                f'{", ".join(valid)}; or pass a dict with keys {ARCH_KEYS}.')
        return copy.deepcopy(ARCH_ZOO[name])
    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a preset name or a dict, got '
                        f'{type(arch).__name__}.')
    missing = [k for k in ARCH_KEYS if k not in arch]
    unknown = sorted(set(arch) - set(ARCH_KEYS))
    if missing or unknown:
        raise ValueError(
            f'HorNet arch dict needs exactly the keys {ARCH_KEYS}; missing '
            f'{missing}, unknown {unknown}.')
    arch = copy.deepcopy(dict(arch))
    if not isinstance(arch['base_dim'], int) or arch['base_dim'] < 1:
        raise ValueError(f"arch['base_dim'] must be a positive int, got "
                         f"{arch['base_dim']!r}.")
    for key in ('depths', 'orders', 'dw_cfg'):
        value = arch[key]
        if not isinstance(value, (list, tuple)) or len(value) != 4:
            raise ValueError(f'arch[{key!r}] must list one entry per stage '
                             f'(4), got {value!r}.')
        arch[key] = list(value)
    for i, (depth, order) in enumerate(zip(arch['depths'], arch['orders'])):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"arch['depths'][{i}] must be an int >= 1, got "
                             f'{depth!r}.')
        dim = arch['base_dim'] * 2**i
        if not isinstance(order, int) or order < 1 or dim % 2**(order - 1):
            raise ValueError(
                f"arch['orders'][{i}]={order!r} does not fit stage {i}'s "
                f"{dim} channels: g^nConv needs an int order >= 1 with "
                f"channels divisible by 2 ** (order - 1).")
    return arch


class HorNetBlock(nn.Module):
    """One HorNet block, channels-last.

    ``x + gamma1 * gnconv(norm1(x))``, then
    ``x + gamma2 * pwconv2(gelu(pwconv1(norm2(x))))``.

    Args:
        dim (int): Channels.
        order (int): g^nConv order. Defaults to 5.
        dw_cfg (dict, optional): g^nConv spatial mixer. Defaults to 7x7 DW.
        scale (float): g^nConv mixer scale. Defaults to 1.0.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
        use_layer_scale (bool): Use ``gamma1`` / ``gamma2``. Defaults to True.
        layer_scale_init_value (float): Their init. Defaults to 1e-6.
    """

    def __init__(self,
                 dim: int,
                 order: int = 5,
                 dw_cfg: Optional[dict] = None,
                 scale: float = 1.0,
                 drop_path_rate: float = 0.,
                 use_layer_scale: bool = True,
                 layer_scale_init_value: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.gnconv = GnConv(
            dim, order, dw_cfg, scale, data_format='channels_last')
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        if use_layer_scale:
            self.gamma1 = LayerScale(dim, layer_scale_init_value)
            self.gamma2 = LayerScale(dim, layer_scale_init_value)
        else:
            self.gamma1, self.gamma2 = nn.Identity(), nn.Identity()
        self.use_layer_scale = use_layer_scale
        self.drop_path = DropPath(drop_path_rate) \
            if drop_path_rate > 0. else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) -> (N, H, W, C)."""
        if not fold_scales():
            # The plain formulation, module by module.
            x = x + self.drop_path(self.gamma1(self.gnconv(self.norm1(x))))
            y = self.pwconv2(self.act(self.pwconv1(self.norm2(x))))
            return x + self.drop_path(self.gamma2(y))
        # The layer scales folded into the branches' last projections.
        g1 = self.gamma1.weight if self.use_layer_scale else None
        g2 = self.gamma2.weight if self.use_layer_scale else None
        # branch + x: the same sum, written into the fresh branch.
        branch = self.drop_path(self.gnconv(self.norm1(x), out_scale=g1))
        x = add_into(branch, x)
        y = linear(self.norm2(x), self.pwconv1.weight, self.pwconv1.bias)
        y = gelu_into(y, self.act.approximate)
        w2, b2 = self.pwconv2.weight, self.pwconv2.bias
        if g2 is not None:
            w2, b2 = fold_scale(w2, b2, g2)
        return add_into(self.drop_path(linear(y, w2, b2)), x)


class Stem(nn.Sequential):
    """4x4 stride-4 conv then LayerNorm: ``(N, C, H, W)`` image ->
    ``(N, H/4, W/4, C')``. Children ``0`` (conv) and ``1`` (norm) keep the
    reference's ``downsample_layers.0.{0,1}`` keys."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 4, stride=4),
            nn.LayerNorm(out_channels, eps=1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self[0](x.contiguous(memory_format=torch.channels_last))
        return self[1](x.permute(0, 2, 3, 1))


class Downsample(nn.Sequential):
    """LayerNorm then 2x2 stride-2 conv, channels-last in and out; children
    ``0`` (norm) and ``1`` (conv) as the reference's ``downsample_layers.i``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.LayerNorm(in_channels, eps=1e-6),
            nn.Conv2d(in_channels, out_channels, 2, stride=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self[0](x).permute(0, 3, 1, 2)
        x = self[1](x.contiguous(memory_format=torch.channels_last))
        return x.permute(0, 2, 3, 1)


@MODELS.register_module()
class HorNet(BaseModule):
    """HorNet backbone.

    Args:
        arch (str | dict): A preset (``'tiny'``, ``'tiny-gf'``,
            ``'tiny-gf384'``, ``'small'``, ``'small-gf'``, ``'small-gf384'``,
            ``'base'``, ``'base-gf'``, ``'base-gf384'``, ``'large'``,
            ``'large-gf'``, ``'large-gf384'``; aliases ``'t'``, ``'t-gf'``,
            ...) or a dict with keys ``base_dim`` (int),
            ``depths``, ``orders`` and ``dw_cfg`` (4 entries each; a mixer
            is ``dict(type='DW', kernel_size=k)`` or
            ``dict(type='GF', h=h, w=w)``). Defaults to 'tiny'.
        in_channels (int): Input channels. Defaults to 3.
        drop_path_rate (float): Stochastic depth, increasing linearly over
            the blocks up to this value. Defaults to 0.
        scale (float): g^nConv mixer scale. Defaults to 1/3 (official).
        use_layer_scale (bool): Per-channel residual scales. Defaults to True.
        layer_scale_init_value (float): Their init. Defaults to 1e-6.
        out_indices (Sequence[int] | int): Stages whose outputs are returned,
            each through its own LayerNorm ``norm{i}``; negative values count
            from the end. Defaults to (3, ).
        frozen_stages (int): Freeze the stem and stages ``0..frozen_stages``
            (their downsample layers, blocks and output norms): no gradients,
            eval mode. -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep every norm layer in eval mode during training.
            HorNet's norms are LayerNorms, which have no running statistics,
            so this changes no output; it exists so mmdet/mmseg configs that
            set it work. Defaults to False.
        with_cp (bool): Activation checkpointing per block (saves memory,
            costs a second forward). Defaults to False.
        gap_before_final_norm (bool): Return ``norm{i}(global average
            pool)`` as ``(N, C)`` (classification) instead of ``(N, C, H, W)``
            maps. Defaults to True (mmpretrain's default); detection and
            segmentation configs set False.
        init_cfg (dict | list[dict], optional): Initialization, applied by
            ``init_weights()`` (mmengine's runners call it).
            ``dict(type='Pretrained', checkpoint=PATH_OR_URL, prefix=...)``
            loads official, official-mmdet/mmseg, mmpretrain or mmhornet
            weights (see :mod:`mmhornet.checkpoint`). Defaults to None:
            :data:`DEFAULT_INIT_CFG`, the official init.

    Note:
        Training from scratch on zero-padded batches (mmdet pads images to a
        common size with 0): with the default init every conv bias is 0, so
        padded pixels stay exactly constant through the network, and each
        LayerNorm there sees zero variance and scales the gradient by
        ``1 / sqrt(eps)`` (1000). Stacked, the stem's gradient reached 3e10
        in a demo run. Pretrained weights avoid it; from scratch, feed
        same-size images (as ``configs/demo/`` does) or clip gradients.

    Returns (forward):
        tuple[Tensor]: ``(N, C_i, H_i, W_i)`` with ``C_i = base_dim * 2**i``
        and ``H_i = H // 2**(i + 2)`` (floor at each downsampling), or
        ``(N, C_i)`` with ``gap_before_final_norm``.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 drop_path_rate: float = 0.,
                 scale: float = 1 / 3,
                 use_layer_scale: bool = True,
                 layer_scale_init_value: float = 1e-6,
                 out_indices: Union[int, Sequence[int]] = (3, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 gap_before_final_norm: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(
            init_cfg=copy.deepcopy(DEFAULT_INIT_CFG if init_cfg is
                                   None else init_cfg))
        self.arch_settings = resolve_arch(arch)
        base_dim = self.arch_settings['base_dim']
        depths = self.arch_settings['depths']
        self.dims = [base_dim * 2**i for i in range(4)]
        self.num_stages = 4
        if not 0. <= drop_path_rate < 1.:
            raise ValueError(
                f'drop_path_rate must be in [0, 1), got {drop_path_rate}.')
        if not -1 <= frozen_stages < self.num_stages:
            raise ValueError(
                f'frozen_stages must be in [-1, {self.num_stages - 1}] (-1 '
                f'freezes nothing), got {frozen_stages}.')
        self.out_indices = self._check_out_indices(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.gap_before_final_norm = gap_before_final_norm
        self.scale = scale

        self.downsample_layers = nn.ModuleList(
            [Stem(in_channels, self.dims[0])])
        for i in range(3):
            self.downsample_layers.append(
                Downsample(self.dims[i], self.dims[i + 1]))

        # On the CPU also when built under torch.device('meta').
        dpr = torch.linspace(
            0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.stages = nn.ModuleList()
        start = 0
        for i in range(4):
            self.stages.append(
                nn.Sequential(*[
                    HorNetBlock(
                        self.dims[i],
                        order=self.arch_settings['orders'][i],
                        dw_cfg=self.arch_settings['dw_cfg'][i],
                        scale=scale,
                        drop_path_rate=dpr[start + j],
                        use_layer_scale=use_layer_scale,
                        layer_scale_init_value=layer_scale_init_value)
                    for j in range(depths[i])
                ]))
            start += depths[i]
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(self.dims[i], eps=1e-6))
        self._freeze_stages()

    def _check_out_indices(self, out_indices) -> List[int]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if not isinstance(out_indices, Sequence):
            raise TypeError(f'out_indices must be an int or a sequence of '
                            f'ints, got {type(out_indices).__name__}.')
        result = []
        for index in out_indices:
            if not isinstance(index, int) or not -4 <= index < 4:
                raise ValueError(
                    f'out_indices entries must be stage indices in [-4, 3] '
                    f'(HorNet has 4 stages), got {index!r} in '
                    f'{tuple(out_indices)}.')
            result.append(index % 4)
        if len(set(result)) != len(result):
            raise ValueError(f'out_indices has duplicates: {out_indices}.')
        return sorted(result)

    def init_weights(self) -> None:
        """Load ``init_cfg=dict(type='Pretrained', ...)`` weights through
        mmhornet's format detection; other init_cfgs go to mmengine."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            from mmhornet.checkpoint import load_hornet_pretrained
            load_hornet_pretrained(
                self,
                cfg['checkpoint'],
                prefix=cfg.get('prefix'),
                map_location=cfg.get('map_location', 'cpu'))
            self._is_init = True
            return
        super().init_weights()

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            modules = [self.downsample_layers[i], self.stages[i]]
            if i in self.out_indices:
                modules.append(getattr(self, f'norm{i}'))
            for m in modules:
                m.eval()
                for param in m.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'HorNet':
        """Set train mode, keeping frozen stages (and with ``norm_eval``
        every norm layer) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m,
                              (nn.LayerNorm, nn.modules.batchnorm._BatchNorm,
                               nn.GroupNorm)):
                    m.eval()
        return self

    def _run_stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            for block in self.stages[i]:
                x = cp.checkpoint(block, x, use_reentrant=False)
            return x
        return self.stages[i](x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, C_in, H, W) -> tuple of (N, C_i, H_i, W_i) (see class doc)."""
        if x.ndim != 4:
            raise ValueError(f'HorNet expects (N, C, H, W) images, got shape '
                             f'{tuple(x.shape)}.')
        if min(x.shape[-2:]) < 32:
            raise ValueError(
                f'HorNet downsamples by 32; input {tuple(x.shape[-2:])} is '
                f'too small (each side must be >= 32).')
        outs = []
        for i in range(self.num_stages):
            x = self.downsample_layers[i](x)
            x = self._run_stage(i, x)
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}')
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean((1, 2))))
                else:
                    outs.append(norm(x).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise lr decay.

        The official HorNet ids (12 layers): stem 0; stage 0 -> 1; stage 1
        and downsample 1 -> 2; downsample 2 -> 3; stage-2 block ``b`` ->
        ``min(3 + b // 2, 11)``; stage 3 and downsample 3 -> 12; everything
        else (output norms, necks, heads) -> 13.

        Args:
            param_name (str): Parameter name, e.g.
                ``'backbone.stages.2.5.gnconv.proj_in.weight'``.
            prefix (str): The backbone's prefix in ``param_name``, e.g.
                ``'backbone.'``. Defaults to ''.

        Returns:
            tuple[int, int]: ``(layer_id, max_layer_id)`` with
            ``max_layer_id = 14``, as mmpretrain's ConvNeXt returns, so that
            mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` gives
            ``decay ** (14 - layer_id - 1)``.
        """
        num_layers = 12
        max_layer_id = num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers + 1, max_layer_id
        name = param_name[len(prefix):]
        parts = name.split('.')
        if parts[0] == 'downsample_layers':
            stage = int(parts[1])
            layer_id = {0: 0, 1: 2, 2: 3, 3: num_layers}[stage]
        elif parts[0] == 'stages':
            stage, block = int(parts[1]), int(parts[2])
            if stage == 2:
                layer_id = min(3 + block // 2, num_layers - 1)
            else:
                layer_id = {0: 1, 1: 2, 3: num_layers}[stage]
        else:
            layer_id = num_layers + 1
        return layer_id, max_layer_id
