"""mmseg decode heads with g^nConv (registered in mmseg's ``MODELS``)."""
from .hor_uper_head import HorUPerHead

__all__ = ['HorUPerHead']
