"""Every COCO config loads, builds its detector through mmdet's registry (no
weights loaded) and its optimizer wrapper, and carries the recipe's
numbers."""
import copy
import functools
from pathlib import Path

import pytest
import torch
from mmengine import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings

from mmhornet.layers import GlobalLocalFilter, GnConv
from mmhornet.models import HorNet
from .hosts import host_config, without_scope
from .metafiles import recipes

CONFIG_DIR = Path(__file__).parents[2] / 'configs' / 'coco'
#: The g^nConv mixer of each HorFPN (its GF filter sized for the p2 map of
#: 800x1333 inputs).
HORFPN_MIXERS = {
    'HorFPN (7x7)': dict(type='DW', kernel_size=7),
    'HorFPN (GF)': dict(type='GF', h=32, w=17),
}


def _recipe(meta):
    """A metafile entry's Metadata in the names the tests use."""
    recipe = dict(
        arch=meta['Backbone'],
        dpr=meta['Drop Path'],
        lr=meta['Learning Rate'],
        epochs=meta['Epochs'],
        milestones=meta['Milestones'],
        ckpt=meta['Pretrained'],
        neck=meta['Neck'].split(' ')[0])
    if 'Layer Decay' in meta:
        recipe.update(
            decay=meta['Layer Decay'], num_layers=meta['Layer Decay Layers'])
    if meta['Neck'] in HORFPN_MIXERS:
        recipe['mixer'] = HORFPN_MIXERS[meta['Neck']]
    return recipe


RECIPES = {name: _recipe(meta) for name, meta in recipes('coco').items()}
WIDTHS = {'tiny': 64, 'small': 96, 'base': 128, 'large': 192}


@functools.lru_cache(maxsize=None)
def _load_cached(name):
    return Config.fromfile(str(CONFIG_DIR / name))


def _load(name):
    return copy.deepcopy(_load_cached(name))


def test_every_config_has_a_metafile_entry():
    assert sorted(p.name for p in CONFIG_DIR.glob('*.py')) == \
        sorted(RECIPES)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_config_recipe(name):
    cfg = _load(name)
    expect = RECIPES[name]
    assert cfg.custom_imports == dict(
        imports=['mmhornet'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmdet'
    backbone = cfg.model.backbone
    assert backbone.type == 'mmhornet.HorNet'
    assert backbone.arch == expect['arch']
    assert backbone.get('drop_path_rate', 0.) == expect['dpr']
    assert tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert backbone.gap_before_final_norm is False
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=expect['ckpt'])
    width = WIDTHS[expect['arch'].split('-')[0]]
    assert cfg.model.neck.in_channels == [width * 2**i for i in range(4)]
    assert cfg.model.neck.type == expect['neck']
    if 'mixer' in expect:
        assert cfg.model.neck.gnconv_cfg == dict(
            order=2, mixer_cfg=expect['mixer'], scale=1.0, proj_out=True)

    assert cfg.optim_wrapper.optimizer.lr == expect['lr']
    assert cfg.train_cfg.max_epochs == expect['epochs']
    warmup, steps = cfg.param_scheduler
    assert steps.type == 'MultiStepLR' and \
        steps.milestones == expect['milestones'] and \
        steps.end == expect['epochs']
    assert warmup.type == 'LinearLR' and warmup.start_factor == 0.001 and \
        warmup.end == 500 and warmup.by_epoch is False
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=16)
    assert cfg.train_dataloader.batch_size == 2
    if name.endswith('swap-backbone.py'):
        return

    assert cfg.optim_wrapper.constructor == \
        'mmhornet.LayerDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg == dict(
        decay_rate=expect['decay'],
        decay_type='layer_wise',
        num_layers=expect['num_layers'])
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'AdamW' and optimizer.betas == (0.9, 0.999) \
        and optimizer.weight_decay == 0.05 and 'momentum' not in optimizer
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomFlip', 'RandomChoice',
        'PackDetInputs'
    ]
    scales, crop = pipeline[3].transforms
    assert [t.type for t in scales] == ['RandomChoiceResize']
    assert [s[0] for s in scales[0].scales] == list(range(480, 801, 32))
    assert all(s[1] == 1333 for s in scales[0].scales)
    assert [t.type for t in crop
            ] == ['RandomChoiceResize', 'RandomCrop', 'RandomChoiceResize']
    assert crop[1].crop_type == 'absolute_range' and \
        tuple(crop[1].crop_size) == (384, 600)
    if name.startswith('cascade') or name == 'hornet_cascade.py':
        heads = cfg.model.roi_head.bbox_head
        assert len(heads) == 3
        for head, stds in zip(heads,
                              ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                               [0.033, 0.033, 0.067, 0.067])):
            assert head.type == 'ConvFCBBoxHead'
            assert (head.num_shared_convs, head.num_shared_fcs) == (4, 1)
            assert head.norm_cfg == dict(type='SyncBN', requires_grad=True)
            assert head.loss_bbox == dict(type='GIoULoss', loss_weight=10.0)
            assert head.reg_decoded_bbox is True
            assert head.bbox_coder.target_stds == stds


def test_swap_backbone_changes_only_the_backbone():
    ours = _load('mask-rcnn_hornet-t_fpn_1x_coco_swap-backbone.py').to_dict()
    host = host_config('mmdet',
                       'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py').to_dict()
    ours_backbone_weights = ours['model']['backbone']['init_cfg']['checkpoint']
    for cfg in (ours, host):
        del cfg['model']['backbone']
        del cfg['model']['neck']['in_channels']
    assert ours.pop('custom_imports')['imports'] == ['mmhornet']
    assert ours.pop('runner_type') == 'mmhornet.MMHornetRunner'
    assert ours.pop('checkpoint') == ours_backbone_weights
    assert without_scope(ours) == without_scope(host)


@pytest.fixture(scope='module')
def mmdet_models():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return MODELS


def _build(name, mmdet_models):
    cfg = _load(name)
    import_modules_from_strings(**cfg.custom_imports)
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = mmdet_models.build(cfg.model)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim_wrapper


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_config_builds(name, mmdet_models):
    model, optim_wrapper = _build(name, mmdet_models)
    backbone = model.backbone
    assert type(backbone) is HorNet
    gf = [m for m in backbone.modules() if isinstance(m, GlobalLocalFilter)]
    arch = RECIPES[name]['arch']
    assert bool(gf) == ('gf' in arch)
    if arch == 'large-gf384':
        assert {tuple(m.complex_weight.shape[1:3]) for m in gf} == \
            {(24, 13), (12, 7)}
    # The neck reads the backbone's widths.
    assert [m.conv.in_channels for m in model.neck.lateral_convs] == \
        backbone.dims
    if RECIPES[name]['neck'] == 'HorFPN':
        assert all(isinstance(m, GnConv) for m in model.neck.fpn_convs)

    groups = optim_wrapper.optimizer.param_groups
    assert sum(len(g['params']) for g in groups) == \
        sum(1 for p in model.parameters() if p.requires_grad)
    lr = RECIPES[name]['lr']
    assert max(g['lr'] for g in groups) == pytest.approx(lr)
    if 'decay' in RECIPES[name]:
        stem_weight = model.backbone.downsample_layers[0][0].weight
        stem = next(
            g for g in groups if any(p is stem_weight for p in g['params']))
        expect = RECIPES[name]['decay']**(RECIPES[name]['num_layers'] + 1)
        assert stem['lr'] == pytest.approx(lr * expect)


def test_horfpn_gf_config_runs(mmdet_models):
    model, _ = _build('mask-rcnn_hornet-s_horfpn-gf_1x_coco.py', mmdet_models)
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 64, 96))
    assert [tuple(f.shape)
            for f in feats] == [(1, 256, 64 // s, 96 // s)
                                for s in (4, 8, 16, 32)] + [(1, 256, 1, 2)]
    assert all(torch.isfinite(f).all() for f in feats)


def test_missing_weights_say_how_to_train_from_scratch(tmp_path):
    backbone = HorNet(
        _load('hornet_cascade.py').model.backbone.arch,
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'no.pth')))
    with pytest.raises(
            FileNotFoundError,
            match='--cfg-options model.backbone.init_cfg=None'):
        backbone.init_weights()
