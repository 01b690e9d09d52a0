"""F3: d‖g‖²/dt = −2gᵀHg."""
from gftheory.symbolic.flow import GradientFlow, dot
from gftheory.symbolic.levels import all_levels
from gftheory.symbolic.proof import Proof


def derive(d):
    for m in all_levels(heavy=True):
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        d.equal(flow.time_derivative(dot(m.grad, m.grad)), -2 * dot(m.grad, m.hessian_grad),
                r"Flow substitution in $\|g(\theta(t))\|^2$: $\dot g = H\dot\theta = -Hg$.",
                lhs_tex=r"\frac{d}{dt}\|g\|^2", rhs_tex=r"-2\,g^\top H g", numeric_ok=True)


PROOF = Proof("F3", "d‖g‖²/dt = −2gᵀHg",
              ["L three times continuously differentiable (H symmetric)",
               "gradient flow dθ/dt = −∇L(θ)"], derive)
