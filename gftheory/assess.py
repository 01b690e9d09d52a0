"""``gftheory assess MEASURE``, the theory part: where a measure stands in the gradient-flow picture,
measured on generated float64 networks (``gftheory.checks.generators``, as the identity checks
draw them), side by side with magnitude, loss_preservation and grasp on the same networks.

For every generated network, over the output units p of its hidden layers (one global ranking),
the Spearman rank correlation ρ of the measure's filter scores with each reference quantity:

- ``T1``       |−θ_pᵀg|, the first-order loss change of removing unit p (docs/paper.md §2 T1);
- ``T1_exact`` |L(θ − θ_p) − L(θ)|, the loss change of removing p, evaluated;
- ``T2``       −2θ_pᵀ(Hg)_p, the first-order change of ‖g‖² when p is removed (signed: GraSP
  keeps the units whose removal would lower ‖g‖² least);
- ``T2_exact`` ‖g(θ − θ_p)‖² − ‖g(θ)‖², evaluated (signed);
- ``F1_norm``  ‖θ_p‖², the quantity gradient flow moves (F1);
- ``F1_rate``  |d‖θ_p‖²/dt| from ``gftheory.flow.flow_rates`` (F1/O2: loss preservation is half of it).

Each relation is a measured statement: the median and 10th percentile of ρ over the networks
and the fraction with ρ ≥ ``TRACK`` (0.9); the verdict is "tracks" when that fraction is
≥ ``MOST`` (0.9), "tracks inversely" for ρ ≤ −0.9 likewise, "unrelated" when |median ρ| <
``UNRELATED`` (0.3), else "partly". Networks where ρ is undefined (a constant score or reference)
are counted, not dropped silently.

Two invariances of the ranking, each on its own networks (ρ between the two rankings; "invariant"
when ρ ≥ ``INVARIANT`` (1 − 1e-9) on every network, which is exact rank equality up to float ties):

- ``B5`` loss scaling: L → cL with c log-uniform in [1e-3, 1e3], the quantities recomputed through
  autograd on the scaled loss (not rescaled by hand);
- ``B1`` BatchNorm rescaling: bias-free hidden layers followed directly by train-mode BatchNorm
  (ε = 1e-12, before the activation); each such unit's weights are multiplied by c_p log-uniform in [1/4, 4], a change
  that leaves the network's function (and loss, checked) unchanged.

Cost: the median wall-clock seconds of one ``gftheory.importance`` call per network, per measure.

The empirical part (one paired pruning event at one checkpoint: ``empirical.assess_events``, run
by the command) reaches this module as plain data (a dict); ``render_html`` / ``write`` put it on
the same page and in the same JSON (key ``empirical``), ``empirical_summary_lines`` states it, and
every output of it on synthetic data carries the label "synthetic, not evidence".

The engine never imports ``empirical`` (layer: report, tests/project/test_layering.py).
"""
from __future__ import annotations

import html
import json
import math
import random
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import spearmanr

from gftheory.checks.generators import Problem, build_problem, model_at, random_spec, unit_slices
from gftheory.flow import flow_rates
from gftheory.importance import fill_quantities, importance, synflow_saliency
from gftheory.measures import MEASURES, Measure, WeightQuantities
from gftheory.objective import Objective

BASELINES = ("magnitude", "loss_preservation", "grasp")
TRACK, MOST, UNRELATED = 0.9, 0.9, 0.3
INVARIANT = 1 - 1e-9
BN_EPS = 1e-12
LOSS_SCALES = (1e-3, 1e3)
BN_SCALES = (0.25, 4.0)
DEFAULT_SEED = 100           # seeds 3–99 are reserved for the study's runs
REFERENCES = {
    "T1": "|θ_pᵀg|, first-order loss change of removing p",
    "T1_exact": "|L(θ−θ_p) − L(θ)|, loss change of removing p",
    "T2": "−2θ_pᵀ(Hg)_p, first-order ‖g‖² change of removing p",
    "T2_exact": "‖g(θ−θ_p)‖² − ‖g(θ)‖², evaluated",
    "F1_norm": "‖θ_p‖²",
    "F1_rate": "|d‖θ_p‖²/dt| (flow_rates)",
}
INVARIANCES = {
    "B5": "ranking under loss scaling L → cL, c ∈ [1e-3, 1e3]",
    "B1": "ranking under BatchNorm rescaling θ_p → c_p θ_p, c_p ∈ [1/4, 4] (function unchanged)",
}


# -- quantities and scores ----------------------------------------------------------------------

class _ScaledObjective(Objective):
    """L_c = c · L: every derivative is taken on the scaled loss."""

    def __init__(self, model, batches, temperature, scale):
        super().__init__(model, batches, temperature)
        self.scale = float(scale)

    def batch_loss_sum(self, flat, batch):
        return self.scale * super().batch_loss_sum(flat, batch)


def filter_scores(problem: Problem, measure: Measure, *, names=None, loss_scale: float = 1.0,
                  seed: int = 0) -> dict[str, torch.Tensor]:
    """The measure's per-unit scores of ``names`` (default: the hidden weights), its quantities
    computed on the loss ``loss_scale`` · L (exactly what it declares in ``needs``)."""
    names = list(names or problem.hidden_weights)
    needs = set(measure.needs)
    model = problem.model
    params = dict(model.named_parameters())
    per = {n: {} for n in names}
    if needs & {"grad", "hvp", "grad_sq"}:
        obj = _ScaledObjective(model, problem.batches, problem.temperature, loss_scale)
        th, sl = obj.theta(), unit_slices(obj, names)
        put = lambda key, flat: [per[n].__setitem__(key, flat[a:b].view(shape))  # noqa: E731
                                 for n, (a, b, shape) in sl.items()]
        fill_quantities(obj, th, needs, put)
    if "synflow" in needs:
        sal = synflow_saliency(model, tuple(problem.batches[0][0].shape[1:]))
        for n in names:
            per[n]["synflow"] = sal[n]
    gen = torch.Generator().manual_seed(int(seed)) if "generator" in needs else None
    return {n: measure.filter_scores(WeightQuantities(n, params[n].detach(), generator=gen,
                                                      **{k: v.detach() for k, v in per[n].items()})).detach()
            for n in names}


def _flat(scores: dict, names) -> np.ndarray:
    return np.concatenate([scores[n].double().cpu().numpy().reshape(-1) for n in names])


def references(problem: Problem) -> dict[str, np.ndarray]:
    """Every reference quantity of ``REFERENCES`` per hidden unit, in unit order."""
    obj = problem.objective()
    th = obj.theta()
    loss0, g = obj.loss_and_grad(th)
    hg = obj.hvp(g, th)
    gsq0 = float(g @ g)
    rates = flow_rates(problem.model, problem.batches, temperature=problem.temperature, per_unit=True)
    out = {k: [] for k in REFERENCES}
    for n, (a, b, shape) in unit_slices(obj, problem.hidden_weights).items():
        t, gg, h = th[a:b].view(shape[0], -1), g[a:b].view(shape[0], -1), hg[a:b].view(shape[0], -1)
        out["T1"] += (t * gg).sum(1).abs().tolist()
        out["T2"] += (-2 * (t * h).sum(1)).tolist()
        out["F1_norm"] += t.pow(2).sum(1).tolist()
        out["F1_rate"] += rates.units[n].norm_sq_rate.abs().tolist()
        per_unit = (b - a) // shape[0]
        for p in range(shape[0]):
            cut = th.clone()
            cut[a + p * per_unit: a + (p + 1) * per_unit] = 0
            lc, gc = obj.loss_and_grad(cut)
            out["T1_exact"].append(abs(lc - loss0))
            out["T2_exact"].append(float(gc @ gc) - gsq0)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def rho(a, b) -> float | None:
    """Spearman ρ, None where undefined (fewer than 3 units, or a constant side)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    r = float(spearmanr(a, b).statistic)
    return None if math.isnan(r) else r


# -- the networks ----------------------------------------------------------------------------

def relation_specs(n: int, seed: int):
    """Networks for T1/T2/F1: MLPs and CNNs, smooth activations, no BatchNorm, ≥ 4 hidden units."""
    r = random.Random(f"{seed}-relations")
    return [random_spec(r, batchnorm=(False,), depth=(1, 3), width=(4, 8), max_params=600) for _ in range(n)]


def loss_scale_specs(n: int, seed: int):
    r = random.Random(f"{seed}-B5")
    return [random_spec(r, depth=(1, 3), width=(4, 8), max_params=600) for _ in range(n)]


def bn_specs(n: int, seed: int):
    r = random.Random(f"{seed}-B1")
    return [random_spec(r, batchnorm=(True,), bn_positions=("before",), bias=(False,), depth=(1, 3),
                        width=(4, 8), max_params=600, bn_eps=BN_EPS) for _ in range(n)]


def bn_rescaled(problem: Problem, rng: random.Random) -> tuple[Problem, float]:
    """The same network with each BatchNorm-followed unit's weights times c_p (log-uniform in
    BN_SCALES); returns it and the relative change of the loss (≈ 0: the function is unchanged)."""
    obj = problem.objective()
    th = obj.theta().clone()
    for n, (a, b, shape) in unit_slices(obj, problem.bn_followed).items():
        per = (b - a) // shape[0]
        for p in range(shape[0]):
            c = math.exp(rng.uniform(math.log(BN_SCALES[0]), math.log(BN_SCALES[1])))
            th[a + p * per: a + (p + 1) * per] *= c
    l0 = float(obj.loss(obj.theta()))
    moved = Problem(spec=problem.spec, model=model_at(problem.model, th), batches=problem.batches,
                    temperature=problem.temperature, hidden_weights=problem.hidden_weights,
                    bn_followed=problem.bn_followed)
    l1 = float(moved.objective().loss(moved.objective().theta()))
    return moved, abs(l1 - l0) / max(abs(l0), 1e-300)


# -- the assessment ------------------------------------------------------------------------------

@dataclass
class Assessment:
    measure: str
    measures: list[str]
    cases: int
    seed: int
    relations: dict = field(default_factory=dict)     # ref -> measure -> summary
    invariances: dict = field(default_factory=dict)   # B1/B5 -> measure -> summary
    cost: dict = field(default_factory=dict)          # measure -> median seconds per scoring
    sanity: dict = field(default_factory=dict)
    about: dict = field(default_factory=dict)         # measure -> {name, formula, needs}

    def as_dict(self) -> dict:
        return {"measure": self.measure, "measures": self.measures, "cases": self.cases, "seed": self.seed,
                "thresholds": {"track": TRACK, "most": MOST, "unrelated": UNRELATED, "invariant": INVARIANT},
                "references": REFERENCES, "invariance_tests": INVARIANCES,
                "relations": self.relations, "invariances": self.invariances,
                "cost_seconds_per_scoring": self.cost, "sanity": self.sanity, "about": self.about}


def summarize_relation(rs: list) -> dict:
    ok = [r for r in rs if r is not None]
    out = {"networks": len(rs), "undefined": len(rs) - len(ok)}
    if not ok:
        return {**out, "verdict": "undefined"}
    med, p10 = float(np.median(ok)), float(np.percentile(ok, 10))
    frac = sum(r >= TRACK for r in ok) / len(ok)
    frac_neg = sum(r <= -TRACK for r in ok) / len(ok)
    verdict = ("tracks" if frac >= MOST else "tracks inversely" if frac_neg >= MOST
               else "unrelated" if abs(med) < UNRELATED else "partly")
    return {**out, "median_rho": med, "p10_rho": p10, "min_rho": float(min(ok)), "frac_rho_ge_track": frac,
            "frac_rho_le_minus_track": frac_neg, "verdict": verdict}


def summarize_invariance(rs: list) -> dict:
    ok = [r for r in rs if r is not None]
    out = {"networks": len(rs), "undefined": len(rs) - len(ok)}
    if not ok:
        return {**out, "verdict": "undefined (constant scores)"}
    inv = all(r >= INVARIANT for r in ok)
    return {**out, "min_rho": float(min(ok)), "median_rho": float(np.median(ok)),
            "frac_invariant": sum(r >= INVARIANT for r in ok) / len(ok),
            "verdict": "invariant" if inv else "not invariant"}


def assess(measure, *, cases: int = 12, seed: int = DEFAULT_SEED, baselines=BASELINES,
           progress=None) -> Assessment:
    """Place ``measure`` (a name, ``module:Class`` or an entry point) among ``baselines``."""
    m = MEASURES.resolve(measure)
    label = measure if isinstance(measure, str) else m.name
    others = [b for b in baselines if b != label]
    measures = {label: m, **{b: MEASURES.resolve(b) for b in others}}
    out = Assessment(measure=label, measures=list(measures), cases=cases, seed=seed,
                     about={k: {"name": v.name, "formula": v.formula, "needs": sorted(v.needs)}
                            for k, v in measures.items()})
    rels = {k: {name: [] for name in measures} for k in REFERENCES}
    times = {name: [] for name in measures}
    for i, spec in enumerate(relation_specs(cases, seed)):
        p = build_problem(spec)
        ref = references(p)
        for name, mm in measures.items():
            t0 = time.perf_counter()
            s = importance(p.model, mm, p.batches, temperature=p.temperature, seed=seed + i)
            times[name].append(time.perf_counter() - t0)
            x = _flat(s, p.hidden_weights)
            for k in REFERENCES:
                rels[k][name].append(rho(x, ref[k]))
        if progress:
            progress(f"relations {i + 1}/{cases}")
    out.relations = {k: {name: summarize_relation(v) for name, v in d.items()} for k, d in rels.items()}
    out.cost = {name: statistics.median(v) for name, v in times.items()}

    inv = {"B5": {name: [] for name in measures}, "B1": {name: [] for name in measures}}
    rng = random.Random(f"{seed}-scales")
    for i, spec in enumerate(loss_scale_specs(cases, seed)):
        p = build_problem(spec)
        c = math.exp(rng.uniform(*map(math.log, LOSS_SCALES)))
        for name, mm in measures.items():
            a = _flat(filter_scores(p, mm, seed=seed + i), p.hidden_weights)
            b = _flat(filter_scores(p, mm, loss_scale=c, seed=seed + i), p.hidden_weights)
            inv["B5"][name].append(rho(a, b))
    worst_loss_change = 0.0
    for i, spec in enumerate(bn_specs(cases, seed)):
        p = build_problem(spec)
        q, dl = bn_rescaled(p, rng)
        worst_loss_change = max(worst_loss_change, dl)
        for name, mm in measures.items():
            a = _flat(filter_scores(p, mm, seed=seed + i), p.hidden_weights)
            b = _flat(filter_scores(q, mm, seed=seed + i), q.hidden_weights)
            inv["B1"][name].append(rho(a, b))
        if progress:
            progress(f"invariances {i + 1}/{cases}")
    out.invariances = {k: {name: summarize_invariance(v) for name, v in d.items()} for k, d in inv.items()}
    out.sanity = {"B1_max_relative_loss_change": worst_loss_change}
    return out


# -- the page ------------------------------------------------------------------------------------

def _cell(s: dict, key="median_rho") -> str:
    if key not in s:
        return html.escape(s["verdict"])
    extra = f" ({s['undefined']} undefined)" if s.get("undefined") else ""
    return f"{html.escape(s['verdict'])}<br><small>ρ median {s[key]:.3f}, min {s['min_rho']:.3f}{extra}</small>"


def summary_lines(a: Assessment) -> list[str]:
    m = a.measure
    rel = ", ".join(f"{k} {a.relations[k][m]['verdict']}" for k in REFERENCES)
    lines = [f"{m}: {rel}",
             f"{m}: loss scaling (B5) {a.invariances['B5'][m]['verdict']}, "
             f"BatchNorm rescaling (B1) {a.invariances['B1'][m]['verdict']}",
             f"{m}: {a.cost[m] * 1e3:.2f} ms per scoring (median; "
             + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in a.cost.items() if k != m) + ")"]
    return lines


def _theory_html(a: Assessment) -> str:
    names = a.measures
    head = "".join(f"<th>{html.escape(n)}{' (assessed)' if n == a.measure else ''}</th>" for n in names)
    rows = "".join(f"<tr><th>{k}<br><small>{html.escape(REFERENCES[k])}</small></th>"
                   + "".join(f"<td>{_cell(a.relations[k][n])}</td>" for n in names) + "</tr>" for k in REFERENCES)
    rows += "".join(f"<tr><th>{k}<br><small>{html.escape(INVARIANCES[k])}</small></th>"
                    + "".join(f"<td>{_cell(a.invariances[k][n], 'min_rho')}</td>" for n in names) + "</tr>"
                    for k in INVARIANCES)
    rows += ("<tr><th>cost<br><small>median seconds per scoring</small></th>"
             + "".join(f"<td>{a.cost[n] * 1e3:.2f} ms</td>" for n in names) + "</tr>")
    summary = "".join(f"<li>{html.escape(s)}</li>" for s in summary_lines(a))
    return f"""<h2>Theory: generated networks</h2>
<p>{a.cases} generated float64 networks per row (seed {a.seed}); each cell is a measured
statement over the hidden units' global ranking. A relation <b>tracks</b> a reference when Spearman
ρ ≥ {TRACK} on ≥ {MOST:.0%} of the networks (<b>tracks inversely</b> for ρ ≤ −{TRACK}), is <b>unrelated</b>
when |median ρ| &lt; {UNRELATED}, else <b>partly</b>. A ranking is <b>invariant</b> when ρ between the two
rankings is ≥ 1 − 1e-9 on every network. BatchNorm rescaling changed the loss by at most
{a.sanity.get('B1_max_relative_loss_change', float('nan')):.1e} (relative).</p>
<ul>{summary}</ul>
<table><tr><th></th>{head}</tr>{rows}</table>
"""


# -- the empirical part (plain data from empirical.assess_events) --------------------------------

def _g(x, fmt="+.3g") -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def _tag(e: dict) -> str:
    return f"[{e.get('label', '').split(':')[0]}] " if e.get("synthetic") else ""


def _checkpoint_words(e: dict) -> str:
    ck = e.get("checkpoint", {})
    if ck.get("kind") == "short trajectory":
        return f"a short trajectory of {ck.get('steps')} SGD steps"
    return f"{ck.get('kind')} {ck.get('path', '')}".strip()


def _rel_err(pred, actual):
    return abs(pred - actual) / abs(actual) if actual else None


def empirical_summary_lines(e: dict) -> list[str]:
    """The empirical part in a few measured sentences about the assessed measure (the label
    "synthetic, not evidence" first on every line when the data are synthetic)."""
    m, r, t = e["measure"], e["records"], _tag(e)
    me = r[m]
    n, u = me["units_removed"], me["units_total"]
    others = [k for k in e["measures"] if k != m]
    lines = [f"{t}empirical: {e['arch']}, {_checkpoint_words(e)}; data: {e['label']}",
             f"{t}{e['event']}: every measure removes {n} of {u} units ({n / u:.1%}) from the same checkpoint "
             f"(before: L {e['before']['loss']:.4g}, ‖g‖² {e['before']['grad_norm_sq']:.3g} on "
             f"{e['probe']['images']} probe images, accuracy {_g(e['before'].get('val_acc'), '.3f')})"]
    e1, e2 = _rel_err(me["first_order"], me["dloss"]), _rel_err(me["second_order"], me["dloss"])
    lines.append(f"{t}{m}: ΔL {_g(me['dloss'])} (first order −θ_Sᵀg {_g(me['first_order'])}, second order "
                 f"{_g(me['second_order'])}; relative error {_g(e1, '.2f')} / {_g(e2, '.2f')}), Δ‖g‖² "
                 f"{_g(me['dgrad_norm_sq'])} (predicted −2θ_Sᵀ(Hg) {_g(me['pred_dgrad_norm_sq'])}); ΔL rank "
                 f"{me['dloss_rank']} of {len(r)} (1 = the loss best preserved)")
    lines.append(f"{t}ΔL of the others: " + ", ".join(f"{k} {_g(r[k]['dloss'])}" for k in others)
                 + "; Δ‖g‖²: " + ", ".join(f"{k} {_g(r[k]['dgrad_norm_sq'])}" for k in others))
    d = me["depth"]
    floor = ", ".join(me["groups_at_floor"]) or "none"
    lines.append(f"{t}{m} widths: the first third of the layers ({d['groups_per_third']} "
                 f"group{'s' if d['groups_per_third'] != 1 else ''}) lose "
                 f"{_g(d['early'], '.1%')} of their units, the last third {_g(d['late'], '.1%')}; groups at their "
                 f"floor: {floor} (magnitude: {_g(r['magnitude']['depth']['early'], '.1%')} / "
                 f"{_g(r['magnitude']['depth']['late'], '.1%')})" if "magnitude" in r else
                 f"{t}{m} widths: first third {_g(d['early'], '.1%')}, last third {_g(d['late'], '.1%')}")
    ratio = lambda k: _g(r[k].get("cost_ratio_to_magnitude"), ".3g") + "×"  # noqa: E731
    lines.append(f"{t}{m} cost: {me['score_seconds']:.3g} s per scoring on {e['importance_images']} images = "
                 f"{ratio(m)} magnitude's (" + ", ".join(f"{k} {ratio(k)}" for k in others if k != "magnitude")
                 + "; timings are descriptive)")
    return lines


def empirical_png(e: dict) -> bytes | None:
    """Left: the fraction of units each layer keeps after the event, per measure (network order).
    Right: the first- and second-order predictions of ΔL against the actual ΔL, per measure."""
    try:
        from gftheory.report.plots import _legend_below, _png, colour_of, plt
    except Exception:      # matplotlib missing: the page goes without its picture
        return None
    names = e["measures"]
    col = colour_of(names)
    groups = e["groups"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.4, 2.8), layout="constrained")
    xs = list(range(len(groups)))
    for k in names:
        w = e["records"][k]["widths_after"]
        a1.plot(xs, [w[g["name"]] / g["original"] for g in groups], color=col[k], lw=2.2 if k == e["measure"] else 1.2,
                marker="o", ms=2.5, label=k)
    a1.set_ylim(0, 1.05)
    if len(xs) <= 24:
        a1.set_xticks(xs)
    a1.set_xlabel("prunable layer / group (network order)", fontsize=7)
    a1.set_ylabel("fraction of units left", fontsize=7)
    a1.set_title("per-layer width after the event", fontsize=8)
    signed = [v for k in names for v in (e["records"][k]["dloss"], e["records"][k]["first_order"],
                                         e["records"][k]["second_order"]) if math.isfinite(v)]
    top = max((abs(v) for v in signed), default=1.0) or 1.0
    small = [abs(v) for v in signed if abs(v) > top * 1e-4]
    lin = 10 ** math.floor(math.log10(min(small, default=top * 1e-2)))
    lo = min(min(signed, default=0.0) * 1.5, -lin)
    hi = max(max(signed, default=0.0) * 1.5, lin)
    a2.plot([lo, hi], [lo, hi], color="#888888", lw=0.8, ls="--")
    for k in names:
        r = e["records"][k]
        a2.scatter([r["dloss"]], [r["first_order"]], color=col[k], marker="o", s=22, edgecolor="black", linewidth=0.4)
        a2.scatter([r["dloss"]], [r["second_order"]], color=col[k], marker="s", s=22, edgecolor="black", linewidth=0.4)
    for ax in (a2,):
        ax.set_xscale("symlog", linthresh=lin)
        ax.set_yscale("symlog", linthresh=lin)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    a2.axhline(0, color="black", lw=0.4)
    a2.axvline(0, color="black", lw=0.4)
    a2.set_xlabel(f"actual ΔL (symlog, linear within ±{lin:.1g})", fontsize=7)
    a2.set_ylabel("predicted ΔL", fontsize=7)
    a2.set_title("ΔL predicted against actual (dashed: equal)", fontsize=8)
    for ax in (a1, a2):
        ax.tick_params(labelsize=7)
    handles = [plt.Line2D([], [], color=col[k], lw=1.5, label=k) for k in names]
    handles += [plt.Line2D([], [], color="white", marker=mk, markeredgecolor="black", markerfacecolor="#bbbbbb",
                           lw=0, label=lab) for mk, lab in (("o", "first order −θ_Sᵀg"),
                                                           ("s", "second order + ½θ_SᵀHθ_S"))]
    _legend_below(fig, handles, "measure / prediction")
    title = f"{e['measure']} on {e['arch']}" + (" — synthetic, not evidence" if e.get("synthetic") else "")
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def _empirical_html(e: dict) -> str:
    import base64
    names, r = e["measures"], e["records"]
    banner = (f'<p style="background:#fee;border:1px solid #c33;padding:.4em"><b>{html.escape(e["label"])}</b> — '
              f'these numbers show that the machinery runs; they are no evidence about the measure.</p>'
              if e.get("synthetic") else f"<p>Data: {html.escape(e['label'])}</p>")
    cols = ("units removed", "ΔL", "first order −θ_Sᵀg", "second order +½θ_SᵀHθ_S", "first order (weights only)",
            "Δ‖g‖²", "predicted −2θ_Sᵀ(Hg)", "accuracy after", "ΔL rank", "scoring s", "× magnitude")
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = ""
    for k in names:
        x = r[k]
        cells = (str(x["units_removed"]), _g(x["dloss"]), _g(x["first_order"]), _g(x["second_order"]),
                 _g(x["first_order_weights"]), _g(x["dgrad_norm_sq"]), _g(x["pred_dgrad_norm_sq"]),
                 _g(x.get("val_acc_after"), ".3f"), str(x.get("dloss_rank")), _g(x["score_seconds"], ".3g"),
                 _g(x.get("cost_ratio_to_magnitude"), ".3g"))
        name = f"<b>{html.escape(k)}</b> (assessed)" if k == e["measure"] else html.escape(k)
        rows += f"<tr><th>{name}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    whead = "".join(f"<th>{html.escape(k)}</th>" for k in names)
    wrows = ""
    for g in e["groups"]:
        cells = []
        for k in names:
            w = r[k]["widths_after"][g["name"]]
            cells.append(f"<td>{'<b>' if w <= g['floor'] < g['original'] else ''}{w}"
                         f"{'</b>' if w <= g['floor'] < g['original'] else ''}</td>")
        label = html.escape(g["name"]) + (f"<br><small>{html.escape(', '.join(g['members']))}</small>"
                                          if g.get("members") and len(g["members"]) > 1 else "")
        wrows += f"<tr><th>{label}</th><td>{g['original']}</td><td>{g['floor']}</td>{''.join(cells)}</tr>"
    png = empirical_png(e)
    fig = (f'<figure><img alt="per-layer widths and ΔL against its predictions" '
           f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"></figure>' if png else "")
    summary = "".join(f"<li>{html.escape(s)}</li>" for s in empirical_summary_lines(e))
    b = e["before"]
    return f"""<h2>Empirical: one paired pruning event{' (synthetic, not evidence)' if e.get('synthetic') else ''}</h2>
{banner}
<p>{html.escape(e['arch'])}, {html.escape(_checkpoint_words(e))}; units: {html.escape(e['units'])}. {html.escape(e['event'])}:
every measure removes the same number of units from the same checkpoint, scored on the same
{e['importance_images']} augmented training images, measured on the same {e['probe']['images']} probe images
(eval mode, T = {e['probe']['temperature']:g}): before, L = {b['loss']:.4g}, ‖g‖² = {_g(b['grad_norm_sq'], '.3g')},
accuracy {_g(b.get('val_acc'), '.3f')}. Predictions are for the removed set S of every slice the removed
channels own (θ − θ_S is the removal); "weights only" is the paper's θ_p. Δ‖g‖² is the surviving network's.
The cost is the wall-clock seconds of one scoring, descriptive only.</p>
<ul>{summary}</ul>
<table><tr><th>measure</th>{head}</tr>{rows}</table>
<h3>Per-layer width after the event</h3>
<table><tr><th>group</th><th>original</th><th>floor</th>{whead}</tr>{wrows}</table>
<p><small>Bold: the group is at its floor int(0.05·W)+1.</small></p>
{fig}
"""


def render_html(a: Assessment | None, empirical: dict | None = None) -> str:
    """The one-page report: the theory part (``a``; None when skipped) and the empirical part."""
    measure = a.measure if a is not None else empirical["measure"]
    me = a.about.get(a.measure, {}) if a is not None else {}
    about = html.escape(f"{me.get('name', '')}: {me.get('formula', '')} (needs: {', '.join(me.get('needs', [])) or 'nothing'})")
    theory = _theory_html(a) if a is not None else "<p><small>Theory part skipped (--no-theory).</small></p>"
    emp = (_empirical_html(empirical) if empirical is not None else
           "<p><small>No empirical part: give --arch (and --data-dir or --data synthetic) for one paired "
           "pruning event at one checkpoint; see docs/assess.md.</small></p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gftheory assess {html.escape(measure)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:76em;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #bbb;padding:.35em .6em;vertical-align:top}}
th{{text-align:left;background:#f4f4f4}}small{{color:#555}}img{{max-width:100%}}</style></head><body>
<h1>Where <code>{html.escape(measure)}</code> stands in the gradient-flow picture</h1>
{f'<p><b>{about}</b></p>' if a is not None else ''}
{theory}
{emp}
</body></html>
"""


def write(a: Assessment | None, out_dir, empirical: dict | None = None) -> tuple:
    """assess.json (the theory part's fields, ``empirical`` when given) and assess.html."""
    from pathlib import Path

    from gftheory.atomic import atomic_write_json, atomic_write_text
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    j, h = out / "assess.json", out / "assess.html"
    data = a.as_dict() if a is not None else {"measure": empirical["measure"], "theory": "skipped (--no-theory)"}
    if empirical is not None:
        data["empirical"] = empirical
    atomic_write_json(j, data)
    atomic_write_text(h, render_html(a, empirical))
    return j, h


__all__ = ["Assessment", "BASELINES", "REFERENCES", "INVARIANCES", "assess", "empirical_png",
           "empirical_summary_lines", "filter_scores", "references", "render_html", "rho", "summary_lines", "write"]
