"""What g^nConv costs in the hosts' models: decoders and a ResNet-50, with
and without it, side by side.

Each :class:`CostCase` is one module built through its host's registry (no
weights loaded) and the inputs it sees at the host's standard input size:
800x1216 images for mmdet (the FPN levels of strides 4-32, the ResNet-50
input), 512x512 crops for mmseg. Cases come in groups whose first case is the
host's own module; ``tools/analysis/get_flops.py --decoders`` counts them
(params, MACs) and ``tools/analysis/benchmark.py --decoders`` times their
forward passes.
"""
import copy
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from .flops import FlopReport, count_flops
from .timing import summarize

#: The hosts' standard input sizes (H, W).
DETECTION_SHAPE = (800, 1216)
SEGMENTATION_SHAPE = (512, 512)
#: Channels of the four stages of the backbones the decoders sit on.
BACKBONE_CHANNELS = {
    'ResNet-50': [256, 512, 1024, 2048],
    'HorNet-S': [96, 192, 384, 768],
}
DW7 = dict(type='DW', kernel_size=7)
#: The GF filter of the COCO and ADE20K HorFPN / HorUPerHead configs (resized
#: to each map it filters).
GF = dict(type='GF', h=32, w=17)
#: mmdet's Mask R-CNN FPN.
FPN = dict(type='FPN', out_channels=256, num_outs=5)
#: mmseg's UPerNet R-50 decode head.
UPER_HEAD = dict(
    type='UPerHead',
    in_index=[0, 1, 2, 3],
    pool_scales=(1, 2, 3, 6),
    channels=512,
    dropout_ratio=0.1,
    num_classes=150,
    norm_cfg=dict(type='BN', requires_grad=True),
    align_corners=False)
RESNET50 = dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3))


def _plugin(position: str, cfg: dict) -> dict:
    return dict(plugins=[
        dict(cfg=cfg, stages=(False, True, True, True), position=position)
    ])


GNCONV_PLUGIN = dict(type='mmhornet.GnConvPlugin', order=3, mixer_cfg=DW7)


@dataclass
class CostCase:
    """One module and its inputs.

    Args:
        group (str): Cases compared with each other (the first is the
            host's own module).
        name (str): This case within the group.
        scope (str): Host registry scope.
        cfg (dict): The module's config.
        shape (tuple): The image size ``(H, W)`` the inputs stem from.
        channels (list[int], optional): For a decoder, the channels of its
            four inputs (strides 4, 8, 16, 32); None for a backbone (its
            input is the image).
    """

    group: str
    name: str
    scope: str
    cfg: dict
    shape: Tuple[int, int]
    channels: Optional[List[int]] = field(default=None)

    def build(self) -> nn.Module:
        """The module in eval mode, built in its host's scope."""
        from mmengine.registry import MODELS, DefaultScope
        _register_hosts()
        with DefaultScope.overwrite_default_scope(self.scope):
            module = MODELS.build(copy.deepcopy(self.cfg))
        module.eval()  # (mmdet's ResNet.train returns None)
        return module

    def inputs(self, batch: int = 1) -> tuple:
        """The forward's arguments: the image, or the tuple of features."""
        h, w = self.shape
        if self.channels is None:
            return (torch.rand(batch, 3, h, w), )
        feats = tuple(
            torch.rand(batch, c, -(-h // 2**(i + 2)), -(-w // 2**(i + 2)))
            for i, c in enumerate(self.channels))
        return (feats, )


def _register_hosts() -> None:
    import mmdet.models  # noqa: F401
    import mmseg.models  # noqa: F401

    import mmhornet.models  # noqa: F401


def cost_cases() -> List[CostCase]:
    """Every case, grouped: FPN vs HorFPN (7x7, GF) on ResNet-50 and
    HorNet-S features, UPerHead vs HorUPerHead (7x7, GF) likewise, and
    ResNet-50 without and with the g^nConv plugin (the configs' position
    after conv2, and GCNet's after conv3, with GCNet's r4 ContextBlock for
    reference)."""
    cases = []
    for backbone, channels in BACKBONE_CHANNELS.items():
        group = f'neck on {backbone}, {"x".join(map(str, DETECTION_SHAPE))}'
        fpn = dict(FPN, in_channels=channels)
        for name, cfg in (('FPN', fpn), ('HorFPN (7x7)',
                                         dict(fpn, type='HorFPN')),
                          ('HorFPN (GF)',
                           dict(
                               fpn,
                               type='HorFPN',
                               gnconv_cfg=dict(mixer_cfg=GF)))):
            cases.append(
                CostCase(group, name, 'mmdet', cfg, DETECTION_SHAPE, channels))
    for backbone, channels in BACKBONE_CHANNELS.items():
        group = (f'decode head on {backbone}, '
                 f'{"x".join(map(str, SEGMENTATION_SHAPE))}')
        head = dict(UPER_HEAD, in_channels=channels)
        for name, mixer in (('UPerHead', None), ('HorUPerHead (7x7)', DW7),
                            ('HorUPerHead (GF)', GF)):
            cfg = head if mixer is None else dict(
                head,
                type='HorUPerHead',
                gnconv_cfg=dict(order=2, mixer_cfg=mixer))
            cases.append(
                CostCase(group, name, 'mmseg', cfg, SEGMENTATION_SHAPE,
                         channels))
    group = f'backbone, {"x".join(map(str, DETECTION_SHAPE))}'
    for name, extra in (
        ('ResNet-50', {}),
        ('+ g^nConv plugin c3-c5, after conv2 (the configs)',
         _plugin('after_conv2', GNCONV_PLUGIN)),
        ('+ g^nConv plugin c3-c5, after conv3',
         _plugin('after_conv3', GNCONV_PLUGIN)),
        ('+ GCNet ContextBlock r4 c3-c5, after conv3',
         _plugin('after_conv3', dict(type='ContextBlock', ratio=1. / 4))),
    ):
        cases.append(
            CostCase(group, name, 'mmdet', dict(RESNET50, **extra),
                     DETECTION_SHAPE))
    return cases


def count_case(case: CostCase) -> FlopReport:
    """Params and MACs of one case (mmhornet's counter, FFTs included)."""
    module = case.build()
    return count_flops(module, case.inputs(), name=case.name)['']


def cost_table(reports: Dict[Tuple[str, str], FlopReport]) -> str:
    """A markdown table of :func:`count_case` reports keyed by
    ``(group, name)``, each row against its group's first case."""
    rows = [
        '| module | params | GMACs | params vs host | GMACs vs host |',
        '|---|---:|---:|---:|---:|'
    ]
    base = {}
    for (group, name), report in reports.items():
        macs = report.conv_linear + report.fft
        if group not in base:
            base[group] = (report.params, macs)
            rows.append(f'| **{group}** | | | | |')
        params0, macs0 = base[group]
        rows.append(f'| {name} | {report.params / 1e6:.2f}M | '
                    f'{macs / 1e9:.1f} | {report.params / params0:.2f}x | '
                    f'{macs / macs0:.2f}x |')
    return '\n'.join(rows)


def time_cases(cases: List[CostCase],
               repeats: int = 7,
               warmup: int = 1) -> Dict[Tuple[str, str], List[float]]:
    """Forward times (seconds, batch 1, ``torch.inference_mode``) of every
    case, the cases of a group interleaved round by round (the order
    reversed every other round) so that a slow spell of a shared machine
    hits them alike.

    Returns:
        dict: ``{(group, name): [seconds per round]}``.
    """
    import time
    groups: Dict[str, List[CostCase]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    times = {(case.group, case.name): [] for case in cases}
    for group in groups.values():
        built = [(case, case.build(), case.inputs()) for case in group]
        for r in range(warmup + repeats):
            order = built if r % 2 == 0 else built[::-1]
            for case, module, inputs in order:
                with torch.inference_mode():
                    start = time.perf_counter()
                    module(*inputs)
                    elapsed = time.perf_counter() - start
                if r >= warmup:
                    times[(case.group, case.name)].append(elapsed)
    return times


def time_table(times: Dict[Tuple[str, str], List[float]]) -> str:
    """A markdown table of :func:`time_cases`: median ms (p25-p75) and the
    paired ratio to the group's first case (median over rounds)."""
    import statistics
    rows = [
        '| module | forward ms, median (p25-p75) | time vs host (paired) |',
        '|---|---:|---:|'
    ]
    base: Dict[str, List[float]] = {}
    for (group, name), ts in times.items():
        if group not in base:
            base[group] = ts
            rows.append(f'| **{group}** | | |')
        stats = summarize(ts)
        ratio = statistics.median(t / b for t, b in zip(ts, base[group]))
        rows.append(f"| {name} | {1e3 * stats['median']:.1f} "
                    f"({1e3 * stats['p25']:.1f}-{1e3 * stats['p75']:.1f}) | "
                    f'{ratio:.2f}x |')
    return '\n'.join(rows)
