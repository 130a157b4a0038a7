"""A seeded generator of small synthetic scenes for mmhornet's ``make demo``.

The scenes stand in for COCO and ADE20K in a demo that trains a detector and a
segmenter for a few minutes on a CPU. Each image holds 1 to 6 objects of six
shape classes, each class with its own colour family and texture, drawn in
depth order (so they occlude one another, and cast a small shadow) over a
cluttered but low-saturation background of gradients, soft noise, lines and
blobs. Objects are 40-160 px across, rotated, with varied aspect ratios, and
may be cut by the image border. An object whose visible part after occlusion
is small (under 30% of itself or 200 px) is not drawn at all, so every object
pixel in an image belongs to an annotated instance.

==========  ==========================================  ===========
class       shape                                       texture
==========  ==========================================  ===========
disk        ellipse, aspect 0.7-1                       solid red
rectangle   rectangle, aspect 0.4-1                     blue stripes
triangle    irregular triangle                          green checker
star        five-pointed star                           yellow dots
ring        annulus (has a hole)                        purple gradient
cross       plus sign, arms 0.44-0.7 of its length      cyan grid
==========  ==========================================  ===========

Layout written under ``out_dir`` (``data/demo`` by default)::

    data/demo/
      meta.json                         settings + format version, written last
      coco/
        annotations/instances_train.json
        annotations/instances_val.json
        train/demo_train_000000.jpg ...
        val/demo_val_000000.jpg ...
      ade/
        images/training/demo_train_000000.jpg ...
        images/validation/demo_val_000000.jpg ...
        annotations/training/demo_train_000000.png ...
        annotations/validation/demo_val_000000.png ...

Both trees hold the same images (JPEG, quality 92). Image sizes are drawn
uniformly in ``[min_size, max_size]`` for width and height independently.

COCO (mmdet ``CocoDataset``): categories have ids ``1..6`` in
:data:`DEMO_CLASSES` order; each annotation's ``segmentation`` is one polygon
per connected part of the object's visible mask, along its pixel edges,
with holes (the ring's, or one cut by an object lying on top) joined to the
outline by a zero-width bridge, so pycocotools decodes it to exactly the
visible mask. ``bbox`` is the mask's extent, ``area`` its pixel count (also
the polygons' area), ``iscrowd`` 0. A config uses::

    data_root='data/demo/coco/',
    ann_file='annotations/instances_train.json',   # or instances_val.json
    data_prefix=dict(img='train/'),                 # or 'val/'
    metainfo=dict(classes=DEMO_CLASSES, palette=DEMO_PALETTE)

ADE20K-style segmentation: label maps are single-channel PNGs with
``1 = background`` and ``2..7 = DEMO_CLASSES``; ``0`` is never written. With
mmseg's ``reduce_zero_label=True`` (ADE20K's convention) these become
``0 = background`` and ``1..6 = DEMO_CLASSES``, i.e. background is a class the
model learns, as :data:`DEMO_SEG_CLASSES` lists; nothing is ignored. mmseg's
``ADE20KDataset`` reads the folders unchanged (``img_suffix='.jpg'``,
``seg_map_suffix='.png'`` are its defaults), but it refuses class names that
are not ADE20K's, so a config names its base class, which loads them the same
way::

    type='BaseSegDataset',
    data_root='data/demo/ade/',
    data_prefix=dict(img_path='images/training',          # or validation
                     seg_map_path='annotations/training'),
    img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=True,
    metainfo=dict(classes=DEMO_SEG_CLASSES, palette=DEMO_SEG_PALETTE)

and the decode heads use ``num_classes=7``.

Determinism: every image is drawn from its own ``numpy.random.Generator``
seeded with ``(seed, split, index)``, so the same settings give byte-identical
files on the same software stack (numpy's distributions, OpenCV's codecs),
and changing ``num_train`` does not change the validation images. JSON files
are written with sorted keys.
"""
import json
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar

__all__ = [
    'DEMO_CLASSES', 'DEMO_PALETTE', 'DEMO_SEG_CLASSES', 'DEMO_SEG_PALETTE',
    'generate_demo_data'
]

DEMO_CLASSES = ('disk', 'rectangle', 'triangle', 'star', 'ring', 'cross')
# RGB, as mmdet's and mmseg's visualizers expect.
DEMO_PALETTE = [(220, 40, 40), (40, 80, 220), (40, 170, 60), (240, 200, 20),
                (170, 40, 200), (20, 200, 200)]
DEMO_SEG_CLASSES = ('background', ) + DEMO_CLASSES
DEMO_SEG_PALETTE = [(120, 120, 120)] + DEMO_PALETTE

# Bump whenever the generator's output changes, so stale data is rebuilt.
FORMAT_VERSION = 1

JPEG_QUALITY = 92
# Label written for background in the seg maps; class i is written as i + 2.
SEG_BACKGROUND = 1

MIN_OBJECT_SIZE = 40
MAX_OBJECT_SIZE = 160
MAX_OBJECTS = 6
# An object is drawn only if this much of it stays visible (fraction of its
# in-image area, and pixels).
MIN_VISIBLE_FRACTION = 0.3
MIN_VISIBLE_AREA = 200
# Smallest image side that still fits an object of MIN_OBJECT_SIZE (objects
# are capped at 0.45 of the shorter side).
MIN_IMAGE_SIZE = 96

_SPLITS = (('train', 'training'), ('val', 'validation'))
_META_FILE = 'meta.json'
# Present while a generation runs; marks a folder as ours to clean up after a
# killed run.
_IN_PROGRESS_FILE = '.generating'


def _layout(out_dir: str) -> Dict[str, str]:
    """Paths of the generated dataset under ``out_dir``."""
    coco = osp.join(out_dir, 'coco')
    ade = osp.join(out_dir, 'ade')
    paths = dict(
        root=out_dir,
        meta=osp.join(out_dir, _META_FILE),
        coco_root=coco,
        ade_root=ade)
    for split, ade_split in _SPLITS:
        paths[f'coco_{split}_ann'] = osp.join(coco, 'annotations',
                                              f'instances_{split}.json')
        paths[f'coco_{split}_img'] = osp.join(coco, split)
        paths[f'ade_{split}_img'] = osp.join(ade, 'images', ade_split)
        paths[f'ade_{split}_ann'] = osp.join(ade, 'annotations', ade_split)
    return paths


def _stem(split: str, index: int) -> str:
    return f'demo_{split}_{index:06d}'


def _check_int(name: str, value, minimum: int) -> None:
    # bool is an int subclass, but `num_val=True` is surely a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f'{name} must be an int, got {type(value).__name__}')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')


# ---------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------


def _hsv_to_bgr(h: float, s: float, v: float) -> np.ndarray:
    """One OpenCV HSV colour (H in [0, 180)) as a float32 BGR triple."""
    hsv = np.array([[[h % 180, s, v]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _dull_colour(rng: np.random.Generator) -> np.ndarray:
    """A low-saturation colour for background and clutter.

    Objects are saturated (S >= 150), so clutter never passes for an object.
    """
    return _hsv_to_bgr(
        rng.uniform(0, 180), rng.uniform(0, 60), rng.uniform(60, 210))


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A cluttered background of shape (H, W, 3), float32 BGR."""
    # A linear gradient between two dull colours.
    phi = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = xs * np.cos(phi) + ys * np.sin(phi)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    c0, c1 = _dull_colour(rng), _dull_colour(rng)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]

    # Soft low-frequency mottling, like uneven lighting or a textured wall.
    grid = rng.normal(0, 1, (int(rng.integers(3, 9)), int(rng.integers(
        3, 9)), 3)).astype(np.float32)
    img += cv2.resize(
        grid,
        (w, h), interpolation=cv2.INTER_CUBIC) * float(rng.uniform(6, 18))

    # Translucent blobs.
    for _ in range(int(rng.integers(1, 6))):
        overlay = img.copy()
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(10, 80)), int(rng.integers(10, 80)))
        cv2.ellipse(overlay, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                    _dull_colour(rng).tolist(), -1, cv2.LINE_AA)
        alpha = float(rng.uniform(0.3, 0.7))
        img = cv2.addWeighted(overlay, alpha, img, 1 - alpha, 0)

    # Lines and polylines: thin, dull, a handful.
    for _ in range(int(rng.integers(2, 9))):
        pts = np.stack([rng.integers(0, w, 3), rng.integers(0, h, 3)], 1)
        n = 2 if rng.random() < 0.6 else 3
        cv2.polylines(img, [pts[:n].astype(np.int32)], False,
                      _dull_colour(rng).tolist(), int(rng.integers(1, 4)),
                      cv2.LINE_AA)
    return img


def _class_colours(rng: np.random.Generator,
                   label: int) -> Tuple[np.ndarray, np.ndarray]:
    """The two colours of an object's texture (float32 BGR).

    Each class owns a hue (OpenCV's 0-180 scale) and a second colour of a
    fixed kind, so colour alone tells the classes apart.
    """
    s, v = rng.uniform(170, 255), rng.uniform(160, 245)
    name = DEMO_CLASSES[label]
    if name == 'disk':  # solid red
        hue = rng.uniform(-5, 5)
        return _hsv_to_bgr(hue, s, v), _hsv_to_bgr(hue, s, v)
    if name == 'rectangle':  # blue stripes on pale blue
        hue = rng.uniform(106, 118)
        return (_hsv_to_bgr(hue, s, v),
                _hsv_to_bgr(hue, rng.uniform(20, 60), rng.uniform(215, 255)))
    if name == 'triangle':  # green checker, light and dark
        hue = rng.uniform(54, 66)
        return _hsv_to_bgr(hue, s, v), _hsv_to_bgr(hue, s, v * 0.45)
    if name == 'star':  # brown dots on yellow
        hue = rng.uniform(22, 28)
        return (_hsv_to_bgr(hue, s, rng.uniform(220, 255)),
                _hsv_to_bgr(10, rng.uniform(180, 230), rng.uniform(70, 110)))
    if name == 'ring':  # dark purple to pink gradient
        hue = rng.uniform(142, 152)
        return (_hsv_to_bgr(hue, s, rng.uniform(90, 130)),
                _hsv_to_bgr(hue + 17, s, rng.uniform(220, 255)))
    # cross: navy grid lines on cyan
    hue = rng.uniform(86, 94)
    return (_hsv_to_bgr(hue, s, v),
            _hsv_to_bgr(
                rng.uniform(108, 116), rng.uniform(180, 255),
                rng.uniform(50, 80)))


def _texture(rng: np.random.Generator, label: int, u: np.ndarray,
             v: np.ndarray, radius: float) -> np.ndarray:
    """The class's texture in the object's own frame.

    Args:
        rng (np.random.Generator): Random generator.
        label (int): Class index into :data:`DEMO_CLASSES`.
        u (np.ndarray): Pixel-centre coordinates along the object's first
            axis, shape (h, w).
        v (np.ndarray): The same along its second axis, shape (h, w).
        radius (float): The object's half-size in pixels.

    Returns:
        np.ndarray: Float32 BGR texture of shape (h, w, 3).
    """
    c1, c2 = _class_colours(rng, label)
    name = DEMO_CLASSES[label]
    if name == 'disk':
        # A little shading so the solid colour is not perfectly flat.
        r = np.sqrt(u**2 + v**2) / radius
        return c1 * (1.1 - 0.2 * np.clip(r, 0, 1))[..., None]
    if name == 'ring':
        t = np.clip((u + radius) / (2 * radius), 0, 1)[..., None]
        return c1 * (1 - t) + c2 * t
    if name == 'rectangle':
        period = rng.uniform(9, 16)
        pick = (u / period) % 1 < 0.5
    elif name == 'triangle':
        cell = rng.uniform(7, 13)
        pick = (np.floor(u / cell) + np.floor(v / cell)) % 2 == 0
    elif name == 'star':
        period = rng.uniform(8, 12)
        dot = rng.uniform(0.22, 0.3) * period
        du = (u % period) - period / 2
        dv = (v % period) - period / 2
        pick = du**2 + dv**2 > dot**2
    else:  # cross
        period = rng.uniform(8, 12)
        pick = ((u % period) >= 2) & ((v % period) >= 2)
    return np.where(pick[..., None], c1, c2)


def _shape_outline(rng: np.random.Generator, label: int,
                   radius: float) -> Optional[np.ndarray]:
    """Polygon of a shape in its own frame, (K, 2) as (u, v); None for the
    elliptic classes, which are rasterised analytically."""
    name = DEMO_CLASSES[label]
    if name == 'rectangle':
        a, b = radius, radius * rng.uniform(0.4, 1.0)
        return np.array([[-a, -b], [a, -b], [a, b], [-a, b]])
    if name == 'triangle':
        angles = np.array([0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(
            -0.35, 0.35, 3)
        pts = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
        pts[:, 1] *= rng.uniform(0.75, 1.0)
        return pts
    if name == 'star':
        inner = rng.uniform(0.4, 0.55)
        angles = np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, radius, radius * inner)
        return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
    if name == 'cross':
        a, b = radius, radius * rng.uniform(0.8, 1.0)
        t = radius * rng.uniform(0.22, 0.35)
        return np.array([[-a, -t], [-t, -t], [-t, -b], [t, -b], [t, -t],
                         [a, -t], [a, t], [t, t], [t, b], [-t, b], [-t, t],
                         [-a, t]])
    return None


def _draw_object(rng: np.random.Generator, h: int, w: int, label: int):
    """Sample one object: its full in-image mask and its texture.

    Returns:
        tuple: ``(box, mask, texture)`` where ``box`` is the crop
        ``(x0, y0, x1, y1)`` holding the object, ``mask`` a bool array of the
        crop's shape (h', w') and ``texture`` float32 (h', w', 3).
    """
    size_cap = min(MAX_OBJECT_SIZE, 0.45 * min(h, w))
    size = float(
        np.exp(rng.uniform(np.log(MIN_OBJECT_SIZE), np.log(size_cap))))
    radius = size / 2
    # Allow up to about a quarter of an object to hang over the border.
    cx = rng.uniform(radius * 0.5, w - radius * 0.5)
    cy = rng.uniform(radius * 0.5, h - radius * 0.5)
    theta = rng.uniform(0, 2 * np.pi)
    cos, sin = np.cos(theta), np.sin(theta)

    reach = radius * np.sqrt(2) + 2
    x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 1, w)
    y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 1, h)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos

    outline = _shape_outline(rng, label, radius)
    if outline is None:
        aspect = rng.uniform(0.7, 1.0)
        r2 = (u / radius)**2 + (v / (radius * aspect))**2
        mask = r2 <= 1
        if DEMO_CLASSES[label] == 'ring':
            mask &= r2 >= rng.uniform(0.45, 0.65)**2
    else:
        # Object frame -> crop pixels; fillPoly puts integer points on pixel
        # centres, and `shift` keeps 1/16 px precision.
        gx = cx + outline[:, 0] * cos - outline[:, 1] * sin - 0.5 - x0
        gy = cy + outline[:, 0] * sin + outline[:, 1] * cos - 0.5 - y0
        pts = np.round(np.stack([gx, gy], 1) * 16).astype(np.int32)
        canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(canvas, [pts], 1, cv2.LINE_8, shift=4)
        mask = canvas.astype(bool)
    texture = _texture(rng, label, u, v, radius).astype(np.float32)
    return (x0, y0, x1, y1), mask, texture


def _render_scene(rng: np.random.Generator, h: int,
                  w: int) -> Tuple[np.ndarray, np.ndarray, List[int]]:
    """Render one scene.

    Returns:
        tuple: ``(image, instances, labels)``: the uint8 BGR image (H, W, 3),
        an int32 instance map (H, W) with ``-1`` for background and ``i`` for
        the visible pixels of object ``i``, and each object's class index.
    """
    img = _background(rng, h, w)
    while True:
        objects = []
        for _ in range(int(rng.integers(1, MAX_OBJECTS + 1))):
            label = int(rng.integers(len(DEMO_CLASSES)))
            objects.append((label, ) + _draw_object(rng, h, w, label))

        # Decide top-down which objects stay visible enough to be drawn, so a
        # dropped object can never hide the ones below it.
        covered = np.zeros((h, w), bool)
        kept = []
        for label, (x0, y0, x1, y1), mask, texture in reversed(objects):
            visible = mask & ~covered[y0:y1, x0:x1]
            area = int(visible.sum())
            if (area >= MIN_VISIBLE_AREA
                    and area >= MIN_VISIBLE_FRACTION * mask.sum()):
                covered[y0:y1, x0:x1] |= mask
                kept.append((label, (x0, y0, x1, y1), mask, texture))
        if kept:
            break
    kept.reverse()

    # Paint bottom-up, each object after a shadow cast down-right.
    shadow = rng.uniform(2, 5, 2).round().astype(int)
    instances = np.full((h, w), -1, np.int32)
    for i, (_, (x0, y0, x1, y1), mask, texture) in enumerate(kept):
        sx0, sy0 = x0 + shadow[0], y0 + shadow[1]
        sx1, sy1 = min(x1 + shadow[0], w), min(y1 + shadow[1], h)
        if sx1 > sx0 and sy1 > sy0:
            region = img[sy0:sy1, sx0:sx1]
            region[mask[:sy1 - sy0, :sx1 - sx0]] *= 0.7
        img[y0:y1, x0:x1][mask] = texture[mask]
        instances[y0:y1, x0:x1][mask] = i

    # A touch of lens blur and sensor noise over everything.
    img = cv2.GaussianBlur(img, (3, 3), 0.6)
    img += rng.normal(0, rng.uniform(2, 5), img.shape).astype(np.float32)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return img, instances, [label for label, *_ in kept]


# ---------------------------------------------------------------------------
# Annotations
# ---------------------------------------------------------------------------


def _mask_to_polygons(mask: np.ndarray, x0: int, y0: int) -> List[List[float]]:
    """COCO polygons that pycocotools rasterises back to exactly ``mask``.

    Each polygon runs along the outer edges of the mask's pixels, so its
    shoelace area is the pixel count and nothing is ambiguous about a pixel
    centre. (A contour traced on the mask itself would run through the
    boundary pixels' centres, leaving out half of each.) Every hole is spliced
    into its outline with a zero-width bridge (out and back along one
    segment): COCO merges the polygons of an object by union, so a hole given
    as its own polygon would be filled in.

    Args:
        mask (np.ndarray): Bool mask of shape (h, w), a crop of the image.
        x0 (int): The crop's left edge in the image.
        y0 (int): The crop's top edge in the image.

    Returns:
        list[list[float]]: Flat ``[x1, y1, x2, y2, ...]`` polygons in image
        pixels (COCO's convention: pixel ``i`` spans ``[i, i + 1]``).
    """
    # Trace at twice the resolution: pixel k is sub-pixels 2k and 2k + 1, so
    # a boundary sub-pixel u lies on the pixel edge (u + 1) // 2.
    up = np.repeat(np.repeat(mask.astype(np.uint8), 2, 0), 2, 1)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP,
                                           cv2.CHAIN_APPROX_SIMPLE)
    hierarchy = hierarchy[0]
    polygons = []
    for i, contour in enumerate(contours):
        if hierarchy[i][3] != -1:  # a hole; handled with its outline
            continue
        poly = contour[:, 0, :].astype(np.int64)
        hole = hierarchy[i][2]
        while hole != -1:
            pts = contours[hole][:, 0, :].astype(np.int64)
            dist = ((poly[:, None] - pts[None])**2).sum(-1)
            a, b = np.unravel_index(int(dist.argmin()), dist.shape)
            poly = np.concatenate(
                [poly[:a + 1], pts[b:], pts[:b + 1], poly[a:]])
            hole = hierarchy[hole][0]
        poly = (poly + 1) // 2 + np.array([x0, y0])
        # Both sub-pixels of a pixel map to one edge: drop the repeats.
        poly = poly[np.any(poly != np.roll(poly, 1, axis=0), axis=1)]
        polygons.append(poly.astype(np.float64).ravel().tolist())
    return polygons


def _coco_annotations(instances: np.ndarray, labels: Sequence[int],
                      image_id: int, first_id: int) -> List[dict]:
    """COCO annotations of one image's visible instance masks."""
    anns = []
    for i, label in enumerate(labels):
        ys, xs = np.nonzero(instances == i)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        crop = instances[y0:y1, x0:x1] == i
        anns.append(
            dict(
                id=first_id + len(anns),
                image_id=image_id,
                category_id=label + 1,
                bbox=[float(x0),
                      float(y0),
                      float(x1 - x0),
                      float(y1 - y0)],
                area=float(len(xs)),
                iscrowd=0,
                segmentation=_mask_to_polygons(crop, int(x0), int(y0))))
    return anns


def _seg_map(instances: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """ADE20K-style uint8 label map: 1 background, class i as i + 2."""
    lut = np.array([SEG_BACKGROUND] + [label + 2 for label in labels],
                   np.uint8)
    return lut[instances + 1]


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, 'wb') as f:
        f.write(data)


def _write_json(path: str, obj) -> None:
    text = json.dumps(obj, sort_keys=True, separators=(',', ':'))
    _write_bytes(path, text.encode('utf-8'))


def _encode(ext: str, img: np.ndarray, params: Sequence[int]) -> bytes:
    ok, buf = cv2.imencode(ext, img, list(params))
    if not ok:
        raise RuntimeError(f'OpenCV failed to encode a {ext} image')
    return buf.tobytes()


def _expected_files(paths: Dict[str, str], num: Dict[str, int]) -> List[str]:
    files = [paths['meta']]
    for split, _ in _SPLITS:
        files.append(paths[f'coco_{split}_ann'])
        for i in range(num[split]):
            stem = _stem(split, i)
            files += [
                osp.join(paths[f'coco_{split}_img'], stem + '.jpg'),
                osp.join(paths[f'ade_{split}_img'], stem + '.jpg'),
                osp.join(paths[f'ade_{split}_ann'], stem + '.png')
            ]
    return files


def _read_meta(path: str) -> Optional[dict]:
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _prepare_out_dir(paths: Dict[str, str], settings: dict,
                     force: bool) -> str:
    """Mark ``out_dir`` as being generated and remove what an earlier
    generation left, but nothing that is not ours.

    Stale images would be picked up: mmseg lists the image folders. The
    marker goes down before anything is removed, so a run killed at any point
    leaves a folder that the next run knows to be its own.

    Returns:
        str: Path of the in-progress marker, to remove once done.
    """
    root = paths['root']
    marker = osp.join(root, _IN_PROGRESS_FILE)
    ours = osp.exists(paths['meta']) or osp.exists(marker)
    leftovers = [
        p for p in (paths['coco_root'], paths['ade_root']) if osp.exists(p)
    ]
    if leftovers and not (ours or force):
        raise FileExistsError(
            f'{root} holds {leftovers} but no {_META_FILE} of a demo data '
            'set; choose another folder, or pass force=True (--force) to '
            'replace them.')
    _write_json(marker, settings)
    if osp.exists(paths['meta']):
        os.remove(paths['meta'])
    for path in leftovers:
        shutil.rmtree(path)
    return marker


def generate_demo_data(out_dir: str = 'data/demo',
                       seed: int = 0,
                       num_train: int = 300,
                       num_val: int = 60,
                       min_size: int = 320,
                       max_size: int = 512,
                       progress: bool = True,
                       force: bool = False) -> dict:
    """Generate the synthetic demo data set in COCO and ADE20K formats.

    The module docstring describes the scenes, the layout and how configs
    load it. Nothing is written if ``out_dir`` already holds a complete data
    set made with the same settings (its ``meta.json``, written last, says so
    and every file is there).

    Args:
        out_dir (str): Output folder. Defaults to ``'data/demo'``.
        seed (int): Random seed, >= 0. Defaults to 0.
        num_train (int): Number of training images. Defaults to 300.
        num_val (int): Number of validation images. Defaults to 60.
        min_size (int): Smallest image width / height, >= 96.
            Defaults to 320.
        max_size (int): Largest image width / height. Defaults to 512.
        progress (bool): Show a progress bar on stdout. Defaults to True.
        force (bool): Regenerate even if the data set is complete, and
            replace ``coco/`` and ``ade/`` folders in ``out_dir`` even if no
            earlier generation made them. Defaults to False.

    Returns:
        dict: The paths of the data set (keys ``root``, ``meta``,
        ``coco_root``, ``ade_root``, and for split in ``train``/``val``:
        ``coco_{split}_ann``, ``coco_{split}_img``, ``ade_{split}_img``,
        ``ade_{split}_ann``), plus ``generated``: False when an existing
        complete data set was kept.
    """
    _check_int('seed', seed, 0)
    _check_int('num_train', num_train, 1)
    _check_int('num_val', num_val, 1)
    _check_int('min_size', min_size, MIN_IMAGE_SIZE)
    _check_int('max_size', max_size, MIN_IMAGE_SIZE)
    if max_size < min_size:
        raise ValueError(
            f'max_size ({max_size}) must be >= min_size ({min_size})')
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(
            f'out_dir must be a path, got {type(out_dir).__name__}')
    out_dir = os.fspath(out_dir)

    logger = MMLogger.get_current_instance()
    settings = dict(
        seed=int(seed),
        num_train=int(num_train),
        num_val=int(num_val),
        min_size=int(min_size),
        max_size=int(max_size))
    num = dict(train=settings['num_train'], val=settings['num_val'])
    paths = _layout(out_dir)

    meta = _read_meta(paths['meta'])
    if (not force and meta is not None
            and meta.get('format_version') == FORMAT_VERSION
            and meta.get('settings') == settings
            and all(osp.isfile(f) for f in _expected_files(paths, num))):
        logger.info(f'Demo data in {out_dir} is complete for {settings}; '
                    'nothing to do.')
        return dict(paths, generated=False)

    os.makedirs(out_dir, exist_ok=True)
    marker = _prepare_out_dir(paths, settings, force)
    for split, _ in _SPLITS:
        for key in ('coco_{}_img', 'ade_{}_img', 'ade_{}_ann'):
            os.makedirs(paths[key.format(split)], exist_ok=True)
    os.makedirs(osp.dirname(paths['coco_train_ann']), exist_ok=True)

    logger.info(f'Generating demo data ({settings}) in {out_dir}')
    bar = ProgressBar(num['train'] + num['val'], file=sys.stdout) \
        if progress else None
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(DEMO_CLASSES)
    ]
    stats = {}
    for split_id, (split, _) in enumerate(_SPLITS):
        images, annotations = [], []
        for index in range(num[split]):
            rng = np.random.default_rng([settings['seed'], split_id, index])
            h = int(rng.integers(min_size, max_size + 1))
            w = int(rng.integers(min_size, max_size + 1))
            img, instances, labels = _render_scene(rng, h, w)

            stem = _stem(split, index)
            jpg = _encode('.jpg', img,
                          [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            _write_bytes(
                osp.join(paths[f'coco_{split}_img'], stem + '.jpg'), jpg)
            _write_bytes(
                osp.join(paths[f'ade_{split}_img'], stem + '.jpg'), jpg)
            _write_bytes(
                osp.join(paths[f'ade_{split}_ann'], stem + '.png'),
                _encode('.png', _seg_map(instances, labels),
                        [cv2.IMWRITE_PNG_COMPRESSION, 6]))

            image_id = index + 1
            images.append(
                dict(id=image_id, file_name=stem + '.jpg', width=w, height=h))
            annotations += _coco_annotations(instances, labels, image_id,
                                             len(annotations) + 1)
            if bar is not None:
                bar.update()
        _write_json(
            paths[f'coco_{split}_ann'],
            dict(
                info=dict(
                    description='mmhornet synthetic demo data',
                    version=str(FORMAT_VERSION)),
                licenses=[],
                images=images,
                annotations=annotations,
                categories=categories))
        stats[split] = dict(
            images=len(images),
            instances={
                name: sum(a['category_id'] == i + 1 for a in annotations)
                for i, name in enumerate(DEMO_CLASSES)
            })
    if bar is not None:
        bar.file.write('\n')

    meta = dict(
        format_version=FORMAT_VERSION,
        settings=settings,
        classes=list(DEMO_CLASSES),
        seg_classes=list(DEMO_SEG_CLASSES),
        seg_label_offset=2,
        stats=stats)
    tmp = paths['meta'] + '.tmp'
    _write_json(tmp, meta)
    os.replace(tmp, paths['meta'])
    os.remove(marker)
    logger.info(f'Demo data written to {out_dir}: {stats}')
    return dict(paths, generated=True)
