"""An architecture is one registered unit: a subclass of ``Architecture`` that knows how to build
its network (at the unpruned widths or pruned ones), its channel spaces and their widths, the
channel layout surgery slices by, its prunable unit groups, its expected parameter counts and the
ways the protocol departs from the authors' code on it. ``register_architecture`` adds one to
``ARCHITECTURES`` (name → instance); every architecture-specific fact lives in its own module
(vgg13.py, mobilenet_v1.py, resnet56.py), and the rest of the code asks the registry.

Vocabulary (docs/paper.md §6):

- a *channel space* is a set of channels that must be pruned together: the output channels of a
  conv and everything that reads them (the next conv's input channels, the BatchNorm after it, a
  depthwise conv that follows its producer, the classifier's input features). ``widths`` maps each
  prunable space to its number of channels; spaces outside ``default_widths`` (``input``, a stem
  that is never pruned) keep their width.
- the *channel layout* lists every Conv2d / BatchNorm2d / Linear with the spaces of its dims
  (``LayoutEntry``), so surgery, FLOP/parameter counting and the event study slice any parameter
  without architecture-specific cases.
- a *unit group* (``UnitGroup``) is one ranking/floor layer of the pruner: ``physical`` groups
  lose channels of one space by surgery, ``mask`` groups zero the output filters of a conv feeding
  a residual stream (and the γ, β of the BatchNorm after it).

A new network is one subclass, registered::

    @register_architecture
    class Tiny(Architecture):
        name = "tiny"
        def default_widths(self): return {"conv": 8}
        def network(self, num_classes, widths): ...        # an nn.Module with a module "conv", ...
        def channel_layout(self): return [LayoutEntry("conv", "conv", "conv", INPUT_SPACE), ...]
        def unit_groups(self, coupled_residual=False):
            return [UnitGroup("conv", "physical", ("conv.weight",), space="conv")]

(tests/empirical/test_architectures.py registers such a toy network and prunes it through the real runner).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from gftheory.registry import Registry

INPUT_SPACE = "input"


@dataclass(frozen=True)
class LayoutEntry:
    """One module whose parameters are sliced by channel: ``kind`` ∈ {conv, dwconv, bn, linear};
    ``out_space`` / ``in_space`` name the channel spaces of dims 0 / 1 (bn: only out_space;
    dwconv: dim 0 only, its groups follow out_space; linear out = classes is never sliced)."""
    module: str
    kind: str
    out_space: str | None
    in_space: str | None


@dataclass(frozen=True)
class UnitGroup:
    """One ranking/floor layer of the pruner (see ``empirical.pruning.units``)."""
    name: str
    kind: str                      # "physical" | "mask"
    score_from: tuple[str, ...]    # weight names whose per-filter scores are summed
    space: str | None = None       # physical: the channel space
    conv: str | None = None        # mask: the conv module whose output filters are masked
    bn: str | None = None          # mask: the BatchNorm after it


def bn_after(layout: list[LayoutEntry]) -> dict[str, str]:
    """{conv module: the BatchNorm that directly follows it in the layout}."""
    return {e.module: n.module for e, n in zip(layout, layout[1:])
            if e.kind in ("conv", "dwconv") and n.kind == "bn"}


class Architecture:
    """Base class of a registered network. Subclasses set ``name`` (and ``description``,
    ``param_counts``) and implement ``default_widths``, ``network``, ``channel_layout`` and
    ``unit_groups``; ``widths_of`` (default: the ``out_channels`` of the module named like each
    space) and ``deviations`` (default: none) may be overridden."""
    name: str = ""
    description: str = ""
    # {num_classes: parameters of the unpruned network}: the counts the paper's table implies
    # (docs/paper.md §6), checked by tests/empirical/test_models.py and tests/empirical/test_architectures.py; empty for a network the paper does not have
    param_counts: Mapping[int, int] = {}
    # whether ``coupled_residual`` (residual-stream channels removed jointly) applies
    supports_coupled_residual: bool = False

    # -- what each network says ----------------------------------------------------------
    def default_widths(self) -> dict[str, int]:
        """The unpruned width of every prunable channel space (the keys of ``widths``)."""
        raise NotImplementedError

    def network(self, num_classes: int, widths: dict[str, int]) -> nn.Module:
        """The network with ``num_classes`` outputs at ``widths`` (every space given)."""
        raise NotImplementedError

    def channel_layout(self) -> list[LayoutEntry]:
        """Every Conv2d / BatchNorm2d / Linear with the channel spaces of its dims, in order."""
        raise NotImplementedError

    def unit_groups(self, coupled_residual: bool = False) -> list[UnitGroup]:
        """The pruner's ranking/floor groups, in ranking order."""
        raise NotImplementedError

    def widths_of(self, model: nn.Module) -> dict[str, int]:
        """The current width of every channel space of ``model``."""
        mods = dict(model.named_modules())
        return {space: int(mods[space].out_channels) for space in self.default_widths()}

    def deviations(self, config) -> list[str]:
        """Structural departures from the authors' code on this network for a run ``config``."""
        return []

    # -- derived -------------------------------------------------------------------------
    def channel_spaces(self) -> list[str]:
        return list(self.default_widths())

    def build(self, num_classes: int, widths: dict | None = None) -> nn.Module:
        """The network with ``num_classes`` outputs, unpruned, or at the channel widths ``widths``
        (a possibly partial dict from ``widths_of``). The model carries ``arch`` (this name) and
        ``num_classes``."""
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        full = self.default_widths()
        if widths:
            unknown = sorted(set(widths) - set(full))
            if unknown:
                raise ValueError(f"widths has unknown keys {unknown} for {self.name}; fix: use keys from "
                                 f"widths_of(model) / channel_spaces({self.name!r})")
            for k, v in widths.items():
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    raise ValueError(f"widths[{k!r}] must be a positive int, got {v!r}")
            full.update(widths)
        model = self.network(num_classes, full)
        model.arch, model.num_classes = self.name, num_classes
        return model

    def __repr__(self) -> str:
        return f"<architecture {self.name}: {self.description}>"


class ArchitectureRegistry(Registry):
    """name → Architecture. Iterating gives the names in registration order."""
    item_type = Architecture
    kind = "architecture"

    def resolve(self, arch) -> Architecture:
        """An Architecture from its name, an instance, or a model built by ``build``."""
        if isinstance(arch, Architecture):
            return arch
        if isinstance(arch, nn.Module):
            name = getattr(arch, "arch", None)
            if name not in self._items:
                raise ValueError("model was not built by empirical.architectures.build (empirical.models.build); fix: build it there")
            return self._items[name]
        if isinstance(arch, str) and arch in self._items:
            return self._items[arch]
        raise ValueError(f"unknown architecture {arch!r}; fix: use one of {sorted(self._items)}")


ARCHITECTURES = ArchitectureRegistry()


def register_architecture(arch, *, overwrite: bool = False):
    """Add an architecture to ``ARCHITECTURES`` (an Architecture subclass or instance)."""
    return ARCHITECTURES.register(arch, overwrite=overwrite)
