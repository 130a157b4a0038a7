"""What ``tools/train.py`` and ``tools/test.py`` need: host setup, strict
``--cfg-options``, gloo launchers without CUDA, bfloat16 AMP on CPUs, safe
loading and atomic saving of checkpoints."""
from .amp import CpuAmpOptimWrapper, enable_amp
from .checkpoint import (ATOMIC_BACKEND, AtomicLocalBackend,
                         find_latest_checkpoint, is_checkpoint_file,
                         register_safe_globals, safe_globals,
                         use_atomic_checkpoints)
from .config import (ConfigOptionError, add_cfg_options_args,
                     check_cfg_option_key, merge_cfg_options)
from .data_check import (DataCheckError, check_checkpoint_matches,
                         check_dataset_files, check_json_file)
from .launch import (CpuDistributedDataParallel, init_cpu_dist,
                     setup_distributed, use_cpu_model_wrapper)
from .setup_env import (HOSTS, apply_out_arg, apply_show_args,
                        enable_auto_scale_lr, init_host, set_work_dir)

__all__ = [
    'DataCheckError', 'check_checkpoint_matches', 'check_dataset_files',
    'check_json_file', 'ATOMIC_BACKEND', 'AtomicLocalBackend', 'ConfigOptionError',
    'CpuAmpOptimWrapper', 'CpuDistributedDataParallel', 'HOSTS',
    'add_cfg_options_args', 'apply_out_arg', 'apply_show_args',
    'check_cfg_option_key', 'enable_amp', 'enable_auto_scale_lr',
    'find_latest_checkpoint', 'init_cpu_dist', 'init_host',
    'is_checkpoint_file', 'merge_cfg_options', 'register_safe_globals',
    'safe_globals', 'set_work_dir', 'setup_distributed',
    'use_atomic_checkpoints', 'use_cpu_model_wrapper'
]
