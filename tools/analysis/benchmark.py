"""Speed and memory of mmhornet's HorNet against mmpretrain's, same weights.

Both backbones are built in one process with identical weights (mmpretrain's
state dict loaded strictly into mmhornet's; layer scales ``gamma*`` drawn
from U(0.25, 0.75) so the blocks matter), their fp32 outputs are checked to
agree (max relative error < 1e-5), then each case is timed with the two
implementations interleaved round by round (the order alternates, A B B A
..., so neither always runs second), after warm-up rounds; each timed step
follows ``--settle`` untimed steps of the same model, so that it runs on that
model's own allocator state (on CPU, fresh large buffers cost page faults:
right after the other model, a step ran up to 15% slower). The CPU of a
shared machine is noisy: read the median with its spread, not one number.

Cases (per arch): ``train`` = zero_grad + forward + backward + AdamW step on
a ``--size`` batch of ``--batch`` images (backbone only, pooled output,
loss = mean square), and within the same timed steps ``fwd+bwd``, the time up
to the end of backward (the AdamW step runs the same code on the same
parameter shapes for both implementations, ~90 ms of a HorNet-T step on the
2-core CPU this was written on); ``infer`` = forward under
``torch.inference_mode``;
``det`` = inference of one ``--det-size`` image with all four stage outputs
(``out_indices=(0, 1, 2, 3)``, ``gap_before_final_norm=False``), the
detection setting.

Memory: on CUDA the peak ``torch.cuda.max_memory_allocated`` over the timed
runs (weights and optimizer state included); on CPU, for train cases only,
the bytes of the tensors autograd saves for backward in one step (counted
with ``torch.autograd.graph.saved_tensors_hooks``, each storage once,
parameters excluded): the activation memory of training, which the CPU
allocator cannot report.

Roofline: each row's GFLOP/s (FLOPs from :mod:`mmhornet.analysis.flops`)
as a fraction of the machine's GEMM peak for its dtype (an ``--gemm-size``
cubed matmul, in fp32 or in the autocast dtype), timed at the start of every
round of the case, so the two are measured side by side; the peak measured
once at the start of the run is logged too.

Examples:
    python tools/analysis/benchmark.py                      # T, T-GF, b4, b8
    python tools/analysis/benchmark.py --batch 4 --no-det   # the speed target
    python tools/analysis/benchmark.py --archs small --batch 8 --no-det
    python tools/analysis/benchmark.py --device cuda --amp --batch 64
    python tools/analysis/benchmark.py --onnx --modes infer --batch 4
    python tools/analysis/benchmark.py --decoders --repeats 7  # g^nConv cost
    python tools/analysis/benchmark.py --whole --repeats 3  # vs ConvNeXt-T
    python tools/analysis/benchmark.py --tiny --size 64 --det-size 64 96 \
        --repeats 1 --warmup 0 --json out.json
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import tempfile
import time
from contextlib import nullcontext

import torch
from mmengine.logging import MMLogger

from mmhornet.analysis.timing import summarize
from mmhornet.engine.runner import freezing

IMPLS = ('mmhornet', 'mmpretrain')
CONVNEXT = 'convnext-t (mmpretrain)'
TOLERANCE = 1e-5
#: Products of the GEMM-peak matmul timed at the start of each round of a
#: case (the round's peak is their median).
PEAK_PRODUCTS = 3
# Small archs for smoke tests: a 7x7 one and a GF one.
TINY_ARCHS = {
    'tiny-dw-smoke':
    dict(
        base_dim=8,
        depths=[1, 1, 2, 1],
        orders=[2, 3, 4, 5],
        dw_cfg=[dict(type='DW', kernel_size=7)] * 4),
    'tiny-gf-smoke':
    dict(
        base_dim=8,
        depths=[1, 1, 2, 1],
        orders=[2, 3, 4, 5],
        dw_cfg=[dict(type='DW', kernel_size=7)] * 2 +
        [dict(type='GF', h=4, w=3),
         dict(type='GF', h=2, w=2)]),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--archs',
        nargs='+',
        default=['tiny', 'tiny-gf'],
        help='preset names (tiny, t-gf, small, ...) or JSON arch dicts '
        '(default: tiny tiny-gf)')
    parser.add_argument(
        '--tiny',
        action='store_true',
        help='use two small smoke-test archs (DW and GF) '
        'instead of --archs')
    parser.add_argument(
        '--batch',
        type=int,
        nargs='+',
        default=[4, 8],
        help='images per train / infer step; one case per '
        'value (default 4 8)')
    parser.add_argument(
        '--size',
        type=int,
        nargs='+',
        default=[224],
        help='train / infer input H [W] (default 224)')
    parser.add_argument(
        '--modes',
        nargs='+',
        default=['train', 'infer'],
        choices=['train', 'infer'],
        help='classification-size cases (default both)')
    parser.add_argument(
        '--det-size',
        type=int,
        nargs=2,
        default=[800, 1216],
        metavar=('H', 'W'),
        help='detection inference input (default 800 1216)')
    parser.add_argument('--det-batch', type=int, default=1)
    parser.add_argument(
        '--det-archs',
        nargs='+',
        default=None,
        help='archs for the detection case (default: '
        'the first of --archs)')
    parser.add_argument(
        '--no-det', action='store_true', help='skip the detection-size case')
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='timed rounds per case (default 5)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=1,
        help='untimed rounds first (default 1)')
    parser.add_argument(
        '--settle',
        type=int,
        default=1,
        help='untimed steps of the same model right before '
        'each timed one (default 1): each timing then '
        'starts from that model\'s own allocator state, as '
        'in a training loop, not from the other model\'s')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument(
        '--decoders',
        action='store_true',
        help='instead: forward times of FPN vs HorFPN, UPerHead vs '
        'HorUPerHead and ResNet-50 with and without the g^nConv plugin '
        '(mmhornet.analysis.decoders), batch 1, at the hosts\' input sizes')
    parser.add_argument(
        '--whole',
        action='store_true',
        help='instead: whole models (mmhornet.analysis.whole_model), '
        'Cascade Mask R-CNN 3x and UPerNet with HorNet-T (mmhornet, '
        "mmpretrain) and the hosts' ConvNeXt-T configs, a train iteration "
        'and an inference each (--modes), with the backbone share')
    parser.add_argument(
        '--whole-tasks',
        nargs='+',
        default=['det', 'seg'],
        choices=['det', 'seg'],
        help='--whole groups (default both)')
    parser.add_argument(
        '--whole-variant',
        default='t',
        choices=['t', 't-gf'],
        help='--whole HorNet: T (7x7, beside mmpretrain\'s) or T-GF')
    parser.add_argument(
        '--whole-det-size',
        type=int,
        nargs=2,
        default=[800, 1333],
        metavar=('H', 'W'),
        help='--whole detector input (default 800 1333)')
    parser.add_argument(
        '--whole-seg-size',
        type=int,
        nargs=2,
        default=[512, 512],
        metavar=('H', 'W'),
        help='--whole segmentor crops (default 512 512)')
    parser.add_argument(
        '--whole-same-proposals',
        action='store_true',
        help='--whole: the detectors\' train iterations take the same fixed '
        'RPN proposals (jittered ground truth and random boxes), and each '
        'cascade stage passes on a fixed subset of them, so their RoI heads '
        'do the same work whatever the random RPN and regressions propose')
    parser.add_argument(
        '--convnext',
        action='store_true',
        help="also time mmpretrain's ConvNeXt-T (its own weights, layer "
        'scales 0.5; no agreement check), the backbone of the hosts\' '
        'ConvNeXt configs, in the cases of the first arch')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='also time torch.compile (default inductor) of both '
        'implementations (compiled in the warm-up, so --warmup >= 1), '
        "and for inference also compiled with inductor's freezing "
        '(weights folded in as constants; ConvNeXt-T too with --convnext), '
        'paired against eager mmhornet')
    parser.add_argument(
        '--onnx',
        action='store_true',
        help='also time onnxruntime (CPU) on mmhornet exported to ONNX, for '
        'the inference cases')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='autocast: bf16 on CPU, --amp-dtype on CUDA')
    parser.add_argument(
        '--amp-dtype',
        default='fp16',
        choices=['fp16', 'bf16'],
        help='CUDA autocast dtype (default fp16, with a '
        'GradScaler for training)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch.set_num_threads (default: torch default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--gemm-size',
        type=int,
        default=2048,
        help='N of the N x N x N matmul that measures the GEMM peak')
    parser.add_argument(
        '--gemm-floor',
        action='store_true',
        help="also time, in every round, the matrix products of mmhornet's "
        'eager step alone (recorded once, replayed at their shapes and '
        'layouts: mmhornet.analysis.roofline.GemmReplay): the floor that '
        "the step's GEMMs set, and the speed-up over mmpretrain that "
        'removing everything else could reach')
    parser.add_argument('--json', help='write all results here')
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.settle < 0:
        parser.error('--repeats must be >= 1, --warmup and --settle >= 0')
    if args.compile and args.warmup < 1:
        parser.error('--compile compiles in the warm-up: --warmup >= 1')
    if min(args.batch) < 1:
        parser.error('--batch values must be >= 1')
    if len(args.size) not in (1, 2):
        parser.error('--size takes H or H W')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda but CUDA is not available')
    return args


def parse_arch(text):
    """A preset name, or a JSON arch dict (its name is then 'custom-N')."""
    text = text.strip()
    if text.startswith('{'):
        return json.loads(text)
    return text


def arch_label(name):
    short = {'tiny': 'T', 'small': 'S', 'base': 'B', 'large': 'L'}
    base, _, rest = name.partition('-')
    return short.get(base, base) + ('-' + rest.upper() if rest else '')


def build_pair(arch, seed, **kwargs):
    """mmpretrain's and mmhornet's HorNet with the same weights."""
    from mmpretrain.models.backbones import HorNet as MMPretrainHorNet

    from mmhornet.models.backbones.hornet import ARCH_ALIASES, HorNet
    ref_arch = ARCH_ALIASES.get(arch.lower(), arch.lower()) \
        if isinstance(arch, str) else arch
    torch.manual_seed(seed)
    ref = MMPretrainHorNet(arch=ref_arch, **kwargs)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if 'gamma' in name:
                # The 1e-6 default would make every block an identity.
                p.uniform_(0.25, 0.75)
    ours = HorNet(arch=arch, **kwargs)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return {'mmhornet': ours, 'mmpretrain': ref}


def build_convnext(seed, out_indices, gap_before_final_norm):
    """mmpretrain's ConvNeXt-T with the case's outputs, layer scales 0.5
    (the 1e-6 default makes every block an identity)."""
    from mmpretrain.models.backbones import ConvNeXt
    torch.manual_seed(seed)
    model = ConvNeXt(
        arch='tiny',
        out_indices=out_indices,
        gap_before_final_norm=gap_before_final_norm)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'gamma' in name:
                p.fill_(0.5)
    return model


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def check_agreement(models, x):
    """Max relative error of mmhornet's outputs vs mmpretrain's (fp32)."""
    outs = {}
    for impl, model in models.items():
        model.eval()
        with torch.no_grad():
            outs[impl] = model(x)
    return max(
        rel_err(a.float(), b.float())
        for a, b in zip(outs['mmhornet'], outs['mmpretrain']))


def saved_activation_bytes(step, params):
    """Bytes of the tensors autograd saves during ``step()``: one count per
    storage, parameters' storages excluded."""
    param_ptrs = {p.untyped_storage().data_ptr() for p in params}
    seen = {}

    def pack(t):
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in param_ptrs:
            seen[ptr] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(seen.values())


class StepTimer:
    """Runs and times the steps of one model for one case."""

    def __init__(self, model, mode, x, device, amp_dtype):
        self.model = model
        self.mode = mode
        self.x = x
        self.device = device
        self.amp_dtype = amp_dtype
        self.scaler = None
        if mode == 'train':
            model.train()
            self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
            if amp_dtype == torch.float16 and device.type == 'cuda':
                self.scaler = torch.amp.GradScaler('cuda')
        else:
            model.eval()

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def forward_backward(self):
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            outs = self.model(self.x)
            loss = sum(o.float().square().mean() for o in outs)
        if self.scaler is not None:
            loss = self.scaler.scale(loss)
        loss.backward()

    def optimizer_step(self):
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()

    #: True for a model compiled with inductor's freezing: dynamo reads the
    #: config flag (not the compile option) when it traces.
    frozen = False

    def infer_step(self):
        with torch.inference_mode(), self._autocast(), freezing(self.frozen):
            self.model(self.x)

    def step(self):
        if self.mode == 'train':
            self.forward_backward()
            self.optimizer_step()
        else:
            self.infer_step()

    def timed(self):
        """One step's times in ms: ``{'infer': ...}``, or for training
        ``{'fwd+bwd': ..., 'train': ...}`` (the whole step)."""
        sync = torch.cuda.synchronize if self.device.type == 'cuda' \
            else (lambda: None)
        sync()
        start = time.perf_counter()
        if self.mode != 'train':
            self.infer_step()
            sync()
            return {'infer': (time.perf_counter() - start) * 1e3}
        self.forward_backward()
        sync()
        middle = time.perf_counter()
        self.optimizer_step()
        sync()
        end = time.perf_counter()
        return {
            'train': (end - start) * 1e3,
            'fwd+bwd': (middle - start) * 1e3
        }

    #: False for compiled models (the saved-tensor hooks would recompile).
    count_memory = True

    def memory(self):
        """Saved-for-backward bytes (CPU train), else None."""
        if self.device.type == 'cuda' or self.mode != 'train' or \
                not self.count_memory:
            return None
        nbytes = saved_activation_bytes(self.forward_backward,
                                        list(self.model.parameters()))
        self.optimizer.zero_grad(set_to_none=True)
        return nbytes


class OrtTimer:
    """Times onnxruntime (CPU) on mmhornet's model exported at the case's
    batch and size (``mmhornet.deployment``): inference only."""

    def __init__(self, model, x, path):
        from mmhornet.deployment import (BackboneExport, export_onnx,
                                         ort_session)
        wrapped = BackboneExport(model.eval())
        export_onnx(
            wrapped, [f'out{i}' for i in range(len(model(x)))],
            path,
            tuple(x.shape[-2:]),
            batch=x.shape[0])
        self.session = ort_session(path, threads=torch.get_num_threads())
        self.feed = {'input': x.numpy()}
        self.model, self.x = wrapped, x

    def outputs(self):
        return [torch.from_numpy(o) for o in self.session.run(None, self.feed)]

    def step(self):
        self.session.run(None, self.feed)

    def timed(self):
        start = time.perf_counter()
        self.step()
        return {'infer': (time.perf_counter() - start) * 1e3}

    def memory(self):
        return None


def forward_flops(model, x):
    """FLOPs (2 per multiply-add; convolutions, linears, matmuls and the GF
    FFTs) of one forward pass on ``x``, by the project's counter."""
    from mmhornet.analysis import count_flops
    report = count_flops(model, x)['']
    return 2 * (report.conv_linear + report.fft)


def run_case(case, args, device, amp_dtype, logger, peaks=None):
    """Build, check, time one case; return its result rows.

    ``peaks`` (dtype name -> :func:`~mmhornet.analysis.roofline.gemm_peak`
    result) says which dtypes have a GEMM peak; the case's own is timed again
    at the start of each of its rounds (median of :data:`PEAK_PRODUCTS`
    products) and each row's fraction is of the median of those.
    """
    from mmhornet.analysis.roofline import GemmClock, GemmReplay, achieved
    models = build_pair(case['arch'], args.seed, **case['kwargs'])
    torch.manual_seed(args.seed + 1)
    x = torch.randn(case['batch'], 3, *case['shape'])
    err = check_agreement(models, x)
    flops = forward_flops(models['mmhornet'], x)
    impl_flops = {}
    dtype_name = ('bf16' if amp_dtype == torch.bfloat16 else
                  'fp16' if amp_dtype == torch.float16 else 'fp32')
    clock = None
    if dtype_name in (peaks or {}):
        clock = GemmClock(amp_dtype or torch.float32, device, args.gemm_size)
        clock.seconds()
    round_peaks = []
    logger.info(f"{case['name']}: max relative error mmhornet vs mmpretrain "
                f'(fp32) = {err:.2e} '
                f"({'OK' if err < TOLERANCE else 'FAIL'}, < {TOLERANCE:g})")
    x = x.to(device)
    runners = {}
    for impl, model in models.items():
        model.to(device)
        runners[impl] = StepTimer(model, case['mode'], x, device, amp_dtype)
    impls = list(IMPLS)
    if args.onnx and case['mode'] == 'infer':
        with tempfile.TemporaryDirectory() as folder:
            runners['onnxruntime'] = OrtTimer(models['mmhornet'], x,
                                              osp.join(folder, 'model.onnx'))
        with torch.no_grad():
            ort_err = max(
                rel_err(a, b) for a, b in zip(runners['onnxruntime'].outputs(),
                                              models['mmhornet'].eval()(x)))
        logger.info(f"{case['name']}: max relative error onnxruntime vs "
                    f'mmhornet (fp32) = {ort_err:.2e}')
        impls.append('onnxruntime')
    if case.get('convnext'):
        models[CONVNEXT] = build_convnext(args.seed,
                                          **case['kwargs']).to(device)
        impl_flops[CONVNEXT] = forward_flops(models[CONVNEXT], x.cpu())
        runners[CONVNEXT] = StepTimer(models[CONVNEXT], case['mode'], x,
                                      device, amp_dtype)
    if args.compile:
        # Compiled on their first (warm-up) step; same parameters as eager.
        # Inference also frozen: the weights never change here.
        variants = {'compiled': {}}
        if case['mode'] == 'infer':
            variants['frozen'] = {'freezing': True}
        for impl in IMPLS:
            for variant, options in variants.items():
                name = f'{impl} {variant}'
                runners[name] = StepTimer(
                    torch.compile(models[impl], options=options), case['mode'],
                    x, device, amp_dtype)
                runners[name].count_memory = False
                runners[name].frozen = variant == 'frozen'
                impls.append(name)
        if CONVNEXT in models and 'frozen' in variants:
            # The ConvNeXt path's best inference, beside HorNet's.
            runners[f'{CONVNEXT} frozen'] = StepTimer(
                torch.compile(models[CONVNEXT], options={'freezing': True}),
                'infer', x, device, amp_dtype)
            runners[f'{CONVNEXT} frozen'].frozen = True
            impl_flops[f'{CONVNEXT} frozen'] = impl_flops[CONVNEXT]
    impls += [name for name in runners if name not in impls]
    phases = ('train', 'fwd+bwd') if case['mode'] == 'train' \
        else ('infer', )
    times = {(impl, phase): [] for impl in impls for phase in phases}
    peak = {impl: 0 for impl in impls}
    replay, floor_ms = None, []
    for r in range(args.warmup + args.repeats):
        if args.gemm_floor and r == args.warmup:
            # After the warm-up: the step as it runs when timed.
            replay = GemmReplay.record(runners['mmhornet'].step, device)
        if clock is not None and r >= args.warmup:
            round_peaks.append(clock.gflops(PEAK_PRODUCTS))
        if replay is not None:
            floor_ms.append(replay.seconds() * 1e3)
        order = impls if r % 2 == 0 else impls[::-1]
        for impl in order:
            for _ in range(args.settle if r >= args.warmup else 0):
                runners[impl].step()
            if device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats(device)
            step_ms = runners[impl].timed()
            if r >= args.warmup:
                for phase, ms in step_ms.items():
                    times[impl, phase].append(ms)
                if device.type == 'cuda':
                    peak[impl] = max(peak[impl],
                                     torch.cuda.max_memory_allocated(device))
    memory = {
        impl: peak[impl] if device.type == 'cuda' else runners[impl].memory()
        for impl in impls
    }
    case_peak = summarize(round_peaks) if round_peaks else None
    rows = []
    for phase in phases:
        # Case names end with the mode: '... train' -> '... fwd+bwd'.
        name = f"{case['name'].rsplit(' ', 1)[0]} {phase}"
        pair = []
        # A backward pass costs about twice the forward's FLOPs.
        for impl in impls:
            phase_flops = impl_flops.get(
                impl, flops) * (1 if phase == 'infer' else 3)
            stats = summarize(times[impl, phase])
            pair.append(
                dict(
                    case=name,
                    arch=case['arch_name'],
                    mode=phase,
                    impl=impl,
                    batch=case['batch'],
                    shape=list(case['shape']),
                    agree_rel_err=err,
                    agree=err < TOLERANCE,
                    images_per_s=case['batch'] * 1e3 / stats['median'],
                    memory_bytes=memory[impl],
                    flops=phase_flops,
                    **achieved(phase_flops, stats['median'],
                               case_peak['median'] if case_peak else None),
                    gemm_peak=dict(
                        dtype=dtype_name,
                        median_gflops=case_peak['median'],
                        p25_gflops=case_peak['p25'],
                        p75_gflops=case_peak['p75'],
                        rounds_gflops=round_peaks) if case_peak else None,
                    **{
                        f'{k}_ms': v
                        for k, v in stats.items()
                    }))
        pair[0]['speedup_vs_mmpretrain'] = \
            pair[1]['median_ms'] / pair[0]['median_ms']
        # Per round, the two steps ran back to back: their ratio cancels
        # the machine's slower drifts, which a ratio of medians keeps.
        ratios = summarize([
            ref / ours
            for ours, ref in zip(times['mmhornet', phase], times['mmpretrain',
                                                                 phase])
        ])
        pair[0]['paired_speedup'] = dict(
            median=ratios['median'], p25=ratios['p25'], p75=ratios['p75'])
        if replay is not None:
            pair[0]['gemm_floor'] = gemm_floor(replay, floor_ms,
                                               times['mmhornet', phase],
                                               times['mmpretrain', phase])
        for row in pair[2:]:
            # Other variants (compiled, onnxruntime, ConvNeXt-T): against
            # mmhornet's eager model.
            ratios = summarize([
                ours / other
                for ours, other in zip(times['mmhornet',
                                             phase], times[row['impl'], phase])
            ])
            row['paired_speedup_vs_mmhornet'] = dict(
                median=ratios['median'], p25=ratios['p25'], p75=ratios['p75'])
        rows.extend(pair)
    del models, runners
    return rows


def gemm_floor(replay, floor_ms, ours_ms, ref_ms):
    """The GEMM floor of a case's rows: the replayed products' time per
    round, what share of mmhornet's step they are, and mmpretrain's time
    over them (per round, then the median): the speed-up over mmpretrain an
    implementation that ran nothing but these products would have."""
    stats = summarize(floor_ms)
    return dict(
        gemms=len(replay.calls),
        flops=replay.flops,
        median_ms=stats['median'],
        p25_ms=stats['p25'],
        p75_ms=stats['p75'],
        gflops=replay.flops / stats['median'] / 1e6,
        share_of_mmhornet=summarize([f / t for f, t in zip(floor_ms, ours_ms)
                                     ])['median'],
        speedup_bound_vs_mmpretrain=summarize(
            [t / f for f, t in zip(floor_ms, ref_ms)])['median'])


def floor_table(rows):
    """The ``--gemm-floor`` table, one line per mmhornet row that has it."""
    lines = [
        '| case | GEMMs | GEMM GFLOP | floor ms (IQR) | GEMM GFLOP/s | '
        "floor's share of mmhornet's step | mmpretrain / floor (speed-up "
        'bound) | paired speed-up now |',
        '|---|---:|---:|---:|---:|---:|---:|---:|'
    ]
    for row in rows:
        floor = row.get('gemm_floor')
        if not floor:
            continue
        lines.append(
            f"| {row['case']} | {floor['gemms']} | {floor['flops'] / 1e9:.1f}"
            f" | {floor['median_ms']:.0f} ({floor['p25_ms']:.0f}-"
            f"{floor['p75_ms']:.0f}) | {floor['gflops']:.0f} | "
            f"{100 * floor['share_of_mmhornet']:.0f}% | "
            f"{floor['speedup_bound_vs_mmpretrain']:.2f}x | "
            f"{row['paired_speedup']['median']:.2f}x |")
    return '\n'.join(lines) if len(lines) > 2 else ''


def make_cases(args):
    if args.tiny:
        archs = [(name, arch) for name, arch in TINY_ARCHS.items()]
    else:
        archs = []
        for i, text in enumerate(args.archs):
            arch = parse_arch(text)
            archs.append(
                (arch if isinstance(arch, str) else f'custom-{i}', arch))
    size = tuple(args.size * 2 if len(args.size) == 1 else args.size)
    cls_kwargs = dict(out_indices=(3, ), gap_before_final_norm=True)
    cases = []
    for index, (name, arch) in enumerate(archs):
        for batch in args.batch:
            for mode in args.modes:
                cases.append(
                    dict(
                        name=f'{arch_label(name)} {size[0]}x{size[1]} '
                        f'b{batch} {mode}',
                        arch=arch,
                        arch_name=name,
                        mode=mode,
                        batch=batch,
                        shape=size,
                        kwargs=cls_kwargs,
                        convnext=args.convnext and index == 0))
    if not args.no_det:
        det_names = args.det_archs or [archs[0][0]]
        lookup = dict(archs)
        for index, name in enumerate(det_names):
            arch = lookup.get(name, parse_arch(name))
            h, w = args.det_size
            cases.append(
                dict(
                    name=f'{arch_label(name)} det {h}x{w} b{args.det_batch} '
                    'infer',
                    arch=arch,
                    arch_name=name,
                    mode='infer',
                    batch=args.det_batch,
                    shape=(h, w),
                    kwargs=dict(
                        out_indices=(0, 1, 2, 3), gap_before_final_norm=False),
                    convnext=args.convnext and index == 0))
    return cases


def fmt_bytes(n):
    if n is None:
        return 'n/a'
    return f'{n / 2**20:.1f} MiB'


def table(rows, device):
    mem_name = 'peak CUDA mem' if device.type == 'cuda' \
        else 'saved-for-bwd'
    lines = [
        f'| case | impl | median ms | IQR ms | min-max ms | img/s | '
        f'{mem_name} | GFLOP/s | % of GEMM peak | speed-up | '
        'paired speed-up (IQR) |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
    ]
    for row in rows:
        speedup = row.get('speedup_vs_mmpretrain')
        paired = row.get('paired_speedup') or row.get(
            'paired_speedup_vs_mmhornet')
        vs = ' vs mmhornet' if 'paired_speedup_vs_mmhornet' in row else ''
        fraction = f"{100 * row['peak_fraction']:.0f}%" \
            if row.get('peak_fraction') is not None else 'n/a'
        paired = f"{paired['median']:.2f}x ({paired['p25']:.2f}-" \
            f"{paired['p75']:.2f}){vs}" if paired else ''
        lines.append(
            f"| {row['case']} | {row['impl']} | {row['median_ms']:.1f} | "
            f"{row['p25_ms']:.1f}-{row['p75_ms']:.1f} | "
            f"{row['min_ms']:.1f}-{row['max_ms']:.1f} | "
            f"{row['images_per_s']:.2f} | {fmt_bytes(row['memory_bytes'])} "
            f"| {row['gflops']:.0f} | {fraction} "
            f"| {f'{speedup:.2f}x' if speedup else ''} | {paired} |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    logger = MMLogger.get_instance(
        'mmhornet-benchmark', logger_name='mmhornet', log_level='INFO')
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    amp_dtype = None
    if args.amp:
        amp_dtype = torch.bfloat16 if device.type == 'cpu' or \
            args.amp_dtype == 'bf16' else torch.float16
    env = dict(
        torch=torch.__version__,
        device=str(device),
        device_name=torch.cuda.get_device_name(device)
        if device.type == 'cuda' else platform.processor() or 'cpu',
        threads=torch.get_num_threads(),
        cpu_count=os.cpu_count(),
        amp=str(amp_dtype),
        repeats=args.repeats,
        warmup=args.warmup,
        settle=args.settle,
        loadavg_start=os.getloadavg())
    logger.info(f'benchmark settings: {env}')
    if device.type == 'cpu' and env['threads'] > 1 and \
            env['loadavg_start'][0] > 0.5:
        # Seen on a shared 2-core VM: with another process on a core, every
        # OpenMP barrier waits for a descheduled thread, and kernels made of
        # many short parallel regions (PyTorch's channels-first depthwise
        # conv backward) ran 40x slower. One thread gives stable numbers.
        logger.warning(
            f"load average {env['loadavg_start'][0]:.1f} with "
            f"{env['threads']} threads: timings of multi-threaded CPU "
            f'kernels are unreliable on a busy machine; consider --threads '
            f'1.')
    if amp_dtype == torch.bfloat16 and device.type == 'cpu':
        from mmhornet.engine import cpu_bf16_kernels
        if not cpu_bf16_kernels():
            logger.warning(
                'bf16 autocast on a CPU without bfloat16 kernels (no AVX512 '
                '/ AMX): its matmuls and convolutions run in reference '
                'loops, many times slower than fp32 (what --amp training '
                'avoids here by staying in fp32).')
    if args.decoders:
        from mmhornet.analysis.decoders import (cost_cases, time_cases,
                                                time_table)
        times = time_cases(cost_cases(), args.repeats, args.warmup)
        logger.info('\n' + time_table(times) + '\nbatch 1, CPU '
                    f"inference, {env['threads']} threads, {args.repeats} "
                    'rounds, cases of a group interleaved')
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(
                    dict(
                        env=env,
                        decoders=[
                            dict(group=g, name=n, seconds=t)
                            for (g, n), t in times.items()
                        ]),
                    f,
                    indent=2)
        return 0
    if args.whole:
        from mmhornet.analysis.whole_model import (time_whole, whole_cases,
                                                   whole_table)
        rows = time_whole(
            whole_cases(
                tuple(args.whole_det_size), tuple(args.whole_seg_size),
                args.whole_tasks, args.whole_variant), args.modes,
            args.repeats, args.warmup, device, amp_dtype, args.seed,
            args.whole_same_proposals)
        logger.info(
            '\n' + whole_table(rows) + '\nrandom weights, one step per '
            f'round, {args.repeats} rounds after {args.warmup} warm-up, the '
            'models of a group interleaved; vs first = median over rounds '
            "of the step's time over the group's first model's; backbone "
            'share = its forward (infer) or forward + backward (train) on '
            f"the same input over the step; {env['threads']} threads, "
            f'autocast {amp_dtype}' +
            ('; detectors trained on the same fixed RPN proposals' if args.
             whole_same_proposals else ''))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(dict(env=env, whole=rows), f, indent=2)
        return 0
    from mmhornet.analysis.roofline import bf16_supported, cpu_info, gemm_peak
    env['cpu'] = cpu_info()
    peaks = {'fp32': gemm_peak(torch.float32, device, args.gemm_size)}
    if bf16_supported(device):
        peaks['bf16'] = gemm_peak(torch.bfloat16, device, args.gemm_size)
    if device.type == 'cuda':
        peaks['fp16'] = gemm_peak(torch.float16, device, args.gemm_size)
    env['gemm_peak_gflops'] = {k: v['gflops'] for k, v in peaks.items()}
    logger.info(f"machine: {env['cpu']['model']}, ISA "
                f"{' '.join(env['cpu']['isa']) or '-'}; GEMM peak "
                f'({args.gemm_size}^3, {env["threads"]} threads): ' +
                ', '.join(f'{k} {v:.0f} GFLOP/s'
                          for k, v in env['gemm_peak_gflops'].items()))
    rows = []
    for case in make_cases(args):
        rows.extend(run_case(case, args, device, amp_dtype, logger, peaks))
    env['loadavg_end'] = os.getloadavg()
    memory_note = (
        'memory: peak torch.cuda.max_memory_allocated over the timed runs'
        if device.type == 'cuda' else
        'memory: bytes of activations saved for backward in one train step '
        '(saved_tensors_hooks, each storage once, parameters excluded); '
        'n/a for inference on CPU')
    logger.info(
        '\n' + table(rows, device) + '\nspeed-up = mmpretrain median / '
        'mmhornet median; paired speed-up = median (and IQR) over rounds '
        'of mmpretrain / mmhornet time within the round; times per step '
        '(batch) in ms, GFLOP/s = FLOPs (2 per multiply-add, project '
        'counter; fwd+bwd and train = 3x the forward) / median time, as a '
        'fraction of the GEMM peak of its dtype (median of the case\'s '
        'rounds: at the start of each, the peak\'s product timed '
        f'{PEAK_PRODUCTS} times, median), '
        f'{args.repeats} timed rounds after {args.warmup} warm-up, '
        f'{args.settle} untimed step(s) before each timed one, '
        f"interleaved. Load average {env['loadavg_start'][0]:.1f} at "
        f"start, {env['loadavg_end'][0]:.1f} at the end, "
        f"{env['threads']} threads.\n" + memory_note)
    floors = floor_table(rows)
    if floors:
        logger.info(
            '\nGEMM floor: the matrix products of mmhornet\'s eager step '
            '(forward, and backward for training) replayed alone at their '
            'shapes, layouts and dtypes, once per round beside the case; '
            'share = floor / mmhornet step, bound = mmpretrain step / floor '
            '(medians over rounds of the per-round ratio)\n' + floors)
    all_agree = all(row['agree'] for row in rows)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    env=env,
                    all_agree=all_agree,
                    tolerance=TOLERANCE,
                    memory=memory_note,
                    rows=rows),
                f,
                indent=2)
    if not all_agree:
        logger.error('mmhornet and mmpretrain outputs disagree (see above)')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
