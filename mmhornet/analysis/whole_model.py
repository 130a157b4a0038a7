"""Whole detectors and segmentors: HorNet-T against the ConvNeXt-T path the
hosts' users know, one train iteration and one inference of each, with the
backbone's share of the time.

Cases (:func:`whole_cases`) come in groups at their hosts' standard inputs:

- Cascade Mask R-CNN 3x, one 800x1333 image: mmhornet's COCO HorNet-T config,
  the same config with mmpretrain's HorNet-T as its backbone, and mmdet's own
  ConvNeXt-T config (``convnext/cascade-mask-rcnn_convnext-t-p4-w7_fpn_
  4conv1fc-giou_amp-ms-crop-3x_coco.py``, the same 4conv1fc GIoU heads);
- UPerNet, two 512x512 crops (the per-GPU batch of the 8xb2 configs; its
  pooling module's BN cannot train on one): mmhornet's ADE20K HorNet-T
  config, with mmpretrain's HorNet-T, and mmseg's
  ``convnext/convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py``.

``variant='t-gf'`` puts mmhornet's HorNet-T-GF configs beside the ConvNeXt-T
ones (``tools/analysis/gpu_check.sh`` trains the T-GF Cascade with AMP).

The models have random weights (the configs' pretrained ``init_cfg`` is
dropped, nothing is downloaded) and SyncBN runs as BN (mmengine's
``revert_sync_batchnorm``), as on one device. A train iteration is the data
preprocessor, the loss forward, backward and an AdamW step on a batch of
random images with random boxes, masks or label maps; inference is the data
preprocessor and ``mode='predict'`` under ``torch.inference_mode``. The
backbone's share is its own forward (inference) or forward + backward
(train, loss = the mean of its outputs) on the same preprocessed input,
timed in the same round, over the whole step's time.

With random weights the RPN's proposals decide how much work a detector's
RoI heads do; ``same_proposals`` hands every detector of a group the same
fixed proposals in training (:func:`fix_rpn_proposals`), so their train
iterations differ by backbone only.
"""
import copy
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .timing import summarize

ROOT = Path(__file__).resolve().parents[2]
#: The hosts' standard inputs (H, W).
DETECTION_SHAPE = (800, 1333)
SEGMENTATION_SHAPE = (512, 512)
#: mmpretrain's HorNet-T in the place of mmhornet's (same layout, weights
#: and output stages).
MMPRETRAIN_HORNET_T = dict(
    _delete_=True,
    type='mmpretrain.HorNet',
    arch='tiny',
    out_indices=(0, 1, 2, 3),
    gap_before_final_norm=False)


@dataclass
class WholeCase:
    """One whole model.

    Args:
        group (str): Cases compared with each other (the first is the
            reference of the paired ratios).
        name (str): This case within the group.
        config (str): A config path from the repository root, or
            ``'mmdet::...'`` / ``'mmseg::...'`` for a host's own config.
        task (str): ``'det'`` or ``'seg'``.
        shape (tuple): Input image size ``(H, W)``.
        backbone (dict, optional): Merged into ``model.backbone``.
        batch (int): Images per step.
    """

    group: str
    name: str
    config: str
    task: str
    shape: Tuple[int, int]
    backbone: Optional[dict] = field(default=None)
    batch: int = 1

    def load_config(self):
        """The case's config, its backbone's pretrained init dropped."""
        from mmengine import Config
        from mmengine.hub import get_config
        if '::' in self.config:
            cfg = get_config(self.config)  # a host's installed config
        else:
            cfg = Config.fromfile(str(ROOT / self.config))
        if self.backbone is not None:
            cfg.merge_from_dict(dict(model=dict(backbone=self.backbone)))
        cfg.model.backbone.pop('init_cfg', None)
        cfg.model.pop('init_cfg', None)
        return cfg

    def build(self, device: torch.device = torch.device('cpu')) -> nn.Module:
        """The model with random weights, SyncBN as BN, on ``device``."""
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import MODELS, DefaultScope
        from mmengine.utils import import_modules_from_strings
        cfg = self.load_config()
        imports = cfg.get('custom_imports', {}).get('imports', [])
        if isinstance(imports, str):
            imports = [imports]
        import_modules_from_strings(['mmpretrain.models', *imports])
        import_modules_from_strings(
            ['mmdet.models' if self.task == 'det' else 'mmseg.models'])
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            model = MODELS.build(copy.deepcopy(cfg.model))
        model.init_weights()
        return revert_sync_batchnorm(model).to(device)

    def make_batch(self, num_classes: int, seed: int = 0) -> dict:
        """A random batch of ``self.batch`` images for the case's task."""
        generator = torch.Generator().manual_seed(seed)
        if self.task == 'det':
            return det_batch(self.shape, self.batch, num_classes, generator)
        return seg_batch(self.shape, self.batch, num_classes, generator)


def det_batch(shape: Tuple[int, int],
              size: int,
              num_classes: int,
              generator: torch.Generator,
              boxes_per_image: int = 10) -> dict:
    """A mmdet batch: random uint8 images of ``shape`` (H, W), each with
    ``boxes_per_image`` random boxes, labels and box-shaped masks."""
    h, w = shape
    boxes, labels = [], []
    for _ in range(size):
        xy = torch.rand(boxes_per_image, 2, generator=generator) * 0.7
        wh = 0.05 + torch.rand(boxes_per_image, 2, generator=generator) * 0.25
        box = torch.cat([xy, xy + wh], 1) * torch.tensor([w, h, w, h])
        boxes.append(box.round().tolist())
        labels.append(
            torch.randint(
                num_classes, (boxes_per_image, ),
                generator=generator).tolist())
    return boxed_batch(shape, boxes, labels, generator)


def boxed_batch(shape: Tuple[int, int],
                boxes_per_image: Sequence,
                labels_per_image: Sequence,
                generator: Optional[torch.Generator] = None) -> dict:
    """A mmdet batch of random uint8 images of ``shape`` (H, W) with the
    given boxes (x1, y1, x2, y2), labels and box-shaped masks."""
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    h, w = shape
    inputs, samples = [], []
    for i, (boxes,
            labels) in enumerate(zip(boxes_per_image, labels_per_image)):
        inputs.append(
            torch.randint(
                0, 256, (3, h, w), dtype=torch.uint8, generator=generator))
        masks = np.zeros((len(boxes), h, w), dtype=np.uint8)
        for j, (x1, y1, x2, y2) in enumerate(boxes):
            masks[j, int(y1):int(y2), int(x1):int(x2)] = 1
        sample = DetDataSample(
            metainfo=dict(
                img_id=i,
                img_shape=tuple(shape),
                ori_shape=tuple(shape),
                scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            labels=torch.tensor(labels, dtype=torch.long),
            masks=BitmapMasks(masks, h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def fixed_proposals(batch: dict,
                    count: int,
                    generator: torch.Generator,
                    jittered: float = 0.3) -> list:
    """``count`` RPN proposals per image of a det batch, to give every
    detector compared the same RoI-stage work: a ``jittered`` fraction are
    its ground-truth boxes moved and resized by ~10% of their size (the
    positives a trained RPN would propose), the rest random boxes; random
    scores, label 0.

    Returns:
        list[InstanceData]: ``bboxes`` (count, 4), ``scores``, ``labels``.
    """
    from mmengine.structures import InstanceData
    proposals = []
    for sample in batch['data_samples']:
        h, w = sample.metainfo['img_shape']
        scale = torch.tensor([w, h, w, h], dtype=torch.float32)
        gt = sample.gt_instances.bboxes
        near = int(count * jittered) if len(gt) else 0
        picked = gt[torch.randint(len(gt), (near, ), generator=generator)] \
            if near else gt.new_zeros((0, 4))
        size = (picked[:, 2:] - picked[:, :2]).repeat(1, 2)
        picked = picked + 0.1 * size * torch.randn(
            near, 4, generator=generator)
        xy = torch.rand(count - near, 2, generator=generator) * 0.8
        wh = 0.02 + torch.rand(count - near, 2, generator=generator) * 0.4
        boxes = torch.cat([picked, torch.cat([xy, xy + wh], 1) * scale])
        boxes = torch.minimum(boxes.clamp_min(0), scale)
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        proposals.append(
            InstanceData(
                bboxes=boxes,
                scores=torch.rand(count, generator=generator),
                labels=torch.zeros(count, dtype=torch.long)))
    return proposals


def fix_rpn_proposals(model: nn.Module,
                      proposals: list,
                      generator: Optional[torch.Generator] = None) -> None:
    """Make a two-stage detector's RoI heads train on ``proposals``, the
    same for every detector compared.

    The RPN hands them to the RoI head (fresh copies every step: the RoI
    heads pop their boxes), its own losses and predictions still computed;
    in a cascade, each stage but the last hands the next a fixed random
    subset of them, as many as its own refined boxes, where it would pass
    its refined boxes on (which depend on its random regression).

    Without it, an untrained RPN's proposals decide the RoI heads' work
    (how many positives reach the mask heads), so detectors with different
    backbones would do different head work in a train iteration.
    """
    from mmengine.structures import InstanceData
    rpn = model.rpn_head
    rpn_loss_and_predict = rpn.loss_and_predict

    def loss_and_predict(*args, **kwargs):
        losses, _ = rpn_loss_and_predict(*args, **kwargs)
        return losses, [p.clone() for p in proposals]

    rpn.loss_and_predict = loss_and_predict
    heads = getattr(model.roi_head, 'bbox_head', None)
    if not isinstance(heads, nn.ModuleList):
        return
    generator = generator or torch.Generator().manual_seed(0)
    orders = [torch.randperm(len(p), generator=generator) for p in proposals]

    def fixed_refine(refine):

        def refine_bboxes(*args, **kwargs):
            refined = refine(*args, **kwargs)
            if refined is None:
                return None
            return [
                InstanceData(bboxes=p.bboxes[order[:len(r)]].clone())
                for p, order, r in zip(proposals, orders, refined)
            ]

        return refine_bboxes

    for head in heads[:-1]:
        head.refine_bboxes = fixed_refine(head.refine_bboxes)


def seg_batch(shape: Tuple[int, int], size: int, num_classes: int,
              generator: torch.Generator) -> dict:
    """A mmseg batch: random uint8 images of ``shape`` (H, W), each with a
    label map of 32x32 tiles of random classes."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    h, w = shape
    inputs, samples = [], []
    for _ in range(size):
        inputs.append(
            torch.randint(
                0, 256, (3, h, w), dtype=torch.uint8, generator=generator))
        tiles = torch.randint(
            num_classes, (1, -(-h // 32), -(-w // 32)), generator=generator)
        label = tiles.repeat_interleave(32, 1).repeat_interleave(32, 2)
        sample = SegDataSample(
            metainfo=dict(img_shape=tuple(shape), ori_shape=tuple(shape)))
        sample.gt_sem_seg = PixelData(data=label[:, :h, :w])
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def whole_cases(det_shape: Tuple[int, int] = DETECTION_SHAPE,
                seg_shape: Tuple[int, int] = SEGMENTATION_SHAPE,
                tasks: Sequence[str] = ('det', 'seg'),
                variant: str = 't') -> List[WholeCase]:
    """The groups described in the module's docstring, at the given input
    sizes (smaller ones for tests).

    Args:
        variant (str): ``'t'`` (7x7: mmhornet, mmpretrain, ConvNeXt-T) or
            ``'t-gf'`` (mmhornet's HorNet-T-GF configs and ConvNeXt-T).
    """
    if variant not in ('t', 't-gf'):
        raise ValueError(f"variant must be 't' or 't-gf', not {variant!r}")
    ours = f'HorNet-{variant.upper()} (mmhornet)'
    cases = []
    if 'det' in tasks:
        group = f'Cascade Mask R-CNN 3x, {det_shape[0]}x{det_shape[1]}'
        config = f'configs/coco/cascade-mask-rcnn_hornet-{variant}_fpn_3x_' \
            'coco.py'
        cases.append(WholeCase(group, ours, config, 'det', det_shape))
        if variant == 't':
            cases.append(
                WholeCase(group, 'HorNet-T (mmpretrain)', config, 'det',
                          det_shape, MMPRETRAIN_HORNET_T))
        cases += [
            WholeCase(
                group, 'ConvNeXt-T (mmdet config)',
                'mmdet::convnext/cascade-mask-rcnn_convnext-t-p4-w7_fpn_'
                '4conv1fc-giou_amp-ms-crop-3x_coco.py', 'det', det_shape)
        ]
    if 'seg' in tasks:
        group = f'UPerNet, 2x{seg_shape[0]}x{seg_shape[1]}'
        config = f'configs/ade20k/upernet_hornet-{variant}_8xb2-160k_' \
            'ade20k-512x512.py'
        cases.append(WholeCase(group, ours, config, 'seg', seg_shape, batch=2))
        if variant == 't':
            cases.append(
                WholeCase(group, 'HorNet-T (mmpretrain)', config, 'seg',
                          seg_shape, MMPRETRAIN_HORNET_T, 2))
        cases += [
            WholeCase(
                group,
                'ConvNeXt-T (mmseg config)',
                'mmseg::convnext/convnext-tiny_upernet_8xb2-amp-160k_'
                'ade20k-512x512.py',
                'seg',
                seg_shape,
                batch=2)
        ]
    return cases


def _num_classes(model: nn.Module) -> int:
    if hasattr(model, 'decode_head'):
        return model.decode_head.num_classes
    return model.roi_head.bbox_head[0].num_classes


class WholeStep:
    """Runs one model's train iteration or inference, and its backbone's
    share, on a fixed batch."""

    def __init__(self,
                 case: WholeCase,
                 mode: str,
                 device: torch.device,
                 amp_dtype: Optional[torch.dtype],
                 seed: int,
                 same_proposals: bool = False):
        self.model = case.build(device)
        self.mode, self.device, self.amp_dtype = mode, device, amp_dtype
        self.batch = case.make_batch(_num_classes(self.model), seed)
        if same_proposals and mode == 'train' and case.task == 'det':
            count = self.model.train_cfg.rpn_proposal.max_per_img
            fix_rpn_proposals(
                self.model,
                fixed_proposals(self.batch, count,
                                torch.Generator().manual_seed(seed + 1)))
        self.scaler = None
        if amp_dtype is not None and device.type == 'cpu':
            from mmhornet.engine.cpu_autocast import \
                fp32_mmcv_ops_under_cpu_autocast
            fp32_mmcv_ops_under_cpu_autocast()
        if mode == 'train':
            self.model.train()
            self.optimizer = torch.optim.AdamW(
                self.model.parameters(), lr=1e-4)
            if amp_dtype == torch.float16 and device.type == 'cuda':
                self.scaler = torch.amp.GradScaler('cuda')
        else:
            self.model.eval()

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _sync(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def step(self) -> float:
        """One whole step; its seconds."""
        self._sync()
        start = time.perf_counter()
        if self.mode == 'train':
            data = self.model.data_preprocessor(self.batch, True)
            with self._autocast():
                losses = self.model(**data, mode='loss')
            loss, _ = self.model.parse_losses(losses)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                loss.backward()
                self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        else:
            with torch.inference_mode(), self._autocast():
                data = self.model.data_preprocessor(self.batch, False)
                self.model(**data, mode='predict')
        self._sync()
        return time.perf_counter() - start

    def backbone_step(self) -> float:
        """The backbone alone on the preprocessed batch; its seconds."""
        train = self.mode == 'train'
        with torch.no_grad():
            inputs = self.model.data_preprocessor(self.batch, train)['inputs']
        self._sync()
        start = time.perf_counter()
        if train:
            with self._autocast():
                outs = self.model.backbone(inputs)
            sum(o.float().mean() for o in outs).backward()
        else:
            with torch.inference_mode(), self._autocast():
                self.model.backbone(inputs)
        self._sync()
        elapsed = time.perf_counter() - start
        if train:
            self.model.zero_grad(set_to_none=True)
        return elapsed

    def peak_memory(self) -> Optional[int]:
        if self.device.type != 'cuda':
            return None
        return torch.cuda.max_memory_allocated(self.device)


def time_whole(cases: List[WholeCase],
               modes: Sequence[str] = ('train', 'infer'),
               repeats: int = 3,
               warmup: int = 1,
               device: torch.device = torch.device('cpu'),
               amp_dtype: Optional[torch.dtype] = None,
               seed: int = 0,
               same_proposals: bool = False) -> List[dict]:
    """Time every case in every mode, the cases of a group interleaved
    round by round (the order reversed every other round), so a slow spell
    of a shared machine hits them alike: a group's models are held at once,
    one group and mode at a time.

    ``same_proposals``: detectors' train iterations with the same fixed
    RPN proposals (:func:`fix_rpn_proposals`), so they differ only by their
    backbones' (and their features') work.

    Returns:
        list[dict]: one row per case and mode: ``group``, ``name``,
        ``mode``, ``seconds`` (per round), ``backbone_seconds``,
        ``peak_memory_bytes`` (CUDA), and the summaries ``median_s``,
        ``backbone_share`` (median backbone / median step) and
        ``paired_vs_first`` (median over rounds of this case's time over
        the group's first case's).
    """
    import statistics
    groups: Dict[str, List[WholeCase]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    rows = []
    for mode in modes:
        for group in groups.values():
            steps = [
                WholeStep(case, mode, device, amp_dtype, seed, same_proposals)
                for case in group
            ]
            times = [[] for _ in group]
            backbone = [[] for _ in group]
            for r in range(warmup + repeats):
                order = list(range(len(group)))
                if r % 2:
                    order.reverse()
                for i in order:
                    if device.type == 'cuda':
                        torch.cuda.reset_peak_memory_stats(device)
                    step_s = steps[i].step()
                    backbone_s = steps[i].backbone_step()
                    if r >= warmup:
                        times[i].append(step_s)
                        backbone[i].append(backbone_s)
            for i, case in enumerate(group):
                stats = summarize(times[i])
                rows.append(
                    dict(
                        group=case.group,
                        name=case.name,
                        config=case.config,
                        mode=mode,
                        batch=case.batch,
                        shape=list(case.shape),
                        seconds=times[i],
                        backbone_seconds=backbone[i],
                        median_s=stats['median'],
                        p25_s=stats['p25'],
                        p75_s=stats['p75'],
                        backbone_share=statistics.median(backbone[i]) /
                        stats['median'],
                        paired_vs_first=statistics.median(
                            t / ref for t, ref in zip(times[i], times[0])),
                        peak_memory_bytes=steps[i].peak_memory()))
            del steps
    return rows


def whole_table(rows: List[dict]) -> str:
    """A markdown table of :func:`time_whole`'s rows."""
    lines = [
        '| model | step | median s (p25-p75) | vs first (paired) | '
        'backbone share | peak mem |', '|---|---|---:|---:|---:|---:|'
    ]
    group = None
    for row in rows:
        if (row['group'], row['mode']) != group:
            group = (row['group'], row['mode'])
            lines.append(f"| **{row['group']}** | {row['mode']} | | | | |")
        mem = 'n/a' if row['peak_memory_bytes'] is None \
            else f"{row['peak_memory_bytes'] / 2**30:.2f} GiB"
        lines.append(f"| {row['name']} | {row['mode']} | "
                     f"{row['median_s']:.2f} ({row['p25_s']:.2f}-"
                     f"{row['p75_s']:.2f}) | {row['paired_vs_first']:.2f}x | "
                     f"{100 * row['backbone_share']:.0f}% | {mem} |")
    return '\n'.join(lines)
