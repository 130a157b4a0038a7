"""The demo configs learn: a brief training of each real demo config,
asserting the learning signal (their full runs on five seeds are in the
README).

Segmentation: after 60 iterations every class is predicted on the val
images, each on at least half of its pixels (the unseeded demo of old missed
whole classes on some seeds; so did the seeded one before its crops stopped
being zero-padded and its loss weighted the rare classes: seed 1 then never
predicted 5 of the 7 classes). Detection learns more slowly: its losses fall
over the first 16 iterations. Another seed is another run. No timing is
asserted.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmhornet.demo import generate_demo_data
from mmhornet.utils.cli import build_runner

CONFIGS = dict(
    det='configs/demo/cascade-mask-rcnn_hornet-demo_horfpn_demo.py',
    seg='configs/demo/upernet_hornet-demo_demo.py')


class LossLog(Hook):
    """Keeps every training iteration's losses."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.losses.append({k: float(v.detach()) for k, v in outputs.items()})


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory):
    return generate_demo_data(
        str(tmp_path_factory.mktemp('demo_data')), num_train=64, num_val=12)


def _train(task, seed, iters, data, work_dir):
    """Train the real demo config of ``task`` for ``iters`` iterations on
    ``seed``; return the runner and every iteration's losses."""
    cfg = Config.fromfile(CONFIGS[task])
    root = str(data['coco_root' if task == 'det' else 'ade_root'])
    root = root.rstrip('/') + '/'
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root
    if task == 'det':
        cfg.val_evaluator.ann_file = root + 'annotations/instances_val.json'
        cfg.test_evaluator.ann_file = cfg.val_evaluator.ann_file
    # No validation or checkpoint inside the brief run: the test looks at
    # the predictions itself.
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_begin = iters + 1
    cfg.default_hooks.checkpoint.interval = iters + 1
    cfg.default_hooks.checkpoint.save_last = False
    cfg.default_hooks.visualization.draw = False
    cfg.randomness.seed = seed
    cfg.work_dir = str(work_dir)
    runner = build_runner(cfg)
    log = LossLog()
    runner.register_hook(log)
    runner.train()
    return runner, log.losses


@pytest.fixture(scope='module')
def seg_seed1(demo_data, tmp_path_factory):
    """The seg demo config trained 60 iterations on seed 1."""
    return _train('seg', 1, 60, demo_data, tmp_path_factory.mktemp('seg1'))


def _mean(losses, key):
    return sum(r[key] for r in losses) / len(losses)


@pytest.mark.slow
def test_segmentation_predicts_every_class(seg_seed1):
    num_classes = 7
    runner, losses = seg_seed1
    assert _mean(losses[-10:], 'loss') < 0.8 * _mean(losses[:10], 'loss')
    hit = torch.zeros(num_classes)
    total = torch.zeros(num_classes)
    predicted = torch.zeros(num_classes)
    model = runner.model.eval()
    with torch.no_grad():
        for batch in runner.val_dataloader:
            for out in model.val_step(batch):
                pred = out.pred_sem_seg.data.flatten()
                gt = out.gt_sem_seg.data.flatten()
                valid = gt < num_classes
                pred, gt = pred[valid], gt[valid]
                total += torch.bincount(gt, minlength=num_classes)
                hit += torch.bincount(gt[pred == gt], minlength=num_classes)
                predicted += torch.bincount(pred, minlength=num_classes)
    assert (total > 0).all(), 'the val images lack a class'
    assert (predicted > 0).all(), 'never predicted: ' \
        f'{(predicted == 0).nonzero().flatten().tolist()}'
    recall = hit / total
    assert (recall >= 0.5).all(), f'recall {recall}'


@pytest.mark.slow
def test_detection_losses_fall(demo_data, tmp_path):
    _, losses = _train('det', 1, 16, demo_data, tmp_path)
    for key in ('loss', 'loss_rpn_cls', 's0.loss_cls'):
        early, late = _mean(losses[:5], key), _mean(losses[-5:], key)
        assert late < 0.9 * early, (key, early, late)


@pytest.mark.slow
def test_another_seed_another_run(seg_seed1, demo_data, tmp_path):
    _, seed2 = _train('seg', 2, 1, demo_data, tmp_path)
    assert seed2[0]['loss'] != seg_seed1[1][0]['loss']
