"""The command line ``tools/train.py`` and ``tools/test.py`` share.

Both take a config first and end with ``--cfg-options``, ``--launcher`` and
``--local-rank``; both load the config the same way (host, strict
``--cfg-options``, work dir) and build the runner as mmdet's tools do. Each
tool adds only its own arguments and config changes.
"""
import argparse
import os
import os.path as osp
from typing import Callable, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmhornet.engine import RUNNER
from .config import ConfigOptionError, add_cfg_options_args, merge_cfg_options
from .setup_env import init_host, set_work_dir


def tool_parser(description: str, config_help: str) -> argparse.ArgumentParser:
    """A parser whose first argument is the config.

    Args:
        description (str): What the tool does.
        config_help (str): Help of the ``config`` argument.

    Returns:
        argparse.ArgumentParser: the parser, for the tool to add to.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help=config_help)
    return parser


def parse_tool_args(parser: argparse.ArgumentParser,
                    argv: Optional[List[str]] = None,
                    inference: bool = False) -> argparse.Namespace:
    """Add the arguments every tool ends with, parse, and check the config.

    Adds ``--cfg-options``, ``--cfg-options-allow-new``, ``--compile``,
    ``--launcher`` and ``--local-rank``, and exports ``LOCAL_RANK`` as
    mmdet's tools do.

    Args:
        parser (argparse.ArgumentParser): From :func:`tool_parser`, with
            the tool's own arguments.
        argv (list[str], optional): The arguments. Defaults to ``sys.argv``.
        inference (bool): A tool that only tests: ``--compile frozen`` is
            then offered. Defaults to False.

    Returns:
        argparse.Namespace: the parsed arguments.
    """
    add_cfg_options_args(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher; without CUDA the processes talk over gloo')
    parser.add_argument(
        '--compile',
        nargs='?',
        const='backbone',
        choices=['backbone', 'model'] + (['frozen'] if inference else []),
        default=None,
        help="torch.compile the model's backbone (the default of a bare "
        "--compile; mmhornet's runner) or, with 'model', mmengine's whole "
        'train_step' +
        ("; 'frozen': the backbone with inductor's freezing (weights folded "
         'in as constants; faster CPU inference)' if inference else ''))
    # torch.distributed.launch passes --local-rank (torch >= 2.0), older
    # versions --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        parser.error(f'config file {args.config!r} does not exist')
    return args


def load_tool_config(
    parser: argparse.ArgumentParser, args: argparse.Namespace,
    apply_args: Callable[[Config, Optional[str]], None]
) -> Tuple[Config, Optional[str]]:
    """Load the config and apply the arguments both tools have to it.

    Registers the host's modules, merges ``--cfg-options``, calls
    ``apply_args`` and sets the work dir; a :class:`ConfigOptionError` of
    any of them is a user error (exit code 2).

    Args:
        parser (argparse.ArgumentParser): Reports user errors.
        args (argparse.Namespace): From :func:`parse_tool_args`; needs
            ``work_dir`` too.
        apply_args (Callable): ``apply_args(cfg, host)`` applies the tool's
            own arguments, after ``--cfg-options``.

    Returns:
        tuple: the config and its host (``'mmdet'``, ``'mmseg'``,
        ``'mmpretrain'`` or None for an mmengine config).
    """
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    try:
        host = init_host(cfg)
        if args.cfg_options is not None:
            merge_cfg_options(
                cfg, args.cfg_options, allow_new=args.cfg_options_allow_new)
        apply_args(cfg, host)
        if getattr(args, 'compile', None) == 'backbone':
            cfg.compile = dict(modules=['backbone'])
        elif getattr(args, 'compile', None) == 'frozen':
            cfg.compile = dict(modules=['backbone'], freeze=True)
        elif getattr(args, 'compile', None) == 'model':
            cfg.compile = True
    except ConfigOptionError as e:
        parser.error(str(e))
    set_work_dir(cfg, args.work_dir, args.config)
    return cfg, host


def build_runner(cfg: Config) -> Runner:
    """The config's runner: ``runner_type`` as mmdet's tools read it, and
    :class:`~mmhornet.engine.MMHornetRunner` where the config names none.

    Args:
        cfg (mmengine.Config): The final config, changed in place.

    Returns:
        mmengine.runner.Runner: the runner.
    """
    cfg.setdefault('runner_type', RUNNER)
    return RUNNERS.build(cfg)
