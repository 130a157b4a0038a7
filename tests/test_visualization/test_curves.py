import json

import pytest

from mmhornet.visualization import load_scalars, plot_training_curves


def test_load_and_plot(tmp_path):
    log = tmp_path / 'scalars.json'
    lines = [
        dict(loss=2.0 - i * 0.1, lr=1e-3, step=i * 10, iter=i * 10)
        for i in range(1, 6)
    ]
    lines.append({'coco/bbox_mAP': 0.31, 'step': 50})
    log.write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    scalars = load_scalars(str(log))
    assert scalars['loss'][0] == (10, 1.9)
    assert scalars['coco/bbox_mAP'] == [(50, 0.31)]
    out = plot_training_curves(
        scalars, str(tmp_path / 'c.png'), metric_keys=['coco/bbox_mAP'])
    assert open(out, 'rb').read(4) == b'\x89PNG'


def test_errors_name_the_problem(tmp_path):
    log = tmp_path / 'scalars.json'
    log.write_text('{"loss": 1, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r'scalars.json:2: not JSON'):
        load_scalars(str(log))
    with pytest.raises(ValueError, match=r"none of the loss keys \['x'\]"):
        plot_training_curves({'loss': [(1, 1.0)]},
                             str(tmp_path / 'c.png'),
                             loss_keys=['x'])
