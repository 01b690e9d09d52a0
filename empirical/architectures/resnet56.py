"""ResNet-56 for CIFAR (docs/paper.md §6): stem conv 3→16 + BN + ReLU; 3 stages × 9 BasicBlocks
(16/32/64, strides 1/2/2), projection shortcuts in the first block of stages 2 and 3; global
avg-pool → Linear(64, classes); no conv bias.

Channel spaces: ``layer<s>.<b>.conv1``, the block-internal channels (conv1 out = conv2 in), and
``layer2``, ``layer3``, the residual streams of stages 2, 3 (conv2 outs, projection shortcut out);
the stage-1 stream is the stem's output and is never pruned.

Unit groups: 27 physical groups layer<s>.<b>.conv1 (conv1 out, bn1, conv2 in). Residual streams,
default (coupled_residual=False): every block's conv2 and the projection shortcuts of stages 2, 3
are separate ``mask`` groups scored by their own filter scores (29 groups). coupled_residual=True:
the streams of stages 2 and 3 are ``physical`` groups ``layer2``/``layer3`` — stream channel c is
removed everywhere in the stage (all conv2 outputs, the shortcut output, and every consumer's input)
and scored by the *sum* of the coupled filters' scores; the stage-1 stream is the stem's output,
which is never pruned, so stage-1 conv2s stay ``mask`` groups. The stem and (coupled) the shortcut
convs are not units.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from empirical.architectures.base import (INPUT_SPACE, Architecture, LayoutEntry, UnitGroup,
                                          register_architecture)
from empirical.architectures.blocks import ConvBNReLU, MaskableBatchNorm2d

RESNET56_STAGES = ((16, 1), (32, 2), (64, 2))
RESNET56_BLOCKS = 9
RESNET56_STEM = 16
STREAMS = ("layer2", "layer3")      # the prunable residual streams (coupled_residual)


class Projection(nn.Module):
    """ResNet projection shortcut: 1×1 conv (stride s, no bias) → BN (maskable)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
        self.bn = MaskableBatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); shortcut = Projection where the
    stride is not 1 or the *nominal* width changes (decided from the unpruned architecture, so a
    pruned network keeps the same graph), identity elsewhere."""

    def __init__(self, c_in: int, c_mid: int, c_out: int, stride: int, projection: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_mid, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_mid)
        self.conv2 = nn.Conv2d(c_mid, c_out, 3, padding=1, bias=False)
        self.bn2 = MaskableBatchNorm2d(c_out)
        if projection:
            self.shortcut = Projection(c_in, c_out, stride)
        elif c_in != c_out:
            raise ValueError(f"identity shortcut needs equal widths, got {c_in} → {c_out}")
        else:
            self.shortcut = None

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + sc)


class ResNet56(nn.Module):
    """ResNet-56 for CIFAR: stem conv 3→16 + BN + ReLU; 3 stages × 9 BasicBlocks (16/32/64,
    strides 1/2/2), projection shortcuts in the first block of stages 2 and 3; global avg-pool →
    Linear(64, classes)."""

    def __init__(self, num_classes: int, widths: dict[str, int]):
        super().__init__()
        self.num_classes = num_classes
        self.stem = ConvBNReLU(3, RESNET56_STEM, 3, 1)
        c, c_nominal = RESNET56_STEM, RESNET56_STEM
        for s, (w_nominal, stride) in enumerate(RESNET56_STAGES, start=1):
            w = widths.get(f"layer{s}", RESNET56_STEM) if s > 1 else RESNET56_STEM
            blocks = []
            for b in range(RESNET56_BLOCKS):
                st = stride if b == 0 else 1
                proj = st != 1 or c_nominal != w_nominal
                blocks.append(BasicBlock(c, widths[f"layer{s}.{b}.conv1"], w, st, proj))
                c, c_nominal = w, w_nominal
            setattr(self, f"layer{s}", nn.Sequential(*blocks))
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


@register_architecture
class ResNet56Architecture(Architecture):
    name = "resnet56"
    description = "ResNet-56, projection shortcuts where shape changes"
    param_counts = {10: 855_770, 100: 861_620}
    supports_coupled_residual = True

    def default_widths(self) -> dict[str, int]:
        out = {}
        for s, (w, _) in enumerate(RESNET56_STAGES, start=1):
            out.update({f"layer{s}.{b}.conv1": w for b in range(RESNET56_BLOCKS)})
        out.update({"layer2": RESNET56_STAGES[1][0], "layer3": RESNET56_STAGES[2][0]})
        return out

    def network(self, num_classes: int, widths: dict[str, int]) -> nn.Module:
        return ResNet56(num_classes, widths)

    def widths_of(self, model: nn.Module) -> dict[str, int]:
        """A residual stream's width is its first block's conv2 output (all blocks agree)."""
        mods = dict(model.named_modules())
        return {space: int(mods[f"{space}.0.conv2" if space in STREAMS else space].out_channels)
                for space in self.default_widths()}

    def channel_layout(self) -> list[LayoutEntry]:
        L = [LayoutEntry("stem.conv", "conv", "stem", INPUT_SPACE), LayoutEntry("stem.bn", "bn", "stem", None)]
        prev = "stem"
        for s in range(1, len(RESNET56_STAGES) + 1):
            stream = "stem" if s == 1 else f"layer{s}"
            for b in range(RESNET56_BLOCKS):
                p, mid = f"layer{s}.{b}", f"layer{s}.{b}.conv1"
                L += [LayoutEntry(f"{p}.conv1", "conv", mid, prev), LayoutEntry(f"{p}.bn1", "bn", mid, None),
                      LayoutEntry(f"{p}.conv2", "conv", stream, mid), LayoutEntry(f"{p}.bn2", "bn", stream, None)]
                if s > 1 and b == 0:
                    L += [LayoutEntry(f"{p}.shortcut.conv", "conv", stream, prev),
                          LayoutEntry(f"{p}.shortcut.bn", "bn", stream, None)]
                prev = stream
        L.append(LayoutEntry("classifier", "linear", None, prev))
        return L

    def unit_groups(self, coupled_residual: bool = False) -> list[UnitGroup]:
        groups = []
        for s in range(1, len(RESNET56_STAGES) + 1):
            for b in range(RESNET56_BLOCKS):
                n = f"layer{s}.{b}.conv1"
                groups.append(UnitGroup(n, "physical", (f"{n}.weight",), space=n))
        for s in range(1, len(RESNET56_STAGES) + 1):
            feeders = [(f"layer{s}.{b}.conv2", f"layer{s}.{b}.bn2") for b in range(RESNET56_BLOCKS)]
            if s > 1:
                feeders.append((f"layer{s}.0.shortcut.conv", f"layer{s}.0.shortcut.bn"))
            if coupled_residual and s > 1:
                groups.append(UnitGroup(f"layer{s}", "physical",
                                        tuple(f"{c}.weight" for c, _ in feeders), space=f"layer{s}"))
            else:
                groups += [UnitGroup(c, "mask", (f"{c}.weight",), conv=c, bn=bn) for c, bn in feeders]
        return groups

    def deviations(self, config) -> list[str]:
        out = [f"ResNet-56: every layer keeps ≥ int({config.floor_fraction:g}·width)+1 filters "
               "(the authors' code has no per-layer floor, only ≥ 1 filter per stage)"]
        if not config.coupled_residual:
            out.append("ResNet-56: a masked residual channel stays masked (the authors' fresh "
                       "all-ones mask each round can revive it)")
        return out
