"""Reading official, mmpretrain and mmhornet HorNet weights."""
from .convert import (HOW_TO_GET_WEIGHTS, OFFICIAL_RENAMES,
                      convert_hornet_state_dict, detect_format,
                      load_checkpoint_file, load_hornet_pretrained,
                      match_state_dict, resize_gf_filter)

__all__ = [
    'HOW_TO_GET_WEIGHTS', 'OFFICIAL_RENAMES', 'convert_hornet_state_dict',
    'detect_format', 'load_checkpoint_file', 'load_hornet_pretrained',
    'match_state_dict', 'resize_gf_filter'
]
