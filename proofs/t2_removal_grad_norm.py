"""T2: ‖g(θ − θ_p)‖² − ‖g(θ)‖² = −2θ_pᵀHg + O(‖θ_p‖²) (θ_p = ε·direction)."""
from gftheory.symbolic.equality import random_point
from gftheory.symbolic.flow import dot
from gftheory.symbolic.levels import concrete_networks, generic_losses, is_network, units_of
from gftheory.symbolic.proof import Proof
from gftheory.symbolic.series import EPS, series_coefficients, shifted


def grad_norm_residual(m, unit, point=None):
    """R(ε) = ‖g(θ − εθ_p)‖² − ‖g(θ)‖² + 2εθ_pᵀHg; with ``point`` (values of every symbol)
    the shift θ ↦ θ − εθ_p and the point are substituted in one exact step."""
    tp = m.embed(unit)
    if point is None:
        gs = [shifted(gi, m.params, tp) for gi in m.grad]
        return dot(gs, gs) - dot(m.grad, m.grad) + 2 * EPS * dot(tp, m.hessian_grad)
    tpv = tp.xreplace(point)
    shift = {**point, **{p: point[p] - EPS * v for p, v in zip(m.params, tpv)}}
    gs = [gi.xreplace(shift) for gi in m.grad]
    g0 = [gi.xreplace(point) for gi in m.grad]
    return dot(gs, gs) - dot(g0, g0) + 2 * EPS * dot(tpv, m.hessian_grad.xreplace(point))


def derive(d):
    for m in generic_losses(range(1, 5)) + concrete_networks((("tanh", "mse"), ("softplus", "mse"))):
        net = is_network(m)
        d.section(m.level + (" (coefficients at random rational points)" if net else ""), m)
        for unit in (units_of(m)[:1] if net else units_of(m)):
            R = grad_norm_residual(m, unit, random_point(m.loss.free_symbols, 4) if net else None)
            c = series_coefficients(R, 2)
            where = rf"unit $p$ = coordinates {[i + 1 for i in unit]}"
            d.zero(c[0], rf"$\varepsilon^0$ coefficient of $\|g(\theta-\varepsilon\theta_p)\|^2 - "
                         rf"\|g\|^2 + 2\varepsilon\theta_p^\top Hg$ vanishes ({where}).",
                   tex=r"[\varepsilon^0]\,R", numeric_ok=True)
            d.zero(c[1], r"$\varepsilon^1$ coefficient vanishes: the first-order term is "
                         r"$-2\theta_p^\top Hg$ (H symmetric).", tex=r"[\varepsilon^1]\,R",
                   numeric_ok=True)
            d.nonzero(c[2], r"The $\varepsilon^2$ coefficient is generically non-zero.",
                      tex=r"[\varepsilon^2]\,R")


PROOF = Proof("T2", "‖g(θ − θ_p)‖² − ‖g(θ)‖² = −2θ_pᵀHg + O(‖θ_p‖²)",
              ["L three times continuously differentiable (H symmetric)",
               "θ_p = ε·(unit p's weights), ε → 0",
               "networks: one unit of tanh and softplus MSE nets, coefficients at a random rational point (CE nets left out for time)"], derive)
