"""The g^nConv configs inherit the hosts' standard configs and change only
the decoder or the backbone's plugins; each builds through the host's
registry and trains a step."""
import copy
import functools
import math
from pathlib import Path

import pytest
import torch
from mmengine import Config
from mmengine.optim import OptimWrapper

from mmhornet.analysis.flops import build_from_config
from mmhornet.layers import GnConvModule
from mmhornet.models import GnConvPlugin, HorUPerHead
from ..test_models.helpers import det_batch
from .hosts import host_config, without_scope
from .metafiles import recipes

CONFIG_DIR = Path(__file__).parents[2] / 'configs' / 'gnconv'
RECIPES = recipes('gnconv')
#: What each kind of config changes: (model key, its keys that may differ).
CHANGED = {
    'neck': ('neck', {'type', 'gnconv_cfg'}),
    'decode_head': ('decode_head', {'type', 'gnconv_cfg', 'gnconv_fpn_convs'}),
    'backbone plugins': ('backbone', {'plugins'}),
}


@functools.lru_cache(maxsize=None)
def _load_cached(name):
    return Config.fromfile(str(CONFIG_DIR / name))


def _load(name):
    return copy.deepcopy(_load_cached(name))


def _host(name):
    scope, path = RECIPES[name]['Host Config'].split('::')
    return host_config(scope, path)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_config_changes_only_what_it_swaps(name):
    ours, host = _load(name).to_dict(), _host(name).to_dict()
    assert ours.pop('custom_imports') == dict(
        imports=['mmhornet'], allow_failed_imports=False)
    assert ours.pop('runner_type') == 'mmhornet.MMHornetRunner'
    key, keys = CHANGED[RECIPES[name]['Changed']]
    swapped = copy.deepcopy(ours['model'][key])
    for cfg in (ours, host):
        part = cfg['model'][key]
        for k in keys:
            part.pop(k, None)
    assert without_scope(ours) == without_scope(host)
    if key == 'backbone':
        plugin, = swapped['plugins']
        assert plugin['cfg']['type'] == 'mmhornet.GnConvPlugin'
        assert tuple(plugin['stages']) == (False, True, True, True)
    else:
        assert swapped['type'] in ('HorFPN', 'HorUPerHead')
        assert swapped['gnconv_cfg']['mixer_cfg'] == dict(
            type='DW', kernel_size=7)


def _det_batch(size=(128, 160)):
    return det_batch(size, ([[10., 20., 70., 90.], [80., 30., 150., 120.]], ),
                     ([0, 5], ))


def _seg_batch(size=(64, 64), n=2):
    # Two images: the pooling module's BN sees 1x1 maps.
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(n):
        sample = SegDataSample()
        sample.set_metainfo(
            dict(img_shape=size, ori_shape=size, pad_shape=size))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, ) + size))
        samples.append(sample)
    images = [
        torch.randint(0, 256, (3, ) + size, dtype=torch.uint8)
        for _ in range(n)
    ]
    return dict(inputs=images, data_samples=samples)


def _gnconv_parts(model, changed):
    """The g^nConv layers the config put into the host's model."""
    if changed == 'backbone plugins':
        parts = [
            m for m in model.backbone.modules() if isinstance(m, GnConvPlugin)
        ]
        assert len(parts) == 4 + 6 + 3
        return parts
    parts = [m for m in model.modules() if isinstance(m, GnConvModule)]
    if changed == 'decode_head':
        assert isinstance(model.decode_head, HorUPerHead)
        assert parts == [model.decode_head.fpn_bottleneck]
    else:
        assert len(parts) == len(model.neck.fpn_convs) > 0
    return parts


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_config_trains_a_step(name):
    torch.manual_seed(0)
    cfg = _load(name)
    scope = cfg.default_scope
    if scope == 'mmseg':
        # Pad to the test's images, not to the 512x512 crop.
        cfg.model.data_preprocessor.size = (64, 64)
    model = build_from_config(cfg, scope)
    # The ImageNet weights are not loaded (init_cfg=None): the host's BN
    # gammas keep their default 1 instead of zero_init_residual's 0, so that
    # the plugins' gradients are not cut off at the first step.
    parts = _gnconv_parts(model, RECIPES[name]['Changed'])
    model.train()
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4))
    data = _det_batch() if scope == 'mmdet' else _seg_batch()
    before = [copy.deepcopy(p.state_dict()) for p in parts]
    log_vars = model.train_step(data, optim_wrapper)
    loss = float(log_vars['loss'])
    assert math.isfinite(loss) and loss > 0, log_vars
    # The g^nConv layers learned (for a plugin: its last projection, the
    # only part with a gradient while it is zero).
    for part, old in zip(parts, before):
        changed = [
            k for k, v in part.state_dict().items()
            if not torch.equal(v, old[k])
        ]
        assert changed, type(part).__name__
        if isinstance(part, GnConvPlugin):
            assert 'gnconv.proj_out.weight' in changed
