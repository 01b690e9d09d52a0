"""Physical removal of channels: rebuild the network at smaller widths and copy the kept slices.

``remove_channels(model, keep)`` with ``keep`` = {channel space: kept indices (current
numbering)} returns a *new* model built by ``empirical.architectures.build`` at the new widths, same
dtype, device, train/eval flags and requires_grad flags, whose every parameter and buffer is the
corresponding slice of the old one (``channel_layout`` says which dims belong to which space:
a conv's output filters, the next layers' input channels, BN γ/β/running stats, a depthwise
conv's channels following its producer, the classifier's input features). The caller must build
a fresh optimizer for the returned model: the old one still points at the old tensors.

In eval mode the result equals the original with the removed channels' activations zeroed
(tested in tests/empirical/test_pruning_equivalence.py).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from empirical.architectures import arch_of, build, channel_layout, widths_of


def remove_channels(model: nn.Module, keep: dict[str, Tensor | list[int]]) -> nn.Module:
    arch = arch_of(model)
    widths = widths_of(model)
    idx: dict[str, Tensor] = {}
    p0 = next(model.parameters())
    for space, k in keep.items():
        if space not in widths:
            raise ValueError(f"{space!r} is not a prunable channel space of {arch}; "
                             f"fix: use one of {sorted(widths)}")
        t = torch.as_tensor(k, dtype=torch.long).flatten()
        if t.numel() == 0:
            raise ValueError(f"cannot remove every channel of {space!r}: keep at least one")
        if t.unique().numel() != t.numel() or int(t.min()) < 0 or int(t.max()) >= widths[space]:
            raise ValueError(f"kept indices for {space!r} must be distinct and in 0..{widths[space] - 1}")
        idx[space] = t.sort().values.to(p0.device)
    new_widths = dict(widths)
    new_widths.update({s: int(t.numel()) for s, t in idx.items()})
    new = build(arch, model.num_classes, new_widths).to(dtype=p0.dtype, device=p0.device)

    old_mods, new_mods = dict(model.named_modules()), dict(new.named_modules())
    done: set[str] = set()

    def take(t: Tensor, dim: int, space: str | None) -> Tensor:
        return t.index_select(dim, idx[space]) if space in idx else t

    with torch.no_grad():
        for e in channel_layout(arch):
            o, n = old_mods[e.module], new_mods[e.module]
            if e.kind == "conv":
                n.weight.copy_(take(take(o.weight, 0, e.out_space), 1, e.in_space))
                names = ["weight"]
            elif e.kind == "dwconv":
                n.weight.copy_(take(o.weight, 0, e.out_space))
                names = ["weight"]
            elif e.kind == "bn":
                names = []
                for attr in ("weight", "bias", "running_mean", "running_var", "keep"):
                    if getattr(o, attr, None) is not None:
                        getattr(n, attr).copy_(take(getattr(o, attr), 0, e.out_space))
                        names.append(attr)
                if o.num_batches_tracked is not None:
                    n.num_batches_tracked.copy_(o.num_batches_tracked)
                    names.append("num_batches_tracked")
            elif e.kind == "linear":
                n.weight.copy_(take(o.weight, 1, e.in_space))
                names = ["weight"]
            else:  # pragma: no cover - LayoutEntry kinds are fixed
                raise AssertionError(e.kind)
            if getattr(o, "bias", None) is not None and e.kind != "bn":
                n.bias.copy_(o.bias)
                names.append("bias")
            done.update(f"{e.module}.{a}" for a in names)
    missing = set(new.state_dict()) - done
    if missing:  # pragma: no cover - guards the layout against new modules
        raise AssertionError(f"surgery did not copy {sorted(missing)}")
    for (name, p_old), (_, p_new) in zip(model.named_parameters(), new.named_parameters()):
        p_new.requires_grad_(p_old.requires_grad)
    for m_old, m_new in zip(model.modules(), new.modules()):
        m_new.training = m_old.training
    return new
