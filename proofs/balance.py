"""BALANCE: for a positively 1-homogeneous activation (ReLU, leaky ReLU, linear),
d/dt(‖w_in,j‖² − ‖w_out,j‖²) = 0 for every hidden unit j; for a k-homogeneous one
(σ(λz) = λ^kσ(z)), ‖w_in,j‖² − k‖w_out,j‖² is conserved."""
import itertools

import sympy as sp

from gftheory.symbolic.equality import canonical_derivatives, derivative_function
from gftheory.symbolic.flow import GradientFlow, norm_sq
from gftheory.symbolic.networks import hidden_unit_fan, two_layer_network
from gftheory.symbolic.proof import Proof

LABEL = "generic smooth F of a k-homogeneous unit's outputs"


def generic_unit(d_in: int, d_out: int, samples: int = 1):
    """L = F(w_out,k σ(w_inᵀx_s) for all k, s; r) with F, σ undefined, r another parameter."""
    w_in = sp.symbols(f"u_1:{d_in + 1}", real=True)
    w_out = sp.symbols(f"v_1:{d_out + 1}", real=True)
    r = sp.Symbol("r", real=True)
    sigma = sp.Function("sigma", real=True)
    xs = [sp.symbols(f"x{s + 1}_1:{d_in + 1}", real=True) for s in range(samples)]
    outs = [wo * sigma(sum(w * x for w, x in zip(w_in, xs[s])))
            for s in range(samples) for wo in w_out]
    L = sp.Function("F", real=True)(*outs, r)
    return w_in, w_out, r, L


def euler_relation(expr, degree: int):
    """Substitute σ'(z) = kσ(z)/z (Euler's relation for a positively k-homogeneous σ)."""
    expr = canonical_derivatives(expr)
    s1 = derivative_function("sigma", (1,))
    return expr.replace(lambda e: getattr(e, "func", None) == s1,
                        lambda e: degree * sp.Function("sigma", real=True)(*e.args) / e.args[0])


def derive(d):
    for degree in (1, 2):
        for d_in, d_out in ((1, 1), (2, 1), (2, 2), (3, 2)):
            w_in, w_out, r, L = generic_unit(d_in, d_out)
            params = (*w_in, *w_out, r)
            n = len(params)
            d.section(f"{LABEL}, k={degree}, fan-in {d_in}, fan-out {d_out} (n={n})",
                      ("generic", LABEL + f" (k={degree})", n))
            grad = [sp.diff(L, p) for p in params]
            rate = GradientFlow(params, grad).time_derivative(norm_sq(w_in) - degree * norm_sq(w_out))
            d.zero(sp.expand(euler_relation(rate, degree)),
                   rf"Flow substitution, then Euler's relation $z\sigma'(z) = {degree}\sigma(z)$.",
                   tex=rf"\frac{{d}}{{dt}}\left(\|w_{{in}}\|^2 - {degree}\|w_{{out}}\|^2\right)")
    nets = [two_layer_network("relu", loss, samples=s, pattern=pat)
            for loss, s in (("mse", 2), ("ce", 1))
            for pat in itertools.product(*[list(itertools.product((0, 1), repeat=2))] * s)]
    nets += [two_layer_network("square", "mse"), two_layer_network("square", "ce", samples=1)]
    for m in nets:
        degree = 2 if m.activation == "square" else 1
        d.section(m.level + (" (ReLU = identity/zero on this activation region)"
                             if m.pattern is not None else ""), m)
        flow = GradientFlow(m.params, m.grad)
        for j in range(m.w1.shape[0]):
            fan_in, fan_out = hidden_unit_fan(m, j)
            q = norm_sq([m.params[i] for i in fan_in]) - degree * norm_sq([m.params[i] for i in fan_out])
            d.zero(flow.time_derivative(q), rf"Hidden unit {j + 1}: the balance is conserved.",
                   tex=rf"\frac{{d}}{{dt}}\left(\|w_{{in,{j + 1}}}\|^2 - {degree}\|w_{{out,{j + 1}}}\|^2\right)",
                   numeric_ok=True)


PROOF = Proof("BALANCE", "bias-free ReLU nets: d/dt(‖w_in,j‖² − ‖w_out,j‖²) = 0 for each hidden unit j",
              ["σ positively homogeneous of degree k (ReLU/leaky ReLU/linear: k = 1, z²: k = 2); "
               "then ‖w_in,j‖² − k‖w_out,j‖² is conserved",
               "ReLU networks: checked exactly on every activation region (sign pattern), "
               "where ReLU is linear; kinks have measure zero",
               "no bias on the hidden unit", "gradient flow"], derive)
