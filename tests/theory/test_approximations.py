"""T0, T1, T2 as order tests in ε, and the GraSP sign convention pinned by actual removal."""
import numpy as np
import pytest
from hypothesis import assume, given

from gftheory.checks import RULES
from gftheory.checks.approximations import (EPS_GRID_T12, Degenerate, grasp_sign, t0_order,
                                            t1_t2_order)
from gftheory.checks.generators import ProblemSpec, build_problem
from gftheory.checks.numerics import fit_order
from gftheory.flow import flow_rates
from strategies import problems

pytestmark = pytest.mark.usefixtures("single_thread")


def _run(fn, problem):
    try:
        return fn(problem)
    except Degenerate:
        assume(False)


@given(problems(max_params=400))
def test_first_order_removal_predictions_have_error_of_order_eps_squared(problem):
    for o in _run(t1_t2_order, problem):
        rule = RULES[(o.id, o.method)]
        assert rule.lo <= o.value <= rule.hi, f"{o.id}: fitted order {o.value:.3f} on {o.case}"


@given(problems(max_params=400, batchnorm=(False,), bias=(True,)))
def test_expansion_about_the_origin_has_a_cubic_remainder(problem):
    order, quality = _run(t0_order, problem)
    rule = RULES[(order.id, order.method)]
    assert rule.lo <= order.value <= rule.hi, f"T0: fitted order {order.value:.3f} on {order.case}"
    assert np.isfinite(quality.value)   # the quality of d‖θ‖²/dt ≈ 2(L(0) − L) is reported only


@given(problems(max_params=400))
def test_lowest_grasp_unit_is_the_one_whose_removal_raises_grad_norm_most(problem):
    for o in _run(grasp_sign, problem):
        assert o.value == 0, f"{o.method}: {o.case} {o.extra}"


def test_order_test_fails_for_a_prediction_wrong_at_first_order():
    """The ε-order test can fail: a 1 % error in θ_pᵀg leaves an error ∝ ε (order ≈ 1)."""
    p = build_problem(ProblemSpec(arch="mlp", depth=2, width=3, activation="softplus", seed=5))
    obj = p.objective()
    th = obj.theta()
    L0 = float(obj.loss(th))
    r = flow_rates(p.model, p.batches, temperature=p.temperature, per_unit=True)
    n = p.prunable[-1]
    a, b = obj.spec.offsets()[n]
    v = th.clone() * 0
    v[a:b].view(r.units[n].norm_sq.shape[0], -1)[0] = th[a:b].view(r.units[n].norm_sq.shape[0], -1)[0]
    tg = float(r.units[n].theta_dot_grad[0])
    good = [float(obj.loss(th - e * v)) - L0 + e * tg for e in EPS_GRID_T12]
    bad = [float(obj.loss(th - e * v)) - L0 + e * 1.01 * tg for e in EPS_GRID_T12]
    assert fit_order(EPS_GRID_T12, good) == pytest.approx(2, abs=0.2)
    assert fit_order(EPS_GRID_T12, bad) < 1.5
