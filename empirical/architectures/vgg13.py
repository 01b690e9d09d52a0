"""VGG-13 for 32×32 inputs (docs/paper.md §6): 10 conv–ReLU–BN units (ReLU *before* BN, as the
authors' code; no conv bias), 5 max-pools → 512 → Linear(512, classes).

Channel spaces: ``features.<i>.conv``, the output channels of each of the 10 convs.
Unit groups: 10 physical groups, one per conv.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical.architectures.base import (INPUT_SPACE, Architecture, LayoutEntry, UnitGroup,
                                          register_architecture)

VGG13_CFG = (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class ConvReLUBN(nn.Module):
    """VGG unit: conv 3×3 pad 1 (no bias) → ReLU → BN (ReLU *before* BN, as the authors' code)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(F.relu(self.conv(x)))


class VGG13(nn.Module):
    """VGG-13 for 32×32 inputs: 10 ConvReLUBN units, 5 max-pools → 512 → Linear(512, classes)."""

    def __init__(self, num_classes: int, widths: dict[str, int]):
        super().__init__()
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        c = 3
        for i, v in enumerate(VGG13_CFG):
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                w = widths[f"features.{i}.conv"]
                layers.append(ConvReLUBN(c, w))
                c = w
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


@register_architecture
class Vgg13Architecture(Architecture):
    name = "vgg13"
    description = "VGG-13 (conv–ReLU–BN, no conv bias), CIFAR head"
    param_counts = {10: 9_413_066, 100: 9_459_236}

    def default_widths(self) -> dict[str, int]:
        return {f"features.{i}.conv": v for i, v in enumerate(VGG13_CFG) if v != "M"}

    def network(self, num_classes: int, widths: dict[str, int]) -> nn.Module:
        return VGG13(num_classes, widths)

    def channel_layout(self) -> list[LayoutEntry]:
        L, prev = [], INPUT_SPACE
        for i, v in enumerate(VGG13_CFG):
            if v == "M":
                continue
            sp = f"features.{i}.conv"
            L += [LayoutEntry(sp, "conv", sp, prev), LayoutEntry(f"features.{i}.bn", "bn", sp, None)]
            prev = sp
        L.append(LayoutEntry("classifier", "linear", None, prev))
        return L

    def unit_groups(self, coupled_residual: bool = False) -> list[UnitGroup]:
        return [UnitGroup(f"features.{i}.conv", "physical", (f"features.{i}.conv.weight",),
                          space=f"features.{i}.conv") for i, v in enumerate(VGG13_CFG) if v != "M"]
