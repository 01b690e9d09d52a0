"""``StructuredPruner``: global, floor-protected, scheduled filter pruning (docs/paper.md §5–§7).

Round k (1..n) of ``prune_round(model, scores, k)``:
1. Units are the *still active* units of every group of ``unit_groups`` (already pruned / masked
   units are excluded from ranking, unlike the authors' ResNet code where they stay with score 0).
   A unit's score is its filter score from ``scores`` = ``gftheory.importance(model, measure,
   batches, unit="filter")``, keyed by weight name; weights that are not units are ignored.
2. The round prunes m_k = C_k − (units pruned so far), C_k = round(U₀(1 − ρ_k)) from
   ``schedule`` (ρ_k = n(1−p)/(kp + n(1−p))), so after n rounds exactly round(U₀·p) are pruned.
3. Global ranking, no per-layer normalisation: units are taken in ascending score (ties: group
   order, then channel index). A group never goes below its floor int(f·W₀)+1 (W₀ its original
   width, f = floor_fraction, exact decimal arithmetic): once a group is at its floor the lowest
   remaining units of *other* groups are taken instead, so m_k is still met when possible and the
   floor keeps each group's best-scored units.
4. Physical groups lose their channels by surgery (a new model is returned, always, with the
   old one's dtype, device and train/eval flags but contiguous memory format; **the caller must
   rebuild its optimizer** and re-apply channels_last / torch.compile); mask groups get their
   filters (and following BN γ, β) zeroed, kept zero by ``enforce_masks(model)`` after every
   optimizer step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import warnings

import numpy as np
import torch
from torch import Tensor, nn

from empirical.flops import count_flops, count_flops_raw_and_effective, count_params
from empirical.architectures import arch_of, build, widths_of
from empirical.pruning.schedule import (check_schedule, cumulative_pruned, exact_fraction,
                                        remaining_fraction)
from empirical.pruning.surgery import remove_channels
from empirical.pruning.units import UnitGroup, unit_groups

STATE_FORMAT = "gftheory.structured_pruner/1"


@dataclass
class PruneReport:
    """What one round did, and the network's sparsity after it (relative to the unpruned net).

    channels = active units; params / flops = effective counts (masked filters excluded; raw
    counts in params_raw / flops_raw); *_sparsity = 1 − after/original; target_channel_sparsity
    = 1 − ρ_k; target_met ⇔ units_pruned == target_units_pruned (false only if floors bind)."""
    round: int
    widths_before: dict
    widths_after: dict
    channels: int
    params: int
    flops: int
    channel_sparsity: float
    param_sparsity: float
    flop_sparsity: float
    target_channel_sparsity: float
    units_total: int = 0
    units_pruned: int = 0
    target_units_pruned: int = 0
    target_met: bool = True
    params_raw: int = 0
    flops_raw: int = 0
    group_units: dict = field(default_factory=dict)
    removed: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def select_lowest(unit_scores: dict[str, np.ndarray], active: dict, room: dict[str, int],
                  count: int) -> dict[str, list[int]]:
    """The global selection rule (module docstring, step 3) over any groups: the ``count``
    lowest-scored candidates, candidates of group g being the positions ``active[g]`` (indices into
    ``unit_scores[g]``); ascending score, ties by group order (the order of ``active``) then
    position; a group gives at most ``room[g]`` units (its active units above its floor).
    Returns {group: chosen positions} (every group of ``active``, possibly empty)."""
    names = list(active)
    cand_s, cand_g, cand_i = [], [], []
    for gi, name in enumerate(names):
        pos = np.asarray(active[name], dtype=np.int64)
        cand_s.append(np.asarray(unit_scores[name], dtype=np.float64)[pos])
        cand_g.append(np.full(len(pos), gi))
        cand_i.append(pos)
    s, gidx, pos = (np.concatenate(a) for a in (cand_s, cand_g, cand_i))
    order = np.lexsort((pos, gidx, s))
    room = dict(room)
    chosen: dict[str, list[int]] = {name: [] for name in names}
    left = count
    for j in order:
        if left == 0:
            break
        name = names[gidx[j]]
        if room[name] > 0:
            chosen[name].append(int(pos[j]))
            room[name] -= 1
            left -= 1
    return chosen


class StructuredPruner:
    """See the module docstring. ``model`` must come from ``empirical.architectures.build``; its widths
    at construction are the "original" ones (the paper's, or a narrower ``build(..., widths=)``
    variant for smoke runs). To resume, construct with any model of the arch and call
    ``load_state_dict``, which restores the original widths too."""

    def __init__(self, model: nn.Module, arch: str, *, target: float, rounds: int,
                 floor_fraction: float = 0.05, coupled_residual: bool = False):
        check_schedule(target, rounds)
        if arch_of(model) != arch:
            raise ValueError(f"model is a {arch_of(model)}, but arch={arch!r}; fix: pass the model's arch")
        if not 0.0 <= float(floor_fraction) < 1.0:
            raise ValueError(f"floor_fraction must be in [0, 1), got {floor_fraction!r}")
        self.arch, self.num_classes = arch, int(model.num_classes)
        self.target, self.rounds = float(target), int(rounds)
        self.floor_fraction, self.coupled_residual = float(floor_fraction), bool(coupled_residual)
        self.groups: list[UnitGroup] = unit_groups(arch, self.coupled_residual)
        self._set_original(widths_of(model))

    def _set_original(self, original_widths: dict[str, int]) -> None:
        """The unpruned widths (the model given at construction, or the resumed state's)."""
        ref = build(self.arch, self.num_classes, original_widths)
        self.original_widths = widths_of(ref)
        mods = dict(ref.named_modules())
        self.original = {g.name: (self.original_widths[g.space] if g.kind == "physical"
                                  else mods[g.conv].out_channels) for g in self.groups}
        self.original_params = count_params(ref)
        self.original_flops = count_flops(ref)
        ff = exact_fraction(self.floor_fraction, "floor_fraction")
        self.floors = {n: min(w, int(ff * w) + 1) for n, w in self.original.items()}
        self.round = 0
        self.alive: dict[str, list[int]] = {n: list(range(w)) for n, w in self.original.items()}

    # ------------------------------------------------------------------ bookkeeping
    @property
    def units_total(self) -> int:
        return sum(self.original.values())

    @property
    def units_active(self) -> int:
        return sum(len(a) for a in self.alive.values())

    def masks(self, device=None) -> dict[str, Tensor]:
        """{conv module name: bool keep-mask over its output filters} of every mask group."""
        out = {}
        for g in self.groups:
            if g.kind == "mask":
                m = torch.zeros(self.original[g.name], dtype=torch.bool, device=device)
                m[self.alive[g.name]] = True
                out[g.conv] = m
        return out

    def _check_model(self, model: nn.Module) -> None:
        if arch_of(model) != self.arch or int(model.num_classes) != self.num_classes:
            raise ValueError(f"model is not a {self.arch} with {self.num_classes} classes")
        widths, mods = widths_of(model), dict(model.named_modules())
        for g in self.groups:
            have = widths[g.space] if g.kind == "physical" else mods[g.conv].out_channels
            want = len(self.alive[g.name]) if g.kind == "physical" else self.original[g.name]
            if have != want:
                raise ValueError(f"model width of {g.name!r} is {have} but the pruner state says "
                                 f"{want}; fix: rebuild with build(arch, nc, widths_of(...)) and "
                                 f"load the pruner's matching state_dict")

    def enforce_masks(self, model: nn.Module) -> nn.Module:
        """Remove every masked filter: zero its conv filter, its BN's γ, β and running statistics
        (as the authors do), and its BN's ``keep`` entry, which zeroes the channel's output as a
        function of θ so the unit has exactly zero gradient and Hg (call after each optimizer
        step)."""
        mods = dict(model.named_modules())
        with torch.no_grad():
            for g in self.groups:
                if g.kind != "mask" or len(self.alive[g.name]) == self.original[g.name]:
                    continue
                conv, bn = mods[g.conv], mods[g.bn]
                drop = torch.ones(self.original[g.name], dtype=torch.bool, device=conv.weight.device)
                drop[self.alive[g.name]] = False
                conv.weight[drop] = 0
                bn.weight[drop] = 0
                bn.bias[drop] = 0
                bn.running_mean[drop] = 0
                bn.running_var[drop] = 0
                bn.keep[drop] = 0
        return model

    # ------------------------------------------------------------------ ranking
    def unit_scores(self, model: nn.Module, scores: dict[str, Tensor]) -> dict[str, np.ndarray]:
        """{group: one score per unit} from per-filter ``scores`` (a group sums its ``score_from``
        weights; float64, finite or ValueError): what ``select`` ranks globally."""
        params = dict(model.named_parameters())
        out = {}
        for g in self.groups:
            total = None
            for w in g.score_from:
                if w not in scores:
                    raise ValueError(f"scores has no entry for {w!r}; fix: pass "
                                     f"gftheory.importance(model, measure, batches, unit='filter') "
                                     f"of the current model")
                s = torch.as_tensor(scores[w]).detach().to("cpu", torch.float64).flatten()
                if s.numel() != params[w].shape[0]:
                    raise ValueError(f"scores[{w!r}] has {s.numel()} entries but the weight has "
                                     f"{params[w].shape[0]} filters; fix: score the current model")
                total = s if total is None else total + s
            arr = total.numpy()
            if not np.isfinite(arr).all():
                raise ValueError(f"non-finite scores for {g.name!r} (from {list(g.score_from)})")
            out[g.name] = arr
        return out

    def select(self, unit_scores: dict[str, np.ndarray], count: int) -> dict[str, list[int]]:
        """Current positions to prune per group: the ``count`` lowest-scored active units overall,
        skipping a group once it is at its floor. Positions are current indices (physical) or
        original indices (mask groups, which never shrink)."""
        active = {g.name: (np.arange(len(self.alive[g.name])) if g.kind == "physical"
                           else np.asarray(self.alive[g.name], dtype=np.int64)) for g in self.groups}
        room = {g.name: len(self.alive[g.name]) - self.floors[g.name] for g in self.groups}
        return select_lowest(unit_scores, active, room, count)

    # ------------------------------------------------------------------ the round
    def prune_round(self, model: nn.Module, scores: dict[str, Tensor], k: int):
        """Round k: returns (new model, PruneReport). The old model is left untouched; rebuild the
        optimizer (and anything else holding parameters) for the new one."""
        if k != self.round + 1 or k > self.rounds:
            raise ValueError(f"round {k} requested but {self.round} of {self.rounds} rounds are done; "
                             f"fix: call rounds in order 1..{self.rounds}")
        self._check_model(model)
        widths_before = widths_of(model)
        target_total = cumulative_pruned(k, self.units_total, self.target, self.rounds)
        count = max(0, target_total - (self.units_total - self.units_active))
        chosen = self.select(self.unit_scores(model, scores), count)

        keep, removed, alive = {}, {}, dict(self.alive)
        for g in self.groups:
            pos = set(chosen[g.name])
            if not pos:
                continue
            if g.kind == "physical":
                kept_pos = [i for i in range(len(alive[g.name])) if i not in pos]
                removed[g.name] = sorted(alive[g.name][i] for i in pos)
                keep[g.space] = kept_pos
                alive[g.name] = [alive[g.name][i] for i in kept_pos]
            else:
                removed[g.name] = sorted(pos)
                alive[g.name] = [i for i in alive[g.name] if i not in pos]
        new = remove_channels(model, keep)          # raises before any state changes
        self.alive, self.round = alive, k
        self.enforce_masks(new)
        rep = self.report(new, widths_before=widths_before)
        rep.removed = removed
        if not rep.target_met:
            warnings.warn(f"round {k}: per-layer floors allow only {rep.units_pruned} pruned units, "
                          f"target {rep.target_units_pruned}; every group is at its floor",
                          RuntimeWarning, stacklevel=2)
        return new, rep

    def report(self, model: nn.Module, widths_before: dict | None = None) -> PruneReport:
        """Sparsity of ``model`` now (as after round ``self.round``)."""
        self._check_model(model)
        masks = self.masks(next(model.parameters()).device)
        params = count_params(model, masks)
        flops_raw, flops = count_flops_raw_and_effective(model, masks=masks)
        pruned = self.units_total - self.units_active
        target_total = cumulative_pruned(self.round, self.units_total, self.target, self.rounds)
        w = widths_of(model)
        return PruneReport(
            round=self.round, widths_before=dict(widths_before or w), widths_after=w,
            channels=self.units_active, params=params, flops=flops,
            channel_sparsity=pruned / self.units_total,
            param_sparsity=1 - params / self.original_params,
            flop_sparsity=1 - flops / self.original_flops,
            target_channel_sparsity=float(1 - remaining_fraction(self.round, self.target, self.rounds)),
            units_total=self.units_total, units_pruned=pruned, target_units_pruned=target_total,
            target_met=pruned == target_total, params_raw=count_params(model),
            flops_raw=flops_raw,
            group_units={n: len(a) for n, a in self.alive.items()})

    # ------------------------------------------------------------------ resume
    def _config(self) -> dict:
        return {"arch": self.arch, "num_classes": self.num_classes, "target": self.target,
                "rounds": self.rounds, "floor_fraction": self.floor_fraction,
                "coupled_residual": self.coupled_residual}

    def state_dict(self) -> dict:
        """JSON-serialisable state: config, rounds done, surviving original indices per group."""
        return {"format": STATE_FORMAT, **self._config(), "round": self.round,
                "original_widths": dict(self.original_widths),
                "alive": {n: list(a) for n, a in self.alive.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` output; on any inconsistency raise and leave ``self`` as it was."""
        saved = dict(self.__dict__)
        try:
            self._load(state)
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _load(self, state: dict) -> None:
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a StructuredPruner state (format "
                             f"{state.get('format') if isinstance(state, dict) else None!r})")
        for key, val in self._config().items():
            if state.get(key) != val:
                raise ValueError(f"pruner state has {key}={state.get(key)!r} but this pruner has "
                                 f"{val!r}; fix: construct the pruner with the run's settings")
        if state.get("original_widths") != self.original_widths:
            self._set_original(state["original_widths"])
        alive = state["alive"]
        if set(alive) != set(self.original):
            raise ValueError("pruner state names other unit groups than this architecture's")
        for n, a in alive.items():
            if len(set(a)) != len(a) or any(not 0 <= i < self.original[n] for i in a) or \
                    len(a) < self.floors[n]:
                raise ValueError(f"pruner state for {n!r} is inconsistent: {a}")
        if not 0 <= int(state["round"]) <= self.rounds:
            raise ValueError(f"pruner state round {state['round']} outside 0..{self.rounds}")
        self.round = int(state["round"])
        self.alive = {n: sorted(int(i) for i in a) for n, a in alive.items()}
