"""Generate the synthetic demo data set (COCO and ADE20K formats).

``make demo`` runs this before training; a second run with the same settings
finds the data complete and does nothing. See
:mod:`mmhornet.demo.scenes` for the scenes, the layout and the config
fields that load it.

Example:
    python tools/misc/make_demo_data.py --out data/demo --seed 0
"""
import argparse
import time

from mmhornet.demo import generate_demo_data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic demo data set for mmhornet '
        '(COCO instances + ADE20K-style semantic segmentation).')
    parser.add_argument(
        '--out',
        default='data/demo',
        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='random seed (default: %(default)s)')
    parser.add_argument(
        '--num-train',
        type=int,
        default=300,
        help='number of training images (default: %(default)s)')
    parser.add_argument(
        '--num-val',
        type=int,
        default=60,
        help='number of validation images (default: %(default)s)')
    parser.add_argument(
        '--min-size',
        type=int,
        default=320,
        help='smallest image side (default: %(default)s)')
    parser.add_argument(
        '--max-size',
        type=int,
        default=512,
        help='largest image side (default: %(default)s)')
    parser.add_argument(
        '--force',
        action='store_true',
        help='regenerate even if the output folder already holds a complete '
        'data set made with the same settings')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    paths = generate_demo_data(
        args.out,
        seed=args.seed,
        num_train=args.num_train,
        num_val=args.num_val,
        min_size=args.min_size,
        max_size=args.max_size,
        progress=True,
        force=args.force)
    settings = (f'seed={args.seed}, num_train={args.num_train}, '
                f'num_val={args.num_val}, size {args.min_size}-'
                f'{args.max_size}')
    if not paths['generated']:
        print(f'Demo data in {args.out} is already complete ({settings}); '
              'nothing to do. Pass --force to regenerate it.')
        return
    print(f'Wrote demo data ({settings}) to {args.out} in '
          f'{time.perf_counter() - start:.1f}s:\n'
          f'  COCO:   {paths["coco_root"]}\n'
          f'  ADE20K: {paths["ade_root"]}')


if __name__ == '__main__':
    main()
