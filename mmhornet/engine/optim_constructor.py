"""Layer-wise and stage-wise learning-rate decay for HorNet fine-tuning.

Paper: Rao et al., "HorNet: Efficient High-Order Spatial Interactions with
Recursive Gated Convolutions", NeurIPS 2022 (detection / segmentation
recipes).
Reference: https://github.com/raoyongming/HorNet
(``semantic_segmentation/mmcv_custom/layer_decay_optimizer_constructor.py``,
used by its detection configs too), after ConvNeXt's.

Differences from the reference: layer ids come from the backbone's
``get_layer_depth`` (no class-name checks, so any backbone that has it
works), lr scales are capped at 1 (see
:class:`LayerDecayOptimWrapperConstructor`), unknown options are
errors, and the group summary is logged once, on rank 0, as a table.
"""
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.dist import get_rank
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor

from mmhornet.registry import OPTIM_WRAPPER_CONSTRUCTORS

DECAY_TYPES = ('layer_wise', 'stage_wise')
PARAMWISE_KEYS = ('decay_rate', 'decay_type', 'num_layers')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Give backbone layers lower learning rates the closer they are to the
    input.

    A parameter with layer id ``i`` gets ``lr = base_lr * scale`` with
    ``scale = min(1, decay_rate ** (num_layers + 2 - i - 1))``.

    * ``'layer_wise'``: ``i`` is the backbone's
      ``get_layer_depth(name, prefix)[0]`` (for HorNet: stem 0 ... stage 3
      12, anything outside the backbone 13, see
      :meth:`mmhornet.models.HorNet.get_layer_depth`). The backbone is
      ``model.backbone`` (prefix ``'backbone.'``), or the model itself if it
      has ``get_layer_depth`` (prefix ``''``).
    * ``'stage_wise'``: ``downsample_layers.*`` -> 0, ``stages.i.*`` ->
      ``i + 1``, everything else -> ``num_layers + 1``.

    The cap at 1: with ``num_layers`` smaller than the backbone's largest id
    (the reference's Mask R-CNN configs set 6 while HorNet's ids run to 12)
    the formula gives late layers and the head scales above 1; capped, no
    parameter learns faster than the base lr.

    Parameters without gradients are skipped. One-dimensional parameters
    (norms, layer scales) and biases get weight decay 0; the rest get the
    optimizer's ``weight_decay``. Groups are one per (layer id, decay or
    not), with keys ``params``, ``lr``, ``weight_decay``, ``lr_scale``,
    ``layer_id`` and ``group_name``.

    Named apart from mmpretrain's ``LearningRateDecayOptimWrapperConstructor``
    (which takes ``layer_decay_rate``, not this ``paramwise_cfg``); the
    ``mmhornet.`` prefix finds it under any host's scope::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999),
                           weight_decay=0.05),
            constructor='mmhornet.LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(decay_rate=0.7, decay_type='layer_wise',
                               num_layers=12))

    Args:
        optim_wrapper_cfg (dict): The optimizer wrapper config, with
            ``optimizer`` (which must set ``lr``).
        paramwise_cfg (dict): ``decay_rate`` (float in (0, 1]),
            ``decay_type`` (``'layer_wise'`` or ``'stage_wise'``, defaults
            to ``'layer_wise'``) and ``num_layers`` (int >= 1).
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        cfg = self.paramwise_cfg
        unknown = sorted(set(cfg) - set(PARAMWISE_KEYS))
        missing = [k for k in ('decay_rate', 'num_layers') if k not in cfg]
        if unknown or missing:
            raise ValueError(
                f'{type(self).__name__} takes paramwise_cfg keys '
                f'{PARAMWISE_KEYS} (decay_type optional); missing {missing}, '
                f'unknown {unknown}.')
        self.decay_rate = float(cfg['decay_rate'])
        self.decay_type = cfg.get('decay_type', 'layer_wise')
        self.num_layers = cfg['num_layers']
        if self.decay_type not in DECAY_TYPES:
            raise ValueError(f'decay_type must be one of {DECAY_TYPES}, got '
                             f'{self.decay_type!r}.')
        if not 0. < self.decay_rate <= 1.:
            raise ValueError(f'decay_rate must be in (0, 1], got '
                             f'{self.decay_rate}.')
        if not isinstance(self.num_layers, int) or self.num_layers < 1:
            raise ValueError(f'num_layers must be an int >= 1, got '
                             f'{self.num_layers!r}.')
        if self.base_lr is None:
            raise ValueError("the optimizer config must set 'lr'.")

    def lr_scale(self, layer_id: int) -> float:
        """``min(1, decay_rate ** (num_layers + 2 - layer_id - 1))``."""
        return min(1., self.decay_rate**(self.num_layers + 1 - layer_id))

    def stage_id(self, name: str, prefix: str) -> int:
        """Stage-wise id of parameter ``name`` (see the class doc)."""
        if name.startswith(prefix):
            parts = name[len(prefix):].split('.')
            if parts[0] == 'downsample_layers':
                return 0
            if parts[0] == 'stages':
                return int(parts[1]) + 1
        return self.num_layers + 1

    @staticmethod
    def find_backbone(model: nn.Module) -> Tuple[Optional[nn.Module], str]:
        """The module with ``get_layer_depth`` and its name prefix:
        ``(model.backbone, 'backbone.')``, ``(model, '')`` or ``(None,
        'backbone.' or '')``."""
        backbone = getattr(model, 'backbone', None)
        if isinstance(backbone, nn.Module):
            if hasattr(backbone, 'get_layer_depth'):
                return backbone, 'backbone.'
            return None, 'backbone.'
        if hasattr(model, 'get_layer_depth'):
            return model, ''
        return None, ''

    def add_params(self, params: List[dict], module: nn.Module,
                   **kwargs) -> None:
        """Append one param group per (layer id, decay or not) of
        ``module``'s trainable parameters to ``params``."""
        backbone, prefix = self.find_backbone(module)
        if self.decay_type == 'layer_wise' and backbone is None:
            where = 'model.backbone' if prefix else 'the model'
            raise NotImplementedError(
                f"layer_wise lr decay needs {where} ({type(module).__name__}"
                f") to have get_layer_depth(param_name, prefix); use "
                f"decay_type='stage_wise' or a backbone that has it (e.g. "
                f"mmhornet.HorNet).")
        groups: Dict[str, dict] = {}
        numels: Dict[str, int] = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            if self.decay_type == 'layer_wise':
                layer_id = backbone.get_layer_depth(name, prefix)[0]
            else:
                layer_id = self.stage_id(name, prefix)
            no_decay = param.ndim == 1 or name.endswith('.bias')
            group_name = f'layer_{layer_id}_' + \
                ('no_decay' if no_decay else 'decay')
            if group_name not in groups:
                scale = self.lr_scale(layer_id)
                groups[group_name] = dict(
                    params=[],
                    lr=self.base_lr * scale,
                    lr_scale=scale,
                    layer_id=layer_id,
                    group_name=group_name)
                # Without a weight_decay in the optimizer config, decayed
                # groups keep the optimizer's default.
                if no_decay or self.base_wd is not None:
                    groups[group_name]['weight_decay'] = \
                        0. if no_decay else self.base_wd
                numels[group_name] = 0
            groups[group_name]['params'].append(param)
            numels[group_name] += param.numel()
        ordered = sorted(groups, key=lambda g: (groups[g]['layer_id'], g))
        params.extend(groups[g] for g in ordered)
        if get_rank() == 0:
            MMLogger.get_current_instance().info(
                self._summary([groups[g] for g in ordered],
                              [numels[g] for g in ordered]))

    def _summary(self, groups: List[dict], numels: List[int]) -> str:
        header = ('group', 'tensors', 'params', 'lr scale', 'lr',
                  'weight decay')
        rows = [
            (g['group_name'], str(len(g['params'])), f'{n:,}',
             f"{g['lr_scale']:.4g}", f"{g['lr']:.3e}",
             f"{g['weight_decay']:g}" if 'weight_decay' in g else 'default')
            for g, n in zip(groups, numels)
        ]
        widths = [
            max(len(r[i]) for r in [header] + rows)
            for i in range(len(header))
        ]

        def line(cells):
            return '  '.join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths)))

        title = (f'{type(self).__name__}: {self.decay_type} decay '
                 f'{self.decay_rate:g}, num_layers {self.num_layers}, '
                 f'base lr {self.base_lr:g}, {len(groups)} groups')
        rule = '-' * len(line(header))
        return '\n'.join([title, rule, line(header), rule] +
                         [line(r) for r in rows] + [rule])
