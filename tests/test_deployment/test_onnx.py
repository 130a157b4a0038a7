"""ONNX export (mmhornet.deployment, tools/deployment/export_onnx.py): each
model kind exports at its size with plain ONNX ops only, and onnxruntime
(CPU) gives PyTorch's outputs within 1e-4 relative."""
import re

import onnx
import pytest
import torch
from mmengine.config import Config

from mmhornet.deployment import (ExportError, build_export_model, export_onnx,
                                 onnx_ops, verify_onnx)
from ..test_tools.helpers import TOY_CONFIG, load_tool

TOLERANCE = 1e-4
IMAGENET = 'configs/imagenet/hornet-{}_32xb128_in1k.py'
SMALL_ARCH = dict(
    base_dim=16,
    depths=[1, 1, 1, 1],
    orders=[2, 3, 4, 5],
    dw_cfg=[dict(type='DW', kernel_size=7)] * 4)


def assert_plain_graph(path):
    """Standard ONNX ops only: no FFT / DFT, no custom domain."""
    model = onnx.load(path)
    assert {n.domain for n in model.graph.node} <= {'', 'ai.onnx'}
    ops = set(onnx_ops(path))
    assert not ops & {'DFT', 'STFT'}
    assert 'MatMul' in ops and 'LayerNormalization' in ops
    return ops


def export_and_verify(tmp_path, shape, batches=(1, ), dynamic=False, **build):
    model, names = build_export_model(shape=shape, **build)
    path = str(tmp_path / 'model.onnx')
    export_onnx(
        model, names, path, shape, batch=batches[0], dynamic_batch=dynamic)
    assert_plain_graph(path)
    inputs = [torch.randn(b, 3, *shape) for b in batches]
    err = verify_onnx(path, model, inputs)
    assert err < TOLERANCE, err
    return model, path


@pytest.mark.slow
@pytest.mark.parametrize('arch', ['tiny', 'tiny-gf', 'small-gf'])
def test_backbone_and_classifier_at_224(tmp_path, arch):
    export_and_verify(tmp_path, (224, 224), arch=arch)
    # The classifier with a free batch: one file runs batches 1 and 3.
    model, path = export_and_verify(
        tmp_path, (224, 224),
        batches=(1, 3),
        dynamic=True,
        config=IMAGENET.format(arch))
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    (logits, ) = session.run(None,
                             {'input': torch.randn(3, 3, 224, 224).numpy()})
    assert logits.shape == (3, 1000)


@pytest.mark.slow
def test_upernet_whole_image_logits_at_512(tmp_path):
    model, path = export_and_verify(
        tmp_path, (512, 512), config='configs/ade20k/hornet_upernet.py')
    with torch.no_grad():
        assert model(torch.randn(1, 3, 512, 512)).shape == (1, 150, 512, 512)


@pytest.mark.slow
def test_detector_backbone_and_horfpn_at_800x1216(tmp_path):
    """HorNet-T (GF) with the g^nConv FPN (GF mixer): the DFT matrices of
    the 50x76 and 25x38 stage maps, beyond the CPU fast path's 24."""
    cfg = Config.fromfile(
        'configs/coco/mask-rcnn_hornet-s_horfpn-gf_1x_coco.py')
    cfg.model.backbone.arch = 'tiny-gf'
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    model, path = export_and_verify(tmp_path, (800, 1216), config=cfg)
    assert [o.name for o in onnx.load(path).graph.output
            ] == [f'feat{i}' for i in range(5)]


def test_dynamic_size_for_a_7x7_model(tmp_path):
    model, names = build_export_model(arch=SMALL_ARCH, shape=(64, 64))
    path = str(tmp_path / 'dw.onnx')
    export_onnx(model, names, path, (64, 64), dynamic_shape=True)
    err = verify_onnx(path, model,
                      [torch.randn(2, 3, 64, 96),
                       torch.randn(1, 3, 96, 64)])
    assert err < TOLERANCE


@pytest.mark.parametrize('argv, message', [
    (['--arch', 'tiny', '--shape', '224', '230'
      ], r'multiples of 32 \(e.g. --shape 224 224\)'),
    (['--arch', 'tiny-gf', '--shape', '224', '--dynamic-shape'
      ], 'fix H and W: drop --dynamic-shape'),
    ([TOY_CONFIG, '--shape', '64'
      ], "ToyRegressor \\(default_scope='mmengine'\\) is not an exportable "
     'model'),
    (['--shape', '64'], 'give either CONFIG or --arch NAME'),
])
def test_bad_input_is_a_clear_error(tmp_path, capsys, monkeypatch, argv,
                                    message):
    monkeypatch.syspath_prepend('tests/data')  # the toy config's modules
    tool = load_tool('deployment/export_onnx')
    with pytest.raises(SystemExit) as exit_info:
        tool.main(argv + ['--out', str(tmp_path / 'x.onnx')])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / 'x.onnx').exists()


def test_export_tool_prints_the_difference(tmp_path, capsys):
    tool = load_tool('deployment/export_onnx')
    out = tmp_path / 'small.onnx'
    tool.main([
        '--arch', 'tiny', '--shape', '64', '--dynamic-batch', '--out',
        str(out), '--verify'
    ])
    printed = capsys.readouterr().out
    assert 'outputs stage0, stage1, stage2, stage3' in printed
    assert 'batch 1, 3: largest relative difference' in printed
    assert out.stat().st_size > 1e6
    with pytest.raises(ExportError, match='either a config or an arch'):
        build_export_model()
