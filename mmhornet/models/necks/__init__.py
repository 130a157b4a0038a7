"""Necks for mmdet (importing this module needs mmdet and mmcv)."""
from .hor_fpn import HorFPN

__all__ = ['HorFPN']
