"""Quota-matched (layer-matched) selection: each group's removal count is fixed in advance, the
measure only chooses *which* units inside a group (issue 24: the E5 quota control and the
layer-matched random arms; stage-2 prune-while-training with quota-matched selection).

``select_with_quota(unit_scores, quota)`` — {group: the ``quota[group]`` lowest-scored units of
that group}, ties broken by the lower index (as ``StructuredPruner.select``); a group absent from
``quota`` (or with quota 0) loses nothing. ``candidates`` restricts a group to the listed indices
(e.g. a mask group's still-active original indices); the default is every index.

``prune_round_with_quota(pruner, model, scores, k, quota)`` — ``pruner.prune_round`` with the
per-group counts fixed to ``quota`` (positions chosen by ``select_with_quota`` among the group's
active units; a group may not go below its floor). Returns (new model, PruneReport) like
``prune_round``; ``report.removed`` is in original indices as usual.

``quota_of(report)`` — the per-group counts one round removed ({group: n}), the quota to match.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch


def _as_array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64)
    return np.asarray(x, dtype=np.float64).reshape(-1)


def select_with_quota(unit_scores: Mapping[str, object], quota: Mapping[str, int], *,
                      candidates: Mapping[str, Sequence[int]] | None = None) -> dict[str, list[int]]:
    """{group: sorted indices of the ``quota[group]`` lowest-scored units} (see module docstring).

    Raises ValueError (nothing chosen) when a quota names an unknown group, is negative or not an
    integer, exceeds the group's candidates, or a group's scores are not finite."""
    unknown = sorted(set(quota) - set(unit_scores))
    if unknown:
        raise ValueError(f"quota names groups without scores: {unknown}; fix: score every group "
                         f"the quota names")
    out: dict[str, list[int]] = {}
    for name, s in unit_scores.items():
        n = quota.get(name, 0)
        if isinstance(n, bool) or int(n) != n or n < 0:
            raise ValueError(f"quota[{name!r}] = {n!r} is not a non-negative integer")
        n = int(n)
        arr = _as_array(s)
        if not np.isfinite(arr).all():
            raise ValueError(f"non-finite scores for group {name!r}")
        cand = (np.arange(arr.size, dtype=np.int64) if candidates is None or name not in candidates
                else np.asarray(list(candidates[name]), dtype=np.int64))
        if cand.size and (cand.min() < 0 or cand.max() >= arr.size):
            raise ValueError(f"candidates of {name!r} outside 0..{arr.size - 1}")
        if n > cand.size:
            raise ValueError(f"quota[{name!r}] = {n} but the group has only {cand.size} candidate units; "
                             f"fix: a quota from the same model's layout")
        order = np.lexsort((cand, arr[cand]))      # by score, then index
        out[name] = sorted(int(i) for i in cand[order[:n]])
    return out


def quota_of(report) -> dict[str, int]:
    """{group: units removed} of one round's PruneReport (or its ``as_dict()``)."""
    removed = report["removed"] if isinstance(report, dict) else report.removed
    return {g: len(v) for g, v in removed.items() if len(v)}


def active_positions(pruner) -> dict[str, list[int]]:
    """{group: the positions ``select`` may choose}: current indices of a physical group (all of
    them), original indices of a mask group's still-active filters."""
    return {g.name: (list(range(len(pruner.alive[g.name]))) if g.kind == "physical"
                     else list(pruner.alive[g.name])) for g in pruner.groups}


def prune_round_with_quota(pruner, model, scores, k: int, quota: Mapping[str, int]):
    """``pruner.prune_round(model, scores, k)`` with each group's count fixed to ``quota`` (within
    each group the lowest-scored active units; ties by index). Raises ValueError, leaving the
    pruner unchanged, when a quota would take a group below its floor or names an unknown group."""
    names = {g.name for g in pruner.groups}
    unknown = sorted(set(quota) - names)
    if unknown:
        raise ValueError(f"quota names unknown groups {unknown}; fix: use the pruner's group names")
    for g in pruner.groups:
        n = int(quota.get(g.name, 0))
        room = len(pruner.alive[g.name]) - pruner.floors[g.name]
        if n > room:
            raise ValueError(f"quota[{g.name!r}] = {n} would take the group below its floor "
                             f"({len(pruner.alive[g.name])} active, floor {pruner.floors[g.name]})")
    cand = active_positions(pruner)

    def select(unit_scores, count):
        return select_with_quota(unit_scores, quota, candidates=cand)

    pruner.select = select          # instance attribute shadows the class method for this round
    try:
        return pruner.prune_round(model, scores, k)
    finally:
        del pruner.select
