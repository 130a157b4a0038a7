"""Convert a HorNet checkpoint (official ImageNet, official mmdet/mmseg,
mmpretrain or mmhornet) to mmhornet's format.

The output is ``{'state_dict': {'backbone.<key>': tensor}, 'meta': {...}}``:
loadable with ``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` in any
mmhornet config, and by mmpretrain's ``HorNet`` (same keys). An official
ImageNet classifier head is kept as mmpretrain's ``head.fc.*``.

Example:
    python tools/model_converters/hornet2mmhornet.py hornet_tiny_7x7.pth \
        hornet-tiny_mmhornet.pth
"""
import argparse
import sys
from collections import OrderedDict

import torch

from mmhornet.checkpoint import (convert_hornet_state_dict,
                                 load_checkpoint_file, unwrap_state_dict)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='source checkpoint (path or URL)')
    parser.add_argument('dst', help='output path')
    parser.add_argument(
        '--ema',
        action='store_true',
        help="take an official checkpoint's 'model_ema'")
    parser.add_argument(
        '--prefix',
        default=None,
        help="key prefix of the backbone in SRC (default: "
        "'backbone.' when present)")
    parser.add_argument(
        '--trust-source',
        action='store_true',
        help='load SRC with the unsafe pickle loader (weights_only=False). '
        'Only for files you trust: unpickling runs arbitrary code.')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.trust_source:
        ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    else:
        try:
            ckpt = load_checkpoint_file(args.src)
        except (FileNotFoundError, RuntimeError, ValueError) as e:
            sys.exit(f'error: {e}')
    state_dict, where = unwrap_state_dict(ckpt, args.ema)
    backbone, fmt = convert_hornet_state_dict(state_dict, args.prefix)
    out = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    if 'head.weight' in state_dict and 'head.bias' in state_dict:
        out['head.fc.weight'] = state_dict['head.weight']
        out['head.fc.bias'] = state_dict['head.bias']
    torch.save(
        dict(
            state_dict=out,
            meta=dict(mmhornet_format=1, source_format=fmt, source_key=where)),
        args.dst)
    print(f'{args.src} ({fmt} format, {where!r}) -> {args.dst}: '
          f'{len(out)} tensors')


if __name__ == '__main__':
    main()
