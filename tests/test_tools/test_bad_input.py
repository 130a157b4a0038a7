"""Bad input gets a clear error naming what was wrong and what to do."""
import json

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from mmhornet.checkpoint import (CheckpointMismatchError,
                                 check_checkpoint_matches)
from mmhornet.utils import DataCheckError, check_dataset_files, check_json_file


def _cfg(root, ann='annotations/train.json', img='train/'):
    return Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='CocoDataset',
                    data_root=str(root),
                    ann_file=ann,
                    data_prefix=dict(img=img))),
            val_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    times=2,
                    dataset=dict(
                        type='CocoDataset',
                        data_root=str(root),
                        ann_file=ann,
                        data_prefix=dict(img=img))))))


@pytest.fixture
def coco_root(tmp_path):
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'train').mkdir()
    (tmp_path / 'annotations/train.json').write_text(
        json.dumps(dict(images=[], annotations=[], categories=[])))
    return tmp_path


def test_good_layout_passes(coco_root):
    checked = check_dataset_files(_cfg(coco_root))
    assert str(coco_root / 'annotations/train.json') in checked


def test_missing_data_root_names_it_and_how_to_get_data(tmp_path):
    with pytest.raises(
            DataCheckError,
            match=r"train_dataloader.dataset."
            r"data_root '.*nowhere' does not exist.*COCO under "
            r'data/coco/.*make_demo_data.py'):
        check_dataset_files(_cfg(tmp_path / 'nowhere'))


def test_missing_annotation_file(coco_root):
    with pytest.raises(
            DataCheckError,
            match=r"annotation file '.*"
            r"annotations/val.json' does not exist.*ADE20K"):
        check_dataset_files(_cfg(coco_root, ann='annotations/val.json'))


def test_missing_image_folder_through_a_wrapper(coco_root):
    cfg = _cfg(coco_root)
    cfg.val_dataloader.dataset.dataset.data_prefix.img = 'val/'
    with pytest.raises(
            DataCheckError,
            match=r"val_dataloader.dataset."
            r"data_prefix.img: folder '.*val/' does not exist"):
        check_dataset_files(cfg)


def test_truncated_json_names_file_and_parse_error(coco_root):
    path = coco_root / 'annotations/train.json'
    path.write_text('{"images": [{"id": 1, "file_name": "a.jpg"')
    with pytest.raises(
            DataCheckError,
            match=r"annotation file '.*train.json'"
            r" is not valid JSON: Expecting .* line 1, column"):
        check_dataset_files(_cfg(coco_root))


def test_big_json_truncation_check(tmp_path, monkeypatch):
    import mmhornet.utils.data_check as dc
    monkeypatch.setattr(dc, 'FULL_PARSE_BYTES', 10)
    path = tmp_path / 'big.json'
    path.write_text('{"images": [1, 2, 3], "annotations": [')
    with pytest.raises(DataCheckError, match='looks truncated'):
        check_json_file(str(path))
    path.write_text('{"images": [1, 2, 3]}\n')
    check_json_file(str(path))


def test_checkpoint_of_another_arch_lists_keys():
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
    other = nn.Sequential(nn.Linear(4, 16), nn.Linear(16, 2)).state_dict()
    with pytest.raises(
            CheckpointMismatchError,
            match=r"another architecture: 3 tensors "
            r"differ in shape:\n  0.weight: checkpoint \(16, 4\) "
            r'vs model \(8, 4\)'):
        check_checkpoint_matches(model, other)
    with pytest.raises(
            CheckpointMismatchError, match='shares no parameter names'):
        check_checkpoint_matches(model, {'x.weight': torch.zeros(1)})
    check_checkpoint_matches(model, {
        'module.' + k: v
        for k, v in model.state_dict().items()
    })
