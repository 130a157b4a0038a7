"""The hosts' inference APIs with mmhornet configs, and ``tools/infer.py``:
each predicts on a demo image with a saved checkpoint and draws it."""
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmhornet.analysis import build_from_config
from .helpers import load_tool

CONFIGS = {
    'mmdet': 'configs/demo/cascade-mask-rcnn_hornet-demo_horfpn_demo.py',
    'mmseg': 'configs/demo/upernet_hornet-demo_demo.py',
    'mmpretrain': 'configs/imagenet/hornet-tiny_32xb128_in1k.py',
}


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """A checkpoint of each config's model as built (random weights), with
    the dataset meta a trained one carries."""
    folder = tmp_path_factory.mktemp('ckpts')
    paths = {}
    for host, config in CONFIGS.items():
        cfg = Config.fromfile(config)
        model = build_from_config(cfg, host)
        meta = cfg.train_dataloader.dataset.get('metainfo') or dict(
            classes=[f'class{i}' for i in range(1000)])
        path = str(folder / f'{host}.pth')
        torch.save(
            dict(
                state_dict=model.state_dict(),
                meta=dict(dataset_meta=dict(meta))), path)
        paths[host] = path
    return paths


def image(data, host):
    split = data['coco_val_img'] if host == 'mmdet' else data['ade_val_img']
    return osp.join(split, sorted(os.listdir(split))[0])


@pytest.mark.slow
def test_mmdet_apis(tmp_path, checkpoints, small_demo_data):
    from mmdet.apis import DetInferencer, inference_detector, init_detector
    img = image(small_demo_data, 'mmdet')
    result = DetInferencer(
        model=CONFIGS['mmdet'],
        weights=checkpoints['mmdet'],
        device='cpu',
        show_progress=False)(
            img, out_dir=str(tmp_path), pred_score_thr=0.)
    (pred, ) = result['predictions']
    assert len(pred['labels']) == len(pred['scores']) == len(pred['bboxes'])
    assert len(pred['labels']) > 0 and 'masks' in pred
    assert (tmp_path / 'vis' / osp.basename(img)).stat().st_size > 1000

    model = init_detector(CONFIGS['mmdet'], checkpoints['mmdet'], device='cpu')
    assert model.dataset_meta['classes'][0] == 'disk'
    sample = inference_detector(model, img)
    assert sample.pred_instances.masks.shape[-2:] == sample.ori_shape


@pytest.mark.slow
def test_mmseg_apis(tmp_path, checkpoints, small_demo_data):
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    img = image(small_demo_data, 'mmseg')
    result = MMSegInferencer(
        model=CONFIGS['mmseg'], weights=checkpoints['mmseg'], device='cpu')(
            img, out_dir=str(tmp_path))
    assert result['predictions'].ndim == 2
    assert result['predictions'].max() < 7
    assert (tmp_path / 'vis' / osp.basename(img)).stat().st_size > 1000

    model = init_model(CONFIGS['mmseg'], checkpoints['mmseg'], device='cpu')
    sample = inference_model(model, img)
    assert tuple(sample.pred_sem_seg.data.shape[-2:]) == sample.ori_shape


@pytest.mark.slow
def test_mmpretrain_apis(tmp_path, checkpoints, small_demo_data):
    from mmengine.registry import init_default_scope
    from mmpretrain import ImageClassificationInferencer, get_model

    # Its pipeline is built in the current default scope, which an mmdet or
    # mmseg run earlier in this process set.
    init_default_scope('mmpretrain')
    img = image(small_demo_data, 'mmseg')
    (result, ) = ImageClassificationInferencer(
        model=CONFIGS['mmpretrain'],
        pretrained=checkpoints['mmpretrain'],
        device='cpu')(
            img, show_dir=str(tmp_path))
    assert 0 <= result['pred_label'] < 1000
    assert len(result['pred_scores']) == 1000
    (picture, ) = tmp_path.iterdir()
    assert picture.stat().st_size > 1000

    model = get_model(
        CONFIGS['mmpretrain'],
        pretrained=checkpoints['mmpretrain'],
        device='cpu')
    assert type(model.backbone).__name__ == 'HorNet'


@pytest.mark.slow
@pytest.mark.parametrize('host', sorted(CONFIGS))
def test_infer_tool(tmp_path, checkpoints, small_demo_data, host, capsys):
    folder = osp.dirname(image(small_demo_data, host))
    load_tool('infer').main([
        folder, CONFIGS[host], '--weights', checkpoints[host], '--out-dir',
        str(tmp_path)
    ])
    assert f'{host}: 4 image(s)' in capsys.readouterr().out
    pictures = sorted((tmp_path / 'vis').iterdir())
    assert len(pictures) == 4
    assert all(p.stat().st_size > 1000 for p in pictures)
    preds = sorted((tmp_path / 'preds').iterdir())
    assert len(preds) == 4
    if host != 'mmseg':
        assert json.loads(preds[0].read_text())
