"""MASK: for L(c ⊙ θ), ∂L/∂c at c = 1 equals θ ⊙ ∂L/∂θ."""
import sympy as sp

from gftheory.symbolic.levels import all_levels
from gftheory.symbolic.proof import Proof


def derive(d):
    for m in all_levels():
        d.section(m.level, m)
        cs = sp.symbols(f"c_1:{len(m.params) + 1}", real=True)
        masked = m.loss.subs({p: c * p for p, c in zip(m.params, cs)}, simultaneous=True)
        ones = {c: 1 for c in cs}
        for i, (p, c) in enumerate(zip(m.params, cs)):
            d.equal(sp.diff(masked, c).subs(ones).doit(), p * m.grad[i],
                    rf"Chain rule through the mask on parameter {i + 1}, evaluated at $c = 1$.",
                    lhs_tex=rf"\left.\frac{{\partial L(c\odot\theta)}}{{\partial c_{{{i + 1}}}}}"
                            rf"\right|_{{c=1}}",
                    rhs_tex=rf"\theta_{{{i + 1}}}\,\frac{{\partial L}}{{\partial\theta_{{{i + 1}}}}}",
                    numeric_ok=True)


PROOF = Proof("MASK", "∂L/∂c at c = 1 equals θ ⊙ ∂L/∂θ for a multiplicative mask c",
              ["L continuously differentiable", "mask applied elementwise: θ ↦ c ⊙ θ"], derive)
