"""F1: d‖θ‖²/dt = −2θᵀg under gradient flow dθ/dt = −g."""
from gftheory.symbolic.flow import GradientFlow, dot, norm_sq
from gftheory.symbolic.levels import GENERIC_N, concrete_networks, generic_losses
from gftheory.symbolic.proof import Proof


def derive(d):
    for m in list(generic_losses(GENERIC_N)) + list(concrete_networks()):
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        rate = flow.time_derivative(norm_sq(m.params))
        d.equal(rate, -2 * dot(m.params, m.grad),
                r"Flow substitution: differentiate $\|\theta(t)\|^2$ in $t$ and substitute "
                r"$\dot\theta_i = -\partial L/\partial\theta_i$.",
                lhs_tex=r"\frac{d}{dt}\|\theta\|^2", rhs_tex=r"-2\,\theta^\top g",
                numeric_ok=True)


PROOF = Proof("F1", "d‖θ‖²/dt = −2θᵀg",
              ["L twice continuously differentiable", "gradient flow dθ/dt = −∇L(θ)"], derive)
