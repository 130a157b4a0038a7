"""Every ADE20K config loads, builds through mmseg's registry and carries the
official HorNet UPerNet recipe."""
import copy
import functools
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from mmhornet.layers import GlobalLocalFilter, GnConvModule
from mmhornet.models import HorNet, HorUPerHead, resolve_arch
from .metafiles import recipes

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'ade20k')
WIDTHS = {'tiny': 64, 'small': 96, 'base': 128, 'large': 192}
#: The g^nConv mixer of each HorUPerHead (its GF filter sized for the 1/4
#: map of a 512 crop's FPN level).
HEAD_MIXERS = {
    'UPerHead': None,
    'HorUPerHead (7x7)': dict(type='DW', kernel_size=7),
    'HorUPerHead (GF)': dict(type='GF', h=32, w=17),
}


def _variant(meta):
    """A metafile entry's Metadata in the names the tests use."""
    arch = meta['Backbone']
    return dict(
        arch=arch,
        dim=WIDTHS[arch.split('-')[0]],
        drop_path=meta['Drop Path'],
        ckpt=meta['Pretrained'],
        decay=(meta['Stage Decay'], meta['Stage Decay Layers']),
        clip=meta['Grad Clip'],
        gf='-gf' in arch,
        crop=meta['Crop Size'][0],
        with_cp=meta['Activation Checkpointing'],
        head=HEAD_MIXERS[meta['Decode Head']])


METADATA = recipes('ade20k')
VARIANTS = {name: _variant(meta) for name, meta in METADATA.items()}


@functools.lru_cache()
def _load_cached(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def _load(name):
    return copy.deepcopy(_load_cached(name))


def test_every_config_is_checked():
    names = {osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py'))}
    assert names == set(VARIANTS)


def test_published_checkpoints_are_mmpretrains():
    """The ImageNet weights named are the ones mmpretrain's HorNet metafile
    publishes."""
    from mmengine.fileio import load
    from mmpretrain import __file__ as mmpretrain_init
    metafile = osp.join(
        osp.dirname(mmpretrain_init), '.mim', 'configs', 'hornet',
        'metafile.yml')
    published = {m['Weights'] for m in load(metafile)['Models']}
    for name, v in VARIANTS.items():
        if v['ckpt'].startswith('http'):
            assert v['ckpt'] in published, name


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_recipe(name):
    v = VARIANTS[name]
    cfg = _load(name)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(
        imports=['mmhornet'], allow_failed_imports=False)

    backbone = cfg.model.backbone
    assert backbone.type == 'mmhornet.HorNet'
    assert backbone.arch == v['arch']
    assert backbone.drop_path_rate == v['drop_path']
    assert tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert backbone.gap_before_final_norm is False
    assert backbone.get('with_cp', False) is v['with_cp']
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=v['ckpt'])

    dim = v['dim']
    head = cfg.model.decode_head
    assert head.in_channels == [dim, 2 * dim, 4 * dim, 8 * dim]
    assert head.channels == 512 and head.num_classes == 150
    if v['head'] is None:
        assert head.type == 'UPerHead'
    else:
        assert head.type == 'HorUPerHead'
        assert head.gnconv_cfg == dict(order=2, mixer_cfg=v['head'])
        assert head.gnconv_fpn_convs is False
    aux = cfg.model.auxiliary_head
    assert aux.type == 'FCNHead' and aux.in_index == 2
    assert aux.in_channels == 4 * dim and aux.num_classes == 150
    assert aux.loss_decode.loss_weight == 0.4

    crop = (v['crop'], v['crop'])
    stride = {512: 341, 640: 426}[v['crop']]
    assert cfg.crop_size == crop
    assert cfg.model.data_preprocessor.size == crop
    assert cfg.model.test_cfg == dict(
        mode='slide', crop_size=crop, stride=(stride, stride))
    pipeline = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert pipeline['RandomCrop'].crop_size == crop
    assert pipeline['RandomResize'].scale == (4 * v['crop'], v['crop'])
    assert cfg.train_dataloader.batch_size == 2

    optim = cfg.optim_wrapper
    assert optim.type == 'OptimWrapper'
    assert optim.constructor == \
        'mmhornet.LayerDecayOptimWrapperConstructor'
    assert optim.optimizer == dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert optim.paramwise_cfg == dict(
        decay_rate=v['decay'][0],
        decay_type='stage_wise',
        num_layers=v['decay'][1])
    if v['clip'] is None:
        assert optim.get('clip_grad') is None
    else:
        assert optim.clip_grad == dict(max_norm=v['clip'], norm_type=2)

    warmup, poly = cfg.param_scheduler
    assert warmup == dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500)
    assert poly == dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=160000)
    assert cfg.train_cfg.max_iters == 160000


def test_default_model_is_the_official_size():
    """The default entry point builds at full size through mmseg's registry
    with the official HorNet-T (GF) UPerNet's parameter count (55M, as the
    metafile has it)."""
    register_all_modules()
    cfg = _load('hornet_upernet.py')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'EncoderDecoder'
    assert isinstance(model.backbone, HorNet)
    assert [len(s) for s in model.backbone.stages] == [2, 3, 18, 2]
    num_params = sum(p.numel() for p in model.parameters())
    published = METADATA['hornet_upernet.py']['Parameters']
    assert abs(num_params - published) < 0.5e6, (num_params, published)


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_build(name):
    """Build through mmseg's registry with the config's own optimizer
    wrapper. Widths, orders and mixers as configured, but one block per
    stage and 64-channel heads: full size costs minutes of init on a CPU."""
    v = VARIANTS[name]
    register_all_modules()
    cfg = _load(name)
    cfg.model.backbone.init_cfg = None
    arch = resolve_arch(cfg.model.backbone.arch)
    arch['depths'] = [1, 1, 1, 1]
    cfg.model.backbone.arch = arch
    cfg.model.decode_head.channels = 64
    cfg.model.auxiliary_head.channels = 64
    model = MODELS.build(cfg.model)
    backbone = model.backbone
    assert isinstance(backbone, HorNet)
    assert backbone.dims == model.decode_head.in_channels
    assert backbone.with_cp is v['with_cp']
    filters = [
        type(backbone.stages[i][0].gnconv.dwconv).__name__ for i in range(4)
    ]
    if v['gf']:
        assert filters[:2] == ['Conv2d', 'Conv2d']
        assert backbone.stages[2][0].gnconv.dwconv.complex_weight.shape[
            1:3] == (24, 13)
        assert backbone.stages[3][0].gnconv.dwconv.complex_weight.shape[
            1:3] == (12, 7)
    else:
        assert filters == ['Conv2d'] * 4
    if v['head'] is not None:
        assert isinstance(model.decode_head, HorUPerHead)
        bottleneck = model.decode_head.fpn_bottleneck
        assert isinstance(bottleneck, GnConvModule)
        assert isinstance(bottleneck.dwconv,
                          GlobalLocalFilter) is (v['head']['type'] == 'GF')

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    rate, num_layers = v['decay']
    lr_of = {}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = group['lr']
    params = dict(model.named_parameters())

    def lr(name):
        return lr_of[id(params[name])]

    # Stage-wise ids: downsample layers 0, stage i -> i + 1, the rest last.
    assert lr('backbone.downsample_layers.0.0.weight') == pytest.approx(
        1e-4 * rate**(num_layers + 1))
    assert lr('backbone.stages.3.0.pwconv1.weight') == pytest.approx(
        1e-4 * rate**(num_layers + 2 - 4 - 1))
    assert lr('decode_head.conv_seg.weight') == pytest.approx(1e-4)
    if v['clip'] is not None:
        assert optim_wrapper.clip_grad_kwargs == dict(
            max_norm=v['clip'], norm_type=2)
