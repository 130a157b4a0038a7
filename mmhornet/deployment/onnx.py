"""ONNX export of HorNet models, GF included, with onnxruntime checks.

What exports (:func:`build_export_model`):

1. the HorNet backbone alone (any preset or arch dict): a tuple of the four
   stage maps ``(N, C_i, H / 2**(i + 2), W / 2**(i + 2))``;
2. an mmpretrain ``ImageClassifier`` config: logits ``(N, num_classes)``;
3. an mmseg ``EncoderDecoder`` config, as whole-image inference at the
   export size: logits ``(N, num_classes, H, W)`` at the input size;
4. an mmdet config's backbone and neck (HorFPN or FPN): the neck's maps. The
   RPN / RoI heads stay out (see the README's "Deploy" section).

Inputs are normalised ``(N, 3, H, W)`` float32 images (the data
preprocessor's mean / std and padding stay outside the graph).

The exporter is PyTorch's TorchScript-based one (``dynamo=False``) at opset
17, chosen because it traces the models as they run in eager mode (the
dynamo exporter re-derives the graph and needs every data-dependent shape of
the hosts' code written for it) and opset 17 has ``LayerNormalization``,
which onnxruntime's CPU provider runs fused. The model is recorded in
:func:`~mmhornet.layers.policy.export_mode`: GF's global filter becomes DFT
matrix products with the matrices of the export size as constants, so the
graph holds MatMul / Mul / Add and standard ops only (no FFT, no complex
tensor, no custom op, no Python autograd Function). For the same reason the
adaptive average pools of a fixed-size export (UPerNet's pyramid pooling)
are recorded as matrix products (:class:`MatmulAdaptiveAvgPool2d`).
"""
import copy
import logging
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log

from mmhornet.layers import GlobalLocalFilter
from mmhornet.layers.policy import export_mode

#: HorNet downsamples by 32: export sizes must be multiples of it.
SIZE_DIVISOR = 32
OPSET = 17


class ExportError(ValueError):
    """An export request that cannot be honoured; the message says why and
    what to do instead."""


class BackboneExport(nn.Module):
    """A backbone's stage maps as a tuple."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(self.backbone(x))


class ClassifierExport(nn.Module):
    """An mmpretrain ``ImageClassifier``'s logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, mode='tensor')


class SegmentorExport(nn.Module):
    """An mmseg ``EncoderDecoder``'s whole-image logits, resized to the
    input size as its ``predict`` does (before the argmax)."""

    def __init__(self, model: nn.Module, shape: Tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # predict_by_feat resizes to metas[0]['img_shape'] for the batch.
        return self.model.encode_decode(x, self.metas)


class DetectorFeaturesExport(nn.Module):
    """An mmdet detector's backbone and neck: ``extract_feat``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(self.model.extract_feat(x))


def _pool_matrix(out_size: int, in_size: int) -> np.ndarray:
    """``(out_size, in_size)``: adaptive average pooling along one axis
    (bin ``i`` averages ``[floor(i * n / o), ceil((i + 1) * n / o))``, as
    PyTorch's ``adaptive_avg_pool2d``)."""
    mat = np.zeros((out_size, in_size))
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = -(-((i + 1) * in_size) // out_size)
        mat[i, start:end] = 1. / (end - start)
    return mat


class MatmulAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` as two matrix products with the pooling
    matrices of the recorded input size (constants in an exported graph).

    The TorchScript exporter refuses adaptive pooling whose output size does
    not divide the input size (UPerNet's pyramid pooling: bins 1, 2, 3, 6 of
    a 16x16 map at 512x512); this is the same average, exactly.
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.output_size = tuple(output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (oh, ow), (h, w) = self.output_size, (int(x.shape[-2]),
                                              int(x.shape[-1]))
        ph = torch.tensor(_pool_matrix(oh or h, h), dtype=x.dtype)
        pw = torch.tensor(_pool_matrix(ow or w, w), dtype=x.dtype)
        return torch.matmul(torch.matmul(ph, x), pw.t())


def _swap_adaptive_pools(model: nn.Module) -> List[tuple]:
    """Replace every ``nn.AdaptiveAvgPool2d`` in ``model`` by a
    :class:`MatmulAdaptiveAvgPool2d`; return what to put back."""
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.AdaptiveAvgPool2d):
                setattr(parent, name,
                        MatmulAdaptiveAvgPool2d(child.output_size))
                swapped.append((parent, name, child))
    return swapped


def check_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """``(H, W)``, both multiples of :data:`SIZE_DIVISOR`."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2 or any(s <= 0 or s % SIZE_DIVISOR for s in shape):
        fix = tuple(
            max(SIZE_DIVISOR,
                round(s / SIZE_DIVISOR) * SIZE_DIVISOR) for s in shape[:2])
        raise ExportError(
            f'--shape {shape}: HorNet downsamples by {SIZE_DIVISOR}, so the '
            f'export size must be H W multiples of {SIZE_DIVISOR} (e.g. '
            f'--shape {fix[0]} {fix[-1]}); pad or resize inputs to it.')
    return shape


def has_global_filter(model: nn.Module) -> bool:
    """Whether ``model`` has GF layers (whose DFT matrices fix H and W)."""
    return any(isinstance(m, GlobalLocalFilter) for m in model.modules())


def build_export_model(
    config=None,
    checkpoint: Optional[str] = None,
    arch: Union[str, dict, None] = None,
    shape: Tuple[int, int] = (224, 224)
) -> Tuple[nn.Module, List[str]]:
    """The module to export and its output names.

    Args:
        config (str | mmengine.Config, optional): An mmpretrain, mmseg or
            mmdet config (see the module docstring for what each exports).
        checkpoint (str, optional): Weights to load (the model's own
            state dict for a config, any HorNet format for ``arch``).
        arch (str | dict, optional): Export a bare HorNet backbone of this
            arch instead of a config.
        shape (tuple): The export size ``(H, W)``.

    Returns:
        tuple: the module (eval mode) and its output names.
    """
    from mmhornet.analysis.flops import build_from_config
    if (config is None) == (arch is None):
        raise ExportError('give either a config or an arch')
    if arch is not None:
        from mmhornet.models import HorNet
        backbone = HorNet(
            copy.deepcopy(arch),
            out_indices=(0, 1, 2, 3),
            gap_before_final_norm=False)
        if checkpoint:
            from mmhornet.checkpoint import load_hornet_pretrained
            load_hornet_pretrained(backbone, checkpoint)
        return BackboneExport(backbone).eval(), [f'stage{i}' for i in range(4)]
    from mmengine.config import Config
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = cfg.get('default_scope')
    model = build_from_config(cfg, scope)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    kind = type(model).__name__
    if scope == 'mmpretrain' and hasattr(model, 'head'):
        return ClassifierExport(model).eval(), ['logits']
    if scope == 'mmseg' and hasattr(model, 'encode_decode'):
        return SegmentorExport(model, shape).eval(), ['seg_logits']
    if scope == 'mmdet' and hasattr(model, 'extract_feat'):
        outs = cfg.model.get('neck', {}).get('num_outs', 4)
        return DetectorFeaturesExport(model).eval(), [
            f'feat{i}' for i in range(outs)
        ]
    raise ExportError(
        f'{kind} (default_scope={scope!r}) is not an exportable model: '
        'export_onnx takes an mmpretrain ImageClassifier, an mmseg '
        'EncoderDecoder or an mmdet detector config (its backbone + neck), '
        'or --arch NAME for a bare HorNet backbone.')


def export_onnx(model: nn.Module,
                output_names: List[str],
                out: str,
                shape: Tuple[int, int],
                batch: int = 1,
                dynamic_batch: bool = False,
                dynamic_shape: bool = False) -> str:
    """Record ``model`` at ``(batch, 3, *shape)`` and write ``out``.

    Args:
        model (nn.Module): From :func:`build_export_model`.
        output_names (list[str]): Names of its outputs.
        out (str): The ``.onnx`` file.
        shape (tuple): ``(H, W)``, multiples of 32.
        batch (int): Batch of the recorded input. Defaults to 1.
        dynamic_batch (bool): Leave the batch dimension free. Defaults to
            False.
        dynamic_shape (bool): Leave H and W free too; refused for models
            with GF layers. Defaults to False.

    Returns:
        str: ``out``.
    """
    shape = check_shape(shape)
    if dynamic_shape and has_global_filter(model):
        raise ExportError(
            'a GF model exports its global filters as DFT matrices of the '
            'export size, which fix H and W: drop --dynamic-shape and export '
            'one file per input size (--shape H W); --dynamic-batch works')
    axes = {}
    if dynamic_batch or dynamic_shape:
        axes[0] = 'batch'
    if dynamic_shape:
        axes.update({2: 'height', 3: 'width'})
    dynamic_axes = {'input': axes} if axes else None
    if dynamic_axes:
        dynamic_axes.update({name: {0: 'batch'} for name in output_names})
    x = torch.randn(batch, 3, *shape)
    swapped = [] if dynamic_shape else _swap_adaptive_pools(model)
    try:
        with export_mode(), torch.no_grad():
            torch.onnx.export(
                model, (x, ),
                out,
                dynamo=False,
                opset_version=OPSET,
                input_names=['input'],
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                do_constant_folding=True)
    finally:
        for parent, name, pool in swapped:
            setattr(parent, name, pool)
    print_log(
        f'exported {type(model).__name__} at {batch}x3x{shape[0]}x'
        f'{shape[1]} to {out} ({osp.getsize(out) / 2**20:.1f} MiB)',
        logger='current',
        level=logging.INFO)
    return out


def onnx_ops(path: str) -> List[str]:
    """The operator types in an ONNX file, sorted."""
    import onnx
    return sorted({node.op_type for node in onnx.load(path).graph.node})


def ort_session(path: str, threads: Optional[int] = None):
    """An onnxruntime session on the CPU execution provider."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])


def verify_onnx(path: str, model: nn.Module,
                inputs: Sequence[torch.Tensor]) -> float:
    """Run ``path`` in onnxruntime and ``model`` in PyTorch on each input.

    Returns:
        float: the largest relative difference (max abs difference over the
        max abs PyTorch value, per output, then the largest), across inputs.
    """
    session = ort_session(path)
    worst = 0.
    for x in inputs:
        with torch.no_grad():
            expected = model(x)
        if isinstance(expected, torch.Tensor):
            expected = (expected, )
        got = session.run(None, {'input': x.numpy()})
        for ref, out in zip(expected, got):
            ref = ref.numpy()
            if ref.shape != out.shape:
                raise AssertionError(
                    f'onnxruntime output shape {out.shape} vs PyTorch '
                    f'{ref.shape}')
            worst = max(
                worst,
                float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-12)))
    return worst
