"""mmhornet: HorNet and g^nConv for mmdetection, mmsegmentation and
mmpretrain. Importing it registers its models, runner and wrappers under the
``mmhornet`` scope (``type='mmhornet.HorNet'``), its neck / head in mmdet's /
mmseg's registries, the safe loading of mmengine checkpoints, the atomic
checkpoint backend, and the ``mmhornet::`` config scope. Imported before
torch, it also sets a short OpenMP spin for CPU jobs that share a machine
(:mod:`mmhornet._threads`)."""
from ._threads import set_openmp_wait_default

set_openmp_wait_default()

from . import checkpoint, engine, models  # noqa: F401,E402  (registrations)
from .registry import register_config_scope  # noqa: E402
from .version import __version__  # noqa: E402

register_config_scope()

__all__ = ['__version__']
