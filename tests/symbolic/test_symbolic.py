"""The symbolic machinery: zero decisions, canonical derivatives, flow substitution, series."""
import sympy as sp

from gftheory.symbolic.equality import canonical_derivatives, decide_zero, witness_nonzero
from gftheory.symbolic.flow import GradientFlow, dot, norm_sq
from gftheory.symbolic.networks import generic_smooth_loss, two_layer_network
from gftheory.symbolic.proof import Derivation, Proof
from gftheory.symbolic.series import EPS, series_coefficients

x, y = sp.symbols("x y", real=True)


def test_flow_on_a_known_quadratic():
    L = (x ** 2 + 3 * y ** 2) / 2          # g = (x, 3y); flow: x' = -x, y' = -3y
    flow = GradientFlow((x, y), [x, 3 * y])
    assert sp.expand(flow.time_derivative(x ** 2 + y ** 2) - (-2 * x ** 2 - 6 * y ** 2)) == 0
    assert sp.expand(flow.time_derivative(L) + x ** 2 + 9 * y ** 2) == 0
    assert sp.expand(flow.time_derivative(x, 2) - x) == 0


def test_generic_flow_and_canonical_derivatives():
    m = generic_smooth_loss(2)
    flow = GradientFlow(m.params, m.grad)
    assert decide_zero(flow.time_derivative(norm_sq(m.params)) + 2 * dot(m.params, m.grad)).ok
    wrong = decide_zero(flow.time_derivative(norm_sq(m.params)) + dot(m.params, m.grad))
    assert not wrong.ok and wrong.refuted
    c = canonical_derivatives(sp.Derivative(m.loss, m.params[0], m.params[1]))
    assert c.func.__name__ == "L_{1,1}"


def test_series_coefficients_of_exp():
    c = series_coefficients(sp.exp(2 * EPS), 3)
    assert c == [1, 2, 2, sp.Rational(4, 3)]


def test_numeric_fallback_is_declared_and_refutes():
    m = two_layer_network("tanh", "mse")
    ok = decide_zero(sp.tanh(m.params[0]) ** 2 + 1 / sp.cosh(m.params[0]) ** 2 - 1, numeric_ok=True)
    assert ok.ok and "not a symbolic proof" in ok.method
    bad = decide_zero(sp.tanh(m.params[0]) - m.params[0], numeric_ok=True)
    assert not bad.ok and bad.refuted
    assert witness_nonzero(sp.tanh(x) + x ** 3 + 1)[0]


def test_proof_status_error_and_failed():
    def boom(d):
        raise RuntimeError("bad")
    assert Proof("X", "s", [], boom).run().status == "error"
    assert Proof("X", "s", [], lambda d: None).run().status == "failed"
    def ok(d):
        d.section("level", "level")
        d.equal(x * (x + 1), x ** 2 + x, "expand")
    r = Proof("X", "s", [], ok).run()
    assert r.status == "proved" and r.steps_checked == 1 and "$$" in r.markdown
    d = Derivation()
    assert not d.equal(x + 1, x, "wrong") and d.steps[0].refuted


def test_nonpositive_step_decides_by_assumptions():
    d = Derivation()
    assert d.nonpositive(-(x ** 2) - y ** 2, "sum of squares")
    assert not d.nonpositive(x ** 2 - 1, "not a sign-definite expression")
    assert not d.nonpositive(x ** 2 + 1, "positive") and d.steps[-1].refuted


def test_indexed_flow_general_n_proves_and_refutes():
    from gftheory.symbolic.flow import IndexedGradientFlow
    f = IndexedGradientFlow()
    i = f.i
    accel = f.time_derivative(f.total(f.th(i) ** 2), 2)
    right = 2 * f.total(f.gr(i) ** 2) + 2 * f.total(f.th(i) * f.hessian_times(f.gr, i))
    assert decide_zero(accel - right).ok
    wrong = decide_zero(accel - 2 * f.total(f.th(i) * f.hessian_times(f.gr, i)))
    assert not wrong.ok and wrong.refuted and "n=3" in wrong.witness
