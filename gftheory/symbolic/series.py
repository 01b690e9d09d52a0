"""Taylor/series checks in a small parameter ε.

c_k = (1/k!) d^kφ/dε^k at ε = 0 is the ε^k coefficient of the series of φ(ε) (Taylor's
theorem); ``series_coefficients`` computes c_0..c_K symbolically.
"""
from __future__ import annotations

import sympy as sp

from gftheory.symbolic.equality import canonical_derivatives

EPS = sp.Symbol("epsilon", real=True)


def shifted(expr, params, direction, eps=EPS, sign=-1):
    """expr at θ + sign·ε·direction (simultaneous substitution θ_i ↦ θ_i + sign·ε·d_i)."""
    mapping = {p: p + sign * eps * d for p, d in zip(params, direction) if d != 0}
    return sp.sympify(expr).subs(mapping, simultaneous=True)


def scaled(expr, params, direction, eps=EPS):
    """expr at θ = ε·direction (expansion about the origin)."""
    mapping = {p: eps * d for p, d in zip(params, direction)}
    return sp.sympify(expr).subs(mapping, simultaneous=True)


def series_coefficients(expr, order: int, eps=EPS) -> list:
    """[c_0, ..., c_order], c_k = φ^(k)(0)/k!."""
    out, d = [], canonical_derivatives(sp.sympify(expr))
    for k in range(order + 1):
        if k:
            # canonicalise after every derivative so nested Subs never build up
            d = canonical_derivatives(sp.diff(d, eps))
        out.append((d.subs(eps, 0).doit()) / sp.factorial(k))
    return out

