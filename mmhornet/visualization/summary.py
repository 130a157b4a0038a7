"""One summary figure per task: image, ground truth and prediction for a few
validation images, with the metric in the title.

mmdet's and mmseg's visualization hooks write, for every drawn validation
image, one picture with the ground truth (left half) and the prediction
(right half) side by side, named after the image (mmdet ``NAME.jpg_STEP.png``,
mmseg ``val_NAME.jpg_STEP.png``). :func:`summary_grid` splits those halves
and puts the original image beside them.
"""
import re
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

_PICTURE_NAME = re.compile(r'^(?:val_)?(?P<image>.+?)_(?P<step>\d+)\.png$')


def image_name(picture: str) -> str:
    """The validation image a hook's picture shows (``'a.jpg_300.png'`` and
    ``'val_a.jpg_300.png'`` -> ``'a.jpg'``)."""
    match = _PICTURE_NAME.match(Path(picture).name)
    if match is None:
        raise ValueError(f'{picture}: not a visualization hook picture '
                         '(NAME_STEP.png)')
    return match.group('image')


def last_step_pictures(pictures: Sequence[str]) -> List[str]:
    """The pictures of the last drawn step, in name order."""
    if not pictures:
        return []
    steps = {
        p: int(_PICTURE_NAME.match(Path(p).name).group('step'))
        for p in pictures if _PICTURE_NAME.match(Path(p).name)
    }
    last = max(steps.values())
    return sorted(p for p, s in steps.items() if s == last)


def _find_image(name: str, image_dirs: Sequence[str]) -> Optional[Path]:
    for folder in image_dirs:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def summary_grid(pictures: Sequence[str],
                 image_dirs: Sequence[str],
                 out_file: str,
                 title: str,
                 num_rows: int = 4) -> str:
    """Write a grid: one row per picture (up to ``num_rows``), columns image
    / ground truth / prediction.

    Args:
        pictures (Sequence[str]): Visualization-hook pictures (ground truth |
            prediction side by side).
        image_dirs (Sequence[str]): Folders to find the original images in.
        out_file (str): PNG path.
        title (str): Figure title (the metric against its target).
        num_rows (int): Rows at most. Defaults to 4.

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: if there is no picture to show.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import mmcv

    pictures = list(pictures)[:num_rows]
    if not pictures:
        raise ValueError('no pictures to put in the summary figure: did the '
                         'visualization hook draw any (draw=True, interval)?')
    fig, axes = plt.subplots(
        len(pictures), 3, figsize=(9, 3 * len(pictures)), squeeze=False)
    for row, picture in enumerate(pictures):
        drawn = mmcv.imread(picture, channel_order='rgb')
        half = drawn.shape[1] // 2
        name = image_name(picture)
        raw_path = _find_image(name, image_dirs)
        raw = mmcv.imread(raw_path, channel_order='rgb') if raw_path else \
            np.full_like(drawn[:, :half], 255)
        cells = ((raw, f'image {name}' if raw_path else f'{name} not found'),
                 (drawn[:, :half], 'ground truth'), (drawn[:, half:],
                                                     'prediction'))
        for col, (image, label) in enumerate(cells):
            ax = axes[row][col]
            ax.imshow(image)
            ax.set_axis_off()
            ax.set_title(label, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=72)
    plt.close(fig)
    return out_file
