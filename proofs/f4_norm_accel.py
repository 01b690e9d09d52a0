"""F4: d²‖θ‖²/dt² = 2‖g‖² + 2θᵀHg."""
from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot, norm_sq
from gftheory.symbolic.levels import GENERAL_N_CHAIN, all_levels
from gftheory.symbolic.proof import Proof


def derive(d):
    f = IndexedGradientFlow()
    i = f.i
    d.section(GENERAL_N_CHAIN, GENERAL_N_CHAIN)
    d.equal(f.time_derivative(f.total(f.th(i) ** 2), 2),
            2 * f.total(f.gr(i) ** 2) + 2 * f.total(f.th(i) * f.hessian_times(f.gr, i)),
            r"Two flow substitutions under indexed sums over symbolic $n$.",
            lhs_tex=r"\frac{d^2}{dt^2}\sum_i\theta_i^2",
            rhs_tex=r"2\sum_i g_i^2 + 2\sum_i\theta_i\sum_j H_{ij} g_j")
    for m in all_levels(heavy=True):
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        first = flow.time_derivative(norm_sq(m.params))
        d.equal(first, -2 * dot(m.params, m.grad), "First derivative (F1) by flow substitution.",
                lhs_tex=r"\frac{d}{dt}\|\theta\|^2", rhs_tex=r"-2\,\theta^\top g", numeric_ok=True)
        d.equal(flow.time_derivative(first),
                2 * dot(m.grad, m.grad) + 2 * dot(m.params, m.hessian_grad),
                r"Second flow substitution: $\frac{d}{dt}(-2\theta^\top g) = -2\dot\theta^\top g "
                r"- 2\theta^\top H\dot\theta$.",
                lhs_tex=r"\frac{d^2}{dt^2}\|\theta\|^2", rhs_tex=r"2\|g\|^2 + 2\,\theta^\top H g",
                numeric_ok=True)


PROOF = Proof("F4", "d²‖θ‖²/dt² = 2‖g‖² + 2θᵀHg",
              ["L three times continuously differentiable (H symmetric)",
               "gradient flow dθ/dt = −∇L(θ)"], derive)
