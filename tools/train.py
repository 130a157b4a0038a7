"""Train with an mmdet, mmseg or mmpretrain config and mmhornet's modules.

Modelled on mmdet 3.3.0's ``tools/train.py``; the host is the config's
``default_scope``. Beyond it: strict ``--cfg-options``, gloo launchers on
machines without CUDA, ``--amp`` on CPUs (bfloat16), atomic checkpoints and
an auto-resume that skips partial files.

Examples:
    python tools/train.py configs/coco/mask-rcnn_hornet-t_fpn_1x_coco.py
    tools/dist_train.sh CONFIG 8 --resume
    GPUS=16 tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR --amp
"""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmhornet  # noqa: F401  (registers mmhornet's modules)
from mmhornet.utils import (ConfigOptionError, DataCheckError,
                            add_cfg_options_args, check_dataset_files,
                            enable_amp, enable_auto_scale_lr,
                            find_latest_checkpoint, init_host,
                            is_checkpoint_file, merge_cfg_options,
                            register_safe_globals, set_work_dir,
                            setup_distributed, use_atomic_checkpoints)


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.

    Returns:
        tuple: the parser and the parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Train with an mmdet, mmseg or mmpretrain config and '
        "mmhornet's modules")
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a value, from the newest '
        'complete checkpoint in the work dir (when there is none, training '
        "starts afresh, from the config's load_from)")
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: float16 with dynamic loss scaling on CUDA, '
        'bfloat16 on CPU')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the real batch size over '
        'auto_scale_lr.base_batch_size')
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


def build_config(parser, args) -> Config:
    """Load the config and apply the command line to it.

    Args:
        parser (argparse.ArgumentParser): Reports user errors (exit code 2).
        args (argparse.Namespace): From :func:`parse_args`.

    Returns:
        mmengine.Config: the config to build the runner from.
    """
    if not osp.isfile(args.config):
        parser.error(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    try:
        init_host(cfg)
        if args.cfg_options is not None:
            merge_cfg_options(
                cfg, args.cfg_options, allow_new=args.cfg_options_allow_new)
        if args.amp:
            enable_amp(cfg)
        if args.auto_scale_lr:
            enable_auto_scale_lr(cfg)
    except ConfigOptionError as e:
        parser.error(str(e))
    set_work_dir(cfg, args.work_dir, args.config)

    # Unlike mmdet's tool, --resume without a checkpoint to resume from keeps
    # load_from: a first run started with --resume still gets its weights.
    if args.resume == 'auto':
        latest = find_latest_checkpoint(cfg.work_dir)
        if latest is None:
            print_log(
                f'--resume: no checkpoint in {cfg.work_dir}, training from '
                'the start',
                logger='current',
                level=logging.WARNING)
        else:
            cfg.resume = True
            cfg.load_from = latest
    elif args.resume is not None:
        if '://' not in args.resume and not is_checkpoint_file(args.resume):
            parser.error(f'--resume {args.resume!r} is not a checkpoint file '
                         '(missing, empty or not written by torch.save)')
        cfg.resume = True
        cfg.load_from = args.resume

    use_atomic_checkpoints(cfg)
    try:
        check_dataset_files(cfg, ('train', 'val'))
    except DataCheckError as e:
        parser.error(str(e))
    return cfg


def main(argv=None):
    """Train.

    Args:
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.
    """
    parser, args = parse_args(argv)
    register_safe_globals()
    cfg = build_config(parser, args)
    setup_distributed(cfg, args.launcher)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
