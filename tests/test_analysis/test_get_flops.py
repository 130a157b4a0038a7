"""Counting config models through their host registries (mmpretrain, mmdet,
mmseg) and tools/analysis/get_flops.py."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmhornet.analysis import (PAPER_GFLOPS, build_hornet, config_flops,
                               count_flops, mmdet2_conv_linear)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'


def _bare_backbone(arch, shape):
    """The detection / segmentation backbone alone at ``shape``."""
    backbone = build_hornet(
        arch, out_indices=(0, 1, 2, 3), gap_before_final_norm=False)
    return count_flops(backbone, torch.zeros(1, 3, *shape))['']


@pytest.mark.slow
def test_mmpretrain_config_counts_the_paper_figure():
    pytest.importorskip('mmpretrain')
    cfg = Config.fromfile(CONFIGS / 'imagenet/hornet-tiny-gf_32xb128_in1k.py')
    reports = config_flops(cfg, (224, 224))
    # ImageClassifier in 'tensor' mode: backbone, neck and head.
    assert reports[''].conv_linear / 1e9 == pytest.approx(
        PAPER_GFLOPS['tiny-gf'], rel=0.03)
    assert reports[''].conv_linear - reports['backbone'].conv_linear == \
        512 * 1000
    assert reports['backbone'].fft > 0


@pytest.mark.slow
def test_mmdet_config_counts_backbone_and_detector():
    pytest.importorskip('mmdet')
    cfg = Config.fromfile(CONFIGS /
                          'coco/cascade-mask-rcnn_hornet-t-gf_fpn_3x_coco.py')
    # RoI heads cost per proposal: keep few for the test.
    cfg.model.test_cfg.rpn.max_per_img = 10
    # 250x300 pads to 256x320 (mmdet's size divisor of 32).
    reports = config_flops(cfg, (250, 300))
    backbone = reports['backbone']
    assert backbone.input_shape == (1, 3, 256, 320)
    bare = _bare_backbone('tiny-gf', (256, 320))
    assert backbone.conv_linear == bare.conv_linear
    assert backbone.fft == pytest.approx(bare.fft) and backbone.fft > 0
    assert backbone.params == bare.params
    assert reports[''].conv_linear > backbone.conv_linear
    assert reports[''].params > backbone.params
    # Every proposal (up to 10 here) ran through each of the 3 mask heads.
    mask = reports['mask_head']
    assert 1 <= mask.rois <= 10 and mask.conv_linear > 0
    # mmdet 2.x's convention sends at most 100 RoIs there: all of them here.
    assert mmdet2_conv_linear(reports) == reports[''].conv_linear
    per_roi = mask.conv_linear / mask.rois
    assert mmdet2_conv_linear(
        reports, mask_rois=1) == pytest.approx(reports[''].conv_linear -
                                               per_roi * (mask.rois - 1))
    assert mmdet2_conv_linear({'': reports['backbone']}) is None


@pytest.mark.slow
def test_get_flops_tool_on_mmseg_config(tmp_path):
    pytest.importorskip('mmseg')
    out = tmp_path / 'flops.json'
    proc = subprocess.run([
        sys.executable, 'tools/analysis/get_flops.py',
        'configs/ade20k/upernet_hornet-t_8xb2-160k_ade20k-512x512.py',
        '--shape', '250', '--json',
        str(out), '--cfg-options', 'model.data_preprocessor.size=None',
        'model.data_preprocessor.size_divisor=32'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'FFT part' in proc.stdout and 'conv+linear' in proc.stdout
    result = json.loads(out.read_text())['config']
    # Padded as the (overridden) data preprocessor pads: to 32.
    assert result['model']['input_shape'] == [1, 3, 256, 256]
    backbone = result['backbone']['groups']
    bare = _bare_backbone('tiny', (256, 256))
    assert backbone['conv+linear'] == bare.conv_linear
    assert backbone['fft'] == 0
    assert result['model']['groups']['conv+linear'] > \
        backbone['conv+linear']


def test_get_flops_tool_needs_one_thing_to_count():
    proc = subprocess.run([sys.executable, 'tools/analysis/get_flops.py'],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert 'give one of CONFIG, --arch NAME or --decoders' in proc.stderr
