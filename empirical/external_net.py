"""Networks from outside the registry: ``module:factory`` and coupled unit groups from Torch-Pruning.

``load_network("pkg.mod:factory", num_classes)`` calls the factory (with ``num_classes=`` when it
takes that keyword or ``**kwargs``, as torchvision's model builders do, else with no argument) and
checks that it returns an ``nn.Module``.

``coupled_groups(model, example_inputs)`` asks Torch-Pruning's ``DependencyGraph`` (the optional
extra ``pip install 'gftheory[prune]'``) which output channels of which Conv2d / Linear layers must
be removed together — the producers of a residual add, a depthwise conv and the conv feeding it, the
inputs of a concatenation — one ``CoupledGroup`` per set. The classifier (the last Linear, whose
outputs are the classes) is ignored. ``group_scores`` sums a measure's filter scores over a group's
members, the rule the hand-written physical groups use (``empirical.pruning.units``). Each group
also says which slice of which module its channel c owns (``CoupledGroup.owned``: the output-channel
index of every Conv2d / Linear / BatchNorm in the group for each channel c of the root), so a channel
is removed by zeroing exactly those slices (``empirical.assess_events``).

``hand_coupled_sets(arch)`` states the hand-written groups of a registered network the same way (the
convs whose outputs are one channel space), so the two can be compared; tests/empirical/
test_torch_pruning_groups.py does, for the three registered networks.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch
from torch import nn

from gftheory.errors import UsageError
from gftheory.external import load_object


@dataclass(frozen=True)
class CoupledGroup:
    """Output channels of ``members`` (module names, Conv2d / Linear) that are removed together;
    ``channels`` of them; ``root`` is the module Torch-Pruning grouped from. ``owned``: one
    (module name, kind, ((c, index), ...)) per Conv2d ("conv") / Linear ("linear") / BatchNorm
    ("bn") whose output channels the group removes, pairing each root channel c with that module's
    output index (not part of equality)."""
    root: str
    members: frozenset
    channels: int
    owned: tuple = field(default=(), compare=False)

    def index_map(self, module: str) -> dict[int, int]:
        """{root channel c: output index} of one module of ``owned`` (identity if not recorded)."""
        for name, _kind, pairs in self.owned:
            if name == module:
                return dict(pairs)
        return {c: c for c in range(self.channels)}


def load_network(spec: str, num_classes: int = 10) -> nn.Module:
    """The nn.Module a ``module:factory`` spec builds (checked before any work)."""
    factory = load_object(spec, what="network")
    if not callable(factory):
        raise UsageError(f"network {spec!r} is not callable; fix: name a function or class that returns an nn.Module")
    try:
        params = inspect.signature(factory).parameters
        takes = "num_classes" in params or any(v.kind is v.VAR_KEYWORD for v in params.values())
    except (TypeError, ValueError):
        takes = False
    try:
        model = factory(num_classes=num_classes) if takes else factory()
    except Exception as exc:
        raise UsageError(f"network {spec!r}: calling it raised {type(exc).__name__}: {exc}; fix: the factory "
                         f"must build the network with no arguments (or num_classes=)") from exc
    if not isinstance(model, nn.Module):
        raise UsageError(f"network {spec!r} returned {type(model).__name__}, not a torch.nn.Module; fix: return the model")
    return model


def _torch_pruning():
    try:
        import torch_pruning
    except ImportError as exc:
        raise UsageError("unit groups for a network outside the registry need Torch-Pruning; fix: "
                         "pip install 'gftheory[prune]' (or pip install --no-deps torch-pruning)") from exc
    return torch_pruning


def _classifier(model: nn.Module) -> list[nn.Module]:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1:]


def coupled_groups(model: nn.Module, example_inputs: torch.Tensor, *, ignored=None) -> list[CoupledGroup]:
    """Torch-Pruning's coupled output-channel groups of every Conv2d / Linear of ``model`` (the last
    Linear and ``ignored`` modules excluded). The model is traced once on ``example_inputs`` in eval
    mode and left as it was."""
    tp = _torch_pruning()
    names = {m: n for n, m in model.named_modules()}
    was = model.training
    model.eval()
    try:
        dg = tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
        skip = _classifier(model) + list(ignored or [])
        out = []
        for g in dg.get_all_groups(ignored_layers=skip, root_module_types=[nn.Conv2d, nn.Linear]):
            members, root, channels, owned = set(), None, 0, {}
            for item in g.items:
                dep, idxs = item.dep, item.idxs
                mod = dep.target.module
                if getattr(dep.handler, "__name__", "") != "prune_out_channels" or mod not in names:
                    continue
                kind = ("conv" if isinstance(mod, nn.Conv2d) else "linear" if isinstance(mod, nn.Linear)
                        else "bn" if isinstance(mod, nn.modules.batchnorm._BatchNorm) else None)
                if kind is None:
                    continue
                roots = item.root_idxs if getattr(item, "root_idxs", None) is not None else range(len(idxs))
                owned.setdefault(names[mod], (kind, tuple(zip((int(r) for r in roots), (int(i) for i in idxs)))))
                if kind in ("conv", "linear"):
                    members.add(names[mod])
                    if root is None:
                        root, channels = names[mod], len(idxs)
            if members:
                out.append(CoupledGroup(root, frozenset(members), channels,
                                        tuple((n, k, pairs) for n, (k, pairs) in owned.items())))
    finally:
        model.train(was)
    return out


def group_scores(groups: list[CoupledGroup], filter_scores: dict) -> dict[str, torch.Tensor]:
    """{group root: per-channel score} = Σ over members of their filter scores (``importance``'s
    unit="filter" output, keyed by weight name), each member's scores taken at the output index
    that carries the root's channel c (``CoupledGroup.index_map``)."""
    out = {}
    for g in groups:
        total = None
        for m in sorted(g.members):
            s = filter_scores[f"{m}.weight"]
            idx = g.index_map(m)
            s = s[torch.as_tensor([idx[c] for c in range(g.channels)], device=s.device)]
            total = s if total is None else total + s
        out[g.root] = total
    return out


def hand_coupled_sets(arch: str, coupled_residual: bool = True) -> dict[str, frozenset]:
    """(``coupled_residual`` where the network supports it.) {group name: the Conv2d / depthwise-conv / Linear modules whose outputs that hand-written unit
    group removes}: a physical group's channel space's producers; a mask group's conv alone."""
    from empirical.architectures import channel_layout, get_architecture
    from empirical.pruning.units import unit_groups
    layout = channel_layout(arch)
    out = {}
    coupled = coupled_residual and get_architecture(arch).supports_coupled_residual
    for g in unit_groups(arch, coupled_residual=coupled):
        if g.kind == "physical":
            out[g.name] = frozenset(e.module for e in layout if e.out_space == g.space
                                    and e.kind in ("conv", "dwconv", "linear"))
        else:
            out[g.name] = frozenset({g.conv})
    return out


__all__ = ["CoupledGroup", "coupled_groups", "group_scores", "hand_coupled_sets", "load_network"]
