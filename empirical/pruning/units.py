"""Prunable unit groups ("layers" for ranking and the floor) of each architecture (PAPER.md §6).

A group is one ranking/floor layer. ``kind``:
- ``physical``: its units are the channels of one channel space (``space``), removed physically;
  score of channel c = Σ over ``score_from`` weights of that weight's filter score c.
- ``mask``: its units are the output filters of one conv (``conv``) feeding a residual stream;
  a pruned filter is zero-masked: the conv filter *and* γ, β of the BatchNorm right after it
  (``bn``) are held at zero, so that block's contribution to the stream channel is exactly 0.
  (Zeroing the conv filter alone, as the authors' code does, would leave the constant
  β − γμ/σ in the stream: not a removal. This is a documented deviation.)

vgg13         10 physical groups, one per conv.
mobilenet_v1  14 physical groups: stem.conv and blocks.<j>.pw; the depthwise conv of block j+1
              (and its BN) loses the same channels as its producer (surgery does it through
              ``channel_layout``); the depthwise's own scores are ignored.
resnet56      27 physical groups layer<s>.<b>.conv1 (block-internal channels: conv1 out, bn1,
              conv2 in). Residual streams, default (coupled_residual=False): every block's conv2
              and the projection shortcuts of stages 2, 3 are separate ``mask`` groups scored by
              their own filter scores (29 groups). coupled_residual=True: the streams of stages 2
              and 3 are ``physical`` groups ``layer2``/``layer3`` — stream channel c is removed
              everywhere in the stage (all conv2 outputs, the shortcut output, and every consumer's
              input) and scored by the *sum* of the coupled filters' scores; the stage-1 stream is
              the stem's output, which is never pruned, so stage-1 conv2s stay ``mask`` groups.
The stem of resnet56, every depthwise conv, the shortcut convs in coupled mode, and the classifier
(its outputs are the classes) are not units: their scores are ignored.
"""
from __future__ import annotations

from dataclasses import dataclass

from empirical.models import MOBILENET_CFG, RESNET56_BLOCKS, RESNET56_STAGES, VGG13_CFG


@dataclass(frozen=True)
class UnitGroup:
    name: str
    kind: str                      # "physical" | "mask"
    score_from: tuple[str, ...]    # weight names whose per-filter scores are summed
    space: str | None = None       # physical: the channel space
    conv: str | None = None        # mask: the conv module whose output filters are masked
    bn: str | None = None          # mask: the BatchNorm after it


def unit_groups(arch: str, coupled_residual: bool = False) -> list[UnitGroup]:
    if coupled_residual and arch != "resnet56":
        raise ValueError(f"coupled_residual applies to resnet56 only, not {arch!r}; fix: drop it")
    if arch == "vgg13":
        return [UnitGroup(f"features.{i}.conv", "physical", (f"features.{i}.conv.weight",),
                          space=f"features.{i}.conv") for i, v in enumerate(VGG13_CFG) if v != "M"]
    if arch == "mobilenet_v1":
        names = ["stem.conv"] + [f"blocks.{j}.pw" for j in range(len(MOBILENET_CFG))]
        return [UnitGroup(n, "physical", (f"{n}.weight",), space=n) for n in names]
    if arch == "resnet56":
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
    raise ValueError(f"unknown architecture {arch!r}; fix: use vgg13, mobilenet_v1 or resnet56")
