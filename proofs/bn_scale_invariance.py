"""BN_SCALE: a unit followed by train-mode BatchNorm is scale-invariant, so by Euler's theorem
for 0-homogeneous functions θ_pᵀg_p = 0, and under gradient flow d‖θ_p‖²/dt = 0."""
import sympy as sp

from gftheory.symbolic.flow import GradientFlow, dot, norm_sq
from gftheory.symbolic.networks import two_layer_network
from gftheory.symbolic.proof import Proof

LAM = sp.Symbol("lambda", positive=True)
LABEL = "generic smooth F with L = F(θ_p/‖θ_p‖, θ_rest)"


def _factor_radicands(expr):
    """√(λ²a + λ²b) → λ√(a + b) for λ > 0 (factor_terms inside every power)."""
    return expr.replace(lambda e: e.is_Pow and not e.exp.is_Integer,
                        lambda e: sp.Pow(sp.factor_terms(e.base), e.exp))


def generic_scale_invariant(n: int, k: int):
    th = sp.symbols(f"theta_1:{n + 1}", real=True)
    norm = sp.sqrt(sum(t ** 2 for t in th[:k]))
    F = sp.Function("F", real=True)
    return th, F(*[t / norm for t in th[:k]], *th[k:])


def derive(d):
    for n in range(2, 6):   # n = 1 is degenerate (θ/|θ| = sign θ); n = 6 costs 5 s
        k = n - 1 if n > 2 else n
        th, L = generic_scale_invariant(n, k)
        d.section(f"{LABEL}, n={n}, unit = first {k} coordinates", ("generic", LABEL, n))
        scaled = L.subs({t: LAM * t for t in th[:k]}, simultaneous=True)
        d.equal(_factor_radicands(scaled), L,
                r"0-homogeneity: $L(\lambda\theta_p) = L(\theta_p)$ for $\lambda > 0$.",
                lhs_tex=r"L(\lambda\theta_p,\theta_{rest})", rhs_tex=r"L(\theta_p,\theta_{rest})")
        grad = [sp.diff(L, t) for t in th]
        euler = sp.diff(scaled, LAM).subs(LAM, 1).doit()
        d.equal(euler, dot(th[:k], grad[:k]),
                r"Chain rule: $\frac{d}{d\lambda}L(\lambda\theta_p)|_{\lambda=1} = "
                r"\theta_p^\top g_p$.", lhs_tex=r"\partial_\lambda L(\lambda\theta_p)|_{\lambda=1}",
                rhs_tex=r"\theta_p^\top g_p")
        d.zero(dot(th[:k], grad[:k]), r"Euler's theorem (degree 0): $\theta_p^\top g_p = 0$.",
               tex=r"\theta_p^\top g_p")
        flow = GradientFlow(th, grad)
        d.zero(flow.time_derivative(norm_sq(th[:k])),
               r"Hence by F1 the unit's norm is conserved under gradient flow.",
               tex=r"\frac{d}{dt}\|\theta_p\|^2")
    for act, loss, samples in (("tanh", "mse", 3), ("poly", "ce", 2)):
        m = two_layer_network(act, loss, samples=samples, batchnorm=True)
        d.section(m.level + f", BatchNorm (ε = 0) over {samples} samples", m)
        flow = GradientFlow(m.params, m.grad)
        for unit in m.units["w1"]:
            tp, gp = m.embed(unit), m.restrict(m.grad, unit)
            d.zero(dot(tp, gp), rf"Row {unit[0] // len(unit) + 1} of $W_1$ feeds BatchNorm: "
                                r"$\theta_p^\top g_p = 0$.", tex=r"\theta_p^\top g_p",
                   numeric_ok=True)
            d.zero(flow.time_derivative(norm_sq(tp)), r"...so $\|\theta_p\|^2$ is conserved.",
                   tex=r"\frac{d}{dt}\|\theta_p\|^2", numeric_ok=True)


PROOF = Proof("BN_SCALE", "a filter followed by train-mode BatchNorm is scale-invariant: "
              "θ_pᵀg_p = 0 and d‖θ_p‖²/dt = 0",
              ["L depends on θ_p only through θ_p/‖θ_p‖ (train-mode BatchNorm with ε = 0; with "
               "ε > 0 the invariance is only approximate)", "θ_p ≠ 0", "gradient flow"], derive)
