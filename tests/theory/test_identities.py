"""F1–F5 (+ per unit, weight decay), O2, MASK, ELEMENTWISE_BOUND, SCALE_INVARIANT_RANKING on
generated problems, each by two independent routes (gftheory.checks.identities):
finite differences in t of the integrated gradient flow, and dense-Hessian / autograd formulas."""
import pytest
import torch
from hypothesis import given

from gftheory.checks.generators import ProblemSpec, build_problem
from gftheory.checks.identities import (dense_formulas, elementwise_bound, mask_identity,
                                        rank_inversions, scale_invariant_ranking, trajectory_fd)
from gftheory.flow import flow_rates
from strategies import WITH_RELU, assert_within_rules, loss_scales, problems, weight_decays

F_IDS = {"F1", "F2", "F3", "F4", "F1_unit", "F4_unit", "F5", "O2"}

pytestmark = pytest.mark.usefixtures("single_thread")



@given(problems(max_params=1000))
def test_flow_identities_along_integrated_trajectory(problem):
    assert_within_rules(trajectory_fd(problem), ids=F_IDS)


@given(problems(max_params=600), weight_decays)
def test_weight_decay_form_of_F1_along_trajectory(problem, lam):
    assert_within_rules(trajectory_fd(problem, weight_decay=lam), ids={"F1_wd"})


@given(problems(max_params=200, activations=WITH_RELU), weight_decays)
def test_flow_identities_against_dense_hessian(problem, lam):
    assert_within_rules(dense_formulas(problem, weight_decay=lam), ids=F_IDS | {"F1_wd"})


@given(problems(max_params=400, activations=WITH_RELU))
def test_mask_gradient_equals_theta_times_grad(problem):
    assert_within_rules(mask_identity(problem), ids={"MASK"})


@given(problems(max_params=400, activations=WITH_RELU))
def test_elementwise_bound(problem):
    assert_within_rules(elementwise_bound(problem), ids={"ELEMENTWISE_BOUND"})


@given(problems(max_params=300, activations=WITH_RELU), loss_scales)
def test_rankings_invariant_to_positive_loss_rescaling(problem, alpha):
    assert_within_rules(scale_invariant_ranking(problem, alpha), ids={"SCALE_INVARIANT_RANKING"})


def test_rank_inversions_detects_a_reversed_order():
    a = torch.tensor([1.0, 2.0, 3.0])
    assert rank_inversions(a, a * 5) == 0.0
    assert rank_inversions(a, -a) == 1.0
    assert rank_inversions(a, torch.tensor([1.0, 3.0, 2.0])) == pytest.approx(1 / 3)


def test_trajectory_route_would_see_a_wrong_factor():
    """The finite-difference route resolves the rates far below a factor-2 (or 1 %) error."""
    p = build_problem(ProblemSpec(arch="mlp", depth=2, width=3, activation="tanh", seed=3))
    obs = {o.id: o for o in trajectory_fd(p)}
    r = flow_rates(p.model, p.batches, temperature=p.temperature)
    assert obs["F1"].value < 1e-6
    assert abs(obs["F1"].extra["fd"] - 1.01 * abs(r.norm_sq_rate)) > 1e-4 * abs(r.norm_sq_rate)


def test_flow_rates_paper_forms_at_zero_weight_decay():
    """flow_rates' general v-forms reduce to the paper's at λ = 0 (a direct, non-generated case)."""
    p = build_problem(ProblemSpec(arch="cnn", depth=2, width=2, activation="gelu", batchnorm=True,
                                  seed=11))
    r = flow_rates(p.model, p.batches, temperature=p.temperature)
    assert r.norm_sq_rate == pytest.approx(-2 * r.theta_dot_grad, rel=1e-12)
    assert r.loss_rate == pytest.approx(-r.grad_norm_sq, rel=1e-12)
    assert r.grad_norm_sq_rate == pytest.approx(-2 * r.grad_dot_hvp, rel=1e-12)
    assert r.norm_sq_accel == pytest.approx(2 * r.grad_norm_sq + 2 * r.theta_dot_hvp, rel=1e-12)


# -- the weight-decay forms of F2–F5 (dθ/dt = v = −(g + λθ)), λ > 0 --------------------------
def _wd_expected(problem, lam):
    """The λ > 0 right-hand sides from one autograd gradient and the dense Hessian (float64),
    written out here independently of gftheory.flow: v = −g − λθ, Hv = −Hg − λHθ,
    dL/dt = gᵀv, d‖g‖²/dt = 2gᵀHv, d²‖θ‖²/dt² = 2‖v‖² + 2θᵀv̇ with v̇ = −Hv − λv, and per unit
    d(θ_pᵀg)/dt = v_pᵀg_p + θ_pᵀ(Hv)_p."""
    from gftheory.checks.identities import autograd_grad_hessian
    obj, th, _, g, H = autograd_grad_hessian(problem)
    assert th.dtype == torch.float64
    v = -g - lam * th
    hv = H @ v                                   # d g/dt = H dθ/dt
    dv = -hv - lam * v                           # d v/dt = −dg/dt − λ dθ/dt
    whole = {"loss_rate": g @ v, "grad_norm_sq_rate": 2 * g @ hv,
             "norm_sq_rate": 2 * th @ v, "norm_sq_accel": 2 * v @ v + 2 * th @ dv}
    units = {}
    from gftheory.checks.generators import unit_slices
    from gftheory.measures import rows
    for n, (a, b, shape) in unit_slices(obj).items():
        tp, gp, vp, hvp, dvp = (rows(x[a:b].view(shape)) for x in (th, g, v, hv, dv))
        units[n] = {"norm_sq_rate": 2 * (tp * vp).sum(1),
                    "norm_sq_accel": 2 * (vp * vp).sum(1) + 2 * (tp * dvp).sum(1),
                    "theta_dot_grad_rate": (vp * gp).sum(1) + (tp * hvp).sum(1)}
    return whole, units


@given(problems(max_params=200, activations=WITH_RELU), weight_decays)
def test_weight_decay_forms_of_F2_to_F5_against_dense_hessian(problem, lam):
    whole, units = _wd_expected(problem, lam)
    r = flow_rates(problem.model, problem.batches, temperature=problem.temperature,
                   weight_decay=lam, per_unit=True)
    from gftheory.checks.numerics import rel_err
    for k, want in whole.items():
        assert rel_err(getattr(r, k), want, 1e-12) <= 1e-9, (k, getattr(r, k), float(want))
    for n, u in units.items():
        for k, want in u.items():
            assert rel_err(getattr(r.units[n], k), want, 1e-12) <= 1e-9, (n, k)
    # λ really enters: the forms differ from the paper's λ = 0 ones
    r0 = flow_rates(problem.model, problem.batches, temperature=problem.temperature)
    assert r.loss_rate != r0.loss_rate or r.theta_dot_grad == 0


def test_weight_decay_forms_along_integrated_trajectory():
    """Finite differences in t of dθ/dt = −g − λθ (integrated, λ = 0.3) against flow_rates'
    weight-decay forms of F2, F3, F4 and F5: a route that shares no formula with the code."""
    from gftheory.checks.identities import D2_FACTOR, _unit_quantities, time_step
    from gftheory.checks.generators import model_at, unit_slices
    from gftheory.checks.numerics import STENCIL, d1, d2, rel_err
    from gftheory.integrate import integrate_gradient_flow
    lam = 0.3
    p = build_problem(ProblemSpec(arch="cnn", depth=2, width=2, activation="tanh", batchnorm=True,
                                  seed=5))
    h = time_step(p, lam)
    h2 = D2_FACTOR * h
    t0 = 2 * h2
    traj = integrate_gradient_flow(p.model, p.batches, 4 * h2, temperature=p.temperature,
                                   weight_decay=lam, rtol=1e-13, atol=1e-15)
    obj, slices = traj.objective, unit_slices(traj.objective)

    def sample(step):
        out = {"loss": [], "grad_sq": [], "norm_sq": [], "u_tg": []}
        for k in STENCIL:
            th = traj.theta_tensor(t0 + k * step)
            loss, g = obj.loss_and_grad(th)
            out["loss"].append(loss)
            out["grad_sq"].append(float(g @ g))
            out["norm_sq"].append(float(th @ th))
            out["u_tg"].append(_unit_quantities(th, g, slices)["theta_dot_grad"])
        return out

    s1, s2 = sample(h), sample(h2)
    r = flow_rates(model_at(p.model, traj.theta_tensor(t0)), p.batches, temperature=p.temperature,
                   weight_decay=lam, per_unit=True)
    r0 = flow_rates(model_at(p.model, traj.theta_tensor(t0)), p.batches, temperature=p.temperature,
                    per_unit=True)
    import numpy as np
    u_rate = np.concatenate([r.units[n].theta_dot_grad_rate.numpy() for n in slices])
    pairs = {"F2_wd": (d1(s1["loss"], h), r.loss_rate, r0.loss_rate),
             "F3_wd": (d1(s1["grad_sq"], h), r.grad_norm_sq_rate, r0.grad_norm_sq_rate),
             "F4_wd": (d2(s2["norm_sq"], h2), r.norm_sq_accel, r0.norm_sq_accel),
             "F5_wd": (d1(s1["u_tg"], h), u_rate,
                       np.concatenate([r0.units[n].theta_dot_grad_rate.numpy() for n in slices]))}
    for k, (fd, formula, paper_form) in pairs.items():
        assert rel_err(fd, formula, 1e-7) <= 1e-4, (k, fd, formula)
        assert rel_err(fd, paper_form, 1e-7) > 1e-3, f"{k}: λ = {lam} makes no visible difference"
