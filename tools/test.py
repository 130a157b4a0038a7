"""Test (and evaluate) a checkpoint with an mmdet, mmseg or mmpretrain config.

Modelled on mmdet 3.3.0's ``tools/test.py``; the host is the config's
``default_scope``, and ``--show``/``--out`` behave as in that host's own
``test.py``. The checkpoint is loaded with ``torch.load(weights_only=True)``,
with only mmengine's checkpoint types allowlisted.

Examples:
    python tools/test.py CONFIG work_dirs/x/iter_160000.pth --out results.pkl
    tools/dist_test.sh CONFIG CHECKPOINT 8
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmhornet  # noqa: F401  (registers mmhornet's modules)
from mmhornet.utils import (ConfigOptionError, DataCheckError,
                            add_cfg_options_args, check_checkpoint_matches,
                            check_dataset_files,
                            apply_out_arg, apply_show_args, init_host,
                            is_checkpoint_file, merge_cfg_options,
                            register_safe_globals, set_work_dir,
                            setup_distributed)


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.

    Returns:
        tuple: the parser and the parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a checkpoint with an mmdet, mmseg '
        "or mmpretrain config and mmhornet's modules")
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint file (a local path or a URL)')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out',
        help='save the results. mmdet, mmpretrain (and mmengine configs): a '
        '.pkl file of the predictions; mmseg: a directory for the predicted '
        'masks')
    parser.add_argument(
        '--show', action='store_true', help='show the prediction results')
    parser.add_argument(
        '--show-dir', help='directory where painted images will be saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    add_cfg_options_args(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher; without CUDA the processes talk over gloo')
    # torch.distributed.launch passes --local-rank (torch >= 2.0), older
    # versions --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return parser, args


def main(argv=None):
    """Test.

    Args:
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.
    """
    parser, args = parse_args(argv)
    if not osp.isfile(args.config):
        parser.error(f'config file {args.config!r} does not exist')
    if '://' not in args.checkpoint:
        if not osp.isfile(args.checkpoint):
            parser.error(f'checkpoint {args.checkpoint!r} does not exist')
        if not is_checkpoint_file(args.checkpoint):
            parser.error(
                f'checkpoint {args.checkpoint!r} is not a checkpoint file '
                '(empty, truncated or not written by torch.save)')
    register_safe_globals()

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    try:
        host = init_host(cfg)
        if args.cfg_options is not None:
            merge_cfg_options(
                cfg, args.cfg_options, allow_new=args.cfg_options_allow_new)
        apply_show_args(cfg, host, args.show, args.show_dir, args.wait_time)
        apply_out_arg(cfg, None, host, args.out)
    except ConfigOptionError as e:
        parser.error(str(e))
    set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint
    try:
        check_dataset_files(cfg, ('test', ))
    except DataCheckError as e:
        parser.error(str(e))

    setup_distributed(cfg, args.launcher)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    apply_out_arg(cfg, runner, host, args.out)
    if '://' not in args.checkpoint:
        # mmengine would load another arch's checkpoint with warnings only.
        ckpt = torch.load(args.checkpoint, map_location='cpu')
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        try:
            check_checkpoint_matches(
                model, ckpt.get('state_dict', ckpt),
                f'checkpoint {args.checkpoint!r}')
        except ValueError as e:
            parser.error(str(e))
        del ckpt
    runner.test()


if __name__ == '__main__':
    main()
