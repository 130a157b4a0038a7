"""mmhornet's registries, children of mmengine's roots.

A config anywhere in the OpenMMLab 2.0 stack can then name
``type='mmhornet.HorNet'`` or ``runner_type='mmhornet.MMHornetRunner'``
(after ``custom_imports=dict(imports=['mmhornet'])``): mmengine resolves the
``mmhornet`` scope from mmdet's, mmseg's or mmpretrain's registry alike, as
mmdet configs name ``mmpretrain.ConvNeXt``.
"""
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmhornet',
    locations=['mmhornet.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    scope='mmhornet',
    locations=['mmhornet.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    scope='mmhornet',
    locations=['mmhornet.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmhornet',
    locations=['mmhornet.engine'])
RUNNERS = Registry(
    'runner',
    parent=MMENGINE_RUNNERS,
    scope='mmhornet',
    locations=['mmhornet.engine'])


def register_config_scope() -> None:
    """Let configs inherit mmhornet's as ``_base_ = 'mmhornet::coco/...'``.

    mmengine resolves ``pkg::path`` only for the packages in its table
    ``mmengine.config.utils.MODULE2PACKAGE`` (mmdet, mmseg, mmpretrain, ...),
    which it reads at parse time; the path is then looked up in the installed
    package's ``.mim/configs`` (and ``.mim/model-index.yml``), which
    mmhornet's ``setup.py`` installs. Adding mmhornet to that table is what
    mmengine's own packages amount to. Importing mmhornet calls this, so it
    holds wherever mmhornet is imported before a config is parsed:
    mmhornet's tools, ``mim train mmhornet``, and scripts that
    ``import mmhornet`` (the hosts' own tools parse ``_base_`` before
    ``custom_imports``).
    """
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault('mmhornet', 'mmhornet')
