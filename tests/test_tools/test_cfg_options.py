"""Strict ``--cfg-options`` (mmhornet.utils.config)."""
import pytest
from mmengine.config import Config

from mmhornet.utils import ConfigOptionError, merge_cfg_options


def make_cfg():
    return Config(
        dict(
            model=dict(
                type='X',
                backbone=dict(type='HorNet', drop_path_rate=0.1),
                init_cfg=None),
            custom_hooks=[dict(type='A', priority='LOW')],
            work_dir='w'))


def test_existing_keys_merge():
    cfg = make_cfg()
    merge_cfg_options(
        cfg, {
            'model.backbone.drop_path_rate': 0.3,
            'custom_hooks.0.priority': 'HIGH',
            'work_dir': 'v'
        })
    assert cfg.model.backbone.drop_path_rate == 0.3
    assert cfg.custom_hooks[0].priority == 'HIGH'
    assert cfg.work_dir == 'v'


def test_typo_in_leaf_names_key_and_lists_existing():
    cfg = make_cfg()
    with pytest.raises(ConfigOptionError) as info:
        merge_cfg_options(cfg, {'model.backbone.drop_path_rat': 0.3})
    msg = str(info.value)
    assert "'model.backbone.drop_path_rat'" in msg
    assert "model.backbone has no key 'drop_path_rat'" in msg
    assert 'existing keys: drop_path_rate, type' in msg
    assert '--cfg-options-allow-new' in msg
    # Nothing was merged.
    assert 'drop_path_rat' not in cfg.model.backbone


def test_typo_in_parent_is_an_error_even_with_allow_new():
    cfg = make_cfg()
    with pytest.raises(ConfigOptionError, match="model has no key 'backbon'"):
        merge_cfg_options(
            cfg, {'model.backbon.drop_path_rate': 0.3}, allow_new=True)
    with pytest.raises(
            ConfigOptionError, match="the config has no key 'modle'"):
        merge_cfg_options(cfg, {'modle.type': 'Y'}, allow_new=True)


def test_allow_new_adds_only_a_leaf_of_an_existing_dict():
    cfg = make_cfg()
    merge_cfg_options(cfg, {'model.backbone.with_cp': True}, allow_new=True)
    assert cfg.model.backbone.with_cp is True
    # Two new levels: the parent does not exist.
    with pytest.raises(ConfigOptionError, match="model has no key 'neck'"):
        merge_cfg_options(cfg, {'model.neck.type': 'FPN'}, allow_new=True)


def test_value_that_is_not_a_dict_cannot_take_keys():
    cfg = make_cfg()
    with pytest.raises(
            ConfigOptionError,
            match=r"model.init_cfg cannot hold key 'type'; it is None"):
        merge_cfg_options(
            cfg, {'model.init_cfg.type': 'Pretrained'}, allow_new=True)


def test_list_index_out_of_range():
    cfg = make_cfg()
    with pytest.raises(
            ConfigOptionError,
            match=r'custom_hooks has no item 3; it is a list of 1 items'):
        merge_cfg_options(cfg, {'custom_hooks.3.priority': 'LOW'})
