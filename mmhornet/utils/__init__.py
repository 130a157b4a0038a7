"""What ``tools/train.py`` and ``tools/test.py`` need: their shared command
line, host setup, strict ``--cfg-options``, gloo launchers without CUDA,
bfloat16 AMP on CPUs, safe loading and atomic saving of checkpoints."""
from .amp import CpuAmpOptimWrapper, enable_amp
from .checkpoint import (ATOMIC_BACKEND, AtomicLocalBackend,
                         find_latest_checkpoint, is_checkpoint_file,
                         register_safe_globals, safe_globals,
                         use_atomic_checkpoints)
from .cli import (build_runner, load_tool_config, parse_tool_args,
                  tool_parser)
from .config import (ConfigOptionError, add_cfg_options_args,
                     check_cfg_option_key, merge_cfg_options)
from .data_check import (DataCheckError, check_checkpoint_matches,
                         check_dataset_files, check_json_file)
from .launch import (CpuDistributedDataParallel, init_cpu_dist,
                     register_teardown, setup_distributed,
                     teardown_distributed, use_cpu_model_wrapper)
from .setup_env import (HOSTS, apply_out_arg, apply_show_args,
                        enable_auto_scale_lr, init_host, set_work_dir)

__all__ = [
    'DataCheckError', 'check_checkpoint_matches', 'check_dataset_files',
    'check_json_file', 'ATOMIC_BACKEND', 'AtomicLocalBackend', 'ConfigOptionError',
    'CpuAmpOptimWrapper', 'CpuDistributedDataParallel', 'HOSTS',
    'add_cfg_options_args', 'apply_out_arg', 'apply_show_args',
    'build_runner', 'check_cfg_option_key', 'enable_amp',
    'enable_auto_scale_lr', 'find_latest_checkpoint', 'init_cpu_dist',
    'init_host', 'is_checkpoint_file', 'load_tool_config',
    'merge_cfg_options', 'parse_tool_args', 'register_safe_globals',
    'register_teardown', 'teardown_distributed',
    'safe_globals', 'set_work_dir', 'setup_distributed', 'tool_parser',
    'use_atomic_checkpoints', 'use_cpu_model_wrapper'
]
