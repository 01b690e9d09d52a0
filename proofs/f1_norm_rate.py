"""F1: d‖θ‖²/dt = −2θᵀg under gradient flow dθ/dt = −g."""
from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot, norm_sq
from gftheory.symbolic.levels import GENERAL_N, GENERIC_N, concrete_networks, generic_losses
from gftheory.symbolic.proof import Proof


def derive(d):
    f = IndexedGradientFlow()
    i = f.i
    d.section(GENERAL_N, GENERAL_N)
    d.equal(f.time_derivative(f.total(f.th(i) ** 2)), -2 * f.total(f.th(i) * f.gr(i)),
            r"Flow substitution under an indexed sum over a symbolic number $n$ of parameters.",
            lhs_tex=r"\frac{d}{dt}\sum_{i=1}^n\theta_i^2", rhs_tex=r"-2\sum_{i=1}^n\theta_i g_i")
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
