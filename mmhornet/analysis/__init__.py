"""Model analysis: FLOP counting with HorNet's FFT ops."""
from .flops import (EXTRA_FLOP_HANDLES, PAPER_GFLOPS, FlopReport,
                    HorNetClassifier, build_from_config, build_hornet,
                    classifier_flops, config_flops, count_flops, flop_analyzer,
                    mmdet2_conv_linear)

__all__ = [
    'EXTRA_FLOP_HANDLES', 'PAPER_GFLOPS', 'FlopReport', 'HorNetClassifier',
    'build_from_config', 'build_hornet', 'classifier_flops', 'config_flops',
    'count_flops', 'flop_analyzer', 'mmdet2_conv_linear'
]
