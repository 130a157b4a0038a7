"""What the command lines of ``tools/train.py`` and ``tools/test.py`` need:
their shared arguments, host set-up, strict ``--cfg-options``, ``--amp`` /
``--auto-scale-lr`` / ``--show`` / ``--out``, and input checks. Engine
behaviour lives in :mod:`mmhornet.engine`, checkpoint I/O in
:mod:`mmhornet.checkpoint`."""
from .cli import build_runner, load_tool_config, parse_tool_args, tool_parser
from .config import (ConfigOptionError, add_cfg_options_args,
                     check_cfg_option_key, merge_cfg_options)
from .data_check import DataCheckError, check_dataset_files, check_json_file
from .setup_env import (HOSTS, apply_out_arg, apply_show_args, enable_amp,
                        enable_auto_scale_lr, init_host, set_work_dir)

__all__ = [
    'ConfigOptionError', 'DataCheckError', 'HOSTS', 'add_cfg_options_args',
    'apply_out_arg', 'apply_show_args', 'build_runner', 'check_cfg_option_key',
    'check_dataset_files', 'check_json_file', 'enable_amp',
    'enable_auto_scale_lr', 'init_host', 'load_tool_config',
    'merge_cfg_options', 'parse_tool_args', 'set_work_dir', 'tool_parser'
]
