"""Beyond the paper: BatchNorm scale invariance (BN_SCALE) and ReLU balancedness (BALANCE).

BN_SCALE: if unit p's output goes through train-mode BatchNorm (directly, or through a
positively homogeneous activation such as ReLU) and the layer has no bias, then
L(θ + (c−1)θ_p) = L(θ) for c > 0, hence θ_pᵀg_p = 0 and d‖θ_p‖²/dt = −2θ_pᵀg = 0: the paper's
loss_preservation |θ_pᵀg| is 0 for every such filter, while Σ_i|θ_i g_i| is not.
(Exact for BN ε = 0; the generated problems use a tiny ε, BN_EPS.)
BALANCE: bias-free ReLU nets: d/dt(‖w_in,j‖² − ‖w_out,j‖²) = −2(w_inᵀg_in − w_outᵀg_out) = 0
for every hidden unit j (Du et al. 2018), so the difference is conserved along the flow.
"""
from __future__ import annotations

import numpy as np
import torch

from gftheory.checks.generators import Problem, unit_slices
from gftheory.checks.numerics import Observation, rel_err
from gftheory.flow import flow_rates
from gftheory.importance import importance

BN_EPS = 1e-12
# Integrate the flow over [0, time / max(1, ‖g‖)]; ReLU kinks force tiny steps, so shorter
# and with a looser tolerance there.
FLOW_TIME_SMOOTH, RTOL_SMOOTH = 0.05, 1e-10
FLOW_TIME_RELU, RTOL_RELU = 1e-3, 1e-9
N_SAMPLES_T = 6           # dense-output samples along the trajectory
FLOOR = 1e-12
ELEMENTWISE_MARGIN = 1e3


def _integrate(problem: Problem):
    from gftheory.integrate import integrate_gradient_flow
    smooth = problem.spec.smooth
    time, rtol = (FLOW_TIME_SMOOTH, RTOL_SMOOTH) if smooth else (FLOW_TIME_RELU, RTOL_RELU)
    t_final = time / max(1.0, float(problem.objective().grad().norm()))
    traj = integrate_gradient_flow(problem.model, problem.batches, t_final,
                                   temperature=problem.temperature, rtol=rtol, atol=rtol * 1e-2)
    return t_final, traj


def bn_scale(problem: Problem) -> list[Observation]:
    names = problem.bn_followed
    if not names:
        raise ValueError("bn_scale needs a problem with BatchNorm after its hidden layers")
    obj = problem.objective()
    slices = unit_slices(obj, names)
    r = flow_rates(problem.model, problem.batches, temperature=problem.temperature, per_unit=True)
    lp = importance(problem.model, "loss_preservation", problem.batches, temperature=problem.temperature)
    lpe = importance(problem.model, "loss_preservation_elementwise", problem.batches,
                     temperature=problem.temperature)
    # (a) θ_pᵀg_p relative to ‖θ_p‖·‖g‖ (‖g‖ of all of θ: a unit with one weight has g_p = 0)
    gnorm = max(r.grad_norm_sq ** 0.5, FLOOR)
    cos = max(float((r.units[n].theta_dot_grad.abs() / (r.units[n].norm_sq.sqrt() * gnorm)
                     .clamp(min=1e-300)).max()) for n in names)
    # (b) ‖θ_p(t)‖² constant along the flow (smooth activations only: with ReLU before BN a
    # unit dead on a whole batch makes the flow stiff through the 1/√ε factor)
    traj_obs = []
    if problem.spec.smooth:
        t_final, traj = _integrate(problem)
        drift, moved = 0.0, 0.0
        th0 = traj.at(0.0)
        for t in np.linspace(0, t_final, N_SAMPLES_T)[1:]:
            tht = traj.at(t)
            moved = max(moved, float(np.max(np.abs(tht - th0))) / max(float(np.max(np.abs(th0))), FLOOR))
            for n, (s, e, shape) in slices.items():
                n0 = (th0[s:e].reshape(shape[0], -1) ** 2).sum(1)
                nt = (tht[s:e].reshape(shape[0], -1) ** 2).sum(1)
                drift = max(drift, float(np.max(np.abs(nt - n0) / np.maximum(n0, FLOOR))))
        traj_obs.append(Observation("BN_SCALE", "trajectory-norm-drift", "violation", drift,
                                    problem.spec.describe(),
                                    {"t_final": t_final, "max_rel_param_change": moved}))
    # (c) loss_preservation degenerates (lp_p / (‖θ_p‖‖g‖) ≈ 0); the elementwise variant does
    # not: Σ|θ_i g_i| > ELEMENTWISE_MARGIN · |θ_pᵀg| for every unit with ≥ 2 weights and
    # ‖g_p‖ > 1e-4‖g‖
    lp_rel, not_degenerate, eligible = 0.0, 0, 0
    for n in names:
        u = r.units[n]
        denom = (u.norm_sq.sqrt() * gnorm).clamp(min=1e-300)
        lp_rel = max(lp_rel, float((lp[n] / denom).max()))
        fan_in = lp[n].new_tensor(problem.model.get_parameter(n)[0].numel())
        ok = (u.grad_norm_sq.sqrt() > 1e-4 * gnorm) & (fan_in >= 2)
        eligible += int(ok.sum())
        not_degenerate += int((ok & (lpe[n] > ELEMENTWISE_MARGIN * lp[n])).sum())
    case = problem.spec.describe()
    return [
        Observation("BN_SCALE", "autograd-cosine", "violation", cos, case),
        Observation("BN_SCALE", "lp-degenerate", "violation", lp_rel, case),
        Observation("BN_SCALE", "elementwise-not-degenerate", "violation",
                    (eligible - not_degenerate) / max(eligible, 1), case, {"eligible_units": eligible}),
    ] + traj_obs


def _in_out_pairs(problem: Problem):
    """For each hidden unit j of each hidden layer: (in slice, out slice) index arrays in θ."""
    obj = problem.objective()
    names = problem.prunable
    sl = unit_slices(obj, names)
    img = problem.spec.image_size ** 2 if problem.spec.arch == "cnn" else 1
    pairs = []
    for k, n in enumerate(names[:-1]):
        s, e, shape = sl[n]
        s2, e2, shape2 = sl[names[k + 1]]
        idx_in = np.arange(s, e).reshape(shape[0], -1)
        idx_next = np.arange(s2, e2).reshape(shape2)
        for j in range(shape[0]):
            if idx_next.ndim == 4:                       # conv → conv: input channel j
                out = idx_next[:, j].reshape(-1)
            elif names[k + 1] == names[-1] and problem.spec.arch == "cnn":  # conv → Flatten → head
                out = idx_next[:, j * img:(j + 1) * img].reshape(-1)
            else:                                        # linear → linear: column j
                out = idx_next[:, j].reshape(-1)
            pairs.append((f"{n}[{j}]", idx_in[j], out))
    return pairs


def balance(problem: Problem, *, strict: bool = True) -> list[Observation]:
    """``strict=False`` lets a problem with biases through (a negative control: there the
    difference is not conserved)."""
    if problem.spec.batchnorm or problem.spec.activation != "relu" or (strict and problem.spec.bias):
        raise ValueError("balance needs a bias-free ReLU problem without BatchNorm")
    obj = problem.objective()
    th = obj.theta()
    g = obj.grad(th)
    r = flow_rates(problem.model, problem.batches, temperature=problem.temperature, per_unit=True)
    pairs = _in_out_pairs(problem)
    names = problem.prunable
    in_rates = torch.cat([r.units[n].norm_sq_rate for n in names[:-1]])
    out_rates = torch.tensor([float(-2 * th[o] @ g[o]) for _, _, o in pairs], dtype=torch.float64)
    case = problem.spec.describe()
    out = [Observation("BALANCE", "autograd", "rel_err", rel_err(in_rates, out_rates, FLOOR), case)]
    t_final, traj = _integrate(problem)
    th0 = traj.at(0.0)

    def diffs(x):
        return np.array([x[i] @ x[i] - x[o] @ x[o] for _, i, o in pairs]), \
            np.array([x[i] @ x[i] for _, i, _ in pairs])

    D0, N0 = diffs(th0)
    drift, change = 0.0, 0.0
    for t in np.linspace(0, t_final, N_SAMPLES_T)[1:]:
        Dt, Nt = diffs(traj.at(t))
        drift = max(drift, float(np.max(np.abs(Dt - D0))))
        change = max(change, float(np.max(np.abs(Nt - N0))))
    out.append(Observation("BALANCE", "trajectory", "rel_err", drift / max(change, FLOOR), case,
                           {"t_final": t_final, "max_in_norm_change": change}))
    return out
