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


class IndexedGradientFlow:
    """Gradient flow for a symbolic number n of parameters, with indexed sums.

    θ_i(t) = theta(i, t), g_i = g(i, t), H_ij = H(i, j, t) are undefined functions of the index;
    d/dt is sympy's, then dθ_i/dt ↦ −g_i − λθ_i and (chain rule, used as a rule here; it is what
    the fixed-n proofs derive) dg_i/dt ↦ Σ_j H_ij dθ_j/dt.
    """

    def __init__(self, weight_decay=0):
        self.n = sp.Symbol("n", integer=True, positive=True)
        self.k = sp.Symbol("k", integer=True, positive=True)     # unit p = indices 1..k ≤ n
        self.i, self.j = sp.symbols("i j", integer=True, positive=True)
        self.theta = sp.Function("theta", real=True)
        self.g = sp.Function("g", real=True)
        self.H = sp.Function("H", real=True)
        self.weight_decay = weight_decay

    def th(self, idx):
        return self.theta(idx, TIME)

    def gr(self, idx):
        return self.g(idx, TIME)

    def velocity(self, idx):
        return -self.gr(idx) - self.weight_decay * self.th(idx)

    def total(self, summand, upper=None):
        """Σ_{i=1}^{upper} summand (upper = n by default)."""
        return sp.Sum(summand, (self.i, 1, self.n if upper is None else upper))

    def hessian_times(self, vec_fn, idx):
        """(H v)_idx = Σ_j H_{idx j} v_j."""
        return sp.Sum(self.H(idx, self.j, TIME) * vec_fn(self.j), (self.j, 1, self.n))

    def _rule(self, d):
        f = d.expr
        if f.func == self.theta:
            return self.velocity(f.args[0])
        return self.hessian_times(self.velocity, f.args[0])

    def time_derivative(self, expr, order: int = 1):
        out = expr
        for _ in range(order):
            out = sp.diff(out, TIME).replace(
                lambda e: isinstance(e, sp.Derivative)
                and getattr(e.expr, "func", None) in (self.theta, self.g), self._rule)
        return out
