"""F1 with weight decay: dθ/dt = −g − λθ ⇒ d‖θ‖²/dt = −2θᵀg − 2λ‖θ‖²."""
import sympy as sp

from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot, norm_sq
from gftheory.symbolic.levels import GENERAL_N, all_levels
from gftheory.symbolic.proof import Proof

LAMBDA = sp.Symbol("lambda", positive=True)


def derive(d):
    f = IndexedGradientFlow(weight_decay=LAMBDA)
    i = f.i
    d.section(GENERAL_N, GENERAL_N)
    d.equal(f.time_derivative(f.total(f.th(i) ** 2)),
            -2 * f.total(f.th(i) * f.gr(i)) - 2 * LAMBDA * f.total(f.th(i) ** 2),
            r"Flow substitution with weight decay under an indexed sum (symbolic $n$).",
            lhs_tex=r"\frac{d}{dt}\sum_{i=1}^n\theta_i^2",
            rhs_tex=r"-2\sum_i\theta_i g_i - 2\lambda\sum_i\theta_i^2")
    for m in all_levels():
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad, weight_decay=LAMBDA)
        d.equal(flow.time_derivative(norm_sq(m.params)),
                -2 * dot(m.params, m.grad) - 2 * LAMBDA * norm_sq(m.params),
                r"Flow substitution with $\dot\theta_i = -\partial L/\partial\theta_i - "
                r"\lambda\theta_i$.",
                lhs_tex=r"\frac{d}{dt}\|\theta\|^2",
                rhs_tex=r"-2\,\theta^\top g - 2\lambda\|\theta\|^2", numeric_ok=True)


PROOF = Proof("F1_wd", "with dθ/dt = −g − λθ: d‖θ‖²/dt = −2θᵀg − 2λ‖θ‖²",
              ["L twice continuously differentiable", "weight-decayed flow dθ/dt = −∇L − λθ, λ > 0 "
               "symbolic"], derive)
