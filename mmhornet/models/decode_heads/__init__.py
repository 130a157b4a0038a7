"""mmseg decode heads with g^nConv (registered in mmseg's ``MODELS``)."""
from .hor_uper_head import GnConvModule, HorUPerHead

__all__ = ['HorUPerHead', 'GnConvModule']
