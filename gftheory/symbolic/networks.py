"""Symbolic losses: a generic smooth L(θ_1..θ_n) and concrete two-layer networks.

Notation as in docs/paper.md §1: θ the flat parameter vector, g = ∇L, H = ∇²L, a unit p one output
neuron (one row of a weight matrix), θ_p its weights embedded in ℝᴰ with zeros elsewhere.
Network: f(x) = W₂ σ(W₁ x) (no biases; optional train-mode BatchNorm without affine between
W₁x and σ), losses MSE = mean over samples and outputs of (f − y)², CE = mean over samples of
cross-entropy of f/T (T the temperature, as in gftheory.Objective).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import sympy as sp


def _grad(loss, params) -> sp.Matrix:
    return sp.Matrix([sp.diff(loss, p) for p in params])


def _hessian(grad: sp.Matrix, params) -> sp.Matrix:
    n = len(params)
    H = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            H[i, j] = sp.diff(grad[i], params[j])
            H[j, i] = H[i, j]
    return H


class _Calculus:
    """g, H, and the unit embeddings shared by generic losses and networks."""
    params: tuple
    loss: sp.Expr

    @cached_property
    def grad(self) -> sp.Matrix:          # g = ∇L
        return _grad(self.loss, self.params)

    @cached_property
    def hessian(self) -> sp.Matrix:       # H = ∇²L
        return _hessian(self.grad, self.params)

    @cached_property
    def hessian_grad(self) -> sp.Matrix:  # Hg
        return self.hessian * self.grad

    @property
    def theta(self) -> sp.Matrix:
        return sp.Matrix(self.params)

    def embed(self, indices) -> sp.Matrix:
        """θ_p: the parameters at ``indices``, zeros elsewhere (a vector in ℝᴰ)."""
        idx = set(indices)
        return sp.Matrix([p if i in idx else 0 for i, p in enumerate(self.params)])

    def restrict(self, vec: sp.Matrix, indices) -> sp.Matrix:
        """v_p: the entries of v at ``indices``, zeros elsewhere."""
        idx = set(indices)
        return sp.Matrix([v if i in idx else 0 for i, v in enumerate(vec)])


@dataclass(eq=False)
class GenericLoss(_Calculus):
    """L an undefined (smooth) sympy function of n real parameters θ_1..θ_n."""
    n: int
    params: tuple
    loss: sp.Expr
    name: str = "L"

    @property
    def level(self) -> str:
        return f"generic smooth L, n={self.n}"


@lru_cache(maxsize=None)
def generic_smooth_loss(n: int, name: str = "L") -> GenericLoss:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    params = sp.symbols(f"theta_1:{n + 1}", real=True)
    return GenericLoss(n, tuple(params), sp.Function(name, real=True)(*params), name)


ACTIVATIONS = {
    "tanh": sp.tanh,
    "softplus": lambda z: sp.log(1 + sp.exp(z)),
    "poly": lambda z: z + z ** 2 / 2,       # a non-homogeneous polynomial activation
    "square": lambda z: z ** 2,             # positively 2-homogeneous
    "cube": lambda z: z ** 3,               # positively 3-homogeneous
    "linear": lambda z: z,
}
HOMOGENEITY_DEGREE = {"square": 2, "cube": 3, "linear": 1, "relu": 1}
LOSSES = ("mse", "ce")


@dataclass(eq=False)
class SymbolicNetwork(_Calculus):
    """f(x) = W₂ σ(BN(W₁ x)) with symbolic weights and data; ``params`` in torch order
    (W₁ row-major, then W₂ row-major), ``units`` {layer: [flat indices of each row]}."""
    activation: str
    loss_name: str
    params: tuple
    loss: sp.Expr
    w1: sp.Matrix
    w2: sp.Matrix
    inputs: sp.Matrix
    targets: object
    temperature: sp.Symbol | None
    units: dict = field(default_factory=dict)
    batchnorm: bool = False
    bn_eps: object = 0
    pattern: tuple | None = None

    @property
    def level(self) -> str:
        bn = "+BN" if self.batchnorm else ""
        pat = f" pattern {self.pattern}" if self.pattern is not None else ""
        return (f"2-layer {self.activation}{bn} net{pat}, {len(self.params)} weights, "
                f"{self.loss_name.upper()}")

    @property
    def data_symbols(self) -> set:
        return self.loss.free_symbols - set(self.params)


@lru_cache(maxsize=None)
def two_layer_network(activation: str = "tanh", loss: str = "mse", *, d_in: int = 2,
                      hidden: int = 2, d_out: int | None = None, samples: int = 2,
                      batchnorm: bool = False, bn_eps: object = 0,
                      pattern: tuple | None = None) -> SymbolicNetwork:
    """A symbolic two-layer network (see module docstring).

    ``pattern``: ReLU activation pattern, a (samples × hidden) tuple of 0/1 — on the region
    where the pre-activations have these signs ReLU(z) = pattern·z exactly.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if pattern is None and activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if d_out is None:
        d_out = 1 if loss == "mse" else 2
    W1 = sp.Matrix(hidden, d_in, lambda j, i: sp.Symbol(f"u_{j + 1}{i + 1}", real=True))
    W2 = sp.Matrix(d_out, hidden, lambda k, j: sp.Symbol(f"v_{k + 1}{j + 1}", real=True))
    X = sp.Matrix(samples, d_in, lambda s, i: sp.Symbol(f"x_{s + 1}{i + 1}", real=True))
    Z = X * W1.T                                      # samples × hidden pre-activations
    if batchnorm:
        for j in range(hidden):
            col = Z[:, j]
            mu = sum(col) / samples
            var = sum((z - mu) ** 2 for z in col) / samples
            for s in range(samples):
                Z[s, j] = (Z[s, j] - mu) / sp.sqrt(var + bn_eps)
    if pattern is not None:
        A = sp.Matrix(samples, hidden, lambda s, j: pattern[s][j] * Z[s, j])
        act = "relu"
    else:
        sigma = ACTIVATIONS[activation]
        A = Z.applyfunc(sigma)
        act = activation
    F = A * W2.T                                      # samples × d_out outputs
    T = None
    if loss == "mse":
        Y = sp.Matrix(samples, d_out, lambda s, k: sp.Symbol(f"y_{s + 1}{k + 1}", real=True))
        L = sum((F[s, k] - Y[s, k]) ** 2 for s in range(samples) for k in range(d_out))
        L = L / (samples * d_out)
        targets = Y
    else:
        T = sp.Symbol("T", positive=True)
        labels = tuple(s % d_out for s in range(samples))
        L = sum(sp.log(sum(sp.exp(F[s, k] / T) for k in range(d_out))) - F[s, labels[s]] / T
                for s in range(samples)) / samples
        targets = labels
    params = tuple(W1) + tuple(W2)                    # row-major, like torch .reshape(-1)
    units = {"w1": [[j * d_in + i for i in range(d_in)] for j in range(hidden)],
             "w2": [[hidden * d_in + k * hidden + j for j in range(hidden)] for k in range(d_out)]}
    return SymbolicNetwork(act, loss, params, L, W1, W2, X, targets, T, units, batchnorm,
                           bn_eps, pattern)


def hidden_unit_fan(net: SymbolicNetwork, j: int) -> tuple[list[int], list[int]]:
    """Flat indices of (w_in,j = row j of W₁, w_out,j = column j of W₂)."""
    d_in = net.w1.shape[1]
    hidden = net.w1.shape[0]
    fan_in = [j * d_in + i for i in range(d_in)]
    fan_out = [hidden * d_in + k * hidden + j for k in range(net.w2.shape[0])]
    return fan_in, fan_out


CONCRETE_NETWORKS = tuple((a, l) for a in ("tanh", "softplus", "poly") for l in LOSSES)
