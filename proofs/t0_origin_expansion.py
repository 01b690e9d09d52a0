"""T0: L(0) = L(θ) − θᵀg + ½θᵀHθ + O(‖θ‖³); hence d‖θ‖²/dt = 2(L(0) − L(θ)) + O(‖θ‖²) only.

Small θ is written θ = εa; every quantity is expanded in ε about 0."""
import sympy as sp

from gftheory.symbolic.equality import random_point
from gftheory.symbolic.levels import concrete_networks, generic_losses
from gftheory.symbolic.proof import Proof
from gftheory.symbolic.series import EPS, scaled, series_coefficients


def residuals(m, a, subs=None):
    """(R, A): R = L(0) − [L(εa) − εaᵀg(εa) + ½ε²aᵀH(εa)a],
    A = −2εaᵀg(εa) − 2(L(0) − L(εa)) (error of d‖θ‖²/dt ≈ 2(L(0) − L(θ)))."""
    at = (lambda e: scaled(e, m.params, a)) if subs is None else \
        (lambda e: sp.sympify(e).xreplace(subs))
    L0 = m.loss.subs({p: 0 for p in m.params}, simultaneous=True) if subs is None else \
        m.loss.xreplace({**subs, **{p: 0 for p in m.params}})
    Le = at(m.loss)
    ga = sum(ai * at(gi) for ai, gi in zip(a, m.grad))
    quad = sum(a[i] * a[j] * at(m.hessian[i, j]) for i in range(len(a)) for j in range(len(a)))
    R = L0 - (Le - EPS * ga + EPS ** 2 * quad / 2)
    A = -2 * EPS * ga - 2 * (L0 - Le)
    return R, A


# tanh is odd, so a tanh network's loss is even in ε at the origin: its ε³ term vanishes and the
# next non-zero order is ε⁴; the ε³ non-vanishing check is therefore made on these networks.
NETWORKS = (("poly", "mse"), ("softplus", "mse"))


def derive(d):
    for m in generic_losses(range(1, 5)):
        d.section(m.level, m)
        a = sp.symbols(f"a_1:{m.n + 1}", real=True)
        R, A = residuals(m, a)
        c = series_coefficients(R, 3)
        for k in range(3):
            d.zero(c[k], rf"Coefficient of $\varepsilon^{k}$ of $L(0) - [L(\theta) - \theta^\top g + "
                         rf"\frac12\theta^\top H\theta]$ at $\theta=\varepsilon a$ vanishes.",
                   tex=rf"[\varepsilon^{k}]\,R(\varepsilon)")
        d.nonzero(c[3], r"Next order: the $\varepsilon^3$ coefficient ($-\frac16 D^3L(0)[a,a,a]$) is "
                        r"generically non-zero, so the expansion is exactly second order.",
                  tex=r"[\varepsilon^3]\,R(\varepsilon)")
        ca = series_coefficients(A, 2)
        d.zero(ca[1], r"$d\|\theta\|^2/dt = -2\theta^\top g$ and $2(L(0)-L(\theta))$ agree to first "
                      r"order in $\varepsilon$.", tex=r"[\varepsilon^1]\,A(\varepsilon)")
        d.nonzero(ca[2], r"...but not to second order: the $\varepsilon^2$ coefficient "
                         r"$-a^\top H(0) a$ is generically non-zero.",
                  tex=r"[\varepsilon^2]\,A(\varepsilon)")
    for m in concrete_networks(NETWORKS):
        d.section(m.level + " (coefficients at random rational points)", m)
        for seed in (1,):
            pt = random_point(m.data_symbols, seed)
            a = list(random_point(m.params, seed + 50).values())
            subs = {**pt, **{p: EPS * ai for p, ai in zip(m.params, a)}}
            R, A = residuals(m, a, subs)
            c = series_coefficients(R, 3)
            for k in range(3):
                d.zero(c[k], rf"$\varepsilon^{k}$ coefficient of the residual vanishes (random data and "
                             rf"direction $a$, seed {seed}).", tex=rf"[\varepsilon^{k}]\,R",
                       numeric_ok=True)
            d.nonzero(c[3], r"The $\varepsilon^3$ coefficient is non-zero.", tex=r"[\varepsilon^3]\,R")
            ca = series_coefficients(A, 2)
            d.zero(ca[1], r"First-order agreement of $d\|\theta\|^2/dt$ and $2(L(0)-L(\theta))$.",
                   tex=r"[\varepsilon^1]\,A", numeric_ok=True)
            d.nonzero(ca[2], r"The $\varepsilon^2$ coefficient of that error is non-zero.",
                      tex=r"[\varepsilon^2]\,A")


PROOF = Proof("T0", "L(0) = L(θ) − θᵀg + ½θᵀHθ + O(‖θ‖³), so d‖θ‖²/dt ≈ 2(L(0) − L(θ))",
              ["L three times continuously differentiable near 0",
               "small θ: θ = εa, expanded in ε about 0",
               "the ≈ is exact to first order only (second-order term shown non-zero)",
               "generic L: n = 1..4; networks: poly and softplus MSE nets at one random rational "
               "point (tanh nets are even in ε at 0, so their ε³ term vanishes; not used)"], derive)
