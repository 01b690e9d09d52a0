"""Per-run scalar metrics that the empirical decision rules compare (one value per seed).

Each metric returns (value, source) where source says which stored field was read, or
(None, why) when the run does not hold it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from gftheory.claims.runs import Run


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    fn: Callable[[Run], tuple]


def _eval_key(rec: dict) -> str | None:
    if rec.get("test_acc") is not None:
        return "test_acc"
    if rec.get("val_acc") is not None:
        return "val_acc"
    return None


def final_acc(run: Run):
    """summary.final.test_acc if present, else summary.final.val_acc."""
    final = (run.summary or {}).get("final") or {}
    key = _eval_key(final)
    if key is None:
        return None, "no final test_acc or val_acc"
    return float(final[key]), f"final.{key}"


def _train_epochs(run: Run) -> list[dict]:
    return [e for e in run.epochs() if e.get("phase") == "train"]


def train_loss_auc(run: Run):
    """Mean training loss over the final-training epochs (phase "train"): area under the
    train-loss curve divided by its length; lower = faster convergence."""
    vals = [float(e["train_loss"]) for e in _train_epochs(run) if e.get("train_loss") is not None]
    if not vals:
        return None, "no train-phase epochs with train_loss"
    return sum(vals) / len(vals), f"mean train_loss over {len(vals)} train-phase epochs"


def eval_acc_auc(run: Run):
    """Mean evaluation accuracy (test_acc, else val_acc) over the final-training epochs."""
    eps = _train_epochs(run)
    key = next((k for k in (_eval_key(e) for e in eps) if k), None)
    if key is None:
        return None, "no train-phase epochs with test_acc/val_acc"
    vals = [float(e[key]) for e in eps if e.get(key) is not None]
    return sum(vals) / len(vals), f"mean {key} over {len(vals)} train-phase epochs"


def _event_mean(run: Run, f, what: str):
    vals = []
    for ev in run.prune_events():
        b, a = ev.get("before") or {}, ev.get("after") or {}
        try:
            vals.append(float(f(b, a)))
        except (KeyError, TypeError):
            continue
    if not vals:
        return None, f"no prune events with {what}"
    return sum(vals) / len(vals), f"mean over {len(vals)} prune events"


def event_abs_dtheta_g(run: Run):
    """Mean over pruning events of |θᵀg after − θᵀg before| (probe batch): change of the
    norm rate d‖θ‖²/dt = −2θᵀg caused by the pruning step."""
    return _event_mean(run, lambda b, a: abs(a["theta_dot_grad"] - b["theta_dot_grad"]), "theta_dot_grad")


def event_abs_dloss(run: Run):
    """Mean over pruning events of |L after − L before| (probe batch)."""
    return _event_mean(run, lambda b, a: abs(a["loss"] - b["loss"]), "loss")


def event_dgrad_norm_sq(run: Run):
    """Mean over pruning events of ‖g‖² after − ‖g‖² before (signed; > 0 means pruning raised it)."""
    return _event_mean(run, lambda b, a: a["grad_norm_sq"] - b["grad_norm_sq"], "grad_norm_sq")


def natural_key(name: str):
    """'features.10' after 'features.3': digit runs compare as numbers (stored JSON keys are
    sorted as text, so network order is recovered from the module names)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", name)]


def _widths(run: Run):
    evs = run.prune_events()
    if not evs or not isinstance(evs[0].get("widths_before"), dict) or not isinstance(evs[-1].get("widths_after"), dict):
        return None
    first, last = evs[0]["widths_before"], evs[-1]["widths_after"]
    names = sorted((n for n, v in first.items() if isinstance(v, (int, float)) and v), key=natural_key)
    return names, first, last


def layer_fractions(run: Run) -> list[tuple[str, float]] | None:
    """Remaining fraction per channel space after the last round: widths_after of the last
    prune event / widths_before of the first, in network order (natural sort of the names)."""
    w = _widths(run)
    if w is None:
        return None
    names, first, last = w
    return [(k, float(last.get(k, 0)) / float(first[k])) for k in names]


def early_width_fraction(run: Run):
    """Units left in the first third of the prunable layers (network order) as a fraction
    of their original number, after the last pruning round."""
    w = _widths(run)
    if w is None:
        return None, "no prune events with widths"
    names, first, last = w
    k = max(1, len(names) // 3)
    orig = sum(float(first[n]) for n in names[:k])
    left = sum(float(last.get(n, 0)) for n in names[:k])
    return left / orig, f"first {k} of {len(names)} prunable layers"


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("final_acc", "final accuracy: summary.final.test_acc if present, else summary.final.val_acc",
           final_acc),
    Metric("train_loss_auc", "mean train loss over the final-training epochs (area under the curve / epochs)",
           train_loss_auc),
    Metric("eval_acc_auc", "mean test accuracy (val accuracy if no test set) over the final-training epochs",
           eval_acc_auc),
    Metric("event_abs_dtheta_g", "mean over pruning events of |Δ(θᵀg)| on the probe batch", event_abs_dtheta_g),
    Metric("event_abs_dloss", "mean over pruning events of |ΔL| on the probe batch", event_abs_dloss),
    Metric("event_dgrad_norm_sq", "mean over pruning events of Δ‖g‖² (after − before) on the probe batch",
           event_dgrad_norm_sq),
    Metric("early_width_fraction", "fraction of units left in the first third of the prunable layers",
           early_width_fraction),
]}
