"""F3: d‖g‖²/dt = −2gᵀHg."""
from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot
from gftheory.symbolic.levels import GENERAL_N_CHAIN, all_levels
from gftheory.symbolic.proof import Proof


def derive(d):
    f = IndexedGradientFlow()
    i = f.i
    d.section(GENERAL_N_CHAIN, GENERAL_N_CHAIN)
    d.equal(f.time_derivative(f.total(f.gr(i) ** 2)),
            -2 * f.total(f.gr(i) * f.hessian_times(f.gr, i)),
            r"Indexed sums over symbolic $n$, with $\dot g_i = \sum_j H_{ij}\dot\theta_j$.",
            lhs_tex=r"\frac{d}{dt}\sum_i g_i^2", rhs_tex=r"-2\sum_i g_i\sum_j H_{ij} g_j")
    for m in all_levels(heavy=True):
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        d.equal(flow.time_derivative(dot(m.grad, m.grad)), -2 * dot(m.grad, m.hessian_grad),
                r"Flow substitution in $\|g(\theta(t))\|^2$: $\dot g = H\dot\theta = -Hg$.",
                lhs_tex=r"\frac{d}{dt}\|g\|^2", rhs_tex=r"-2\,g^\top H g", numeric_ok=True)


PROOF = Proof("F3", "d‖g‖²/dt = −2gᵀHg",
              ["L three times continuously differentiable (H symmetric)",
               "gradient flow dθ/dt = −∇L(θ)"], derive)
