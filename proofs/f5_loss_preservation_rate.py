"""F5: d(θ_pᵀg)/dt = −‖g_p‖² − θ_pᵀ(Hg)_p."""
from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot
from gftheory.symbolic.levels import GENERAL_N_CHAIN, all_levels, is_network, units_of
from gftheory.symbolic.proof import Proof


def derive(d):
    f = IndexedGradientFlow()
    i = f.i
    d.section(GENERAL_N_CHAIN + ", unit p = indices 1..k", GENERAL_N_CHAIN)
    d.equal(f.time_derivative(f.total(f.th(i) * f.gr(i), f.k)),
            -f.total(f.gr(i) ** 2, f.k) - f.total(f.th(i) * f.hessian_times(f.gr, i), f.k),
            r"Flow substitution under the unit's indexed sum (symbolic $k \le n$).",
            lhs_tex=r"\frac{d}{dt}\sum_{i\le k}\theta_i g_i",
            rhs_tex=r"-\sum_{i\le k} g_i^2 - \sum_{i\le k}\theta_i\sum_{j\le n} H_{ij} g_j")
    for m in all_levels(heavy=True):
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        units = units_of(m)[:2] if is_network(m) else units_of(m)
        for unit in units:
            tp, gp = m.embed(unit), m.restrict(m.grad, unit)
            d.equal(flow.time_derivative(dot(tp, m.grad)),
                    -dot(gp, gp) - dot(tp, m.hessian_grad),
                    rf"Flow substitution in $\theta_p^\top g$, unit $p$ = coordinates "
                    rf"{[i + 1 for i in unit]}.",
                    lhs_tex=r"\frac{d}{dt}\theta_p^\top g",
                    rhs_tex=r"-\|g_p\|^2 - \theta_p^\top (Hg)_p", numeric_ok=True)


PROOF = Proof("F5", "d(θ_pᵀg)/dt = −‖g_p‖² − θ_pᵀ(Hg)_p",
              ["L three times continuously differentiable (H symmetric)",
               "gradient flow dθ/dt = −∇L(θ)", "networks: the first two units are checked"],
              derive)
