"""ELEMENTWISE_BOUND: Σ_i|θ_i g_i| ≥ |θ_pᵀg| (the triangle inequality), so the authors' code's
loss-preservation score Σ|θg| bounds the paper's Eq. 3 score |θ_pᵀg| from above.

For a unit of n coordinates write x_i = θ_i g_i = s_i y_i with a sign s_i ∈ {−1, +1} and y_i ≥ 0;
every real vector x has such a form, so checking every sign pattern covers all x. Then
Σ|x_i| = Σ y_i and |Σ x_i| is S or −S with S = Σ s_i y_i; both Σy − S = 2Σ_{s_i=−1} y_i and
Σy + S = 2Σ_{s_i=+1} y_i are sums of non-negative terms."""
from itertools import product

import sympy as sp

from gftheory.symbolic.proof import Proof


def derive(d):
    for n in range(1, 6):
        d.section(f"unit of n={n} coordinates, all {2 ** n} sign patterns", ("generic", "any real θ, g", n))
        ys = sp.symbols(f"y1:{n + 1}", nonnegative=True)
        for signs in product((1, -1), repeat=n):
            xs = [s * y for s, y in zip(signs, ys)]
            pattern = "".join("+" if s > 0 else "−" for s in signs)
            d.equal(sum(sp.Abs(x) for x in xs), sum(ys),
                    rf"Signs ({pattern}): $|x_i| = y_i$ for $x_i = s_i y_i$, $y_i \ge 0$.",
                    lhs_tex=r"\sum_i |\theta_i g_i|", rhs_tex=r"\sum_i y_i")
            d.nonnegative(sum(sp.Abs(x) for x in xs) - sp.Abs(sum(xs)),
                          rf"Signs ({pattern}): $\sum_i|x_i| - |\sum_i x_i| \ge 0$ in both cases of "
                          r"$|\sum_i x_i|$.", tex=r"\sum_i|\theta_i g_i| - |\theta_p^\top g|")


PROOF = Proof("ELEMENTWISE_BOUND", "Σ_i|θ_i g_i| ≥ |θ_pᵀg|",
              ["θ, g real; a unit of n ≤ 5 coordinates (every sign pattern of θ_i g_i); the same argument "
               "(the triangle inequality) holds for any n"], derive)
