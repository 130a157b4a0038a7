"""mmhornet: HorNet and g^nConv for mmdetection, mmsegmentation and
mmpretrain. Importing it registers its models under the ``mmhornet`` scope
(``type='mmhornet.HorNet'``) and its neck / head in mmdet's / mmseg's
registries."""
from .version import __version__
from . import engine, models  # noqa: F401,E402  (registers the modules)

__all__ = ['__version__']
