"""Depthwise convolution on channels-last tensors, with a faster CPU
weight gradient.

On CPU, PyTorch hands a depthwise conv's weight gradient to oneDNN's generic
(not depthwise) backward-weights kernel, which is slow for HorNet's 7x7 convs
(``tools/analysis/benchmark_layers.py``). The same gradient is a depthwise
correlation of the padded input with the output gradient, summed over the
batch:

    grad_w[c, i, j] = sum_{n, h, w} grad_y[n, c, h, w]
                                    * x_pad[n, c, h + i, w + j]

i.e. a depthwise *forward* convolution over ``N * C`` channels with the
output gradient as a large kernel, which oneDNN's depthwise kernel runs fast
(in bf16 too, where the backward-weights kernel is slower still). The input
gradient of a stride-1 'same' conv is the output gradient correlated with
the flipped kernel, also a depthwise forward conv; the bias gradient is a
sum. Where it runs is :func:`~mmhornet.layers.policy.depthwise_weight_grad`'s
decision; everything else is a plain ``F.conv2d``.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .policy import depthwise_weight_grad, fold_scale, fold_scales


class _SameDepthwiseConv2d(torch.autograd.Function):
    """Stride-1 'same' depthwise conv2d, gradients as forward convs."""

    @staticmethod
    def forward(ctx, x, weight, bias, padding):
        ctx.padding = padding
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, bias, 1, padding, 1, x.shape[1])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        channels = x.shape[1]
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = F.conv2d(grad_y, weight.flip(2, 3), None, 1, ctx.padding,
                              1, channels)
        if need_b:
            grad_b = grad_y.sum((0, 2, 3))
        if need_w:
            n, c, h, w = x.shape
            ph, pw = ctx.padding
            # (1, N*C, H+2p, W+2p) input, (N*C, 1, H, W) kernel: one
            # correlation per (sample, channel), then the sum over samples.
            # (Zeros + one copy: faster than F.pad + reshape.)
            x_pad = x.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
            x_pad[:, :, ph:ph + h, pw:pw + w] = x
            x_pad = x_pad.view(1, n * c, h + 2 * ph, w + 2 * pw)
            # An explicit copy, not reshape: a traced reshape is a view or a
            # copy by the strides the tracer predicted, which for grad_y can
            # differ from those it has when the graph runs.
            kernel = grad_y.clone(memory_format=torch.contiguous_format)
            kernel = kernel.view(n * c, 1, h, w)
            grad_w = F.conv2d(x_pad, kernel, groups=n * c)
            grad_w = grad_w.reshape(n, c, *weight.shape[2:]).sum(0)
            grad_w = grad_w.reshape(weight.shape)
        return grad_x, grad_w, grad_b, None


def _same_depthwise_conv2d(x, weight, bias, padding):
    if torch.is_autocast_enabled('cpu'):
        # Autocast's casts for a conv (all its inputs to bf16), made here:
        # it does not reach into a custom Function, whose backward then
        # runs in the dtype of its inputs.
        dtype = torch.get_autocast_dtype('cpu')
        x, weight = x.to(dtype), weight.to(dtype)
        bias = None if bias is None else bias.to(dtype)
        with torch.autocast('cpu', enabled=False):
            return _SameDepthwiseConv2d.apply(x, weight, bias, padding)
    return _SameDepthwiseConv2d.apply(x, weight, bias, padding)


def depthwise_conv_nhwc(conv: nn.Conv2d,
                        x: torch.Tensor,
                        scale: Optional[float] = None) -> torch.Tensor:
    """Apply a depthwise ``nn.Conv2d`` to an ``(N, H, W, C)`` tensor.

    The permuted view is an NCHW tensor in channels-last memory, which the
    CPU (oneDNN) and CUDA (cuDNN) kernels take without a layout copy when
    ``x`` is contiguous; the output is channels-last too, so the permute back
    is free. A scalar ``scale`` multiplies the output (folded into the weight
    and bias where :func:`~mmhornet.layers.policy.fold_scales` allows).

    Args:
        conv (nn.Conv2d): A depthwise conv (``groups == in_channels ==
            out_channels``).
        x (Tensor): ``(N, H, W, C)``.
        scale (float, optional): Output scale.

    Returns:
        Tensor: ``(N, H', W', C)``.
    """
    weight, bias = conv.weight, conv.bias
    scale = None if scale == 1.0 else scale
    if scale is not None and fold_scales():
        weight, bias = fold_scale(weight, bias, scale)
        scale = None
    x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    if depthwise_weight_grad(x, conv):
        x = _same_depthwise_conv2d(x, weight, bias, conv.padding)
    else:
        x = F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation,
                     conv.groups)
    x = x.permute(0, 2, 3, 1)
    return x if scale is None else x * scale
