"""Task-agnostic HorNet layers: plain torch modules, no OpenMMLab imports."""
from .gnconv import GlobalLocalFilter, GnConv, build_spatial_mixer
from .norm import LayerNorm2d
from .utils import DropPath, LayerScale

__all__ = [
    'GnConv', 'GlobalLocalFilter', 'build_spatial_mixer', 'LayerNorm2d',
    'DropPath', 'LayerScale'
]
