"""Train with an mmdet, mmseg or mmpretrain config and mmhornet's modules.

Modelled on mmdet 3.3.0's ``tools/train.py``; the host is the config's
``default_scope``. The runner is the config's ``runner_type``, else
:class:`mmhornet.engine.MMHornetRunner`, which brings gloo on machines
without CUDA, bfloat16 ``--amp`` on CPUs, atomic checkpoints, a validated
auto-resume and a clean exit. Beyond mmdet's command line: strict
``--cfg-options``, data files checked before the run, and ``--resume``
without a checkpoint keeps ``load_from``.

Examples:
    python tools/train.py configs/coco/mask-rcnn_hornet-t_fpn_1x_coco.py
    tools/dist_train.sh CONFIG 8 --resume
    GPUS=16 tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR --amp
"""
import logging

from mmengine.config import Config
from mmengine.logging import print_log

import mmhornet  # noqa: F401  (registers mmhornet's modules)
from mmhornet.checkpoint import (find_last_complete_checkpoint,
                                 is_checkpoint_file)
from mmhornet.utils import (DataCheckError, build_runner, check_dataset_files,
                            enable_amp, enable_auto_scale_lr, load_tool_config,
                            parse_tool_args, tool_parser)


def parse_args(argv=None):
    """Parse train.py's command line.

    Besides the config and what every tool takes
    (:func:`mmhornet.utils.parse_tool_args`): ``--work-dir``, ``--resume``,
    ``--amp`` and ``--auto-scale-lr``.

    Args:
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.

    Returns:
        tuple: the parser and the parsed arguments; ``args.resume`` is
        ``'auto'`` for a bare ``--resume``.
    """
    parser = tool_parser(
        'Train with an mmdet, mmseg or mmpretrain config and '
        "mmhornet's modules", 'train config file path')
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
        'bfloat16 on CPU (as MMHornetRunner builds AmpOptimWrapper there)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the real batch size over '
        'auto_scale_lr.base_batch_size')
    return parser, parse_tool_args(parser, argv)


def build_config(parser, args) -> Config:
    """Load the config and apply the command line to it.

    Args:
        parser (argparse.ArgumentParser): Reports user errors (exit code 2).
        args (argparse.Namespace): From :func:`parse_args`.

    Returns:
        mmengine.Config: the config to build the runner from.
    """

    def apply_args(cfg, _host):
        if args.amp:
            enable_amp(cfg)
        if args.auto_scale_lr:
            enable_auto_scale_lr(cfg)

    cfg, _ = load_tool_config(parser, args, apply_args)

    # Unlike mmdet's tool, --resume without a checkpoint to resume from keeps
    # load_from: a first run started with --resume still gets its weights.
    if args.resume == 'auto':
        latest = find_last_complete_checkpoint(cfg.work_dir)
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
    cfg = build_config(parser, args)
    build_runner(cfg).train()


if __name__ == '__main__':
    main()
