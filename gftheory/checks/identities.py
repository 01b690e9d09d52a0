"""Exact identities F1–F5 (+ per-unit, weight decay), O2, MASK, ELEMENTWISE_BOUND,
SCALE_INVARIANT_RANKING, each as a comparison of two independently computed quantities.

Route "trajectory-fd": integrate dθ/dt = −g − λθ (``integrate_gradient_flow``), sample the
dense output at t0 + k·h (k = −2..2), evaluate ‖θ‖², L, ‖g‖², ‖θ_p‖², θ_pᵀg there and
differentiate in t by 5-point stencils; compare with ``flow_rates`` at θ(t0).
Route "dense-hessian": the paper's right-hand sides from one autograd gradient of the whole
loss and the dense Hessian H (``dense_hessian``); compare with ``flow_rates`` at θ.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from gftheory.checks.generators import Problem, model_at, unit_slices
from gftheory.checks.numerics import STENCIL, Observation, d1, d2, rel_err, to_numpy
from gftheory.flow import flow_rates
from gftheory.hessian import dense_hessian
from gftheory.importance import importance
from gftheory.measures import MEASURES, WeightQuantities, rows

# Step of the finite differences in t: h = H_BASE / max(1, ‖Hg‖/‖g‖, ‖g‖, λ) (the time scale)
# for first derivatives, D2_FACTOR·h for second derivatives (whose round-off grows as 1/h²).
H_BASE = 0.002
D2_FACTOR = 2.5
RTOL, ATOL = 1e-13, 1e-15     # integrator tolerances of this route
# Floors of the relative error (see numerics.rel_err).
FLOOR_TRAJECTORY = 1e-7
FLOOR_DENSE = 1e-12


def _unit_cat(per_layer: dict) -> np.ndarray:
    return np.concatenate([to_numpy(v) for v in per_layer.values()]) if per_layer else np.zeros(0)


def _unit_quantities(theta: torch.Tensor, g: torch.Tensor, slices) -> dict[str, np.ndarray]:
    """Per-unit ‖θ_p‖² and θ_pᵀg, all prunable layers concatenated."""
    ns, tg = {}, {}
    for n, (a, b, shape) in slices.items():
        th, gg = rows(theta[a:b].view(shape)), rows(g[a:b].view(shape))
        ns[n], tg[n] = (th * th).sum(1), (th * gg).sum(1)
    return {"norm_sq": _unit_cat(ns), "theta_dot_grad": _unit_cat(tg)}


def time_step(problem: Problem, weight_decay: float = 0.0) -> float:
    obj = problem.objective()
    th = obj.theta()
    _, g = obj.loss_and_grad(th)
    gn = float(g.norm())
    kappa = float(obj.hvp(g, th).norm()) / max(gn, 1e-300)
    return H_BASE / max(1.0, kappa, gn, weight_decay)


def trajectory_fd(problem: Problem, *, weight_decay: float = 0.0, h: float | None = None
                  ) -> list[Observation]:
    """F1 (or F1_wd), F2, F3, F4, F1_unit, F4_unit, F5, O2 by differentiating θ(t) in t."""
    from gftheory.integrate import integrate_gradient_flow
    lam = float(weight_decay)
    h = time_step(problem, lam) if h is None else h
    h2 = D2_FACTOR * h
    t0 = 2 * h2
    traj = integrate_gradient_flow(problem.model, problem.batches, 4 * h2,
                                   temperature=problem.temperature, weight_decay=lam,
                                   rtol=RTOL, atol=ATOL)
    obj = traj.objective
    slices = unit_slices(obj)

    def sample(step):
        out = {k: [] for k in ("norm_sq", "loss", "grad_sq", "u_norm_sq", "u_tg")}
        for k in STENCIL:
            th = traj.theta_tensor(t0 + k * step)
            loss, g = obj.loss_and_grad(th)
            u = _unit_quantities(th, g, slices)
            out["norm_sq"].append(float(th @ th))
            out["loss"].append(loss)
            out["grad_sq"].append(float(g @ g))
            out["u_norm_sq"].append(u["norm_sq"])
            out["u_tg"].append(u["theta_dot_grad"])
        return out

    samples, samples2 = sample(h), sample(h2)
    mid = traj.theta_tensor(t0)
    m = model_at(problem.model, mid)
    r = flow_rates(m, problem.batches, temperature=problem.temperature, weight_decay=lam,
                   per_unit=True)
    units = {n: r.units[n] for n in slices}
    case = problem.spec.describe()
    fl = FLOOR_TRAJECTORY

    def obs(id_, a, b):
        return Observation(id_, "trajectory-fd", "rel_err", rel_err(a, b, fl), case,
                           {"h": h, "fd": float(np.max(np.abs(to_numpy(a)))),
                            "formula": float(np.max(np.abs(to_numpy(b))))})

    out = [obs("F1_wd" if lam else "F1", d1(samples["norm_sq"], h), r.norm_sq_rate)]
    if lam:
        return out
    rate_u = d1(samples["u_norm_sq"], h)
    out += [
        obs("F2", d1(samples["loss"], h), r.loss_rate),
        obs("F3", d1(samples["grad_sq"], h), r.grad_norm_sq_rate),
        obs("F4", d2(samples2["norm_sq"], h2), r.norm_sq_accel),
        obs("F1_unit", rate_u, _unit_cat({n: u.norm_sq_rate for n, u in units.items()})),
        obs("F4_unit", d2(samples2["u_norm_sq"], h2),
            _unit_cat({n: u.norm_sq_accel for n, u in units.items()})),
        obs("F5", d1(samples["u_tg"], h),
            _unit_cat({n: u.theta_dot_grad_rate for n, u in units.items()})),
    ]
    lp = importance(m, "loss_preservation", problem.batches, temperature=problem.temperature)
    out.append(obs("O2", 0.5 * np.abs(rate_u), _unit_cat({n: lp[n] for n in slices})))
    return out


def autograd_grad_hessian(problem: Problem):
    """θ, L, g (one backward of the whole loss) and the dense H — the independent oracle."""
    obj = problem.objective()
    th = obj.theta().clone().requires_grad_(True)
    loss = obj.loss(th)
    (g,) = torch.autograd.grad(loss, th)
    H = dense_hessian(problem.model, problem.batches, temperature=problem.temperature)
    return obj, th.detach(), float(loss.detach()), g, H


def dense_formulas(problem: Problem, *, weight_decay: float = 0.1) -> list[Observation]:
    """flow_rates against the paper's right-hand sides built from g and the dense H."""
    obj, th, _, g, H = autograd_grad_hessian(problem)
    hg = H @ g
    slices = unit_slices(obj)
    r = flow_rates(problem.model, problem.batches, temperature=problem.temperature, per_unit=True)
    rw = flow_rates(problem.model, problem.batches, temperature=problem.temperature,
                    weight_decay=weight_decay)
    lp = importance(problem.model, "loss_preservation", problem.batches,
                    temperature=problem.temperature)
    case = problem.spec.describe()
    per = {"F1_unit": ({}, {}), "F4_unit": ({}, {}), "F5": ({}, {}), "O2": ({}, {})}
    for n, (a, b, shape) in slices.items():
        tp, gp, hp = (rows(x[a:b].view(shape)) for x in (th, g, hg))
        u = r.units[n]
        per["F1_unit"][0][n], per["F1_unit"][1][n] = u.norm_sq_rate, -2 * (tp * gp).sum(1)
        per["F4_unit"][0][n] = u.norm_sq_accel
        per["F4_unit"][1][n] = 2 * (gp * gp).sum(1) + 2 * (tp * hp).sum(1)
        per["F5"][0][n] = u.theta_dot_grad_rate
        per["F5"][1][n] = -(gp * gp).sum(1) - (tp * hp).sum(1)
        per["O2"][0][n], per["O2"][1][n] = lp[n], 0.5 * (-2 * (tp * gp).sum(1)).abs()

    def obs(id_, a, b):
        return Observation(id_, "dense-hessian", "rel_err", rel_err(a, b, FLOOR_DENSE), case)

    out = [
        obs("F1", r.norm_sq_rate, -2 * th @ g),
        obs("F1_wd", rw.norm_sq_rate, -2 * th @ g - 2 * weight_decay * th @ th),
        obs("F2", r.loss_rate, -(g @ g)),
        obs("F3", r.grad_norm_sq_rate, -2 * g @ hg),
        obs("F4", r.norm_sq_accel, 2 * g @ g + 2 * th @ hg),
    ]
    out += [obs(k, _unit_cat(a), _unit_cat(b)) for k, (a, b) in per.items()]
    return out


# ---------------------------------------------------------------------------------------
def _loss_with_masks(problem: Problem, masks: dict[str, torch.Tensor]) -> torch.Tensor:
    """L with each named weight W replaced by c ⊙ W (c broadcast per unit or per element)."""
    model = problem.model
    state = {n: p.detach() for n, p in model.named_parameters()}
    for n, c in masks.items():
        w = state[n]
        state[n] = (c.view(c.shape + (1,) * (w.dim() - c.dim())) * w)
    state.update({n: b.clone() for n, b in model.named_buffers()})
    total, count = 0.0, 0
    for x, y in problem.batches:
        out = functional_call(model, state, (x,))
        total = total + F.cross_entropy(out / problem.temperature, y, reduction="sum")
        count += int(y.shape[0])
    return total / count


def mask_identity(problem: Problem) -> list[Observation]:
    """∂L/∂c at c = 1 (autograd through a multiplicative mask) against θ ⊙ g (elementwise) and
    θ_pᵀg (per unit), and against the measures built on them (|·| of those)."""
    obj = problem.objective()
    g = obj.grad()
    th = obj.theta()
    names = problem.prunable
    slices = unit_slices(obj, names)
    el_masks = {n: torch.ones(slices[n][2], dtype=torch.float64, requires_grad=True) for n in names}
    u_masks = {n: torch.ones(slices[n][2][0], dtype=torch.float64, requires_grad=True) for n in names}
    dc_el = torch.autograd.grad(_loss_with_masks(problem, el_masks), list(el_masks.values()))
    dc_u = torch.autograd.grad(_loss_with_masks(problem, u_masks), list(u_masks.values()))
    lpe = importance(problem.model, "loss_preservation_elementwise", problem.batches, unit="parameter",
                     temperature=problem.temperature)
    lp = importance(problem.model, "loss_preservation", problem.batches, temperature=problem.temperature)
    a_el, b_el, a_u, b_u, a_m, b_m, a_f, b_f = ([] for _ in range(8))
    for n, de, du in zip(names, dc_el, dc_u):
        s, e, shape = slices[n]
        tg = (th[s:e] * g[s:e]).view(shape)
        a_el.append(de.reshape(-1)), b_el.append(tg.reshape(-1))
        a_u.append(du.reshape(-1)), b_u.append(rows(tg).sum(1))
        a_m.append(de.abs().reshape(-1)), b_m.append(lpe[n].reshape(-1))
        a_f.append(du.abs().reshape(-1)), b_f.append(lp[n].reshape(-1))
    cat = lambda xs: torch.cat(xs)  # noqa: E731
    case = problem.spec.describe()
    return [Observation("MASK", method, "rel_err", rel_err(cat(a), cat(b), FLOOR_DENSE), case)
            for method, a, b in (("autograd-mask-elementwise", a_el, b_el),
                                 ("autograd-mask-unit", a_u, b_u),
                                 ("mask-vs-measure", a_m + a_f, b_m + b_f))]


def elementwise_bound(problem: Problem) -> list[Observation]:
    """Σ_i|θ_i g_i| ≥ |θ_pᵀg| for every unit, from ``importance``; value = worst relative
    violation max(0, lp − lpe) / max(lpe, floor). Also lpe against Σ|θ⊙g| from autograd."""
    obj = problem.objective()
    g, th = obj.grad(), obj.theta()
    lp = importance(problem.model, "loss_preservation", problem.batches, temperature=problem.temperature)
    lpe = importance(problem.model, "loss_preservation_elementwise", problem.batches,
                     temperature=problem.temperature)
    slices = unit_slices(obj)
    viol, ref_a, ref_b = 0.0, [], []
    for n, (s, e, shape) in slices.items():
        scale = max(float(lpe[n].abs().max()), FLOOR_DENSE)
        viol = max(viol, float((lp[n] - lpe[n]).clamp(min=0).max()) / scale)
        ref_a.append(lpe[n]), ref_b.append(rows((th[s:e] * g[s:e]).view(shape).abs()).sum(1))
    case = problem.spec.describe()
    return [Observation("ELEMENTWISE_BOUND", "bound", "violation", viol, case),
            Observation("ELEMENTWISE_BOUND", "autograd-reference", "rel_err",
                        rel_err(torch.cat(ref_a), torch.cat(ref_b), FLOOR_DENSE), case)]


DATA_MEASURES = tuple(n for n in MEASURES if not MEASURES[n].data_free)
RANK_TIE = 1e-9   # pairs of scores closer than this (relative to the largest) count as ties


def rank_inversions(a, b, tie: float = RANK_TIE) -> float:
    """Fraction of pairs (i, j) ordered strictly by ``a`` (|a_i − a_j| > tie·max|a|) that
    ``b`` orders differently or ties exactly."""
    a, b = to_numpy(a), to_numpy(b)
    sa = tie * max(np.max(np.abs(a)), 1e-300)
    da, db = a[:, None] - a[None, :], b[:, None] - b[None, :]
    strict = np.abs(da) > sa
    if not strict.any():
        return 0.0
    agree = np.sign(da) == np.sign(db)
    return float(np.mean(~agree[strict]))


def scale_invariant_ranking(problem: Problem, alpha: float) -> list[Observation]:
    """For every data-dependent measure: rankings (per filter, globally across layers, and per
    parameter) under L and under αL agree. g, Hg, E_b[g_b²] of αL come from autograd of α·L
    itself, not from rescaling the quantities of L."""
    obj = problem.objective()
    th0 = obj.theta()
    slices = unit_slices(obj)

    def quantities(factor: float):
        th = th0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(factor * obj.loss(th), th, create_graph=True)
        (hg,) = torch.autograd.grad(g @ g.detach(), th)
        sq = torch.zeros_like(th0)
        for x, y in problem.batches:
            tb = th0.clone().requires_grad_(True)
            lb = F.cross_entropy(obj.logits(tb, x) / problem.temperature, y)
            (gb,) = torch.autograd.grad(factor * lb, tb)
            sq += (y.shape[0] / obj.n_samples) * gb ** 2
        return g.detach(), hg.detach(), sq

    q1, qa = quantities(1.0), quantities(alpha)
    params = dict(problem.model.named_parameters())
    worst, per_measure = 0.0, {}
    for mname in DATA_MEASURES:
        m = MEASURES[mname]
        f1, fa, p1, pa = [], [], [], []
        for n, (s, e, shape) in slices.items():
            def wq(q):
                return WeightQuantities(n, params[n].detach(), grad=q[0][s:e].view(shape),
                                        hvp=q[1][s:e].view(shape), grad_sq=q[2][s:e].view(shape))
            f1.append(m.filter_scores(wq(q1))), fa.append(m.filter_scores(wq(qa)))
            p1.append(m.parameter_scores(wq(q1)).reshape(-1))
            pa.append(m.parameter_scores(wq(qa)).reshape(-1))
        inv = max(rank_inversions(torch.cat(f1), torch.cat(fa)),
                  rank_inversions(torch.cat(p1), torch.cat(pa)))
        per_measure[mname] = inv
        worst = max(worst, inv)
    return [Observation("SCALE_INVARIANT_RANKING", "autograd-rescaled-loss", "violation", worst,
                        problem.spec.describe(), {"alpha": alpha, "per_measure": per_measure})]
