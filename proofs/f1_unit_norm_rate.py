"""F1 per unit: d‖θ_p‖²/dt = −2θ_pᵀg."""
from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot, norm_sq
from gftheory.symbolic.levels import GENERAL_N, all_levels, units_of
from gftheory.symbolic.proof import Proof


def derive(d):
    f = IndexedGradientFlow()
    i = f.i
    d.section(GENERAL_N + ", unit p = indices 1..k", GENERAL_N)
    d.equal(f.time_derivative(f.total(f.th(i) ** 2, f.k)), -2 * f.total(f.th(i) * f.gr(i), f.k),
            r"Flow substitution under the unit's indexed sum (symbolic $k \le n$).",
            lhs_tex=r"\frac{d}{dt}\sum_{i=1}^k\theta_i^2", rhs_tex=r"-2\sum_{i=1}^k\theta_i g_i")
    for m in all_levels():
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        for unit in units_of(m):
            tp = m.embed(unit)
            d.equal(flow.time_derivative(norm_sq(tp)), -2 * dot(tp, m.grad),
                    rf"Flow substitution for unit $p$ = coordinates {[i + 1 for i in unit]}.",
                    lhs_tex=r"\frac{d}{dt}\|\theta_p\|^2", rhs_tex=r"-2\,\theta_p^\top g",
                    numeric_ok=True)


PROOF = Proof("F1_unit", "d‖θ_p‖²/dt = −2θ_pᵀg",
              ["L twice continuously differentiable", "gradient flow dθ/dt = −∇L(θ)",
               "θ_p is unit p's weights embedded in ℝᴰ with zeros elsewhere"], derive)
