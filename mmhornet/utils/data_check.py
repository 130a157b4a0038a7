"""Checks that turn bad input into clear errors before a run starts.

mmdet / mmseg report a missing data root or annotation file, or a truncated
JSON, deep inside the dataloader (pycocotools' ``json.load`` names no file).
These checks name the file and say what to do.
"""
import json
import os.path as osp
from typing import Iterator, List, Optional, Sequence

DATA_HELP = (
    'Get the data and lay it out as the config expects: COCO under '
    'data/coco/ (annotations/instances_{train,val}2017.json, train2017/, '
    'val2017/; cocodataset.org); ADE20K under data/ade/ADEChallengeData2016/ '
    '(images/ and annotations/, each with training/ and validation/); the '
    'built-in demo data with `python tools/misc/make_demo_data.py --out '
    'data/demo`. Or point the config at your copy, e.g. --cfg-options '
    'train_dataloader.dataset.data_root=/path/to/data/')

# A JSON file up to this size is parsed in full before training; bigger ones
# (COCO train: ~450 MB) only get the cheap truncation check.
FULL_PARSE_BYTES = 64 * 2**20


class DataCheckError(ValueError):
    """A dataset path or file a config names is missing or malformed."""


def _datasets(cfg) -> Iterator[dict]:
    """Dataset dicts in a dataset config, through wrappers
    (``dataset=``, ``datasets=[...]``)."""
    if not isinstance(cfg, dict):
        return
    if 'dataset' in cfg:
        yield from _datasets(cfg['dataset'])
    elif 'datasets' in cfg:
        for sub in cfg['datasets']:
            yield from _datasets(sub)
    else:
        yield cfg


def _join(root: Optional[str], path: str) -> str:
    if root and not osp.isabs(path) and '://' not in path:
        return osp.join(root, path)
    return path


def check_json_file(path: str) -> None:
    """Raise :class:`DataCheckError` if ``path`` is not whole, valid JSON."""
    size = osp.getsize(path)
    if size == 0:
        raise DataCheckError(f'annotation file {path!r} is empty.')
    if size <= FULL_PARSE_BYTES:
        try:
            with open(path, 'rb') as f:
                json.load(f)
        except json.JSONDecodeError as e:
            raise DataCheckError(
                f'annotation file {path!r} is not valid JSON: {e.msg} at '
                f'line {e.lineno}, column {e.colno} (char {e.pos} of '
                f'{size} bytes). Re-download or regenerate it.') from e
        except UnicodeDecodeError as e:
            raise DataCheckError(
                f'annotation file {path!r} is not UTF-8 JSON: {e}') from e
        return
    with open(path, 'rb') as f:
        head = f.read(64).lstrip()
        f.seek(max(0, size - 64))
        tail = f.read().rstrip()
    if not (head[:1] in (b'{', b'[') and tail[-1:] in (b'}', b']')):
        raise DataCheckError(
            f'annotation file {path!r} looks truncated or is not JSON (it '
            f'does not begin with {{ and end with }}). Re-download it.')


def check_dataset_files(
    cfg, splits: Sequence[str] = ('train', 'val')) -> List[str]:
    """Check the data roots, annotation files and image folders of a config.

    Args:
        cfg (Config): A runner config.
        splits (Sequence[str]): Which ``{split}_dataloader`` s to check.

    Returns:
        list[str]: the files and folders checked.

    Raises:
        DataCheckError: the first missing or malformed one, with the path and
        how to get the data.
    """
    checked = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for ds in _datasets(loader.get('dataset')):
            root = ds.get('data_root')
            where = f'{split}_dataloader.dataset'
            if root and '://' not in root:
                if not osp.isdir(root):
                    raise DataCheckError(
                        f'{where}.data_root {root!r} does not exist. '
                        f'{DATA_HELP}')
                checked.append(root)
            ann = ds.get('ann_file')
            if ann:
                path = _join(root, ann)
                if '://' in path:
                    continue
                if not osp.isfile(path):
                    raise DataCheckError(
                        f'{where}.ann_file: annotation file {path!r} does '
                        f'not exist. {DATA_HELP}')
                if path.endswith('.json'):
                    check_json_file(path)
                checked.append(path)
            prefix = ds.get('data_prefix') or {}
            for key in ('img', 'img_path', 'seg_map_path'):
                if prefix.get(key):
                    folder = _join(root, prefix[key])
                    if '://' not in folder and not osp.isdir(folder):
                        raise DataCheckError(
                            f'{where}.data_prefix.{key}: folder {folder!r} '
                            f'does not exist. {DATA_HELP}')
                    checked.append(folder)
    return checked
