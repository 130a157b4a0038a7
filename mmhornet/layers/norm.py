"""LayerNorms for channels-last and channels-first maps."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, H, W)`` map.

    Same parameters (``weight``, ``bias``) and numerics as HorNet's
    ``channels_first`` LayerNorm (biased variance, ``eps`` inside the root),
    computed by ``F.layer_norm`` on a channels-last view instead of the
    reference's mean / var / sqrt arithmetic.

    Args:
        num_channels (int): Number of channels ``C``.
        eps (float): Added to the variance. Defaults to 1e-6.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__(num_channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)
