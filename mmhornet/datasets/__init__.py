"""Data sets: a synthetic demo set; it needs only numpy, OpenCV and
mmengine, so importing this package never imports mmdet or mmseg."""
from .demo_data import (DEMO_CLASSES, DEMO_PALETTE, DEMO_SEG_CLASSES,
                        DEMO_SEG_PALETTE, generate_demo_data)

__all__ = [
    'DEMO_CLASSES', 'DEMO_PALETTE', 'DEMO_SEG_CLASSES', 'DEMO_SEG_PALETTE',
    'generate_demo_data'
]
