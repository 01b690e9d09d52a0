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
