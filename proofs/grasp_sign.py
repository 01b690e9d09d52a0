"""GRASP_SIGN: removing a small unit p changes ‖g‖² by −2·grasp_p + O(ε²), grasp_p = θ_pᵀ(Hg)_p;
so, to first order, the unit with the lowest grasp score raises ‖g‖² the most."""
from gftheory.symbolic.flow import dot
from gftheory.symbolic.levels import generic_losses
from gftheory.symbolic.proof import Proof
from gftheory.symbolic.series import series_coefficients, shifted


def derive(d):
    for m in generic_losses(range(2, 5)):
        d.section(m.level, m)
        p, q = [0], [m.n - 1]
        deltas, grasps = [], []
        for unit in (p, q):
            tp = m.embed(unit)
            gs = [shifted(gi, m.params, tp) for gi in m.grad]
            delta = dot(gs, gs) - dot(m.grad, m.grad)
            c = series_coefficients(delta, 1)
            grasp = dot(tp, m.hessian_grad)
            d.equal(c[1], -2 * grasp, rf"First-order change of $\|g\|^2$ when unit "
                                      rf"{unit[0] + 1} is removed is $-2\,\mathrm{{grasp}}_p$.",
                    lhs_tex=r"[\varepsilon^1]\,\Delta_p", rhs_tex=r"-2\,\theta_p^\top (Hg)_p")
            deltas.append(c[1])
            grasps.append(grasp)
        d.equal(deltas[0] - deltas[1], -2 * (grasps[0] - grasps[1]),
                r"Hence $\Delta_p - \Delta_q = -2(\mathrm{grasp}_p - \mathrm{grasp}_q) + O(\varepsilon^2)$: "
                r"lower grasp $\Rightarrow$ larger increase of $\|g\|^2$, to first order.",
                lhs_tex=r"[\varepsilon^1](\Delta_p - \Delta_q)",
                rhs_tex=r"-2(\mathrm{grasp}_p - \mathrm{grasp}_q)")


PROOF = Proof("GRASP_SIGN", "the unit with the lowest grasp score θ_pᵀ(Hg)_p is the one whose "
              "removal raises ‖g‖² the most (small units)",
              ["L three times continuously differentiable", "units small: θ_p = ε·direction, "
               "statement holds to first order in ε (see T2 for the non-zero next order)"], derive)
