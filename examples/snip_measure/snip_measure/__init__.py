"""An external importance measure for ``gftheory assess`` (docs/assess.md), and a network to try it on.

``Snip``: SNIP's connection sensitivity (Lee et al., ICLR 2019) summed per unit, Σ_i |θ_i g_i|, with
g the gradient of the loss on the importance sample. It declares ``needs = {"grad"}``, so gftheory
computes one gradient for it and nothing else. (Its per-unit sum equals gftheory's built-in
``loss_preservation_elementwise``, the authors' ``loss_based`` code; assessing it shows where that
family stands.)

``resnet18(num_classes=10)``: torchvision's ResNet-18 (``torchvision.models.resnet18``: the 7×7
stride-2 stem, max-pool, four stages of two BasicBlocks with 64/128/256/512 channels, projection
shortcuts, global average pool, one Linear), written out with torch only — 11,181,642 parameters
with 10 classes, as torchvision's, with its module names, construction order and initialisation,
so the same seed draws the same initial weights. With torchvision installed,
``--arch torchvision.models:resnet18`` is the same network.
"""
from __future__ import annotations

from torch import nn

from gftheory import Measure


class Snip(Measure):
    """SNIP's connection sensitivity summed per unit: Σ_i |θ_i g_i| (lowest removed first)."""
    name = "snip"
    formula = "Σ_i |θ_i g_i| (SNIP, Lee et al. 2019)"
    needs = frozenset({"grad"})

    def parameter_scores(self, q):          # q: gftheory.measures.WeightQuantities
        return (q.theta * q.grad).abs()


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def _stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    """Two BasicBlocks; the projection shortcut is built before the blocks, as torchvision does, so
    a seed draws the same initial weights as ``torchvision.models.resnet18``."""
    down = None
    if stride != 1 or cin != cout:
        down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    return nn.Sequential(BasicBlock(cin, cout, stride, down), BasicBlock(cout, cout))


class ResNet18(nn.Module):
    """torchvision's ResNet-18 layout (module names, construction order and initialisation as
    torchvision's)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(64, 64, 1)
        self.layer2 = _stage(64, 128, 2)
        self.layer3 = _stage(128, 256, 2)
        self.layer4 = _stage(256, 512, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():             # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int = 10) -> ResNet18:
    """torchvision's ResNet-18 with ``num_classes`` outputs (the factory for ``--arch``)."""
    return ResNet18(num_classes)


__all__ = ["Snip", "ResNet18", "resnet18"]
