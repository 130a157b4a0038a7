"""The per-task summary figure: original image, ground truth and prediction
of a few validation images, from the visualization hooks' pictures."""
import cv2
import numpy as np
import pytest

from mmhornet.visualization.summary import (image_name, last_step_pictures,
                                            summary_grid)


@pytest.mark.parametrize('picture,name',
                         [('a/b/s_001.jpg_300.png', 's_001.jpg'),
                          ('val_s_001.jpg_12.png', 's_001.jpg')])
def test_image_name(picture, name):
    assert image_name(picture) == name


def test_image_name_refuses_other_files():
    with pytest.raises(ValueError, match='NAME_STEP.png'):
        image_name('training_curve.png')


def test_last_step_pictures():
    pictures = ['x/a.jpg_100.png', 'x/b.jpg_300.png', 'x/a.jpg_300.png']
    assert last_step_pictures(pictures) == [
        'x/a.jpg_300.png', 'x/b.jpg_300.png'
    ]
    assert last_step_pictures([]) == []


def test_summary_grid(tmp_path):
    images = tmp_path / 'val'
    images.mkdir()
    pictures = []
    for i in range(3):
        raw = np.full((40, 60, 3), 50 * i, np.uint8)
        cv2.imwrite(str(images / f'{i}.jpg'), raw)
        # ground truth | prediction, as the hooks draw them
        drawn = np.concatenate([
            np.zeros((40, 60, 3), np.uint8),
            np.full((40, 60, 3), 255, np.uint8)
        ],
                               axis=1)
        path = tmp_path / f'val_{i}.jpg_7.png'
        cv2.imwrite(str(path), drawn)
        pictures.append(str(path))
    out = summary_grid(
        pictures, [str(images)],
        str(tmp_path / 's.png'),
        'seg: mIoU = 60.0 (target 50.0), seed 0',
        num_rows=2)
    figure = cv2.imread(out)
    assert figure is not None
    # Two rows of three panels: wider than tall, not empty.
    h, w = figure.shape[:2]
    assert w > h > 100 and figure.std() > 0
    with pytest.raises(ValueError, match='no pictures'):
        summary_grid([], [str(images)], str(tmp_path / 'x.png'), 't')
