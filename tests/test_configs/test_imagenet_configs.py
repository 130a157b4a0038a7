"""Every ImageNet config loads, builds through mmpretrain's registry, carries
the official HorNet recipe, and takes mmpretrain's HorNet checkpoints as
they are."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS
from mmpretrain.utils import register_all_modules

from mmhornet.models import HorNet, resolve_arch
from .metafiles import recipes

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'imagenet')
WIDTHS = {'tiny': 64, 'small': 96, 'base': 128}


def _variant(name, meta):
    """(arch, width, drop path, clip max_norm, RandAugment magnitude,
    mmpretrain's config of the same model) from a metafile entry."""
    arch = meta['Backbone']
    batch = 128 if arch.startswith('tiny') else 64
    return (arch, WIDTHS[arch.split('-')[0]], meta['Drop Path'],
            meta['Grad Clip'], meta['RandAugment Magnitude'],
            f'hornet-{arch}_8xb{batch}_in1k.py')


VARIANTS = {
    name: _variant(name, meta)
    for name, meta in recipes('imagenet').items()
}


def _load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def test_every_config_is_checked():
    names = {osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py'))}
    assert names == set(VARIANTS)


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_recipe(name):
    arch, dim, drop_path, clip, magnitude, theirs = VARIANTS[name]
    cfg = _load(name)
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports == dict(
        imports=['mmhornet'], allow_failed_imports=False)

    model = cfg.model
    assert model.type == 'ImageClassifier'
    assert model.backbone == dict(
        type='mmhornet.HorNet', arch=arch, drop_path_rate=drop_path)
    assert model.head.type == 'LinearClsHead'
    assert model.head.num_classes == 1000 and model.head.in_channels == \
        8 * dim
    assert model.head.loss == dict(
        type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')
    assert model.train_cfg.augments == [
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]

    # 32 GPUs x 128 = 4096, the batch the lr is for.
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.auto_scale_lr.base_batch_size == 4096
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW'
    assert optim.optimizer.lr == 4e-3
    assert optim.optimizer.weight_decay == 0.05
    assert optim.paramwise_cfg == dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0)
    assert optim.clip_grad == dict(max_norm=clip)

    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.by_epoch
    assert warmup.end == 20 and warmup.convert_to_iter_based
    assert cosine == dict(
        type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=20)
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.custom_hooks == [
        dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')
    ]

    pipeline = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    rand = pipeline['RandAugment']
    assert rand.policies == 'timm_increasing'
    assert rand.magnitude_level == magnitude
    assert rand.magnitude_std == 0.5 and rand.num_policies == 2
    assert pipeline['RandomErasing'].erase_prob == 0.25
    # Apart from the magnitude, mmpretrain's HorNet train pipeline.
    reference = copy.deepcopy(
        get_config(f'mmpretrain::hornet/{theirs}').train_pipeline)
    for t in reference:
        if t['type'] == 'RandAugment':
            t['magnitude_level'] = magnitude
    assert cfg.train_dataloader.dataset.pipeline == reference
    assert cfg.val_dataloader.dataset.pipeline == get_config(
        f'mmpretrain::hornet/{theirs}').test_pipeline


def _randomize(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Layer scales of 1e-6 would hide the blocks.
            if 'gamma' in name:
                p.copy_(torch.rand_like(p) * 0.5 + 0.25)
            elif p.ndim == 1:
                p.add_(torch.randn_like(p) * 0.1)


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_loads_mmpretrain_checkpoint(name, tmp_path):
    """A checkpoint saved from mmpretrain's own HorNet classifier loads
    strictly into the model built from our config (as ``load_from`` does for
    mmpretrain's published weights), and both give the same logits.

    HorNet-T (GF) at full size; the others with 1, 1, 3, 1 blocks (each
    library's own preset otherwise), as full size costs minutes on a CPU and
    the names repeat per block.
    """
    arch, _, _, _, _, theirs = VARIANTS[name]
    register_all_modules()
    ref_cfg = get_config(f'mmpretrain::hornet/{theirs}').model
    assert ref_cfg.backbone.type == 'HorNet'  # mmpretrain's own
    cfg = _load(name)
    if arch != 'tiny-gf':
        from mmpretrain.models.backbones import HorNet as MMPretrainHorNet
        ref_arch = copy.deepcopy(MMPretrainHorNet.arch_zoo[arch])
        ref_arch['depths'] = [1, 1, 3, 1]
        ref_cfg.backbone.arch = ref_arch
        our_arch = resolve_arch(arch)
        our_arch['depths'] = [1, 1, 3, 1]
        cfg.model.backbone.arch = our_arch
    ref = MODELS.build(ref_cfg)
    assert type(ref.backbone).__module__.startswith('mmpretrain.')
    _randomize(ref)
    path = str(tmp_path / 'mmpretrain_hornet.pth')
    torch.save(dict(state_dict=ref.state_dict(), meta=dict()), path)

    ours = MODELS.build(cfg.model)
    assert isinstance(ours.backbone, HorNet)
    assert set(ours.state_dict()) == set(ref.state_dict())
    load_checkpoint(ours, path, map_location='cpu', strict=True)

    ref.eval()
    ours.eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected = ref(x, mode='tensor')
        got = ours(x, mode='tensor')
    assert got.shape == (1, 1000)
    err = ((got - expected).abs().max() / expected.abs().max()).item()
    assert err < 1e-4, err
