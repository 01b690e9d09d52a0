"""Observation 2: loss preservation |θ_pᵀg| = ½|d‖θ_p‖²/dt|."""
import sympy as sp

from gftheory.symbolic.flow import GradientFlow, IndexedGradientFlow, dot, norm_sq
from gftheory.symbolic.levels import GENERAL_N, all_levels, units_of
from gftheory.symbolic.proof import Proof


def derive(d):
    f = IndexedGradientFlow()
    i = f.i
    d.section(GENERAL_N + ", unit p = indices 1..k", GENERAL_N)
    rate = f.time_derivative(f.total(f.th(i) ** 2, f.k))
    d.equal(sp.Abs(rate) / 2, sp.Abs(f.total(f.th(i) * f.gr(i), f.k)),
            r"Half the magnitude of the unit's norm rate, indexed sums over symbolic $k$.",
            lhs_tex=r"\tfrac12\left|\frac{d}{dt}\sum_{i\le k}\theta_i^2\right|",
            rhs_tex=r"\left|\sum_{i\le k}\theta_i g_i\right|")
    for m in all_levels():
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        for unit in units_of(m)[:2]:
            tp = m.embed(unit)
            rate = flow.time_derivative(norm_sq(tp))
            d.equal(rate, -2 * dot(tp, m.grad), "F1 per unit by flow substitution.",
                    lhs_tex=r"\frac{d}{dt}\|\theta_p\|^2", rhs_tex=r"-2\,\theta_p^\top g",
                    numeric_ok=True)
            d.equal(sp.Abs(rate) / 2, sp.Abs(dot(tp, m.grad)),
                    "Half the magnitude of the norm rate is the loss-preservation score.",
                    lhs_tex=r"\tfrac12\left|\frac{d}{dt}\|\theta_p\|^2\right|",
                    rhs_tex=r"|\theta_p^\top g|", numeric_ok=True)


PROOF = Proof("O2", "|θ_pᵀg| = ½|d‖θ_p‖²/dt| (loss preservation is half the norm rate)",
              ["L continuously differentiable", "gradient flow dθ/dt = −∇L(θ)"], derive)
