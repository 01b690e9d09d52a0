"""F1 with weight decay: dθ/dt = −g − λθ ⇒ d‖θ‖²/dt = −2θᵀg − 2λ‖θ‖²."""
import sympy as sp

from gftheory.symbolic.flow import GradientFlow, dot, norm_sq
from gftheory.symbolic.levels import all_levels
from gftheory.symbolic.proof import Proof

LAMBDA = sp.Symbol("lambda", positive=True)


def derive(d):
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
