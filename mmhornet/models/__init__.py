"""mmhornet models. The backbone needs only mmengine; the neck and the decode
head subclass mmdet's and mmseg's classes and register in those hosts'
registries, so they are imported only where their host (and the mmcv it
needs) is installed."""
from importlib.util import find_spec

from .backbones import ARCH_ALIASES, ARCH_ZOO, HorNet, resolve_arch
from .plugins import GnConvPlugin, check_plugins

__all__ = [
    'HorNet', 'ARCH_ZOO', 'ARCH_ALIASES', 'resolve_arch', 'GnConvPlugin',
    'check_plugins'
]

if find_spec('mmdet') is not None and find_spec('mmcv') is not None:
    from .necks import HorFPN  # noqa: F401
    __all__.append('HorFPN')
if find_spec('mmseg') is not None and find_spec('mmcv') is not None:
    from .decode_heads import HorUPerHead  # noqa: F401
    __all__.append('HorUPerHead')
