"""MobileNet-V1 for CIFAR (docs/paper.md §6): stem conv 3→32 stride 1, 13 depthwise-separable blocks,
avg-pool 2 (the 2×2 map after four stride-2 blocks) → Linear(1024, classes); no conv bias.

Channel spaces: ``stem.conv`` and the 13 pointwise convs ``blocks.<j>.pw``; a depthwise conv
(``blocks.<j>.dw``) has its producer's width.
Unit groups: 14 physical groups, stem.conv and blocks.<j>.pw; the depthwise conv of block j+1
(and its BN) loses the same channels as its producer (surgery does it through the channel
layout); the depthwise's own scores are ignored.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical.architectures.base import (INPUT_SPACE, Architecture, LayoutEntry, UnitGroup,
                                          register_architecture)
from empirical.architectures.blocks import ConvBNReLU

MOBILENET_CFG = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                 (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
MOBILENET_STEM = 32


class DepthwiseSeparable(nn.Module):
    """MobileNet block: depthwise 3×3 (stride s) → BN → ReLU → pointwise 1×1 → BN → ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.dw = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False)
        self.dw_bn = nn.BatchNorm2d(c_in)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.dw_bn(self.dw(x)))
        return F.relu(self.pw_bn(self.pw(x)))


class MobileNetV1(nn.Module):
    """MobileNet-V1 for CIFAR: stem conv 3→32 stride 1, 13 depthwise-separable blocks, avg-pool 2
    (the 2×2 map after four stride-2 blocks) → Linear(1024, classes)."""

    def __init__(self, num_classes: int, widths: dict[str, int]):
        super().__init__()
        self.num_classes = num_classes
        c = widths["stem.conv"]
        self.stem = ConvBNReLU(3, c, 3, 1)
        blocks = []
        for j, (_, s) in enumerate(MOBILENET_CFG):
            w = widths[f"blocks.{j}.pw"]
            blocks.append(DepthwiseSeparable(c, w, s))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.avg_pool2d(self.blocks(self.stem(x)), 2)
        return self.classifier(torch.flatten(x, 1))


@register_architecture
class MobileNetV1Architecture(Architecture):
    name = "mobilenet_v1"
    description = "MobileNet-V1, stem stride 1, avg-pool 2"
    param_counts = {10: 3_217_226, 100: 3_309_476}

    def default_widths(self) -> dict[str, int]:
        out = {"stem.conv": MOBILENET_STEM}
        out.update({f"blocks.{j}.pw": w for j, (w, _) in enumerate(MOBILENET_CFG)})
        return out

    def network(self, num_classes: int, widths: dict[str, int]) -> nn.Module:
        return MobileNetV1(num_classes, widths)

    def channel_layout(self) -> list[LayoutEntry]:
        prev = "stem.conv"
        L = [LayoutEntry("stem.conv", "conv", prev, INPUT_SPACE), LayoutEntry("stem.bn", "bn", prev, None)]
        for j in range(len(MOBILENET_CFG)):
            sp = f"blocks.{j}.pw"
            L += [LayoutEntry(f"blocks.{j}.dw", "dwconv", prev, None),
                  LayoutEntry(f"blocks.{j}.dw_bn", "bn", prev, None),
                  LayoutEntry(sp, "conv", sp, prev), LayoutEntry(f"blocks.{j}.pw_bn", "bn", sp, None)]
            prev = sp
        L.append(LayoutEntry("classifier", "linear", None, prev))
        return L

    def unit_groups(self, coupled_residual: bool = False) -> list[UnitGroup]:
        names = ["stem.conv"] + [f"blocks.{j}.pw" for j in range(len(MOBILENET_CFG))]
        return [UnitGroup(n, "physical", (f"{n}.weight",), space=n) for n in names]

    def deviations(self, config) -> list[str]:
        return ["MobileNet-V1: every unit counts once in the global ranking (the authors' list "
                "also holds each depthwise layer as a copy of its producer's scores, so the stem "
                "and pointwise layers 0–11 count twice in the threshold)"]
