"""`type='mmhornet.HorNet'` builds through every host's registry, after the
`custom_imports` a config would carry."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

ARCH = dict(
    base_dim=8,
    depths=[1, 1, 1, 1],
    orders=[2, 2, 2, 2],
    dw_cfg=[dict(type='DW', kernel_size=7)] * 4)


@pytest.mark.parametrize('host', ['mmdet', 'mmseg', 'mmpretrain'])
def test_hornet_builds_from_each_host(host):
    cfg = Config(
        dict(
            custom_imports=dict(
                imports=['mmhornet'], allow_failed_imports=False),
            model=dict(
                type='mmhornet.HorNet',
                arch=ARCH,
                out_indices=(0, 3),
                gap_before_final_norm=False)))
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)
    registry = __import__(f'{host}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(host):
        model = registry.build(cfg.model)
    from mmhornet.models import HorNet
    assert isinstance(model, HorNet)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [8, 64]


def test_scope_is_restored_and_unknown_names_fail_clearly():
    from mmdet.registry import MODELS

    import mmhornet  # noqa: F401
    init_default_scope('mmdet')
    with pytest.raises(KeyError, match='HorNot'):
        MODELS.build(dict(type='mmhornet.HorNot'))
    assert DefaultScope.get_current_instance().scope_name == 'mmdet'


def test_arch_errors_surface_through_the_registry():
    from mmdet.registry import MODELS

    import mmhornet  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises(ValueError, match="Unknown HorNet arch 'tinyy'"):
            MODELS.build(dict(type='mmhornet.HorNet', arch='tinyy'))
