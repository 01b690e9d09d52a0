"""The paper's networks, by name — a thin front to ``empirical.architectures``, where each network
is one registered ``Architecture`` (vgg13.py, mobilenet_v1.py, resnet56.py). Kept so existing
imports (``from empirical.models import build, widths_of, ...``) keep working.

``build(name, num_classes, widths=None)`` returns the network unpruned or at the channel widths
``widths`` (from ``widths_of``: channel space → number of channels); ``channel_layout`` lists,
for every Conv2d / BatchNorm2d / Linear, which channel space its output (and input) channels
live in. Channel spaces per network: see each architecture module's docstring.
"""
from __future__ import annotations

from empirical.architectures import (ARCHITECTURES, INPUT_SPACE, LayoutEntry, arch_of, build,
                                     channel_layout, channel_spaces, default_widths,
                                     paper_param_counts, widths_of)
from empirical.architectures.blocks import ConvBNReLU, MaskableBatchNorm2d
from empirical.architectures.mobilenet_v1 import MOBILENET_CFG, DepthwiseSeparable, MobileNetV1
from empirical.architectures.resnet56 import (RESNET56_BLOCKS, RESNET56_STAGES, RESNET56_STEM,
                                              BasicBlock, Projection, ResNet56)
from empirical.architectures.vgg13 import VGG13, VGG13_CFG, ConvReLUBN

# {(arch, num_classes): parameters} of the paper's networks (docs/paper.md §6; each Architecture's
# ``param_counts``)
PAPER_PARAM_COUNTS = paper_param_counts()

__all__ = ["ARCHITECTURES", "INPUT_SPACE", "LayoutEntry", "PAPER_PARAM_COUNTS", "arch_of", "build",
           "channel_layout", "channel_spaces", "default_widths", "widths_of", "MaskableBatchNorm2d",
           "ConvBNReLU", "ConvReLUBN", "DepthwiseSeparable", "Projection", "BasicBlock", "VGG13",
           "MobileNetV1", "ResNet56", "VGG13_CFG", "MOBILENET_CFG", "RESNET56_STAGES",
           "RESNET56_BLOCKS", "RESNET56_STEM"]
