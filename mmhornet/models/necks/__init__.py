"""Necks for mmdet (importing this module needs mmdet and mmcv)."""
from .hor_fpn import GnConvModule, HorFPN

__all__ = ['HorFPN', 'GnConvModule']
