"""The demo's synthetic scenes: a generator that writes a small detection /
segmentation data set in COCO and ADE20K formats. It needs only numpy,
OpenCV and mmengine, so importing it never imports mmdet or mmseg."""
from .scenes import (DEMO_CLASSES, DEMO_PALETTE, DEMO_SEG_CLASSES,
                     DEMO_SEG_PALETTE, generate_demo_data)

__all__ = [
    'DEMO_CLASSES', 'DEMO_PALETTE', 'DEMO_SEG_CLASSES', 'DEMO_SEG_PALETTE',
    'generate_demo_data'
]
