"""The flow substitution: θ_i ↦ θ_i(t), d/dt by sympy, then dθ_i/dt ↦ −∂L/∂θ_i − λθ_i.

``GradientFlow(params, grad).time_derivative(F)`` returns dF(θ(t))/dt along gradient flow
dθ/dt = −g(θ) − λθ (λ = weight decay, 0 by default), written back in the symbols θ_i.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

TIME = sp.Symbol("t", real=True)


class GradientFlow:
    """Gradient flow dθ/dt = −∇L − λθ as a rule for sympy time derivatives."""

    def __init__(self, params, grad, weight_decay=0):
        self.params = tuple(params)
        self.grad = list(grad)
        self.weight_decay = weight_decay
        self.paths = tuple(sp.Function(p.name, real=True)(TIME) for p in self.params)
        self._to_t = dict(zip(self.params, self.paths))
        self._back = dict(zip(self.paths, self.params))
        self.velocity = [-gi - weight_decay * p for gi, p in zip(self.grad, self.params)]
        self._velocity_t = {sp.Derivative(f, TIME): self._along(v)
                            for f, v in zip(self.paths, self.velocity)}

    def _along(self, expr):
        """expr with θ_i replaced by θ_i(t)."""
        if expr.atoms(AppliedUndef):
            return sp.sympify(expr).subs(self._to_t, simultaneous=True)
        return sp.sympify(expr).xreplace(self._to_t)

    def time_derivative(self, expr, order: int = 1):
        """d^order/dt^order of expr(θ(t)) with dθ/dt substituted, in the symbols θ_i."""
        out = sp.sympify(expr)
        for _ in range(order):
            d = sp.diff(self._along(out), TIME)
            d = d.subs(self._velocity_t) if d.atoms(AppliedUndef) - set(self.paths) \
                else d.xreplace(self._velocity_t)
            if d.atoms(AppliedUndef) - set(self.paths):
                out = d.subs(self._back, simultaneous=True).doit()
            else:
                out = d.xreplace(self._back)
        return out


def norm_sq(vec) -> sp.Expr:
    """‖v‖² = vᵀv."""
    return sum(v ** 2 for v in vec)


def dot(a, b) -> sp.Expr:
    """aᵀb."""
    return sum(x * y for x, y in zip(a, b))
