"""Deployment: ONNX export of HorNet models and onnxruntime checks."""
from .onnx import (OPSET, SIZE_DIVISOR, BackboneExport, ExportError,
                   build_export_model, check_shape, export_onnx,
                   has_global_filter, onnx_ops, ort_session, verify_onnx)

__all__ = [
    'OPSET', 'SIZE_DIVISOR', 'BackboneExport', 'ExportError',
    'build_export_model', 'check_shape', 'export_onnx', 'has_global_filter',
    'onnx_ops', 'ort_session', 'verify_onnx'
]
