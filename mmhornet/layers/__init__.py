"""Task-agnostic HorNet layers: plain torch modules, no OpenMMLab imports.

Their fast paths are decided in :mod:`.policy`; ``set_fast_path(False)``
or ``with fast_path(False):`` runs the plain computation instead."""
from .gnconv import GlobalLocalFilter, GnConv, build_spatial_mixer
from .gnconv_module import GnConvModule, check_gnconv_cfg
from .norm import LayerNorm2d
from .policy import fast_path, fast_path_enabled, set_fast_path
from .utils import DropPath, LayerScale

__all__ = [
    'GnConv', 'GnConvModule', 'GlobalLocalFilter', 'build_spatial_mixer',
    'check_gnconv_cfg', 'LayerNorm2d', 'DropPath', 'LayerScale', 'fast_path',
    'fast_path_enabled', 'set_fast_path'
]
