"""Beyond the paper: BatchNorm scale invariance degenerates loss_preservation (BN_SCALE), and
bias-free ReLU nets conserve ‖w_in,j‖² − ‖w_out,j‖² along the flow (BALANCE)."""
import pytest
from hypothesis import given

from gftheory.checks import RULES
from gftheory.checks.beyond import BN_EPS, balance, bn_scale
from gftheory.checks.generators import SMOOTH_ACTIVATIONS, ProblemSpec, build_problem
from strategies import problems

pytestmark = pytest.mark.usefixtures("single_thread")


def _within(obs, expected):
    methods = set()
    for o in obs:
        rule = RULES[(o.id, o.method)]
        assert o.value <= rule.tol, f"{o.id}/{o.method}: {o.value:.3e} > {rule.tol} on {o.case}"
        methods.add(o.method)
    assert expected <= methods


@given(problems(max_params=500, batchnorm=(True,), bias=(False,), bn_positions=("before",),
                activations=SMOOTH_ACTIVATIONS + ("relu",), bn_eps=BN_EPS))
def test_filter_directly_followed_by_train_mode_bn_is_scale_invariant(problem):
    expected = {"autograd-cosine", "lp-degenerate", "elementwise-not-degenerate"}
    _within(bn_scale(problem), expected | ({"trajectory-norm-drift"} if problem.spec.smooth else set()))


@given(problems(max_params=500, batchnorm=(True,), bias=(False,), bn_positions=("after",),
                activations=("relu",), bn_eps=BN_EPS))
def test_filter_followed_by_relu_then_bn_is_scale_invariant(problem):
    _within(bn_scale(problem), {"autograd-cosine", "lp-degenerate", "elementwise-not-degenerate"})


def test_bn_in_eval_mode_breaks_the_invariance():
    """Negative control: with running statistics (eval mode) θ_pᵀg_p is not 0."""
    p = build_problem(ProblemSpec(arch="mlp", depth=2, width=4, activation="tanh", batchnorm=True,
                                  bias=False, bn_eps=BN_EPS, seed=4))
    p.model.eval()
    cos = {o.method: o.value for o in bn_scale(p)}["autograd-cosine"]
    assert cos > 1e-3


@given(problems(max_params=400, activations=("relu",), batchnorm=(False,), bias=(False,)))
def test_relu_balancedness_is_conserved_along_the_flow(problem):
    _within(balance(problem), {"autograd", "trajectory"})


def test_balancedness_fails_with_biases():
    """Negative control: with biases the in/out norm difference is not conserved."""
    p = build_problem(ProblemSpec(arch="mlp", depth=2, width=4, activation="relu", bias=True, seed=2))
    obs = {o.method: o.value for o in balance(p, strict=False)}
    assert obs["autograd"] > 1e-3
    with pytest.raises(ValueError, match="bias-free"):
        balance(p)
