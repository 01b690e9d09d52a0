"""The networks as registered units (see ``base``): ``ARCHITECTURES`` maps a name to an
``Architecture`` that builds the network and knows its channel spaces, channel layout, unit groups
and parameter counts. The paper's three (docs/paper.md §6) register on import:

    vgg13          9,413,066 / 9,459,236 parameters with 10 / 100 classes
    mobilenet_v1   3,217,226 / 3,309,476
    resnet56         855,770 /   861,620

Choices that make these counts exact (the table does not spell all of them out): *no conv has a
bias* (every conv is followed by BatchNorm; VGG's conv bias would add 2,944 parameters), every
BatchNorm is affine, the classifier Linear has a bias. Weights use PyTorch's default init.

The functions below take an architecture name (or, where it says so, a model built by ``build``).
"""
from __future__ import annotations

from torch import nn

from empirical.architectures.base import (ARCHITECTURES, INPUT_SPACE, Architecture,
                                          ArchitectureRegistry, LayoutEntry, UnitGroup, bn_after,
                                          register_architecture)
# the paper's networks register themselves (in this order: the order of every listing)
from empirical.architectures import vgg13, mobilenet_v1, resnet56  # noqa: E402,F401


def get_architecture(arch) -> Architecture:
    """The registered Architecture of a name, or of a model built by ``build``."""
    return ARCHITECTURES.resolve(arch)


def build(name: str, num_classes: int, widths: dict | None = None) -> nn.Module:
    """The registered network ``name`` with ``num_classes`` outputs, unpruned, or at the channel
    widths ``widths`` (a possibly partial dict from ``widths_of``)."""
    return get_architecture(name).build(num_classes, widths)


def arch_of(model: nn.Module) -> str:
    """The architecture name of a model built by ``build``."""
    return get_architecture(model).name


def default_widths(name: str) -> dict[str, int]:
    """The unpruned width of every channel space of ``name``."""
    return get_architecture(name).default_widths()


def channel_spaces(name: str) -> list[str]:
    """Names of the prunable channel spaces of ``name`` (the keys of ``widths``)."""
    return get_architecture(name).channel_spaces()


def widths_of(model: nn.Module) -> dict[str, int]:
    """The current width of every channel space (JSON-serialisable; ``build(arch, nc, widths)``
    rebuilds a network with the same parameter shapes)."""
    return get_architecture(model).widths_of(model)


def channel_layout(model_or_name) -> list[LayoutEntry]:
    """Every Conv2d / BatchNorm2d / Linear of the network with the channel spaces of its dims.
    Spaces not in ``default_widths`` (``input``, resnet ``stem``) are never pruned."""
    return get_architecture(model_or_name).channel_layout()


def paper_param_counts() -> dict[tuple[str, int], int]:
    """{(arch, num_classes): expected parameters} of every registered network that has them."""
    return {(n, nc): c for n, a in ARCHITECTURES.items() for nc, c in a.param_counts.items()}


__all__ = ["ARCHITECTURES", "Architecture", "ArchitectureRegistry", "INPUT_SPACE", "LayoutEntry",
           "UnitGroup", "arch_of", "bn_after", "build", "channel_layout", "channel_spaces",
           "default_widths", "get_architecture", "paper_param_counts", "register_architecture",
           "widths_of"]
