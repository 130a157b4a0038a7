import hashlib
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from pycocotools import mask as mask_utils

from mmhornet.demo import (DEMO_CLASSES, DEMO_PALETTE, DEMO_SEG_CLASSES,
                           DEMO_SEG_PALETTE, generate_demo_data)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
# Small and fast: objects are capped at 0.45 of the shorter side, so they are
# 40-57 px here.
SMALL = dict(num_train=6, num_val=3, min_size=128, max_size=160)
SPLITS = (('train', 'training'), ('val', 'validation'))


def _hashes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path,
                                root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _mtimes(root):
    return {
        osp.join(d, n): os.stat(osp.join(d, n)).st_mtime_ns
        for d, _, files in os.walk(root)
        for n in files
    }


def _shoelace(flat):
    x, y = np.asarray(flat, float).reshape(-1, 2).T
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def _load_json(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    return generate_demo_data(str(out), seed=0, progress=False, **SMALL)


def test_layout(demo):
    assert demo['generated']
    meta = _load_json(demo['meta'])
    assert meta['settings'] == dict(seed=0, **SMALL)
    assert meta['seg_classes'] == list(DEMO_SEG_CLASSES)
    assert DEMO_SEG_CLASSES == ('background', ) + DEMO_CLASSES
    assert len(DEMO_PALETTE) == len(DEMO_CLASSES)
    assert len(DEMO_SEG_PALETTE) == len(DEMO_SEG_CLASSES)
    # The demo configs name the generator's classes and colours.
    det = Config.fromfile(
        osp.join(CONFIGS, 'demo',
                 'cascade-mask-rcnn_hornet-demo_horfpn_demo.py'))
    seg = Config.fromfile(
        osp.join(CONFIGS, 'demo', 'upernet_hornet-demo_demo.py'))
    assert det.metainfo == dict(classes=DEMO_CLASSES, palette=DEMO_PALETTE)
    assert det.model.roi_head.mask_head.num_classes == len(DEMO_CLASSES)
    assert seg.train_dataloader.dataset.metainfo == dict(
        classes=DEMO_SEG_CLASSES, palette=DEMO_SEG_PALETTE)
    assert seg.model.decode_head.num_classes == len(DEMO_SEG_CLASSES)
    assert not osp.exists(osp.join(demo['root'], '.generating'))
    for split, ade_split in SPLITS:
        num = SMALL[f'num_{split}']
        stems = [f'demo_{split}_{i:06d}' for i in range(num)]
        assert sorted(os.listdir(
            demo[f'coco_{split}_img'])) == [s + '.jpg' for s in stems]
        assert sorted(os.listdir(
            demo[f'ade_{split}_img'])) == [s + '.jpg' for s in stems]
        assert sorted(os.listdir(
            demo[f'ade_{split}_ann'])) == [s + '.png' for s in stems]
        assert demo[f'ade_{split}_ann'].endswith(
            osp.join('ade', 'annotations', ade_split))


def test_deterministic(demo, tmp_path):
    again = generate_demo_data(
        str(tmp_path / 'again'), seed=0, progress=False, **SMALL)
    first, second = _hashes(demo['root']), _hashes(again['root'])
    assert len(first) == 1 + 2 + 3 * (SMALL['num_train'] + SMALL['num_val'])
    assert first == second

    other = _hashes(
        generate_demo_data(
            str(tmp_path / 'other'), seed=1, progress=False, **SMALL)['root'])
    assert other.keys() == first.keys()
    images = [k for k in first if k.endswith('.jpg')]
    assert all(other[k] != first[k] for k in images)


def test_validation_split_independent_of_train_count(demo, tmp_path):
    more = generate_demo_data(
        str(tmp_path / 'more'),
        seed=0,
        progress=False,
        **dict(SMALL, num_train=SMALL['num_train'] + 2))
    for name in os.listdir(demo['coco_val_img']):
        assert _hashes(demo['coco_val_img'])[name] == _hashes(
            more['coco_val_img'])[name]


@pytest.mark.parametrize('split,ade_split', SPLITS)
def test_annotations_match_pixels(demo, split, ade_split):
    coco = _load_json(demo[f'coco_{split}_ann'])
    assert coco['categories'] == [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(DEMO_CLASSES)
    ]
    assert len(coco['images']) == SMALL[f'num_{split}']
    ann_ids = [a['id'] for a in coco['annotations']]
    assert len(set(ann_ids)) == len(ann_ids)

    for info in coco['images']:
        h, w = info['height'], info['width']
        assert SMALL['min_size'] <= min(h, w) <= max(h, w) <= SMALL['max_size']
        img = cv2.imread(
            osp.join(demo[f'coco_{split}_img'], info['file_name']))
        assert img.shape == (h, w, 3)
        stem = osp.splitext(info['file_name'])[0]
        seg = cv2.imread(
            osp.join(demo[f'ade_{split}_ann'], stem + '.png'),
            cv2.IMREAD_UNCHANGED)
        assert seg.shape == (h, w) and seg.dtype == np.uint8
        # 0 is never written: 1 is background, 2..7 the classes.
        assert set(np.unique(seg).tolist()) <= set(
            range(1,
                  len(DEMO_CLASSES) + 2))

        anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
        assert anns, 'every image has at least one object'
        union = np.zeros((len(DEMO_CLASSES), h, w), bool)
        taken = np.zeros((h, w), int)
        for ann in anns:
            assert ann['iscrowd'] == 0
            polygons = ann['segmentation']
            assert polygons and all(
                len(p) >= 6 and len(p) % 2 == 0 for p in polygons)
            mask = mask_utils.decode(
                mask_utils.merge(mask_utils.frPyObjects(polygons, h,
                                                        w))).astype(bool)
            # The polygons run along pixel edges, so pycocotools gives back
            # the visible mask exactly; the 1% slack only keeps the test from
            # depending on the rasteriser's rounding. mmdet's PolygonMasks
            # measures the polygons themselves (shoelace), which must agree.
            assert abs(int(mask.sum()) - ann['area']) <= max(
                2, 0.01 * ann['area'])
            assert sum(_shoelace(p) for p in polygons) == pytest.approx(
                ann['area'], rel=0.01)
            assert ann['area'] >= 200

            x, y, bw, bh = ann['bbox']
            ys, xs = np.nonzero(mask)
            # The mask lies inside its bbox and touches all four sides.
            assert (xs.min(), ys.min()) == (x, y)
            assert (xs.max() + 1, ys.max() + 1) == (x + bw, y + bh)

            label = ann['category_id'] - 1
            assert np.mean(seg[mask] == label + 2) >= 0.99
            union[label] |= mask
            taken += mask
        # Visible masks do not overlap, and together they are exactly the
        # object pixels of the label map.
        assert taken.max() == 1
        for label in range(len(DEMO_CLASSES)):
            truth = seg == label + 2
            inter = (truth & union[label]).sum()
            assert inter >= 0.99 * max(truth.sum(), union[label].sum())


def test_holes_are_kept():
    # Rings have holes; a filled-in hole would show up as an area mismatch
    # (checked above) and here as hole pixels inside the decoded mask.
    from mmhornet.demo.scenes import _mask_to_polygons
    canvas = np.zeros((40, 50), np.uint8)
    cv2.circle(canvas, (25, 20), 15, 1, -1)
    cv2.circle(canvas, (25, 20), 7, 0, -1)
    canvas[18:22, 2:6] = 1  # a second part
    mask = canvas.astype(bool)
    polygons = _mask_to_polygons(mask[1:, 1:], 1, 1)
    assert len(polygons) == 2
    decoded = mask_utils.decode(
        mask_utils.merge(mask_utils.frPyObjects(polygons, 40, 50)))
    assert np.array_equal(decoded.astype(bool), mask)
    assert sum(_shoelace(p) for p in polygons) == mask.sum()
    # The second part is a 4x4 block: its outline is its four corners.
    block = min(polygons, key=len)
    assert sorted(zip(block[::2], block[1::2])) == [(2, 18), (2, 22), (6, 18),
                                                    (6, 22)]


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(num_train=0), ValueError, 'num_train must be >= 1'),
    (dict(num_val=1.5), TypeError, 'num_val must be an int'),
    (dict(seed=-1), ValueError, 'seed must be >= 0'),
    (dict(min_size=64), ValueError, 'min_size must be >= 96'),
    (dict(min_size=300, max_size=200), ValueError, 'max_size .* >= min_size'),
    (dict(progress=True, num_train=True), TypeError, 'got bool'),
])
def test_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        generate_demo_data(str(tmp_path), **kwargs)
    assert not os.listdir(tmp_path)


def test_leaves_foreign_folders_alone(tmp_path):
    (tmp_path / 'coco').mkdir()
    (tmp_path / 'coco' / 'mine.txt').write_text('not demo data')
    with pytest.raises(FileExistsError, match='no meta.json'):
        generate_demo_data(str(tmp_path), progress=False, **SMALL)
    assert (tmp_path / 'coco' / 'mine.txt').exists()
    generate_demo_data(str(tmp_path), progress=False, force=True, **SMALL)
    assert not (tmp_path / 'coco' / 'mine.txt').exists()


def _load_cli():
    spec = importlib.util.spec_from_file_location(
        'make_demo_data', osp.join(REPO, 'tools', 'misc', 'make_demo_data.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_idempotent(tmp_path, capsys):
    cli = _load_cli()
    out = str(tmp_path / 'demo')
    argv = [
        '--out', out, '--seed', '3', '--num-train', '4', '--num-val', '2',
        '--min-size', '128', '--max-size', '140'
    ]
    cli.main(argv)
    assert 'Wrote demo data' in capsys.readouterr().out
    before = _mtimes(out)
    hashes = _hashes(out)

    cli.main(argv)
    assert 'already complete' in capsys.readouterr().out
    assert _mtimes(out) == before

    # Other settings regenerate, and leave no file of the old set behind.
    cli.main(argv[:-4] + ['--min-size', '128', '--max-size', '150'])
    assert 'Wrote demo data' in capsys.readouterr().out
    assert _hashes(out).keys() == hashes.keys()
    assert _hashes(out) != hashes

    cli.main(argv + ['--num-train', '2'])
    capsys.readouterr()
    assert len(os.listdir(osp.join(out, 'coco', 'train'))) == 2

    cli.main(argv)
    capsys.readouterr()
    assert _hashes(out) == hashes
    before = _mtimes(out)
    cli.main(argv + ['--force'])
    assert 'Wrote demo data' in capsys.readouterr().out
    assert _mtimes(out) != before
    assert _hashes(out) == hashes


def test_killed_run_is_redone(tmp_path, monkeypatch):
    from mmhornet.demo import scenes as demo_data
    render = demo_data._render_scene
    calls = []

    def render_then_die(*args):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return render(*args)

    out = str(tmp_path / 'demo')
    monkeypatch.setattr(demo_data, '_render_scene', render_then_die)
    with pytest.raises(KeyboardInterrupt):
        generate_demo_data(out, progress=False, **SMALL)
    assert not osp.exists(osp.join(out, 'meta.json'))
    assert len(os.listdir(osp.join(out, 'coco', 'train'))) == 3

    monkeypatch.setattr(demo_data, '_render_scene', render)
    assert generate_demo_data(out, progress=False, **SMALL)['generated']
    assert _hashes(out) == _hashes(
        generate_demo_data(str(tmp_path / 'clean'), progress=False,
                           **SMALL)['root'])


def test_generator_needs_no_mmdet_or_mmseg():
    code = ('import importlib.util, sys\n'
            f'spec = importlib.util.spec_from_file_location("scenes", '
            f'{osp.join(REPO, "mmhornet", "demo", "scenes.py")!r})\n'
            'module = importlib.util.module_from_spec(spec)\n'
            'spec.loader.exec_module(module)\n'
            'assert not {"mmdet", "mmseg", "mmcv"} & set(sys.modules), '
            'sorted(sys.modules)\n')
    subprocess.run([sys.executable, '-c', code], check=True)


def test_mmdet_coco_dataset_loads(demo):
    pytest.importorskip('mmcv')
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations

    for split, _ in SPLITS:
        coco = _load_json(demo[f'coco_{split}_ann'])
        dataset = CocoDataset(
            data_root=demo['coco_root'],
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img=f'{split}/'),
            metainfo=dict(classes=DEMO_CLASSES, palette=DEMO_PALETTE),
            pipeline=[],
            test_mode=False)
        with_anns = {a['image_id'] for a in coco['annotations']}
        assert len(dataset) == len(with_anns) == SMALL[f'num_{split}']
        load = LoadAnnotations(with_bbox=True, with_mask=True, poly2mask=True)
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            anns = [
                a for a in coco['annotations']
                if a['image_id'] == info['img_id']
            ]
            assert [inst['bbox_label'] for inst in info['instances']
                    ] == [a['category_id'] - 1 for a in anns]
            assert all(inst['ignore_flag'] == 0 for inst in info['instances'])
            assert osp.isfile(info['img_path'])

            results = load(
                dict(info, ori_shape=(info['height'], info['width'])))
            stem = osp.splitext(osp.basename(info['img_path']))[0]
            seg = cv2.imread(
                osp.join(demo[f'ade_{split}_ann'], stem + '.png'),
                cv2.IMREAD_UNCHANGED)
            masks = results['gt_masks'].to_ndarray().astype(bool)
            for mask, label in zip(masks, results['gt_bboxes_labels']):
                assert np.mean(seg[mask] == label + 2) >= 0.99


def test_mmseg_ade20k_dataset_loads(demo):
    pytest.importorskip('mmcv')
    from mmseg.datasets import ADE20KDataset, BaseSegDataset
    from mmseg.datasets.transforms import LoadAnnotations

    for split, ade_split in SPLITS:
        prefix = dict(
            img_path=f'images/{ade_split}',
            seg_map_path=f'annotations/{ade_split}')
        ade = ADE20KDataset(
            data_root=demo['ade_root'], data_prefix=prefix, pipeline=[])
        assert len(ade) == SMALL[f'num_{split}']
        assert all(
            osp.isfile(ade.get_data_info(i)['seg_map_path'])
            for i in range(len(ade)))

        # What the demo config uses: ADE20KDataset insists on its own class
        # names, its base class loads the same folders with ours.
        dataset = BaseSegDataset(
            data_root=demo['ade_root'],
            data_prefix=prefix,
            img_suffix='.jpg',
            seg_map_suffix='.png',
            reduce_zero_label=True,
            metainfo=dict(classes=DEMO_SEG_CLASSES, palette=DEMO_SEG_PALETTE),
            pipeline=[])
        assert len(dataset) == SMALL[f'num_{split}']
        assert dataset.metainfo['classes'] == DEMO_SEG_CLASSES
        seen = set()
        for i in range(len(dataset)):
            results = LoadAnnotations()(dataset.get_data_info(i))
            labels = set(np.unique(results['gt_seg_map']).tolist())
            # Nothing is ignored: background is class 0.
            assert labels <= set(range(len(DEMO_SEG_CLASSES)))
            assert 0 in labels
            seen |= labels
        assert len(seen) > 2
