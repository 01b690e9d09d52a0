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


ACCURACY_UNIT = 100.0  # runs store accuracies as fractions; final_acc (and its δ) is in percent points


def final_acc(run: Run):
    """100 × summary.final.test_acc if present, else 100 × summary.final.val_acc: percent, the
    unit of the rule's minimum effect (MIN_EFFECT["final_acc"] = 0.25 accuracy points)."""
    final = (run.summary or {}).get("final") or {}
    key = _eval_key(final)
    if key is None:
        return None, "no final test_acc or val_acc"
    return ACCURACY_UNIT * float(final[key]), f"final.{key} × 100"


def _train_epochs(run: Run) -> list[dict]:
    return [e for e in run.epochs() if e.get("phase") == "train"]


def _remaining_share(vals: list[float]) -> float:
    """Mean over the epochs of (v − v_last)/(v_first − v_last): the share of the run's own total
    change still to come (0 if the curve does not move). Independent of the curve's level."""
    total = vals[0] - vals[-1]
    if total == 0:
        return 0.0
    return sum((v - vals[-1]) / total for v in vals) / len(vals)


def train_loss_speed(run: Run):
    """Convergence speed of the train loss over the final-training epochs (phase "train"),
    separated from its level: mean remaining share of the run's own drop (lower = faster)."""
    vals = [float(e["train_loss"]) for e in _train_epochs(run) if e.get("train_loss") is not None]
    if len(vals) < 2:
        return None, "fewer than 2 train-phase epochs with train_loss"
    return _remaining_share(vals), f"train_loss over {len(vals)} train-phase epochs"


def eval_acc_speed(run: Run):
    """Convergence speed of the evaluation accuracy (test_acc, else val_acc) over the
    final-training epochs: mean remaining share of the run's own rise (lower = faster)."""
    eps = _train_epochs(run)
    key = next((k for k in (_eval_key(e) for e in eps) if k), None)
    vals = [float(e[key]) for e in eps if key and e.get(key) is not None]
    if len(vals) < 2:
        return None, "fewer than 2 train-phase epochs with test_acc/val_acc"
    return _remaining_share(vals), f"{key} over {len(vals)} train-phase epochs"


def _event_mean(run: Run, f, what: str):
    """Mean over pruning events of f(before, after); events missing a key or with a zero
    normaliser are skipped."""
    vals = []
    for ev in run.prune_events():
        b, a = ev.get("before") or {}, ev.get("after") or {}
        try:
            vals.append(float(f(b, a)))
        except (KeyError, TypeError, ZeroDivisionError):
            continue
    if not vals:
        return None, f"no prune events with {what}"
    return sum(vals) / len(vals), f"{what} at {len(vals)} prune events"


def event_rel_abs_dloss(run: Run):
    """|L after − L before| / L before, mean over pruning events (probe batch)."""
    return _event_mean(run, lambda b, a: abs(a["loss"] - b["loss"]) / b["loss"], "loss")


def event_rel_dloss(run: Run):
    """(L after − L before) / L before, signed (> 0: pruning raised the loss)."""
    return _event_mean(run, lambda b, a: (a["loss"] - b["loss"]) / b["loss"], "loss")


def event_rel_abs_dtheta_g(run: Run):
    """|θᵀg after − θᵀg before| / (‖θ‖·‖g‖ before): change of the norm rate d‖θ‖²/dt = −2θᵀg
    (F1) caused by the pruning step, in units of its largest possible size."""
    return _event_mean(run, lambda b, a: abs(a["theta_dot_grad"] - b["theta_dot_grad"])
                       / (b["norm_sq"] * b["grad_norm_sq"]) ** 0.5, "theta_dot_grad, norm_sq, grad_norm_sq")


def event_rel_dgrad_norm_sq(run: Run):
    """(‖g‖² after − before) / ‖g‖² before, signed (> 0: pruning raised the gradient norm)."""
    return _event_mean(run, lambda b, a: (a["grad_norm_sq"] - b["grad_norm_sq"]) / b["grad_norm_sq"], "grad_norm_sq")


def event_rel_abs_dgrad_norm_sq(run: Run):
    """|‖g‖² after − before| / ‖g‖² before."""
    return _event_mean(run, lambda b, a: abs(a["grad_norm_sq"] - b["grad_norm_sq"]) / b["grad_norm_sq"],
                       "grad_norm_sq")


def event_rel_abs_daccel(run: Run):
    """|Δ(‖g‖² + θᵀHg)| / (‖g‖² + |θᵀHg|) before: change of the second-order norm dynamics
    d²‖θ‖²/dt² = 2‖g‖² + 2θᵀHg (F4) caused by the pruning step."""
    def f(b, a):
        return abs((a["grad_norm_sq"] + a["theta_dot_hvp"]) - (b["grad_norm_sq"] + b["theta_dot_hvp"])) \
            / (b["grad_norm_sq"] + abs(b["theta_dot_hvp"]))
    return _event_mean(run, f, "grad_norm_sq, theta_dot_hvp")


def _log_ratio(after: float, before: float) -> float:
    import math
    if after <= 0 or before <= 0:
        raise ZeroDivisionError("log ratio of a non-positive value")
    return math.log(after / before)


def event_log_grad_norm_ratio(run: Run):
    """log(‖g‖²_after / ‖g‖²_before), mean over pruning events (> 0: pruning raised the gradient
    norm); rules v4's replacement of the heavy-tailed Δ‖g‖²/‖g‖²."""
    return _event_mean(run, lambda b, a: _log_ratio(a["grad_norm_sq"], b["grad_norm_sq"]), "grad_norm_sq (log ratio)")


def event_abs_log_grad_norm_ratio(run: Run):
    """|log(‖g‖²_after / ‖g‖²_before)|, mean over pruning events."""
    return _event_mean(run, lambda b, a: abs(_log_ratio(a["grad_norm_sq"], b["grad_norm_sq"])),
                       "grad_norm_sq (|log ratio|)")


def event_log_loss_ratio(run: Run):
    """log(L_after / L_before), mean over pruning events (> 0: pruning raised the loss)."""
    return _event_mean(run, lambda b, a: _log_ratio(a["loss"], b["loss"]), "loss (log ratio)")


def event_abs_log_loss_ratio(run: Run):
    """|log(L_after / L_before)|, mean over pruning events."""
    return _event_mean(run, lambda b, a: abs(_log_ratio(a["loss"], b["loss"])), "loss (|log ratio|)")


def event_log1p_rel_abs_daccel(run: Run):
    """log(1 + |Δ(‖g‖² + θᵀHg)| / (‖g‖² + |θᵀHg|)), mean over pruning events: the F4 change on a
    log scale (‖g‖² + θᵀHg may be negative, so log(1 + relative change) replaces a log ratio)."""
    import math

    def f(b, a):
        return math.log1p(abs((a["grad_norm_sq"] + a["theta_dot_hvp"]) - (b["grad_norm_sq"] + b["theta_dot_hvp"]))
                          / (b["grad_norm_sq"] + abs(b["theta_dot_hvp"])))
    return _event_mean(run, f, "grad_norm_sq, theta_dot_hvp (log1p)")


def speed_applicable(run: Run) -> tuple[bool, str]:
    """Whether a convergence-speed metric can measure the run's convergence (``rules.NOT_APPLICABLE_TEXT``):
    ≥ SPEED_MIN_RECORDS final-training records and ≥ SPEED_MIN_RECORDS_PER_LR records per learning rate."""
    from gftheory.claims.rules import SPEED_MIN_RECORDS, SPEED_MIN_RECORDS_PER_LR
    eps = _train_epochs(run)
    lrs = {e.get("lr") for e in eps}
    if len(eps) < SPEED_MIN_RECORDS or len(eps) < SPEED_MIN_RECORDS_PER_LR * len(lrs):
        return False, (f"{len(eps)} final-training record(s) at {len(lrs)} learning rate(s): the remaining share "
                       f"measures the schedule, not the model (needs ≥ {SPEED_MIN_RECORDS} records and ≥ "
                       f"{SPEED_MIN_RECORDS_PER_LR} per learning rate)")
    return True, ""


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


def recovery_gap(run: Run):
    """Event study: (L_pruned − L_control) / L_control on the probe after the recovery steps that
    follow the measure's round-1 event (the dense control trained on the same batches), mean over
    checkpoints (lower = recovered closer to the unpruned network)."""
    vals = [float(ev["recovery_gap"]) for ev in run.prune_events() if ev.get("recovery_gap") is not None]
    if not vals:
        return None, "no event-study recovery"
    return sum(vals) / len(vals), f"recovery gap at {len(vals)} checkpoints"


# -- first-order predictions at scale (event study, study-level run) ---------------------------
from gftheory.claims.rules import (AGREEMENT_EVENTS, AGREEMENT_QUANTITY, METRIC_NOUN, RANK_CORR_MIN,  # noqa: E402
                                   REL_ERROR_MAX)


def _pred_actual(run: Run, quantity: str, event: str):
    key, pred_key = AGREEMENT_QUANTITY[quantity]
    pred, act = [], []
    for r in run.metrics:
        if r.get("kind") != "study_event" or r.get("event") != event:
            continue
        try:
            p, a = float(r["pred"][pred_key]), float(r["after"][key]) - float(r["before"][key])
        except (KeyError, TypeError):
            continue
        pred.append(p)
        act.append(a)
    return pred, act


def _rank_corr_margin(quantity: str, event: str):
    def fn(run: Run):
        from scipy.stats import spearmanr
        pred, act = _pred_actual(run, quantity, event)
        if len(pred) < 3:
            return None, f"fewer than 3 {event} events with predictions"
        rho = spearmanr(pred, act).statistic
        if rho != rho:      # NaN: a constant side
            return None, f"rank correlation undefined at the {event} events"
        return float(rho) - RANK_CORR_MIN, f"Spearman ρ − {RANK_CORR_MIN} over {len(pred)} {event} events"
    return fn


def _rel_error_margin(quantity: str, event: str):
    def fn(run: Run):
        import numpy as np
        pred, act = _pred_actual(run, quantity, event)
        pairs = [(p, a) for p, a in zip(pred, act) if a != 0]
        if len(pairs) < 3:
            return None, f"fewer than 3 {event} events with a non-zero actual change"
        err = float(np.median([abs(p - a) / abs(a) for p, a in pairs]))
        return REL_ERROR_MAX - err, f"{REL_ERROR_MAX} − median relative error over {len(pairs)} {event} events"
    return fn


AGREEMENT_METRICS = {}
for _q in AGREEMENT_QUANTITY:
    for _e in AGREEMENT_EVENTS:
        AGREEMENT_METRICS[f"{_q}_rank_corr_margin_{_e}"] = (METRIC_NOUN[f"{_q}_rank_corr_margin_{_e}"],
                                                           _rank_corr_margin(_q, _e))
        AGREEMENT_METRICS[f"{_q}_rel_error_margin_{_e}"] = (METRIC_NOUN[f"{_q}_rel_error_margin_{_e}"],
                                                           _rel_error_margin(_q, _e))


# -- stage-2 rules (issues 24, 25; rules.ARM_TEXT): per-unit T1/T2, the second-order term --------------
from gftheory.claims.rules import (SECOND_ORDER_EVENT, SECOND_ORDER_PRED, UNIT_EVENT, UNIT_QUANTITY,  # noqa: E402
                                   UNIT_SETS)


def _finite(*xs) -> bool:
    import math
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in xs)


def _unit_pairs(run: Run, quantity: str, unit_set: str) -> dict:
    """{checkpoint: [(predicted, actual), ...]} over the study's single-unit removals (edition 2's
    ``units`` records; ``unit_set`` "weights" or "channel")."""
    act_key, pred_key = UNIT_QUANTITY[quantity]
    out: dict = {}
    for r in run.metrics:
        if r.get("kind") != "study_event" or r.get("event") != UNIT_EVENT:
            continue
        pts = out.setdefault(r.get("checkpoint"), [])
        for u in r.get("units") or []:
            d = u.get(unit_set) if isinstance(u, dict) else None
            if isinstance(d, dict) and _finite(d.get(pred_key), d.get(act_key)):
                pts.append((float(d[pred_key]), float(d[act_key])))
    return out


def _spearman(pred, act) -> float | None:
    from scipy.stats import spearmanr
    if len(pred) < 3:
        return None
    rho = spearmanr(pred, act).statistic
    return None if rho != rho else float(rho)


def _median_rel_error(pairs) -> float | None:
    import numpy as np
    errs = [abs(p - a) / abs(a) for p, a in pairs if a != 0]
    return float(np.median(errs)) if len(errs) >= 3 else None


def _unit_metric(quantity: str, unit_set: str, stat: str):
    def fn(run: Run):
        per = _unit_pairs(run, quantity, unit_set)
        if not per:
            return None, "no per-unit events (event study edition 2)"
        vals = []
        for pts in per.values():
            v = (_spearman([p for p, _ in pts], [a for _, a in pts]) if stat == "rank_corr"
                 else _median_rel_error(pts))
            if v is not None:
                vals.append(v)
        if not vals:
            return None, f"no checkpoint with ≥ 3 usable single-unit removals ({unit_set})"
        mean = sum(vals) / len(vals)
        n_units = sum(len(p) for p in per.values())
        if stat == "rank_corr":
            return mean - RANK_CORR_MIN, (f"Spearman ρ − {RANK_CORR_MIN} per checkpoint over {n_units} single-unit "
                                          f"removals ({unit_set}), mean over {len(vals)} checkpoints")
        return REL_ERROR_MAX - mean, (f"{REL_ERROR_MAX} − median relative error per checkpoint over {n_units} "
                                      f"single-unit removals ({unit_set}), mean over {len(vals)} checkpoints")
    return fn


def _second_order_pairs(run: Run, event: str = SECOND_ORDER_EVENT) -> list[tuple[float, float, float]]:
    """[(first-order prediction, second-order prediction, actual ΔL)] over every measure's ``event``
    events holding both predictions."""
    out = []
    for r in run.metrics:
        if r.get("kind") != "study_event" or r.get("event") != event:
            continue
        pred, b, a = r.get("pred") or {}, r.get("before") or {}, r.get("after") or {}
        p1, p2, lb, la = pred.get("dloss_weights"), pred.get(SECOND_ORDER_PRED), b.get("loss"), a.get("loss")
        if _finite(p1, p2, lb, la):
            out.append((float(p1), float(p2), float(la) - float(lb)))
    return out


def so_rank_corr_margin(run: Run):
    """Spearman ρ of the second-order ΔL prediction and the actual ΔL at the first-round events − 0.8."""
    t = _second_order_pairs(run)
    rho = _spearman([p2 for _, p2, _ in t], [a for _, _, a in t])
    if rho is None:
        return None, f"fewer than 3 {SECOND_ORDER_EVENT} events with a second-order prediction (or ρ undefined)"
    return rho - RANK_CORR_MIN, f"Spearman ρ − {RANK_CORR_MIN} over {len(t)} {SECOND_ORDER_EVENT} events (second order)"


def so_rel_error_margin(run: Run):
    """0.5 − median relative error of the second-order ΔL prediction at the first-round events."""
    t = _second_order_pairs(run)
    err = _median_rel_error([(p2, a) for _, p2, a in t])
    if err is None:
        return None, f"fewer than 3 {SECOND_ORDER_EVENT} events with a second-order prediction and a non-zero ΔL"
    return REL_ERROR_MAX - err, (f"{REL_ERROR_MAX} − median relative error over {len(t)} {SECOND_ORDER_EVENT} events "
                                 f"(second order)")


def so_rank_corr_gain(run: Run):
    """ρ(second-order prediction, ΔL) − ρ(first-order prediction, ΔL) over the same first-round events."""
    t = _second_order_pairs(run)
    act = [a for _, _, a in t]
    r1, r2 = _spearman([p1 for p1, _, _ in t], act), _spearman([p2 for _, p2, _ in t], act)
    if r1 is None or r2 is None:
        return None, f"fewer than 3 {SECOND_ORDER_EVENT} events with both predictions (or ρ undefined)"
    return r2 - r1, f"second-order ρ − first-order ρ over the same {len(t)} {SECOND_ORDER_EVENT} events"


STAGE2_METRICS = {
    **{f"{q}_unit_{stat}_margin_{u}": (METRIC_NOUN[f"{q}_unit_{stat}_margin_{u}"], _unit_metric(q, u, stat))
       for q in UNIT_QUANTITY for u in UNIT_SETS for stat in ("rank_corr", "rel_error")},
    "t1_so_rank_corr_margin_round1": (METRIC_NOUN["t1_so_rank_corr_margin_round1"], so_rank_corr_margin),
    "t1_so_rel_error_margin_round1": (METRIC_NOUN["t1_so_rel_error_margin_round1"], so_rel_error_margin),
    "so_rank_corr_gain_round1": (METRIC_NOUN["so_rank_corr_gain_round1"], so_rank_corr_gain),
}


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("final_acc", "final accuracy in percent: 100 × summary.final.test_acc if present, else 100 × summary.final.val_acc",
           final_acc),
    Metric("train_loss_speed", "mean over final-training epochs of the share of the run's own train-loss drop "
           "still to come (speed, not level; lower = faster)", train_loss_speed),
    Metric("eval_acc_speed", "mean over final-training epochs of the share of the run's own test-accuracy rise "
           "still to come (val accuracy if no test set; lower = faster)", eval_acc_speed),
    Metric("event_rel_abs_dloss", "mean over pruning events of |ΔL|/L on the probe batch", event_rel_abs_dloss),
    Metric("event_rel_dloss", "mean over pruning events of ΔL/L (signed) on the probe batch", event_rel_dloss),
    Metric("event_rel_abs_dtheta_g", "mean over pruning events of |Δ(θᵀg)|/(‖θ‖‖g‖) on the probe batch",
           event_rel_abs_dtheta_g),
    Metric("event_rel_dgrad_norm_sq", "mean over pruning events of Δ‖g‖²/‖g‖² (signed) on the probe batch",
           event_rel_dgrad_norm_sq),
    Metric("event_rel_abs_dgrad_norm_sq", "mean over pruning events of |Δ‖g‖²|/‖g‖² on the probe batch",
           event_rel_abs_dgrad_norm_sq),
    Metric("event_rel_abs_daccel", "mean over pruning events of |Δ(‖g‖² + θᵀHg)|/(‖g‖² + |θᵀHg|) on the probe batch",
           event_rel_abs_daccel),
    Metric("event_log_grad_norm_ratio", "mean over pruning events of log(‖g‖²_after/‖g‖²_before) on the probe batch",
           event_log_grad_norm_ratio),
    Metric("event_abs_log_grad_norm_ratio", "mean over pruning events of |log(‖g‖²_after/‖g‖²_before)| on the probe "
           "batch", event_abs_log_grad_norm_ratio),
    Metric("event_log_loss_ratio", "mean over pruning events of log(L_after/L_before) on the probe batch",
           event_log_loss_ratio),
    Metric("event_abs_log_loss_ratio", "mean over pruning events of |log(L_after/L_before)| on the probe batch",
           event_abs_log_loss_ratio),
    Metric("event_log1p_rel_abs_daccel", "mean over pruning events of log(1 + |Δ(‖g‖² + θᵀHg)|/(‖g‖² + |θᵀHg|)) on "
           "the probe batch", event_log1p_rel_abs_daccel),
    Metric("early_width_fraction", "fraction of units left in the first third of the prunable layers",
           early_width_fraction),
    Metric("recovery_gap", "event study: (L_pruned − L_control)/L_control on the probe after the recovery steps "
           "following the round-1 event, mean over checkpoints", recovery_gap),
    *(Metric(name, noun, fn) for name, (noun, fn) in AGREEMENT_METRICS.items()),
    *(Metric(name, noun, fn) for name, (noun, fn) in STAGE2_METRICS.items()),
]}
