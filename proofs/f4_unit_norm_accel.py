"""F4 per unit: d²‖θ_p‖²/dt² = 2‖g_p‖² + 2θ_pᵀ(Hg)_p."""
from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot, norm_sq
from gftheory.symbolic.levels import GENERAL_N_CHAIN, all_levels, is_network, units_of
from gftheory.symbolic.proof import Proof


def derive(d):
    f = IndexedGradientFlow()
    i = f.i
    d.section(GENERAL_N_CHAIN + ", unit p = indices 1..k", GENERAL_N_CHAIN)
    d.equal(f.time_derivative(f.total(f.th(i) ** 2, f.k), 2),
            2 * f.total(f.gr(i) ** 2, f.k) + 2 * f.total(f.th(i) * f.hessian_times(f.gr, i), f.k),
            r"Two flow substitutions under the unit's indexed sum ($H$ couples all $n$).",
            lhs_tex=r"\frac{d^2}{dt^2}\sum_{i\le k}\theta_i^2",
            rhs_tex=r"2\sum_{i\le k} g_i^2 + 2\sum_{i\le k}\theta_i\sum_{j\le n} H_{ij} g_j")
    for m in all_levels(heavy=True):
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        units = units_of(m)[:2] if is_network(m) else units_of(m)
        for unit in units:
            tp, gp = m.embed(unit), m.restrict(m.grad, unit)
            d.equal(flow.time_derivative(norm_sq(tp), 2),
                    2 * dot(gp, gp) + 2 * dot(tp, m.hessian_grad),
                    rf"Two flow substitutions, unit $p$ = coordinates {[i + 1 for i in unit]}.",
                    lhs_tex=r"\frac{d^2}{dt^2}\|\theta_p\|^2",
                    rhs_tex=r"2\|g_p\|^2 + 2\,\theta_p^\top (Hg)_p", numeric_ok=True)


PROOF = Proof("F4_unit", "d²‖θ_p‖²/dt² = 2‖g_p‖² + 2θ_pᵀ(Hg)_p",
              ["L three times continuously differentiable (H symmetric)",
               "gradient flow dθ/dt = −∇L(θ)", "θ_p embedded with zeros elsewhere",
               "networks: the first two units (rows of W₁) are checked"], derive)
