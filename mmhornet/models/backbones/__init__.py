from .hornet import ARCH_ALIASES, ARCH_ZOO, HorNet, HorNetBlock, resolve_arch

__all__ = ['HorNet', 'HorNetBlock', 'ARCH_ZOO', 'ARCH_ALIASES', 'resolve_arch']
