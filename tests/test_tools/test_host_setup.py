"""One pair of tools for three hosts: registration, --show, --out."""
import importlib

import pytest
from mmengine.config import Config

from mmhornet.utils import apply_out_arg, apply_show_args, init_host


@pytest.mark.parametrize('host, model', [('mmdet', 'RetinaNet'),
                                         ('mmseg', 'EncoderDecoder'),
                                         ('mmpretrain', 'ImageClassifier')])
def test_init_host_registers_the_host(host, model):
    assert init_host(Config(dict(default_scope=host))) == host
    registry = importlib.import_module(f'{host}.registry').MODELS
    assert registry.get(model) is not None
    # mmhornet's own types are visible from the host's scope.
    assert registry.get('mmhornet.HorNet') is not None


def test_plain_mmengine_config_needs_no_host():
    assert init_host(Config(dict(default_scope='mmengine'))) is None
    assert init_host(Config(dict())) is None


def host_cfg():
    return Config(
        dict(
            default_hooks=dict(visualization=dict(type='VisualizationHook')),
            visualizer=dict(type='Visualizer'),
            test_evaluator=dict(type='IoUMetric')))


def test_show_dir_follows_each_host():
    cfg = host_cfg()
    apply_show_args(cfg, 'mmdet', False, 'shows', 2)
    assert cfg.default_hooks.visualization == dict(
        type='VisualizationHook', draw=True, test_out_dir='shows')

    cfg = host_cfg()
    apply_show_args(cfg, 'mmseg', True, 'shows', 3)
    assert cfg.default_hooks.visualization == dict(
        type='VisualizationHook', draw=True, show=True, wait_time=3)
    assert cfg.visualizer.save_dir == 'shows'

    cfg = host_cfg()
    apply_show_args(cfg, 'mmpretrain', False, 'shows', 2)
    assert cfg.default_hooks.visualization == dict(
        type='VisualizationHook',
        enable=True,
        show=False,
        wait_time=2,
        out_dir='shows')


def test_out_for_mmseg_is_a_folder():
    cfg = host_cfg()
    apply_out_arg(cfg, None, 'mmseg', 'masks')
    assert cfg.test_evaluator == dict(
        type='IoUMetric', output_dir='masks', keep_results=True)
