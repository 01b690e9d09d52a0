"""T1: removing unit p, L(θ − θ_p) − L(θ) = −θ_pᵀg + O(‖θ_p‖²) (θ_p = ε·direction)."""

from gftheory.symbolic.equality import random_point
from gftheory.symbolic.flow import dot
from gftheory.symbolic.levels import all_levels, is_network, units_of
from gftheory.symbolic.proof import Proof
from gftheory.symbolic.series import EPS, series_coefficients, shifted


def derive(d):
    for m in all_levels():
        net = is_network(m)
        d.section(m.level + (" (coefficients at random rational points)" if net else ""), m)
        for unit in (units_of(m)[:2] if net else units_of(m)):
            tp = m.embed(unit)
            if net:   # random rational θ and data; shift and point substituted in one step
                pt = random_point(m.loss.free_symbols, 3)
                tpv = tp.xreplace(pt)
                shift = {**pt, **{p: pt[p] - EPS * v for p, v in zip(m.params, tpv)}}
                R = m.loss.xreplace(shift) - m.loss.xreplace(pt) + EPS * dot(tpv, m.grad.xreplace(pt))
            else:
                R = shifted(m.loss, m.params, tp) - m.loss + EPS * dot(tp, m.grad)
            c = series_coefficients(R, 2)
            where = rf"unit $p$ = coordinates {[i + 1 for i in unit]}"
            d.zero(c[0], rf"$\varepsilon^0$ coefficient of $L(\theta-\varepsilon\theta_p) - L(\theta) + "
                         rf"\varepsilon\theta_p^\top g$ vanishes ({where}).",
                   tex=r"[\varepsilon^0]\,R", numeric_ok=True)
            d.zero(c[1], r"$\varepsilon^1$ coefficient vanishes: the first-order term is "
                         r"$-\theta_p^\top g$.", tex=r"[\varepsilon^1]\,R", numeric_ok=True)
            if not net:
                d.equal(c[2], dot(tp, m.hessian * tp) / 2,
                        r"The $\varepsilon^2$ coefficient is $\frac12\theta_p^\top H\theta_p$.",
                        lhs_tex=r"[\varepsilon^2]\,R", rhs_tex=r"\tfrac12\theta_p^\top H\theta_p")
            d.nonzero(c[2], r"...which is generically non-zero: the error is exactly "
                            r"$O(\|\theta_p\|^2)$.", tex=r"[\varepsilon^2]\,R")


PROOF = Proof("T1", "L(θ − θ_p) − L(θ) = −θ_pᵀg + O(‖θ_p‖²)",
              ["L twice continuously differentiable", "θ_p = ε·(unit p's weights), ε → 0",
               "networks: the first two units, coefficients at a random rational point"], derive)
