"""A small HorNet ImageClassifier through mmpretrain, built from the
ImageNet HorNet-T (GF) config with tiny widths."""
import copy
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from mmpretrain.utils import register_all_modules

from mmhornet.layers import GlobalLocalFilter
from mmhornet.models import HorNet
from .helpers import CONFIG_DIR, tiny_arch

CONFIG = osp.join(CONFIG_DIR, 'imagenet', 'hornet-tiny-gf_32xb128_in1k.py')
NUM_CLASSES = 10
TINY = tiny_arch()


def _build():
    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    model_cfg = copy.deepcopy(cfg.model)
    # As mmengine's Runner does: the dataset's preprocessor goes to the model.
    model_cfg.data_preprocessor = copy.deepcopy(cfg.data_preprocessor)
    model_cfg.data_preprocessor.num_classes = NUM_CLASSES
    model_cfg.backbone.arch = TINY
    model_cfg.head.update(in_channels=128, num_classes=NUM_CLASSES)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return cfg, model


def _data(n=4, size=(64, 64)):
    return dict(
        inputs=[
            torch.randint(0, 256, (3, ) + size, dtype=torch.uint8)
            for _ in range(n)
        ],
        data_samples=[
            DataSample().set_gt_label(i % NUM_CLASSES) for i in range(n)
        ])


def test_model_is_built_from_the_config():
    _, model = _build()
    assert type(model).__name__ == 'ImageClassifier'
    assert isinstance(model.backbone, HorNet)
    assert model.backbone.gap_before_final_norm
    assert model.backbone.out_indices == [3]
    assert isinstance(model.backbone.stages[3][0].gnconv.dwconv,
                      GlobalLocalFilter)
    assert model.head.fc.weight.shape == (NUM_CLASSES, 128)
    # The classifier's init_cfg reaches mmhornet's layer scales.
    gammas = [p for n, p in model.named_parameters() if '.gamma1.' in n]
    assert gammas and all(torch.all(g == 1e-6) for g in gammas)


def test_train_step():
    cfg, model = _build()
    model.train()
    # Mixup / CutMix from the config, so the targets are soft.
    data = model.data_preprocessor(_data(), True)
    assert data['data_samples'][0].gt_score.shape == (NUM_CLASSES, )
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss'}
    assert torch.isfinite(losses['loss']) and losses['loss'] > 0
    losses['loss'].backward()
    stem = model.backbone.downsample_layers[0][0].weight.grad
    assert stem is not None and torch.isfinite(stem).all()
    assert stem.abs().sum() > 0
    gf = model.backbone.stages[2][0].gnconv.dwconv.complex_weight.grad
    assert gf is not None and gf.abs().sum() > 0

    model.zero_grad()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.head.fc.weight.detach().clone()
    log_vars = model.train_step(_data(), optim_wrapper)
    assert torch.isfinite(torch.as_tensor(log_vars['loss']).detach())
    assert not torch.equal(model.head.fc.weight.detach(), before)


def test_predict_step():
    _, model = _build()
    model.eval()
    with torch.no_grad():
        results = model.test_step(_data(n=2, size=(72, 96)))
    assert len(results) == 2
    for result in results:
        assert isinstance(result, DataSample)
        assert result.pred_score.shape == (NUM_CLASSES, )
        torch.testing.assert_close(result.pred_score.sum(), torch.tensor(1.0))
        assert int(result.pred_label) == int(result.pred_score.argmax())
