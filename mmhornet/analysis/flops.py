"""FLOP counting for HorNet models on top of mmengine's jit counter.

mmengine's :class:`~mmengine.analysis.FlopAnalyzer` (fvcore's counter)
traces a model with ``torch.jit`` and counts **multiply-accumulates**
(one fused multiply-add = one "flop") for convolutions, linears, matmuls and
norms; every other op is skipped. That is the convention of the HorNet paper's
ImageNet table (Rao et al., HorNet, NeurIPS 2022), which used fvcore
(``calc_flops.py`` in github.com/raoyongming/HorNet). It skips what HorNet's
global filter (GF) does in the Fourier domain, so this module adds:

* ``aten::fft_rfft2`` / ``aten::fft_irfft2`` (the ops a trace of
  :class:`~mmhornet.layers.GlobalLocalFilter` and of mmpretrain's GF shows,
  and their ``rfft``/``rfftn``/``fft*``/``_fft_r2c``/``_fft_c2r``/
  ``_fft_c2c`` relatives): a real FFT of ``N`` points (``N`` = the product of
  the transformed sizes of the real signal) costs ``2.5 * N * log2(N)`` real
  FLOPs (half the classic ``5 N log2 N`` of a complex radix-2 FFT), per
  channel and image; a complex FFT ``5 * N * log2(N)``.
* ``aten::mul`` of two complex tensors (spectrum x learnable filter): 6 real
  FLOPs (4 multiplies, 2 adds) per complex output element (2 if one operand
  is real).

Real FLOPs are halved into **MAC-equivalents** (1 MAC = 2 FLOPs), the unit of
every number here, so the FFT part can sit next to the convolution count:
``1.25 N log2 N`` per real FFT, 3 per complex multiply. (The official
``calc_flops.py`` counted ``N C ceil(log2 N)`` per transform with its axes
mislabelled; its FFT part is too small to show in the paper's one-decimal
GFLOPs either way.)

Real ``aten::mul`` (g^nConv's gates, the mixer scale, layer scales) are
counted as 1 per output element under ``elementwise`` so they can be shown,
but like every other elementwise op (add, GELU, ...) they are **not** in the
paper's figure. :class:`FlopReport` keeps the groups apart: ``conv+linear``
is the paper's number (fvcore also counts ``aten::layer_norm`` at 5 per
element, reported under ``norm``: mmpretrain's and the official channels-first
LayerNorms are elementwise ops that fvcore skips, so only ``conv+linear`` and
``fft`` compare across implementations).
"""
import copy
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

#: Paper GFLOPs (ImageNet-1K classifiers at 224x224, 1000-class head).
PAPER_GFLOPS = {
    'tiny': 4.0,
    'tiny-gf': 3.9,
    'small': 8.8,
    'small-gf': 8.7,
    'base': 15.6,
    'base-gf': 15.5
}

#: Operator name (as the handlers report it) -> report group.
OP_GROUPS = {
    'conv': 'conv+linear',
    'linear': 'conv+linear',
    'matmul': 'conv+linear',
    'mm': 'conv+linear',
    'addmm': 'conv+linear',
    'bmm': 'conv+linear',
    'einsum': 'conv+linear',
    'layer_norm': 'norm',
    'group_norm': 'norm',
    'batch_norm': 'norm',
    'instance_norm': 'norm',
    'fft': 'fft',
    'fft_filter': 'fft',
    'elementwise_mul': 'elementwise',
}
GROUPS = ('conv+linear', 'fft', 'norm', 'elementwise', 'other')

# Real FLOPs per point and log2(N) of a transform; / 2 gives MACs.
_REAL_FFT_FLOPS = 2.5
_COMPLEX_FFT_FLOPS = 5.0
_COMPLEX_MUL_MACS = 3  # 6 real FLOPs

# op -> (index of the `dim` argument, default dims, real signal is the
# 'input' / 'output' / None (complex to complex))
_FFT_OPS = {
    'aten::fft_rfft2': (2, (-2, -1), 'input'),
    'aten::fft_irfft2': (2, (-2, -1), 'output'),
    'aten::fft_rfftn': (2, None, 'input'),
    'aten::fft_irfftn': (2, None, 'output'),
    'aten::fft_rfft': (2, -1, 'input'),
    'aten::fft_irfft': (2, -1, 'output'),
    'aten::fft_fft2': (2, (-2, -1), None),
    'aten::fft_ifft2': (2, (-2, -1), None),
    'aten::fft_fftn': (2, None, None),
    'aten::fft_ifftn': (2, None, None),
    'aten::_fft_r2c': (1, None, 'input'),
    'aten::_fft_c2r': (1, None, 'output'),
    'aten::_fft_c2c': (1, None, None),
}


def _ivalue(value: Any) -> Any:
    """The constant a traced value holds (lists built from constants too)."""
    node = value.node()
    if node.kind() == 'prim::ListConstruct':
        return [_ivalue(v) for v in node.inputs()]
    return value.toIValue()


def _is_complex(value: Any) -> bool:
    if not value.isCompleteTensor():
        return False
    return 'Complex' in str(value.type().scalarType())


def fft_flop_handle(op: str):
    """A handle counting one FFT op in MAC-equivalents (see module doc)."""
    dim_index, default_dims, real_side = _FFT_OPS[op]

    def handle(inputs: List[Any], outputs: List[Any]) -> Counter:
        signal = inputs[0] if real_side != 'output' else outputs[0]
        shape = get_shape(signal)
        dims = _ivalue(inputs[dim_index]) if len(inputs) > dim_index \
            else None
        if dims is None:
            dims = default_dims if default_dims is not None \
                else range(len(shape))
        if isinstance(dims, int):
            dims = [dims]
        points = math.prod(shape[d] for d in dims)
        per_point = _COMPLEX_FFT_FLOPS if real_side is None \
            else _REAL_FFT_FLOPS
        flops = per_point * math.prod(shape) * math.log2(max(points, 1))
        return Counter({'fft': flops / 2})

    return handle


def mul_flop_jit(inputs: List[Any], outputs: List[Any]) -> Counter:
    """``aten::mul``: complex x complex -> ``fft_filter``, 3 MACs per
    element (complex x real: 2 real multiplies, 1); real -> ``elementwise_mul``
    (1 per element, not in the paper's count)."""
    shape = get_shape(outputs[0])
    numel = math.prod(shape) if shape is not None else 0
    complex_operands = sum(_is_complex(v) for v in inputs[:2])
    if complex_operands == 2:
        return Counter({'fft_filter': _COMPLEX_MUL_MACS * numel})
    if complex_operands == 1:
        return Counter({'fft_filter': numel})
    return Counter({'elementwise_mul': numel})


#: Handles mmhornet adds to mmengine's defaults.
EXTRA_FLOP_HANDLES = {
    **{
        op: fft_flop_handle(op)
        for op in _FFT_OPS
    },
    'aten::mul': mul_flop_jit,
    'aten::mul_': mul_flop_jit,
}


def flop_analyzer(model: nn.Module, inputs: Union[torch.Tensor,
                                                  tuple]) -> FlopAnalyzer:
    """mmengine's analyzer with the FFT / complex-multiply handles, quiet
    about the ops fvcore skips by convention (see :attr:`FlopReport.skipped`
    instead)."""
    analyzer = FlopAnalyzer(model, inputs).set_op_handle(**EXTRA_FLOP_HANDLES)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


@dataclass
class FlopReport:
    """Per-operator MAC counts of one module, grouped.

    Args:
        name (str): What was counted (for the report).
        params (int): Number of parameters.
        by_operator (dict): MACs per operator name (see :data:`OP_GROUPS`).
        skipped (dict): Ops the count ignores, with how often they ran.
        input_shape (tuple): The input's shape.
    """

    name: str
    params: int
    by_operator: Dict[str, float]
    skipped: Dict[str, int] = field(default_factory=dict)
    input_shape: Tuple[int, ...] = ()
    #: For a mask head: the RoIs each of its stages ran on in the count.
    rois: Optional[int] = None

    def group(self, name: str) -> float:
        """MACs of a group in :data:`GROUPS`."""
        return sum(v for op, v in self.by_operator.items()
                   if OP_GROUPS.get(op, 'other') == name)

    @property
    def conv_linear(self) -> float:
        """The paper's number: convolutions, linears and matmuls."""
        return self.group('conv+linear')

    @property
    def fft(self) -> float:
        """FFTs and the complex filter multiply, MAC-equivalents."""
        return self.group('fft')

    def to_dict(self) -> dict:
        return dict(
            name=self.name,
            input_shape=list(self.input_shape),
            params=self.params,
            groups={g: self.group(g)
                    for g in GROUPS},
            by_operator=dict(self.by_operator),
            skipped=dict(self.skipped))

    def format(self) -> str:
        """A few lines: params, then one line per group, in GMACs."""
        rows = [
            ('params', f'{self.params / 1e6:.3f} M'),
            ('conv+linear (fvcore: the paper\'s figures)',
             f'{self.conv_linear / 1e9:.4f} G'),
            ('FFT part (rfft2 + irfft2 + complex mul)',
             f'{self.fft / 1e9:.4f} G'),
            ('norms (fvcore estimates: LN 5, BN 2 per element)',
             f'{self.group("norm") / 1e9:.4f} G'),
            ('elementwise multiplies (not in the paper)',
             f'{self.group("elementwise") / 1e9:.4f} G'),
        ]
        other = self.group('other')
        if other:
            ops = ', '.join(op for op, v in sorted(self.by_operator.items())
                            if OP_GROUPS.get(op, 'other') == 'other' and v)
            rows.append((f'other ({ops})', f'{other / 1e9:.4f} G'))
        width = max(len(k) for k, _ in rows)
        lines = [f'{self.name}, input {tuple(self.input_shape)}']
        lines += [f'  {k:<{width}}  {v:>12}' for k, v in rows]
        if self.skipped:
            skipped = ', '.join(f'{op.replace("aten::", "")} x{n}'
                                for op, n in sorted(self.skipped.items()))
            lines.append(f'  skipped (0 by the fvcore convention): {skipped}')
        return '\n'.join(lines)


def _report(analyzer: FlopAnalyzer, module: nn.Module, name: str,
            module_name: str, input_shape: Sequence[int]) -> FlopReport:
    return FlopReport(
        name=name,
        params=parameter_count(module)[''],
        by_operator=dict(analyzer.by_operator(module_name)),
        skipped=dict(analyzer.unsupported_ops(module_name)),
        input_shape=tuple(input_shape))


def count_flops(
    model: nn.Module,
    inputs: Union[torch.Tensor, tuple],
    name: str = 'model',
    submodules: Sequence[str] = ()) -> Dict[str, FlopReport]:
    """Trace ``model(*inputs)`` once (eval, no grad) and report it and some
    of its submodules.

    Args:
        model (nn.Module): What to count; its ``forward`` takes ``inputs``.
        inputs (Tensor | tuple): The forward's inputs.
        name (str): Label of the whole model. Defaults to 'model'.
        submodules (Sequence[str]): Dotted names of submodules to report as
            well (e.g. ``'backbone'``). Defaults to ().

    Returns:
        dict[str, FlopReport]: keyed by ``''`` (the whole model) and by each
        submodule name.
    """
    was_training = model.training
    model.eval()
    first = inputs
    while isinstance(first, (tuple, list)):  # a neck's input is a tuple
        first = first[0]
    shape = tuple(first.shape)
    try:
        with torch.no_grad():
            analyzer = flop_analyzer(model, inputs)
            analyzer.total()  # trace now, inside no_grad
    finally:
        model.train(was_training)
    modules = dict(model.named_modules())
    reports = {'': _report(analyzer, model, name, '', shape)}
    for sub in submodules:
        reports[sub] = _report(analyzer, modules[sub], sub, sub, shape)
    return reports


class HorNetClassifier(nn.Module):
    """A HorNet backbone (pooled ``(N, C)`` output) and a linear head: the
    ImageNet model whose FLOPs the paper lists.

    Args:
        backbone (nn.Module): HorNet with ``gap_before_final_norm=True``.
        channels (int): Its output channels.
        num_classes (int): Classes. Defaults to 1000.
    """

    def __init__(self,
                 backbone: nn.Module,
                 channels: int,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, num_classes)."""
        return self.head(self.backbone(x)[-1])


def build_hornet(arch: Union[str, dict],
                 impl: str = 'mmhornet',
                 **kwargs) -> nn.Module:
    """mmhornet's or mmpretrain's HorNet (the latter needs mmcv).

    Args:
        arch (str | dict): Preset name or arch dict.
        impl (str): ``'mmhornet'`` or ``'mmpretrain'``.
        **kwargs: Other backbone arguments.
    """
    if impl == 'mmhornet':
        from mmhornet.models.backbones.hornet import HorNet
    elif impl == 'mmpretrain':
        from mmpretrain.models.backbones import HorNet
        if isinstance(arch, str):
            # mmpretrain's presets lack some of mmhornet's aliases.
            from mmhornet.models.backbones.hornet import ARCH_ALIASES
            arch = ARCH_ALIASES.get(arch.lower(), arch.lower())
    else:
        raise ValueError(f"impl must be 'mmhornet' or 'mmpretrain', got "
                         f'{impl!r}.')
    return HorNet(arch=copy.deepcopy(arch), **kwargs)


def classifier_flops(arch: Union[str, dict],
                     impl: str = 'mmhornet',
                     shape: Tuple[int, int] = (224, 224),
                     num_classes: int = 1000) -> Dict[str, FlopReport]:
    """Count a HorNet ImageNet classifier (backbone + head), as the paper.

    Returns:
        dict[str, FlopReport]: ``''`` (the classifier) and ``'backbone'``.
    """
    backbone = build_hornet(arch, impl)
    channels = backbone.arch_settings['base_dim'] * 8
    model = HorNetClassifier(backbone, channels, num_classes)
    label = arch if isinstance(arch, str) else 'custom'
    return count_flops(
        model,
        torch.zeros(1, 3, *shape),
        name=f'{impl} HorNet-{label} '
        f'classifier ({num_classes} classes)',
        submodules=('backbone', ))


def _pad_shape(model: nn.Module, shape: Tuple[int, int]) -> Tuple[int, int]:
    """The input size after the data preprocessor's padding, if any."""
    pre = getattr(model, 'data_preprocessor', None)
    # mmdet / mmpretrain call it pad_size_divisor, mmseg size_divisor.
    divisor = getattr(pre, 'pad_size_divisor', None) or \
        getattr(pre, 'size_divisor', None) or 1
    size = getattr(pre, 'size', None)
    if size is not None:
        return tuple(max(s, t) for s, t in zip(shape, size))
    return tuple(int(math.ceil(s / divisor) * divisor) for s in shape)


class _TensorMode(nn.Module):
    """``model(inputs, data_samples, mode='tensor')`` as a one-input module,
    for the tracer (as mmdet's ``get_flops.py`` binds the data samples)."""

    def __init__(self, model: nn.Module, data_samples: Optional[list]) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, self.data_samples, mode='tensor')


def _data_samples(scope: str, shape: Tuple[int, int],
                  pad_shape: Tuple[int, int]) -> Optional[list]:
    meta = dict(
        img_shape=shape,
        ori_shape=shape,
        pad_shape=pad_shape,
        batch_input_shape=pad_shape,
        scale_factor=(1., 1.))
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=meta)]
    if scope == 'mmseg':
        from mmseg.structures import SegDataSample
        return [SegDataSample(metainfo=meta)]
    return None


def build_from_config(cfg, scope: Optional[str] = None) -> nn.Module:
    """Build a config's model through its host registry, with no pretrained
    backbone weights (``init_cfg=None``) and SyncBN reverted to BN.

    Args:
        cfg (mmengine.Config): A mmdet, mmseg or mmpretrain config.
        scope (str, optional): Host scope; defaults to the config's
            ``default_scope``.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.utils import import_modules_from_strings

    # mmhornet's models are registered already (this package imports it);
    # the config may import more.
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = scope or cfg.get('default_scope', 'mmpretrain')
    init_default_scope(scope)
    model_cfg = copy.deepcopy(cfg.model)
    if 'backbone' in model_cfg:
        model_cfg.backbone.init_cfg = None
    if 'init_cfg' in model_cfg:
        model_cfg.init_cfg = None
    model = MODELS.build(model_cfg)
    return revert_sync_batchnorm(model)


def config_flops(cfg,
                 shape: Tuple[int, int],
                 scope: Optional[str] = None) -> Dict[str, FlopReport]:
    """Count a config's model and its backbone at one input size.

    Detectors and segmentors run ``mode='tensor'`` (``_forward``: the
    backbone, neck and heads without post-processing) on one image padded as
    their data preprocessor pads, with matching data samples; two-stage
    detectors then count their RoI heads on however many proposals the RPN
    gives (up to its ``test_cfg`` limit). The auxiliary head of a segmentor
    is dropped (it does not run at inference), as mmseg's tool does.
    mmpretrain classifiers count backbone, neck and head.

    Returns:
        dict[str, FlopReport]: ``''`` (the model) and ``'backbone'``.
    """
    scope = scope or cfg.get('default_scope', 'mmpretrain')
    model = build_from_config(cfg, scope).eval()
    if getattr(model, 'auxiliary_head', None) is not None:
        model.auxiliary_head = None
    pad_shape = _pad_shape(model, tuple(shape))
    inputs = torch.rand(1, 3, *pad_shape)
    samples = _data_samples(scope, tuple(shape), pad_shape)
    wrapper = _TensorMode(model, samples)
    submodules = ['model.backbone']
    mask_head = getattr(getattr(model, 'roi_head', None), 'mask_head', None)
    rois: List[int] = []
    hooks = []
    if mask_head is not None:
        submodules.append('model.roi_head.mask_head')
        heads = mask_head if isinstance(mask_head,
                                        nn.ModuleList) else [mask_head]
        hooks = [
            h.register_forward_hook(
                lambda _m, args, _out: rois.append(args[0].shape[0]))
            for h in heads
        ]
    try:
        reports = count_flops(
            wrapper,
            inputs,
            name=f'{type(model).__name__} ({scope})',
            submodules=submodules)
    finally:
        for hook in hooks:
            hook.remove()
    reports['backbone'] = reports.pop('model.backbone')
    reports['backbone'].name = f'backbone {type(model.backbone).__name__}'
    if mask_head is not None:
        reports['mask_head'] = reports.pop('model.roi_head.mask_head')
        reports['mask_head'].name = 'mask head(s)'
        reports['mask_head'].rois = rois[0]
    return reports


def mmdet2_conv_linear(reports: Dict[str, FlopReport],
                       mask_rois: int = 100) -> Optional[float]:
    """A detector's conv+linear MACs as mmdet 2.x counted them.

    mmdet 3.x's ``mode='tensor'`` (what mmdet's ``get_flops.py`` and
    :func:`config_flops` trace) runs every RPN proposal (up to 1000) through
    the mask heads; mmdet 2.x's ``forward_dummy`` ran the box heads on those
    proposals and the mask heads on the first ``mask_rois`` (100) only. The
    HorNet paper's detection FLOPs were counted with mmdet 2.x. Mask-head
    MACs are linear in the RoIs, so the mmdet 2.x figure is the traced one
    less the mask heads' share for the extra RoIs.

    Args:
        reports (dict): From :func:`config_flops` of a detector with a mask
            head.
        mask_rois (int): RoIs mmdet 2.x sent through the mask head.
            Defaults to 100.

    Returns:
        float | None: the MACs; None for a model without a mask head.
    """
    mask = reports.get('mask_head')
    if mask is None:
        return None
    kept = min(mask_rois, mask.rois) / mask.rois
    return reports[''].conv_linear - mask.conv_linear * (1 - kept)
