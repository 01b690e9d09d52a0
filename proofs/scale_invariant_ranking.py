"""SCALE_INVARIANT_RANKING: replacing L by cL (c > 0) multiplies every measure by c^k
(k = 0, 1 or 2), a strictly increasing map, so rankings are unchanged."""
import sympy as sp

from gftheory.symbolic.flow import dot
from gftheory.symbolic.levels import GENERIC_N, concrete_networks, generic_losses, units_of
from gftheory.symbolic.proof import Proof

C = sp.Symbol("c", positive=True)


def scores(tp, g, hg, unit):
    """The paper's measures of unit p from θ_p, g, Hg (docs/paper.md §4)."""
    th = [tp[i] for i in unit]
    gs = [g[i] for i in unit]
    return {
        "magnitude ‖θ_p‖²": dot(th, th),
        "loss_preservation |θ_pᵀg|": sp.Abs(dot(th, gs)),
        "loss_preservation_elementwise Σ|θ_i g_i|": sum(sp.Abs(t * gi) for t, gi in zip(th, gs)),
        "biased_loss_preservation Σθ_i²|g_i|": sum(t ** 2 * sp.Abs(gi) for t, gi in zip(th, gs)),
        "grasp θ_pᵀ(Hg)_p": dot(th, [hg[i] for i in unit]),
        "gradient_norm_preservation |θ_pᵀ(Hg)_p|": sp.Abs(dot(th, [hg[i] for i in unit])),
    }


POWER = {"magnitude": 0, "loss_preservation": 1, "loss_preservation_elementwise": 1,
         "biased_loss_preservation": 1, "grasp": 2, "gradient_norm_preservation": 2}


def derive(d):
    levels = generic_losses(GENERIC_N) + concrete_networks((("tanh", "mse"),))
    for m in levels:
        d.section(m.level, m)
        gc = sp.Matrix([sp.diff(C * m.loss, p) for p in m.params])
        hgc = sp.Matrix([[sp.diff(gi, p) for p in m.params] for gi in gc]) * gc
        for unit in units_of(m)[:2]:
            tp = m.embed(unit)
            base = scores(tp, m.grad, m.hessian_grad, unit)
            scaled = scores(tp, gc, hgc, unit)
            for name, s in base.items():
                k = POWER[name.split()[0]]
                d.equal(scaled[name], C ** k * s,
                        rf"{name} under $L \mapsto cL$ ($c>0$) is multiplied by $c^{k}$.",
                        lhs_tex=r"s_p(cL)", rhs_tex=rf"c^{k}\,s_p(L)", numeric_ok=True)


PROOF = Proof("SCALE_INVARIANT_RANKING", "rankings are invariant to positive rescaling of the loss",
              ["c > 0 constant", "each measure is multiplied by the same c^k for every unit, and "
               "x ↦ c^k x is strictly increasing, so the order of units is unchanged"], derive)
