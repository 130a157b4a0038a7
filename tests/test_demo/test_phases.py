"""The demo tool's pieces: the training command it runs and the split of a
training's wall time into phases."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('demo_tool',
                                              ROOT / 'tools' / 'demo.py')
demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo)


def test_val_iterations_follow_the_configs_val_batch(tmp_path):
    (tmp_path / 'val').mkdir()
    for i in range(10):
        (tmp_path / 'val' / f'{i}.jpg').write_bytes(b'')
    # The detector validates 4 images an iteration, the segmentor 1.
    assert demo.val_iterations(demo.TASKS['det'], str(tmp_path)) == 3
    seg = dict(demo.TASKS['seg'], val_images='val')
    assert demo.val_iterations(seg, str(tmp_path)) == 10


def test_phase_seconds(tmp_path):
    records = [
        dict(lr=1., step=20, time=0.5),
        dict(lr=1., step=40, time=1.0),
        dict(mIoU=50., step=40, time=0.25),
    ]
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in records))
    phases = demo.phase_seconds(path, 'mIoU', 8, wall=40.)
    assert phases == dict(train=30., val=2., rest=8.)


def test_train_command_passes_amp_and_the_seed():
    root = '/data/demo/coco/'
    plain = demo.train_command('det', demo.TASKS['det'],
                               demo.parse_args(['--seed', '4']), root)
    amp = demo.train_command('det', demo.TASKS['det'],
                             demo.parse_args(['--seed', '4', '--amp']), root)
    assert '--amp' not in plain
    assert amp == plain[:5] + ['--amp'] + plain[5:]
    options = plain[plain.index('--cfg-options') + 1:]
    assert 'randomness.seed=4' in options
    assert f'val_evaluator.ann_file={root}annotations/instances_val.json' \
        in options
    assert f'train_dataloader.dataset.data_root={root}' in options
