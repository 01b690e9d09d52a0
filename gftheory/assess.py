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


def render_html(a: Assessment) -> str:
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
    me = a.about.get(a.measure, {})
    about = html.escape(f"{me.get('name', '')}: {me.get('formula', '')} (needs: {', '.join(me.get('needs', [])) or 'nothing'})")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gftheory assess {html.escape(a.measure)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:.35em .6em;vertical-align:top}}
th{{text-align:left;background:#f4f4f4}}small{{color:#555}}</style></head><body>
<h1>Where <code>{html.escape(a.measure)}</code> stands in the gradient-flow picture</h1>
<p><b>{about}</b></p>
<p>Theory part: {a.cases} generated float64 networks per row (seed {a.seed}); each cell is a measured
statement over the hidden units' global ranking. A relation <b>tracks</b> a reference when Spearman
ρ ≥ {TRACK} on ≥ {MOST:.0%} of the networks (<b>tracks inversely</b> for ρ ≤ −{TRACK}), is <b>unrelated</b>
when |median ρ| &lt; {UNRELATED}, else <b>partly</b>. A ranking is <b>invariant</b> when ρ between the two
rankings is ≥ 1 − 1e-9 on every network. BatchNorm rescaling changed the loss by at most
{a.sanity.get('B1_max_relative_loss_change', float('nan')):.1e} (relative).</p>
<ul>{summary}</ul>
<table><tr><th></th>{head}</tr>{rows}</table>
<p><small>The empirical part (a paired event-study checkpoint) is not part of this page; see docs/assess.md.</small></p>
</body></html>
"""


def write(a: Assessment, out_dir) -> tuple:
    from pathlib import Path

    from gftheory.atomic import atomic_write_json, atomic_write_text
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    j, h = out / "assess.json", out / "assess.html"
    atomic_write_json(j, a.as_dict())
    atomic_write_text(h, render_html(a))
    return j, h


__all__ = ["Assessment", "BASELINES", "REFERENCES", "INVARIANCES", "assess", "filter_scores", "references",
           "render_html", "rho", "summary_lines", "write"]
