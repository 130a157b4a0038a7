"""Test (and evaluate) a checkpoint with an mmdet, mmseg or mmpretrain config.

Modelled on mmdet 3.3.0's ``tools/test.py``; the host is the config's
``default_scope``, and ``--show``/``--out`` behave as in that host's own
``test.py``. The runner is the config's ``runner_type``, else
:class:`mmhornet.engine.MMHornetRunner`, which refuses a checkpoint of
another architecture. Checkpoints are loaded with
``torch.load(weights_only=True)``, only mmengine's checkpoint types
allowlisted (importing mmhornet registers them).

``--compile frozen`` compiles the backbone with inductor's freezing (the
weights folded in as constants, prepacked for oneDNN): faster CPU inference
once compiled, at fixed input sizes.

Examples:
    python tools/test.py CONFIG work_dirs/x/iter_160000.pth --out results.pkl
    python tools/test.py CONFIG CHECKPOINT --compile frozen
    tools/dist_test.sh CONFIG CHECKPOINT 8
"""
import os.path as osp

import mmhornet  # noqa: F401  (registers mmhornet's modules)
from mmhornet.checkpoint import CheckpointMismatchError, is_checkpoint_file
from mmhornet.utils import (DataCheckError, apply_out_arg, apply_show_args,
                            build_runner, check_dataset_files,
                            load_tool_config, parse_tool_args, tool_parser)


def parse_args(argv=None):
    """Parse test.py's command line.

    Besides the config and what every tool takes
    (:func:`mmhornet.utils.parse_tool_args`): the checkpoint, ``--work-dir``,
    ``--out``, ``--show``, ``--show-dir`` and ``--wait-time``.

    Args:
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.

    Returns:
        tuple: the parser and the parsed arguments.
    """
    parser = tool_parser(
        'Test (and evaluate) a checkpoint with an mmdet, mmseg or mmpretrain '
        "config and mmhornet's modules", 'test config file path')
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
    return parser, parse_tool_args(parser, argv, inference=True)


def main(argv=None):
    """Test.

    Args:
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.
    """
    parser, args = parse_args(argv)
    if '://' not in args.checkpoint:
        if not osp.isfile(args.checkpoint):
            parser.error(f'checkpoint {args.checkpoint!r} does not exist')
        if not is_checkpoint_file(args.checkpoint):
            parser.error(
                f'checkpoint {args.checkpoint!r} is not a checkpoint file '
                '(empty, truncated or not written by torch.save)')

    def apply_args(cfg, host):
        apply_show_args(cfg, host, args.show, args.show_dir, args.wait_time)
        apply_out_arg(cfg, None, host, args.out)

    cfg, host = load_tool_config(parser, args, apply_args)
    cfg.load_from = args.checkpoint
    try:
        check_dataset_files(cfg, ('test', ))
    except DataCheckError as e:
        parser.error(str(e))

    runner = build_runner(cfg)
    apply_out_arg(cfg, runner, host, args.out)
    try:
        runner.test()
    except CheckpointMismatchError as e:
        parser.exit(2, f'{parser.prog}: error: {e}\n')


if __name__ == '__main__':
    main()
