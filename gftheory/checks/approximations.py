"""Taylor approximations T0, T1, T2 as *order* tests, and the GraSP sign by actual removal.

T1: e(ε) = L(θ − εθ_p) − L(θ) − (−ε θ_pᵀg) must be O(ε²): fitted slope of log e vs log ε ≈ 2.
T2: e(ε) = ‖g(θ − εθ_p)‖² − ‖g(θ)‖² − (−2ε θ_pᵀ(Hg)_p) must be O(ε²).
A prediction wrong at first order leaves e ∝ ε (slope 1). θ_pᵀg and θ_pᵀ(Hg)_p come from
``flow_rates`` (the code under test); the unit p is the one whose second difference
L(θ+δθ_p) + L(θ−δθ_p) − 2L(θ) (resp. for ‖g‖²) is largest, so the ε² term is not degenerate.
T0: with θ → εθ, R(ε) = L(0) − [L(εθ) − (εθ)ᵀg(εθ) + ½(εθ)ᵀH(εθ)(εθ)] must be O(ε³).
"""
from __future__ import annotations

import numpy as np
import torch

from gftheory.checks.generators import Problem, model_at, unit_slices
from gftheory.checks.identities import rank_inversions
from gftheory.checks.numerics import Observation, fit_order, rel_err
from gftheory.flow import flow_rates
from gftheory.hessian import hessian_vector_product
from gftheory.importance import importance

EPS_GRID_T12 = np.logspace(-3.5, -1.5, 6)     # ε for T1/T2
EPS_GRID_T0 = np.logspace(-3.5, -0.5, 13)     # ε·max(1, ‖θ‖) for T0 ...
T0_POINTS = 4        # ... of which the T0_POINTS smallest with |R(ε)| ≥ T0_NOISE·max(1, |L(0)|)
T0_NOISE = 1e-14     # are fitted (below that, float64 round-off of the four terms shows),
T0_CROSSING = 10.0   # and only ε ≤ ε_cross / T0_CROSSING, ε_cross the first sign change of R
                     # (where the ε⁴ term cancels the ε³ one: a small third derivative along θ)
SECOND_DIFF_STEP = 1e-2
# The ε² coefficient must stand this far above float64 round-off at the smallest ε.
MIN_SIGNAL = 1e-11
GRASP_SHRINK = 1e-5       # layer weights scaled by this to make its units "small"
GRASP_TIE = 1e-2          # grasp scores closer than this × max|score| count as ties


class Degenerate(Exception):
    """The generated case cannot test the statement (e.g. a vanishing ε² coefficient)."""


def _unit_vector(theta: torch.Tensor, s: int, e: int, shape, j: int) -> torch.Tensor:
    v = torch.zeros_like(theta)
    block = v[s:e].view(shape)
    block[j] = theta[s:e].view(shape)[j]
    return v


def _all_units(obj):
    for n, (s, e, shape) in unit_slices(obj).items():
        for j in range(shape[0]):
            yield n, j, s, e, shape


def t1_t2_order(problem: Problem) -> list[Observation]:
    obj = problem.objective()
    th = obj.theta()
    L0, g0 = obj.loss_and_grad(th)
    G0 = float(g0 @ g0)
    rates = flow_rates(problem.model, problem.batches, temperature=problem.temperature, per_unit=True)
    gsq = lambda x: float(obj.grad(x).pow(2).sum())  # noqa: E731
    loss = lambda x: float(obj.loss(x))  # noqa: E731
    best = {"T1": (-1.0, None), "T2": (-1.0, None)}
    d = SECOND_DIFF_STEP
    for n, j, s, e, shape in _all_units(obj):
        v = _unit_vector(th, s, e, shape, j)
        c1 = abs(loss(th + d * v) + loss(th - d * v) - 2 * L0) / d ** 2
        c2 = abs(gsq(th + d * v) + gsq(th - d * v) - 2 * G0) / d ** 2
        if c1 > best["T1"][0]:
            best["T1"] = (c1, (n, j, v))
        if c2 > best["T2"][0]:
            best["T2"] = (c2, (n, j, v))
    out = []
    for sid in ("T1", "T2"):
        coeff, (n, j, v) = best[sid]
        base = L0 if sid == "T1" else G0
        if coeff * EPS_GRID_T12[0] ** 2 < MIN_SIGNAL * max(1.0, abs(base)):
            raise Degenerate(f"{sid}: ε² coefficient {coeff:.2e} too small to measure")
        if sid == "T1":
            pred = -float(rates.units[n].theta_dot_grad[j])
            errs = [loss(th - eps * v) - L0 - eps * pred for eps in EPS_GRID_T12]
        else:
            pred = -2 * float(rates.units[n].theta_dot_hvp[j])
            errs = [gsq(th - eps * v) - G0 - eps * pred for eps in EPS_GRID_T12]
        out.append(Observation(sid, "epsilon-order", "order", fit_order(EPS_GRID_T12, errs),
                               problem.spec.describe(),
                               {"unit": f"{n}[{j}]", "second_order_coeff": coeff,
                                "errors": [float(x) for x in errs]}))
    return out


def t0_order(problem: Problem) -> list[Observation]:
    """T0: order-3 test of the expansion about θ of L(0), θ → εθ; plus the quality of
    d‖θ‖²/dt ≈ 2(L(0) − L(θ)) at the generated θ (reported, kind "info")."""
    obj = problem.objective()
    th = obj.theta()
    L_zero = float(obj.loss(torch.zeros_like(th)))
    scale = max(1.0, float(th.norm()))
    errs = []
    for eps in EPS_GRID_T0 / scale:
        x = eps * th
        m = model_at(problem.model, x)
        r = flow_rates(m, problem.batches, temperature=problem.temperature)
        xhx = float(x @ hessian_vector_product(m, problem.batches, x, temperature=problem.temperature))
        errs.append(L_zero - (r.loss - r.theta_dot_grad + 0.5 * xhx))
    limit = EPS_GRID_T0[-1]
    signs = np.sign(errs)
    for k in range(1, len(errs)):
        if signs[k] != signs[0]:
            limit = EPS_GRID_T0[k] / T0_CROSSING
            break
    usable = [k for k, e in enumerate(errs)
              if abs(e) >= T0_NOISE * max(1.0, abs(L_zero)) and EPS_GRID_T0[k] <= limit]
    if len(usable) < 3:
        raise Degenerate("T0: too few ε with the cubic remainder above round-off")
    use = usable[:T0_POINTS]
    r = flow_rates(problem.model, problem.batches, temperature=problem.temperature)
    approx = 2 * (L_zero - r.loss)
    case = problem.spec.describe()
    return [Observation("T0", "epsilon-order", "order",
                        fit_order(EPS_GRID_T0[use], [errs[k] for k in use]), case,
                        {"errors": [float(x) for x in errs], "fitted_points": use}),
            Observation("T0", "quality-at-theta", "info", rel_err(r.norm_sq_rate, approx, 1e-12),
                        case, {"norm_sq_rate": r.norm_sq_rate, "2(L(0)-L)": approx})]


def grasp_sign(problem: Problem, layer: str | None = None) -> list[Observation]:
    """Shrink one layer's weights by GRASP_SHRINK (small units), score it with ``grasp``,
    then remove each unit (zero its weights) and measure Δ_p = ‖g(θ − θ_p)‖² − ‖g(θ)‖².
    Violations: argmin grasp ≠ argmax Δ (0/1), and the fraction of unit pairs ordered
    differently by grasp and by −Δ (pairs closer than GRASP_TIE·max|grasp| are ties).
    Layers followed by train-mode BatchNorm are excluded (see BN_SCALE)."""
    obj = problem.objective()
    th = obj.theta()
    slices = unit_slices(obj)
    # A layer followed by train-mode BN is scale-invariant: shrinking it does not make its
    # units small (the curvature grows as 1/s²), so the statement does not apply there.
    candidates = [n for n, (_, _, shape) in slices.items()
                  if shape[0] >= 2 and n not in problem.bn_followed]
    if not candidates:
        raise Degenerate("no layer with ≥ 2 units that is not followed by BatchNorm")
    n = layer if layer is not None else candidates[problem.spec.seed % len(candidates)]
    s, e, shape = slices[n]
    small = th.clone()
    small[s:e] *= GRASP_SHRINK
    m = model_at(problem.model, small)
    score = importance(m, "grasp", problem.batches, temperature=problem.temperature)[n]
    G0 = float(obj.grad(small).pow(2).sum())
    delta = []
    for j in range(shape[0]):
        removed = small.clone()
        removed[s:e].view(shape)[j] = 0.0
        delta.append(float(obj.grad(removed).pow(2).sum()) - G0)
    delta = np.array(delta)
    sc = score.numpy()
    order = np.sort(sc)
    if order[1] - order[0] <= GRASP_TIE * max(np.max(np.abs(sc)), 1e-300):
        raise Degenerate("the two lowest grasp scores tie")
    case = problem.spec.describe() + f" layer={n}"
    return [Observation("GRASP_SIGN", "actual-removal-argmin", "violation",
                        float(np.argmin(sc) != np.argmax(delta)), case,
                        {"grasp": sc.tolist(), "delta_grad_sq": delta.tolist()}),
            Observation("GRASP_SIGN", "actual-removal-ranking", "violation",
                        rank_inversions(sc, -delta, tie=GRASP_TIE), case)]
