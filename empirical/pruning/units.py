"""Prunable unit groups ("layers" for ranking and the floor): each architecture says its own
(``Architecture.unit_groups`` in ``empirical.architectures``; docs/paper.md §6).

A group is one ranking/floor layer. ``kind``:
- ``physical``: its units are the channels of one channel space (``space``), removed physically;
  score of channel c = Σ over ``score_from`` weights of that weight's filter score c.
- ``mask``: its units are the output filters of one conv (``conv``) feeding a residual stream;
  a pruned filter is zero-masked: the conv filter *and* γ, β of the BatchNorm right after it
  (``bn``) are held at zero, so that block's contribution to the stream channel is exactly 0.
  (Zeroing the conv filter alone, as the authors' code does, would leave the constant
  β − γμ/σ in the stream: not a removal. This is a documented deviation.)

The paper's networks (details in each architecture module): vgg13 10 physical groups, one per
conv; mobilenet_v1 14 physical groups (stem and pointwise convs; depthwise convs follow their
producer); resnet56 27 physical block-internal groups plus 29 mask groups, or with
``coupled_residual`` the stage-2/3 streams as two physical groups. Scores of weights that are not
units (a stem that is never pruned, depthwise convs, coupled shortcuts, the classifier) are ignored.
"""
from __future__ import annotations

from empirical.architectures import ARCHITECTURES, UnitGroup, get_architecture

__all__ = ["UnitGroup", "unit_groups"]


def unit_groups(arch: str, coupled_residual: bool = False) -> list[UnitGroup]:
    a = get_architecture(arch)
    if coupled_residual and not a.supports_coupled_residual:
        able = [n for n, x in ARCHITECTURES.items() if x.supports_coupled_residual]
        raise ValueError(f"coupled_residual applies to {', '.join(able)} only, not {arch!r}; fix: drop it")
    return a.unit_groups(coupled_residual)
