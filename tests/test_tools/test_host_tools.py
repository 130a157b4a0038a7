"""The hosts' own analysis tools on mmhornet configs: their FLOP counters give
mmhornet's own figure, and their dataset browsers draw the demo data."""
import os.path as osp
import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmhornet.analysis import classifier_flops, config_flops
from mmhornet.models import HorNet
from .helpers import DATA, REPO, run_side_by_side, tool_env

DET_DEMO = 'configs/demo/cascade-mask-rcnn_hornet-demo_horfpn_demo.py'
SEG_DEMO = 'configs/demo/upernet_hornet-demo_demo.py'


def host_tool(host, name):
    script = Path(find_spec(host).origin).parent / '.mim' / 'tools' / (
        'analysis_tools') / name
    assert script.is_file(), script
    return str(script)


def run(cmd):
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def host_flops(output):
    """The ``Flops: 3.987G`` figure of a host's get_flops.py, in MACs."""
    value, unit = re.search(r'^Flops: ([\d.]+)([GMT])$', output, re.M).groups()
    return float(value) * {'M': 1e6, 'G': 1e9, 'T': 1e12}[unit]


def counted_by_mmengine(report):
    """What mmengine's counter (the hosts' tools) counts of mmhornet's full
    report: all but the FFT part and the elementwise multiplies, which only
    mmhornet's analyzer counts."""
    return sum(
        report.by_operator.values()) - report.fft - report.group('elementwise')


def demo_options(data, det=True):
    root = data['coco_root' if det else 'ade_root'] + '/'
    options = [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
    ]
    options += [
        f'{split}_dataloader.{key}' for split in ('train', 'val')
        for key in ('num_workers=0', 'persistent_workers=False')
    ]
    if det:
        ann = root + 'annotations/instances_val.json'
        options += [f'val_evaluator.ann_file={ann}']
    return options


@pytest.mark.slow
def test_mmpretrain_get_flops_counts_the_depthwise_convs():
    out = run([
        sys.executable,
        host_tool('mmpretrain', 'get_flops.py'),
        'configs/imagenet/hornet-tiny_32xb128_in1k.py', '--shape', '224', '224'
    ])
    ours = classifier_flops('tiny', 'mmhornet', (224, 224), 1000)['']
    # mmpretrain prints 3 decimals of GMACs; the depthwise convs it missed
    # before were 3.6% of the total.
    assert host_flops(out) == pytest.approx(
        counted_by_mmengine(ours), rel=1e-3)
    assert ours.conv_linear > 3.96e9


@pytest.mark.slow
def test_mmseg_get_flops_fails_for_every_config():
    """mmseg 1.2.2's get_flops.py passes both ``input_shape`` and ``inputs``
    to mmengine 0.10.7's counter, which refuses: it fails for mmseg's own
    configs as for mmhornet's. ``tools/analysis/get_flops.py`` counts
    segmentors (tests/test_analysis/test_get_flops.py)."""
    mmseg_config = Path(find_spec('mmseg').origin).parent / '.mim' / (
        'configs') / 'pspnet' / 'pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py'
    configs = (str(mmseg_config),
               'configs/ade20k/upernet_hornet-t_8xb2-160k_ade20k-512x512.py')
    procs = run_side_by_side([[
        sys.executable,
        host_tool('mmseg', 'get_flops.py'), config, '--shape', '256', '256'
    ] for config in configs],
                             timeout=600)
    for config, proc in zip(configs, procs):
        assert proc.returncode != 0, config
        assert '"input_shape" and "inputs" cannot be both set' in \
            proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow
def test_mmdet_get_flops_matches(small_demo_data):
    """mmdet's counter on a demo image. RPN NMS off and 50 proposals kept, so
    that its RoI heads run on as many boxes as in mmhornet's count."""
    proposals = [
        'model.test_cfg.rpn.nms.iou_threshold=1.0',
        'model.test_cfg.rpn.max_per_img=50'
    ]
    out = run([
        sys.executable,
        host_tool('mmdet', 'get_flops.py'), DET_DEMO, '--num-images', '1',
        '--cfg-options', *demo_options(small_demo_data), *proposals
    ])
    cfg = Config.fromfile(DET_DEMO)
    cfg.model.test_cfg.rpn.nms.iou_threshold = 1.0
    cfg.model.test_cfg.rpn.max_per_img = 50
    reports = config_flops(cfg, (384, 384))
    assert reports['mask_head'].rois == 50
    assert host_flops(out) == pytest.approx(
        counted_by_mmengine(reports['']), rel=1e-3)


@pytest.mark.slow
def test_mmdet_browse_dataset_draws_the_demo_data(tmp_path, small_demo_data):
    out_dir = tmp_path / 'browse'
    run([
        sys.executable,
        host_tool('mmdet', 'browse_dataset.py'), DET_DEMO, '--not-show',
        '--output-dir',
        str(out_dir), '--cfg-options', *demo_options(small_demo_data)
    ])
    pictures = sorted(out_dir.rglob('*.jpg'))
    assert len(pictures) == 8
    assert all(p.stat().st_size > 1000 for p in pictures)


@pytest.mark.slow
def test_mmseg_browse_dataset_fails_for_any_dataset(tmp_path, small_demo_data):
    """mmseg 1.2.2's browse_dataset.py draws labels with cv2.rectangle on
    ``np.zeros_like`` of a permuted (non-contiguous) image, which OpenCV
    (4.12 and 5.0 alike) refuses: it fails on a config of mmseg's pieces
    alone as on mmhornet's demo config. mmhornet's demo draws its
    segmentation pictures with mmseg's visualizer from contiguous images."""
    root = small_demo_data['ade_root'] + '/'
    configs = (osp.join(DATA, 'seg_dataset_demo.py'), SEG_DEMO)
    procs = run_side_by_side([[
        sys.executable,
        host_tool('mmseg',
                  'browse_dataset.py'), config, '--not-show', '--output-dir',
        str(tmp_path / f'browse{i}'), '--cfg-options',
        f'train_dataloader.dataset.data_root={root}'
    ] for i, config in enumerate(configs)],
                             timeout=600)
    for config, proc in zip(configs, procs):
        assert proc.returncode != 0, config
        assert 'Layout of the output array img is incompatible' in \
            proc.stderr, proc.stderr[-2000:]


def test_traced_hornet_saves_and_reloads(tmp_path):
    """Recorded with gradients on, as jit.trace does by default: plain ops
    only, so the trace saves, reloads and computes what the model does."""
    model = HorNet(
        dict(
            base_dim=16,
            depths=[1, 1, 1, 1],
            orders=[2, 3, 4, 5],
            dw_cfg=[dict(type='DW', kernel_size=7)] * 2 +
            [dict(type='GF', h=4, w=3)] * 2),
        out_indices=(0, 1, 2, 3),
        gap_before_final_norm=False).eval()
    x = torch.randn(1, 3, 64, 64)
    traced = torch.jit.trace(model, x)
    path = tmp_path / 'hornet.pt'
    torch.jit.save(traced, str(path))
    loaded = torch.jit.load(str(path))
    y = torch.randn(2, 3, 64, 64)
    for got, want in zip(loaded(y), model(y)):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
