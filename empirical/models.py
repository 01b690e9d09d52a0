"""The three CIFAR networks of the paper (PAPER.md §6), buildable at pruned widths.

``build(name, num_classes, widths=None)`` returns VGG-13, MobileNet-V1 or ResNet-56 exactly as
PAPER.md §6; with 10 / 100 classes the parameter counts are

    vgg13          9,413,066 / 9,459,236
    mobilenet_v1   3,217,226 / 3,309,476
    resnet56         855,770 /   861,620

Choices that make these counts exact (the table does not spell all of them out): *no conv has a
bias* (every conv is followed by BatchNorm; VGG's conv bias would add 2,944 parameters), every
BatchNorm is affine, the classifier Linear has a bias. Weights use PyTorch's default init.

``widths`` (from ``widths_of``) rebuilds a pruned network: it maps a *channel space* name to its
number of channels. Channel spaces (``channel_spaces(name)``):

    vgg13         features.<i>.conv                 output channels of each of the 10 convs
    mobilenet_v1  stem.conv, blocks.<j>.pw          stem and the 13 pointwise convs; a depthwise
                                                    conv (blocks.<j>.dw) has its producer's width
    resnet56      layer<s>.<b>.conv1                block-internal channels (conv1 out = conv2 in)
                  layer2, layer3                    residual streams of stages 2, 3 (conv2 outs,
                                                    projection shortcut out); the stage-1 stream
                                                    is the stem's output and is never pruned

``channel_layout(model)`` lists, for every Conv2d / BatchNorm2d / Linear, which channel space its
output (and input) channels live in, so pruning code can slice any parameter without
architecture-specific cases.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
import torch.nn.functional as F

VGG13_CFG = (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
MOBILENET_CFG = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                 (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
RESNET56_STAGES = ((16, 1), (32, 2), (64, 2))
RESNET56_BLOCKS = 9
RESNET56_STEM = 16

PAPER_PARAM_COUNTS = {
    ("vgg13", 10): 9_413_066, ("vgg13", 100): 9_459_236,
    ("mobilenet_v1", 10): 3_217_226, ("mobilenet_v1", 100): 3_309_476,
    ("resnet56", 10): 855_770, ("resnet56", 100): 861_620,
}

INPUT_SPACE = "input"


# ----------------------------------------------------------------------------- building blocks
class ConvReLUBN(nn.Module):
    """VGG unit: conv 3×3 pad 1 (no bias) → ReLU → BN (ReLU *before* BN, as the authors' code)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(F.relu(self.conv(x)))


class ConvBNReLU(nn.Module):
    """conv (no bias) → BN → ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2,
                              groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


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


# ----------------------------------------------------------------------------- networks
class VGG13(nn.Module):
    """VGG-13 for 32×32 inputs: 10 ConvReLUBN units, 5 max-pools → 512 → Linear(512, classes)."""

    arch = "vgg13"

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


class MobileNetV1(nn.Module):
    """MobileNet-V1 for CIFAR: stem conv 3→32 stride 1, 13 depthwise-separable blocks, avg-pool 2
    (the 2×2 map after four stride-2 blocks) → Linear(1024, classes)."""

    arch = "mobilenet_v1"

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


class ResNet56(nn.Module):
    """ResNet-56 for CIFAR: stem conv 3→16 + BN + ReLU; 3 stages × 9 BasicBlocks (16/32/64,
    strides 1/2/2), projection shortcuts in the first block of stages 2 and 3; global avg-pool →
    Linear(64, classes)."""

    arch = "resnet56"

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


_CLASSES = {"vgg13": VGG13, "mobilenet_v1": MobileNetV1, "resnet56": ResNet56}


def default_widths(name: str) -> dict[str, int]:
    """The unpruned width of every channel space of ``name`` (see module docstring)."""
    if name == "vgg13":
        return {f"features.{i}.conv": v for i, v in enumerate(VGG13_CFG) if v != "M"}
    if name == "mobilenet_v1":
        out = {"stem.conv": 32}
        out.update({f"blocks.{j}.pw": w for j, (w, _) in enumerate(MOBILENET_CFG)})
        return out
    if name == "resnet56":
        out = {}
        for s, (w, _) in enumerate(RESNET56_STAGES, start=1):
            out.update({f"layer{s}.{b}.conv1": w for b in range(RESNET56_BLOCKS)})
        out.update({"layer2": RESNET56_STAGES[1][0], "layer3": RESNET56_STAGES[2][0]})
        return out
    raise ValueError(f"unknown architecture {name!r}; fix: use one of {sorted(_CLASSES)}")


def channel_spaces(name: str) -> list[str]:
    """Names of the prunable channel spaces of ``name`` (the keys of ``widths``)."""
    return list(default_widths(name))


@dataclass(frozen=True)
class ArchInfo:
    name: str
    description: str
    param_counts: dict[int, int]


ARCHITECTURES: dict[str, ArchInfo] = {
    "vgg13": ArchInfo("vgg13", "VGG-13 (conv–ReLU–BN, no conv bias), CIFAR head",
                      {10: 9_413_066, 100: 9_459_236}),
    "mobilenet_v1": ArchInfo("mobilenet_v1", "MobileNet-V1, stem stride 1, avg-pool 2",
                             {10: 3_217_226, 100: 3_309_476}),
    "resnet56": ArchInfo("resnet56", "ResNet-56, projection shortcuts where shape changes",
                         {10: 855_770, 100: 861_620}),
}


def build(name: str, num_classes: int, widths: dict | None = None) -> nn.Module:
    """The network ``name`` ∈ {vgg13, mobilenet_v1, resnet56} with ``num_classes`` outputs,
    unpruned, or at the channel widths ``widths`` (a possibly partial dict from ``widths_of``)."""
    if name not in _CLASSES:
        raise ValueError(f"unknown architecture {name!r}; fix: use one of {sorted(_CLASSES)}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    full = default_widths(name)
    if widths:
        unknown = sorted(set(widths) - set(full))
        if unknown:
            raise ValueError(f"widths has unknown keys {unknown} for {name}; fix: use keys from "
                             f"widths_of(model) / channel_spaces({name!r})")
        for k, v in widths.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"widths[{k!r}] must be a positive int, got {v!r}")
        full.update(widths)
    return _CLASSES[name](num_classes, full)


def arch_of(model: nn.Module) -> str:
    arch = getattr(model, "arch", None)
    if arch not in _CLASSES:
        raise ValueError("model was not built by empirical.models.build; fix: build it there")
    return arch


def widths_of(model: nn.Module) -> dict[str, int]:
    """The current width of every channel space (JSON-serialisable; ``build(arch, nc, widths)``
    rebuilds a network with the same parameter shapes)."""
    arch = arch_of(model)
    mods = dict(model.named_modules())
    out = {}
    for space in default_widths(arch):
        if arch == "resnet56" and space in ("layer2", "layer3"):
            out[space] = int(mods[f"{space}.0.conv2"].out_channels)
        else:
            out[space] = int(mods[space].out_channels)
    return out


@dataclass(frozen=True)
class LayoutEntry:
    """One module whose parameters are sliced by channel: ``kind`` ∈ {conv, dwconv, bn, linear};
    ``out_space`` / ``in_space`` name the channel spaces of dims 0 / 1 (bn: only out_space;
    dwconv: dim 0 only, its groups follow out_space; linear out = classes is never sliced)."""
    module: str
    kind: str
    out_space: str | None
    in_space: str | None


def channel_layout(model_or_name) -> list[LayoutEntry]:
    """Every Conv2d / BatchNorm2d / Linear of the network with the channel spaces of its dims.
    Spaces not in ``default_widths`` (``input``, resnet ``stem``) are never pruned."""
    name = model_or_name if isinstance(model_or_name, str) else arch_of(model_or_name)
    L: list[LayoutEntry] = []
    if name == "vgg13":
        prev = INPUT_SPACE
        for i, v in enumerate(VGG13_CFG):
            if v == "M":
                continue
            sp = f"features.{i}.conv"
            L += [LayoutEntry(sp, "conv", sp, prev), LayoutEntry(f"features.{i}.bn", "bn", sp, None)]
            prev = sp
        L.append(LayoutEntry("classifier", "linear", None, prev))
    elif name == "mobilenet_v1":
        prev = "stem.conv"
        L += [LayoutEntry("stem.conv", "conv", prev, INPUT_SPACE), LayoutEntry("stem.bn", "bn", prev, None)]
        for j in range(len(MOBILENET_CFG)):
            sp = f"blocks.{j}.pw"
            L += [LayoutEntry(f"blocks.{j}.dw", "dwconv", prev, None),
                  LayoutEntry(f"blocks.{j}.dw_bn", "bn", prev, None),
                  LayoutEntry(sp, "conv", sp, prev), LayoutEntry(f"blocks.{j}.pw_bn", "bn", sp, None)]
            prev = sp
        L.append(LayoutEntry("classifier", "linear", None, prev))
    elif name == "resnet56":
        L += [LayoutEntry("stem.conv", "conv", "stem", INPUT_SPACE), LayoutEntry("stem.bn", "bn", "stem", None)]
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
    else:
        raise ValueError(f"unknown architecture {name!r}; fix: use one of {sorted(_CLASSES)}")
    return L
