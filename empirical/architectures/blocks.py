"""Building blocks shared by several networks (module attribute names are part of the
checkpoints' state_dict keys: do not rename them)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ConvBNReLU(nn.Module):
    """conv (no bias) → BN → ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class MaskableBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose output channel c is multiplied by the buffer ``keep[c]`` ∈ {0, 1}
    (all ones: exactly the plain BatchNorm2d). It ends every branch that feeds a ResNet residual
    stream, where pruned filters are masked rather than removed: with keep[c] = 0 the channel's
    output is exactly 0 *as a function of θ*, so its conv filter, γ_c and β_c get exactly zero
    gradient and Hessian-vector product — a masked unit contributes nothing to g, Hg, ‖g‖², θᵀHg
    or any score, in train and in eval mode. The buffer is no parameter (counts unchanged)."""

    def __init__(self, num_features: int, **kwargs):
        super().__init__(num_features, **kwargs)
        self.register_buffer("keep", torch.ones(num_features))

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) * self.keep.to(x.dtype).view(1, -1, 1, 1)
