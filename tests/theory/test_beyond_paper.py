"""Beyond the paper: BatchNorm scale invariance degenerates loss_preservation (BN_SCALE), and
bias-free ReLU nets conserve ‖w_in,j‖² − ‖w_out,j‖² along the flow (BALANCE)."""
import pytest
from hypothesis import given

from gftheory.checks.beyond import BN_EPS, balance, bn_scale
from gftheory.checks.generators import SMOOTH_ACTIVATIONS, ProblemSpec, build_problem
from strategies import assert_within_rules, problems

pytestmark = pytest.mark.usefixtures("single_thread")




@given(problems(max_params=500, batchnorm=(True,), bias=(False,), bn_positions=("before",),
                activations=SMOOTH_ACTIVATIONS + ("relu",), bn_eps=BN_EPS))
def test_filter_directly_followed_by_train_mode_bn_is_scale_invariant(problem):
    expected = {"autograd-cosine", "lp-degenerate", "elementwise-not-degenerate"}
    assert_within_rules(bn_scale(problem), methods=expected | ({"trajectory-norm-drift"} if problem.spec.smooth else set()))


@given(problems(max_params=500, batchnorm=(True,), bias=(False,), bn_positions=("after",),
                activations=("relu",), bn_eps=BN_EPS))
def test_filter_followed_by_relu_then_bn_is_scale_invariant(problem):
    assert_within_rules(bn_scale(problem), methods={"autograd-cosine", "lp-degenerate", "elementwise-not-degenerate"})


def test_bn_in_eval_mode_breaks_the_invariance():
    """Negative control: with running statistics (eval mode) θ_pᵀg_p is not 0."""
    p = build_problem(ProblemSpec(arch="mlp", depth=2, width=4, activation="tanh", batchnorm=True,
                                  bias=False, bn_eps=BN_EPS, seed=4))
    p.model.eval()
    cos = {o.method: o.value for o in bn_scale(p)}["autograd-cosine"]
    assert cos > 1e-3


@given(problems(max_params=400, activations=("relu",), batchnorm=(False,), bias=(False,)))
def test_relu_balancedness_is_conserved_along_the_flow(problem):
    assert_within_rules(balance(problem), methods={"autograd", "trajectory"})


def test_balancedness_fails_with_biases():
    """Negative control: with biases the in/out norm difference is not conserved."""
    p = build_problem(ProblemSpec(arch="mlp", depth=2, width=4, activation="relu", bias=True, seed=2))
    obs = {o.method: o.value for o in balance(p, strict=False)}
    assert obs["autograd"] > 1e-3
    with pytest.raises(ValueError, match="bias-free"):
        balance(p)
