"""Checkpoints: reading official, mmpretrain and mmhornet HorNet weights
(:mod:`.convert`), and the file I/O every run uses (:mod:`.io`: safe
loading, atomic saving, the checkpoint to resume from). Importing it
registers the safe-loading allowlist and the ``atomic_local`` backend."""
from .convert import (HOW_TO_GET_WEIGHTS, OFFICIAL_RENAMES,
                      convert_hornet_state_dict, detect_format,
                      load_checkpoint_file, load_hornet_pretrained,
                      match_state_dict, resize_gf_filter, unwrap_state_dict)
from .io import (ATOMIC_BACKEND, AtomicLocalBackend, CheckpointMismatchError,
                 atomic_checkpoint_hook, check_checkpoint_matches,
                 find_last_complete_checkpoint, is_checkpoint_file,
                 register_safe_globals, safe_globals, shape_mismatches,
                 strip_prefix)

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'CheckpointMismatchError',
    'HOW_TO_GET_WEIGHTS', 'OFFICIAL_RENAMES', 'atomic_checkpoint_hook',
    'check_checkpoint_matches', 'convert_hornet_state_dict', 'detect_format',
    'find_last_complete_checkpoint', 'is_checkpoint_file',
    'load_checkpoint_file', 'load_hornet_pretrained', 'match_state_dict',
    'register_safe_globals', 'resize_gf_filter', 'safe_globals',
    'shape_mismatches', 'strip_prefix', 'unwrap_state_dict'
]
