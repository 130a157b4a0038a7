"""Export a HorNet model to ONNX, optionally checking it in onnxruntime.

CONFIG is an mmpretrain classifier (logits), an mmseg segmentor (logits at
the input size, whole-image inference) or an mmdet detector (its backbone +
neck maps); ``--arch NAME`` exports a bare HorNet backbone (four stage maps)
instead. GF models export their global filters as DFT matrices of the export
size (see :mod:`mmhornet.deployment.onnx`).

Examples:
    python tools/deployment/export_onnx.py --arch tiny-gf --shape 224 224 \
        --dynamic-batch --out hornet-t-gf.onnx --verify
    python tools/deployment/export_onnx.py \
        configs/imagenet/hornet-tiny_32xb128_in1k.py hornet-tiny.pth \
        --shape 224 224 --out classifier.onnx --verify
    python tools/deployment/export_onnx.py configs/ade20k/hornet_upernet.py \
        --shape 512 512 --out upernet.onnx --verify
"""
import argparse
import sys

import torch

import mmhornet  # noqa: F401  (registers mmhornet's modules)
from mmhornet.deployment import (ExportError, build_export_model, check_shape,
                                 export_onnx, onnx_ops, verify_onnx)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', help='the config file')
    parser.add_argument('checkpoint', nargs='?', help='weights to load')
    parser.add_argument(
        '--arch',
        help='export a bare HorNet backbone of '
        "this arch (e.g. 'tiny', 't-gf') instead of CONFIG")
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        required=True,
        help='input H [W], multiples of 32')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--batch',
        type=int,
        default=1,
        help='batch of the exported input (default 1)')
    group.add_argument(
        '--dynamic-batch',
        action='store_true',
        help='leave the batch dimension free')
    parser.add_argument(
        '--dynamic-shape',
        action='store_true',
        help='leave H and W free as well (not for GF models)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='run the file in onnxruntime (CPU) and print '
        'the largest difference from PyTorch')
    args = parser.parse_args(argv)
    if (args.config is None) == (args.arch is None):
        parser.error('give either CONFIG or --arch NAME')
    return parser, args


def main(argv=None):
    parser, args = parse_args(argv)
    try:
        shape = check_shape(args.shape)
        model, outputs = build_export_model(
            args.config, args.checkpoint, arch=args.arch, shape=shape)
        export_onnx(
            model,
            outputs,
            args.out,
            shape,
            batch=args.batch,
            dynamic_batch=args.dynamic_batch,
            dynamic_shape=args.dynamic_shape)
    except ExportError as e:
        parser.error(str(e))
    print(f'{args.out}: outputs {", ".join(outputs)}; ops: '
          f'{", ".join(onnx_ops(args.out))}')
    if args.verify:
        batches = (1, 3) if args.dynamic_batch or args.dynamic_shape else (
            args.batch, )
        inputs = [torch.randn(b, 3, *shape) for b in batches]
        err = verify_onnx(args.out, model, inputs)
        print(f'onnxruntime vs PyTorch, batch {", ".join(map(str, batches))}'
              f': largest relative difference {err:.2e}')
        if err > 1e-4:
            sys.exit(f'error: difference {err:.2e} above 1e-4')


if __name__ == '__main__':
    main()
