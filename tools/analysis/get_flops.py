"""Parameters and FLOPs of a HorNet backbone, classifier, detector or
segmentor.

Counts multiply-accumulates with mmengine's (fvcore's) jit counter, the
convention of the HorNet paper's tables, plus HorNet's FFT part on its own
line (see :mod:`mmhornet.analysis.flops` for the formulas).

Examples:
    # The paper's ImageNet figure (backbone + 1000-class head) at 224x224,
    # mmhornet's and mmpretrain's implementations counted the same way:
    python tools/analysis/get_flops.py --arch tiny-gf --compare-mmpretrain
    # A detector's backbone and whole model at one image size:
    python tools/analysis/get_flops.py \
        configs/coco/cascade-mask-rcnn_hornet-t_fpn_3x_coco.py --shape 800 1216
    python tools/analysis/get_flops.py \
        configs/ade20k/upernet_hornet-t_8xb2-160k_ade20k-512x512.py --shape 512
    # What g^nConv costs in the hosts' decoders and ResNet-50 (a table):
    python tools/analysis/get_flops.py --decoders
"""
import argparse
import json

from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger

from mmhornet.analysis import (PAPER_GFLOPS, classifier_flops, config_flops,
                               mmdet2_conv_linear)
from mmhornet.models.backbones.hornet import ARCH_ALIASES


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'config', nargs='?', help='mmdet / mmseg / mmpretrain config file')
    parser.add_argument(
        '--arch',
        help='count a bare HorNet classifier of '
        "this arch (e.g. 'tiny', 't-gf') instead of a config")
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=None,
        help='input H [W] (default: 224 for --arch and '
        'mmpretrain configs, 800 1216 for mmdet, 512 for '
        'mmseg)')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=1000,
        help='classes of the --arch head (default 1000)')
    parser.add_argument(
        '--compare-mmpretrain',
        action='store_true',
        help="with --arch: count mmpretrain's HorNet too")
    parser.add_argument(
        '--scope',
        default=None,
        help="host scope (default: the config's "
        'default_scope)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy')
    parser.add_argument(
        '--decoders',
        action='store_true',
        help='count FPN vs HorFPN, UPerHead vs HorUPerHead and ResNet-50 with '
        'and without the g^nConv plugin (mmhornet.analysis.decoders)')
    parser.add_argument('--json', help='also write the counts to this file')
    args = parser.parse_args()
    if sum([args.config is not None, args.arch is not None,
            args.decoders]) != 1:
        parser.error('give one of CONFIG, --arch NAME or --decoders')
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error('--shape takes H or H W')
    return args


def _shape(args, scope):
    if args.shape is not None:
        return tuple(args.shape * 2 if len(args.shape) == 1 else args.shape)
    return {'mmdet': (800, 1216), 'mmseg': (512, 512)}.get(scope, (224, 224))


def main():
    args = parse_args()
    logger = MMLogger.get_instance(
        'mmhornet-get-flops', logger_name='mmhornet', log_level='INFO')
    results = {}
    if args.decoders:
        from mmhornet.analysis.decoders import (cost_cases, cost_table,
                                                count_case)
        reports = {(c.group, c.name): count_case(c) for c in cost_cases()}
        logger.info('\n' + cost_table(reports) + '\nGMACs: conv+linear plus '
                    'the FFT part (MAC-equivalents); batch 1.')
        if args.json:
            with open(args.json, 'w') as f:
                json.dump([
                    dict(group=g, **r.to_dict())
                    for (g, _), r in reports.items()
                ],
                          f,
                          indent=2)
        return
    if args.arch is not None:
        shape = _shape(args, None)
        impls = ['mmhornet'
                 ] + (['mmpretrain'] if args.compare_mmpretrain else [])
        for impl in impls:
            results[impl] = classifier_flops(args.arch, impl, shape,
                                             args.num_classes)
        name = ARCH_ALIASES.get(args.arch.lower(), args.arch.lower())
        paper = PAPER_GFLOPS.get(name) if shape == (224, 224) \
            and args.num_classes == 1000 else None
    else:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        scope = args.scope or cfg.get('default_scope', 'mmpretrain')
        shape = _shape(args, scope)
        results['config'] = config_flops(cfg, shape, scope)
        paper = None

    lines = []
    for reports in results.values():
        for report in reports.values():
            lines.append(report.format())
    mmdet2 = mmdet2_conv_linear(results.get('config', {}))
    if mmdet2 is not None:
        mmdet3 = results['config'][''].conv_linear / 1e9
        rois = results['config']['mask_head'].rois
        lines.append(
            f'detector conv+linear, two conventions: {mmdet3:.1f} G as mmdet '
            f'3.x counts (all {rois} proposals through the mask head, as '
            f"mmdet's get_flops.py); {mmdet2 / 1e9:.1f} G as mmdet 2.x "
            f'counted ({rois} box RoIs, 100 mask RoIs), the convention of '
            "the HorNet paper's COCO table")
    if paper is not None:
        measured = results['mmhornet'][''].conv_linear / 1e9
        lines.append(f'paper (ImageNet, {shape[0]}x{shape[1]}): {paper} G; '
                     f'measured conv+linear {measured:.3f} G '
                     f'({100 * (measured / paper - 1):+.1f}%)')
    if args.compare_mmpretrain and args.arch is not None:
        ours, theirs = results['mmhornet'][''], results['mmpretrain']['']
        lines.append(
            f'mmhornet vs mmpretrain: conv+linear {ours.conv_linear / 1e9:.4f}'
            f' vs {theirs.conv_linear / 1e9:.4f} G, FFT '
            f'{ours.fft / 1e9:.4f} vs {theirs.fft / 1e9:.4f} G, params '
            f'{ours.params} vs {theirs.params}')
    lines.append('Units: GMACs (1 multiply-add = 1, fvcore / mmengine); '
                 'the FFT part in MAC-equivalents (real FLOPs / 2). The '
                 "paper's figure is the conv+linear line.")
    logger.info('\n' + '\n'.join(lines))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                {
                    impl: {
                        k or 'model': r.to_dict()
                        for k, r in reports.items()
                    }
                    for impl, reports in results.items()
                },
                f,
                indent=2)


if __name__ == '__main__':
    main()
