"""mmhornet's registries, children of mmengine's roots.

A config anywhere in the OpenMMLab 2.0 stack can then name
``type='mmhornet.HorNet'`` (after ``custom_imports=dict(imports=['mmhornet'])``):
mmengine resolves the ``mmhornet`` scope from mmdet's, mmseg's or mmpretrain's
registry alike, as mmdet configs name ``mmpretrain.ConvNeXt``.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='mmhornet',
    locations=['mmhornet.models'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='mmhornet',
    locations=['mmhornet.engine'])
