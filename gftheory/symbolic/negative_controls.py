"""Negative controls: wrong statements the same machinery must refute (status "refuted")."""
from __future__ import annotations

import sympy as sp

from gftheory.symbolic.flow import GradientFlow, dot, norm_sq
from gftheory.symbolic.networks import generic_smooth_loss, hidden_unit_fan, two_layer_network
from gftheory.symbolic.proof import Proof
from gftheory.symbolic.series import EPS, scaled, series_coefficients, shifted


def _levels():
    return [generic_smooth_loss(2), two_layer_network("tanh", "mse")]


def _flow_claim(expr_fn, rhs_fn, order=1, lhs_tex=None, rhs_tex=None):
    def derive(d):
        for m in _levels():
            d.section(m.level, m)
            flow = GradientFlow(m.params, m.grad)
            d.equal(flow.time_derivative(expr_fn(m), order), rhs_fn(m), "Claimed identity.",
                    lhs_tex=lhs_tex, rhs_tex=rhs_tex, numeric_ok=True)
    return derive


def _t0_no_half(d):
    m = generic_smooth_loss(2)
    d.section(m.level, m)
    a = sp.symbols("a_1:3", real=True)
    at = lambda e: scaled(e, m.params, a)  # noqa: E731
    ga = sum(ai * at(gi) for ai, gi in zip(a, m.grad))
    quad = sum(a[i] * a[j] * at(m.hessian[i, j]) for i in range(2) for j in range(2))
    L0 = m.loss.subs({p: 0 for p in m.params}, simultaneous=True)
    R = L0 - (at(m.loss) - EPS * ga + EPS ** 2 * quad)       # the ½ is missing
    c = series_coefficients(R, 2)
    d.zero(c[2], r"Claimed: the $\varepsilon^2$ coefficient vanishes without the $\frac12$.",
           tex=r"[\varepsilon^2]\,R")


def _t1_second_order(d):
    m = generic_smooth_loss(2)
    d.section(m.level, m)
    tp = m.embed([0])
    R = shifted(m.loss, m.params, tp) - m.loss + EPS * dot(tp, m.grad)
    d.zero(series_coefficients(R, 2)[2], r"Claimed: T1 is exact to second order.",
           tex=r"[\varepsilon^2]\,R")


def _mask_no_theta(d):
    m = generic_smooth_loss(2)
    d.section(m.level, m)
    cs = sp.symbols("c_1:3", real=True)
    masked = m.loss.subs({p: c * p for p, c in zip(m.params, cs)}, simultaneous=True)
    d.equal(sp.diff(masked, cs[0]).subs({c: 1 for c in cs}).doit(), m.grad[0],
            r"Claimed: $\partial L/\partial c = \partial L/\partial\theta$.")


def _bn_without_bn(d):
    m = two_layer_network("tanh", "mse")
    d.section(m.level, m)
    unit = m.units["w1"][0]
    d.zero(dot(m.embed(unit), m.restrict(m.grad, unit)),
           r"Claimed: $\theta_p^\top g_p = 0$ without BatchNorm.", tex=r"\theta_p^\top g_p",
           numeric_ok=True)


def _balance_tanh(d):
    m = two_layer_network("tanh", "mse")
    d.section(m.level, m)
    fan_in, fan_out = hidden_unit_fan(m, 0)
    q = norm_sq([m.params[i] for i in fan_in]) - norm_sq([m.params[i] for i in fan_out])
    d.zero(GradientFlow(m.params, m.grad).time_derivative(q),
           "Claimed: balance holds for tanh (not homogeneous).",
           tex=r"\frac{d}{dt}(\|w_{in}\|^2 - \|w_{out}\|^2)", numeric_ok=True)


def _elementwise_reversed(d):
    d.section("unit of n=2 coordinates, signs (+, −)", ("generic", "any real θ, g", 2))
    y = sp.symbols("y1:3", nonnegative=True)
    x = [y[0], -y[1]]
    d.nonnegative(sp.Abs(x[0] + x[1]) - sp.Abs(x[0]) - sp.Abs(x[1]),
                  r"Claimed: $|	heta_p^	op g| \ge \sum_i|	heta_i g_i|$ (inequality reversed).",
                  tex=r"|	heta_p^	op g| - \sum_i|	heta_i g_i|")


NEGATIVE_CONTROLS: dict[str, Proof] = {p.id: p for p in [
    Proof("NC_F1_HALF", "d‖θ‖²/dt = −θᵀg (factor 2 missing)", [],
          _flow_claim(lambda m: norm_sq(m.params), lambda m: -dot(m.params, m.grad),
                      lhs_tex=r"\frac{d}{dt}\|\theta\|^2", rhs_tex=r"-\theta^\top g"),
          kind="negative_control"),
    Proof("NC_F2_SIGN", "dL/dt = +‖g‖² (sign flipped)", [],
          _flow_claim(lambda m: m.loss, lambda m: dot(m.grad, m.grad), lhs_tex=r"\frac{dL}{dt}",
                      rhs_tex=r"\|g\|^2"), kind="negative_control"),
    Proof("NC_F3_HALF", "d‖g‖²/dt = −gᵀHg (factor 2 missing)", [],
          _flow_claim(lambda m: dot(m.grad, m.grad), lambda m: -dot(m.grad, m.hessian_grad),
                      lhs_tex=r"\frac{d}{dt}\|g\|^2", rhs_tex=r"-g^\top H g"),
          kind="negative_control"),
    Proof("NC_F4_NO_GRAD_TERM", "d²‖θ‖²/dt² = 2θᵀHg (2‖g‖² missing)", [],
          _flow_claim(lambda m: norm_sq(m.params), lambda m: 2 * dot(m.params, m.hessian_grad), 2,
                      lhs_tex=r"\frac{d^2}{dt^2}\|\theta\|^2", rhs_tex=r"2\,\theta^\top H g"),
          kind="negative_control"),
    Proof("NC_T0_NO_HALF", "L(0) = L(θ) − θᵀg + θᵀHθ + O(‖θ‖³) (½ missing)", [], _t0_no_half,
          kind="negative_control"),
    Proof("NC_T1_SECOND_ORDER", "L(θ − θ_p) − L(θ) = −θ_pᵀg + O(‖θ_p‖³)", [], _t1_second_order,
          kind="negative_control"),
    Proof("NC_MASK_NO_THETA", "∂L/∂c at c = 1 equals ∂L/∂θ (θ factor missing)", [],
          _mask_no_theta, kind="negative_control"),
    Proof("NC_BN_WITHOUT_BN", "θ_pᵀg_p = 0 for a unit not followed by BatchNorm", [],
          _bn_without_bn, kind="negative_control"),
    Proof("NC_BALANCE_TANH", "d/dt(‖w_in,j‖² − ‖w_out,j‖²) = 0 for tanh", [], _balance_tanh,
          kind="negative_control"),
    Proof("NC_ELEMENTWISE_REVERSED", "|θ_pᵀg| ≥ Σ_i|θ_i g_i| (inequality reversed)", [], _elementwise_reversed,
          kind="negative_control"),
]}
