"""What each fast path of :mod:`mmhornet.layers.policy` buys: the same op
timed with the fast paths on and off, in one process, interleaved.

Cases (HorNet-T's shapes, batch 4 at 224x224 unless noted):

* ``dw grad``: a stage's 7x7 depthwise conv, forward + backward, in fp32
  and under bf16 autocast (the gradients as forward convs vs oneDNN's
  backward kernels);
* ``gf``: GF's global filter on ``(N, H, W, C)``, forward + backward and
  inference (DFT matrix products vs ``rfft2`` / ``irfft2``), at the sizes
  that set ``DFT_MAX_SIDE``;
* ``proj``: a 1x1 projection in inference (matmul + in-place bias vs
  ``F.linear``);
* ``gf filter``: resizing every GF filter of HorNet-T (GF) to the stage maps
  of an 800x1216 image, per forward (cached vs not);
* ``model``: the whole HorNet-T / T-GF, fwd+bwd and inference, in fp32
  and under bf16 autocast.

The fast and plain variants alternate within each round; the table gives
the median and IQR over rounds and the median of the per-round ratios.

Example:
    python tools/analysis/benchmark_layers.py --repeats 15
    python tools/analysis/benchmark_layers.py --cases gf dw --json out.json
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn

from mmhornet.layers import GlobalLocalFilter, fast_path
from mmhornet.layers.depthwise import depthwise_conv_nhwc
from mmhornet.layers.utils import linear
from mmhornet.models import HorNet

CASES = ('dw', 'gf', 'proj', 'filter', 'model')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--cases', nargs='+', default=list(CASES), choices=CASES)
    parser.add_argument(
        '--repeats',
        type=int,
        default=11,
        help='timed rounds per case (default 11)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--json', help='write the results here')
    return parser.parse_args(argv)


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name, fn, repeats, warmup):
    """Time ``fn`` with the fast paths on and off, alternating."""
    times = {True: [], False: []}
    for i in range(warmup + repeats):
        order = (True, False) if i % 2 == 0 else (False, True)
        for fast in order:
            with fast_path(fast):
                t = _time(fn)
            if i >= warmup:
                times[fast].append(t * 1e3)
    ratios = sorted(p / f for f, p in zip(times[True], times[False]))
    row = dict(case=name)
    for fast, label in ((True, 'fast'), (False, 'plain')):
        ts = sorted(times[fast])
        q = statistics.quantiles(ts, n=4) if len(ts) > 1 else ts * 3
        row[label] = dict(median=statistics.median(ts), p25=q[0], p75=q[2])
    row['speed_up'] = statistics.median(ratios)
    return row


def _fwd_bwd(module_fn, *inputs, bf16=False):

    def step():
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            out = module_fn(*inputs)
        out.float().square().mean().backward()

    return step


def dw_cases():
    # HorNet-T: (mixer channels, map side) of g^nConv's 7x7 at stages 0-3.
    for stage, (channels, side) in enumerate([(96, 56), (224, 28), (480, 14),
                                              (992, 7)]):
        conv = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        x = torch.randn(4, side, side, channels, requires_grad=True)
        for bf16 in (False, True):
            yield (f'dw grad, stage {stage} ({channels} ch, {side}x{side})' +
                   (', bf16 autocast' if bf16 else ''),
                   _fwd_bwd(
                       lambda t, c=conv: depthwise_conv_nhwc(c, t),
                       x,
                       bf16=bf16))


def gf_cases():
    for n, side, channels in [(4, 14, 240), (4, 7, 496), (2, 24, 240),
                              (2, 32, 240), (1, 64, 240)]:
        gf = GlobalLocalFilter(2 * channels, h=14, w=8)
        x = torch.randn(n, side, side, channels, requires_grad=True)
        label = f'gf, {n}x{side}x{side}x{channels}'
        yield f'{label} fwd+bwd', _fwd_bwd(gf.global_filter, x)

        def infer(g=gf, t=x.detach()):
            with torch.inference_mode():
                g.global_filter(t)

        yield f'{label} inference', infer


def proj_cases():
    # pwconv1 at stage 0 (64 -> 256 on 56x56) and stage 2 (256 -> 1024).
    for cin, side in [(64, 56), (256, 14)]:
        x = torch.randn(4, side, side, cin)
        w, b = torch.randn(4 * cin, cin), torch.randn(4 * cin)

        def infer(t=x, w=w, b=b):
            with torch.inference_mode():
                linear(t, w, b)

        yield f'proj, {cin} -> {4 * cin} on {side}x{side}, inference', infer


def filter_cases():
    model = HorNet('tiny-gf', out_indices=(0, 1, 2, 3)).eval()
    filters = [m for m in model.modules() if isinstance(m, GlobalLocalFilter)]
    grids = {14: (50, 39), 7: (25, 20)}  # rfft2 grids of 800x1216's stages

    def resize_all():
        with torch.no_grad():
            for gf in filters:
                gf.filter_for_grid(grids[gf.complex_weight.shape[1]])

    yield 'gf filter, T-GF at 800x1216, per forward', resize_all


def model_cases():
    for arch in ('tiny', 'tiny-gf'):
        model = HorNet(arch, out_indices=(3, ))
        x = torch.randn(4, 3, 224, 224)
        yield f'model, HorNet-{arch} b4 fwd+bwd', _fwd_bwd(
            lambda t, m=model: m(t)[0], x)
        yield f'model, HorNet-{arch} b4 bf16 fwd+bwd', _fwd_bwd(
            lambda t, m=model: m(t)[0], x, bf16=True)

        def infer(m=model, t=x):
            with torch.inference_mode():
                m.eval()(t)
            m.train()

        yield f'model, HorNet-{arch} b4 inference', infer

        def infer_bf16(m=model, t=x):
            with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
                m.eval()(t)
            m.train()

        yield f'model, HorNet-{arch} b4 bf16 inference', infer_bf16


def table(rows):
    lines = [
        '| case | fast ms (IQR) | plain ms (IQR) | speed-up |',
        '|---|---:|---:|---:|'
    ]
    for r in rows:
        f, p = r['fast'], r['plain']
        lines.append(f"| {r['case']} | {f['median']:.2f} ({f['p25']:.2f}-"
                     f"{f['p75']:.2f}) | {p['median']:.2f} ({p['p25']:.2f}-"
                     f"{p['p75']:.2f}) | {r['speed_up']:.2f}x |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    makers = dict(
        dw=dw_cases,
        gf=gf_cases,
        proj=proj_cases,
        filter=filter_cases,
        model=model_cases)
    rows = []
    for case in args.cases:
        for name, fn in makers[case]():
            rows.append(compare(name, fn, args.repeats, args.warmup))
    print(table(rows))
    print(f'fast = mmhornet.layers.policy on, plain = off; medians over '
          f'{args.repeats} rounds (IQR), speed-up = median of per-round '
          f'plain / fast; {torch.get_num_threads()} threads.')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == '__main__':
    main()
