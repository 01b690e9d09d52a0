"""The training loss as a function of the flat parameter vector θ.

L(θ) = (1/N) Σ_b Σ_{i∈b} CE(f(x_i; θ)/T, y_i) — cross-entropy of the logits divided
by the temperature T, averaged over *all* N samples of all batches (sample-weighted).
θ is every parameter with ``requires_grad``, in ``named_parameters()`` order.

The model is evaluated with ``torch.func.functional_call`` on cloned buffers, so a
BatchNorm layer in train mode uses batch statistics but never touches the module's
own running statistics; ``.grad`` is never written (``torch.autograd.grad`` only).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

Batch = tuple[Tensor, Tensor]


def as_batch_list(batches) -> list[Batch]:
    """Accept one ``(inputs, targets)`` pair or an iterable of pairs; return a list of pairs."""
    if isinstance(batches, (tuple, list)) and len(batches) == 2 and isinstance(batches[0], Tensor) \
            and isinstance(batches[1], Tensor):
        out = [(batches[0], batches[1])]
    else:
        try:
            out = [tuple(b) for b in batches]
        except TypeError as exc:
            raise TypeError("batches must be one (inputs, targets) pair of tensors or an iterable of "
                            "such pairs") from exc
    if not out:
        raise ValueError("batches is empty: give at least one (inputs, targets) pair")
    for k, b in enumerate(out):
        if len(b) != 2 or not isinstance(b[0], Tensor) or not isinstance(b[1], Tensor):
            raise TypeError(f"batch {k} is not an (inputs, targets) pair of tensors")
        if b[0].shape[0] != b[1].shape[0]:
            raise ValueError(f"batch {k}: {b[0].shape[0]} inputs but {b[1].shape[0]} targets")
        if b[0].shape[0] == 0:
            raise ValueError(f"batch {k} has no samples")
    return out


@dataclass(frozen=True)
class ParamSpec:
    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]
    numels: tuple[int, ...]

    @property
    def size(self) -> int:
        return sum(self.numels)

    def offsets(self) -> dict[str, tuple[int, int]]:
        out, start = {}, 0
        for n, k in zip(self.names, self.numels):
            out[n] = (start, start + k)
            start += k
        return out


class Objective:
    """L(θ) for a model and fixed data, as a function of flat θ (see module docstring)."""

    def __init__(self, model: nn.Module, batches, temperature: float = 1.0):
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.model = model
        self.batches = as_batch_list(batches)
        self.temperature = float(temperature)
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("the model has no parameter with requires_grad=True")
        self.spec = ParamSpec(tuple(n for n, _ in named), tuple(p.shape for _, p in named),
                              tuple(p.numel() for _, p in named))
        first = named[0][1]
        self.dtype, self.device = first.dtype, first.device
        self.n_samples = sum(int(b[1].shape[0]) for b in self.batches)

    # -- flat <-> dict --------------------------------------------------------------
    def theta(self) -> Tensor:
        """The model's current θ as a detached flat vector."""
        params = dict(self.model.named_parameters())
        return torch.cat([params[n].detach().reshape(-1) for n in self.spec.names])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        out, start = {}, 0
        for n, shape, k in zip(self.spec.names, self.spec.shapes, self.spec.numels):
            out[n] = flat[start:start + k].view(shape)
            start += k
        return out

    def flatten(self, tensors: dict[str, Tensor] | Sequence[Tensor]) -> Tensor:
        if isinstance(tensors, dict):
            tensors = [tensors[n] for n in self.spec.names]
        return torch.cat([t.reshape(-1) for t in tensors])

    # -- forward --------------------------------------------------------------------
    def _inputs(self, x: Tensor) -> Tensor:
        x = x.to(self.device)
        return x.to(self.dtype) if x.is_floating_point() else x

    def logits(self, flat: Tensor, x: Tensor) -> Tensor:
        state = dict(self.unflatten(flat))
        for n, b in self.model.named_buffers():
            state[n] = b.clone()
        return functional_call(self.model, state, (self._inputs(x),))

    def batch_loss_sum(self, flat: Tensor, batch: Batch) -> Tensor:
        """Σ_{i∈b} CE(f(x_i; θ)/T, y_i) (a sum, not a mean)."""
        x, y = batch
        return F.cross_entropy(self.logits(flat, x) / self.temperature, y.to(self.device),
                               reduction="sum")

    def loss(self, flat: Tensor) -> Tensor:
        """L(θ), differentiable in ``flat``."""
        return sum(self.batch_loss_sum(flat, b) for b in self.batches) / self.n_samples

    # -- derivatives ----------------------------------------------------------------
    def loss_and_grad(self, flat: Tensor | None = None) -> tuple[float, Tensor]:
        """(L, g) with g = ∇L, accumulated batch by batch."""
        flat = self.theta() if flat is None else flat.detach()
        total, grad = 0.0, torch.zeros_like(flat)
        for b in self.batches:
            th = flat.clone().requires_grad_(True)
            lb = self.batch_loss_sum(th, b) / self.n_samples
            (gb,) = torch.autograd.grad(lb, th)
            total += float(lb.detach())
            grad += gb
        return total, grad

    def grad(self, flat: Tensor | None = None) -> Tensor:
        return self.loss_and_grad(flat)[1]

    def batch_grads(self, flat: Tensor | None = None) -> list[tuple[int, Tensor]]:
        """[(n_b, g_b)] with g_b the gradient of batch b's own mean loss."""
        flat = self.theta() if flat is None else flat.detach()
        out = []
        for b in self.batches:
            th = flat.clone().requires_grad_(True)
            n_b = int(b[1].shape[0])
            (gb,) = torch.autograd.grad(self.batch_loss_sum(th, b) / n_b, th)
            out.append((n_b, gb))
        return out

    def hvp(self, vector: Tensor, flat: Tensor | None = None) -> Tensor:
        """H v by double backpropagation, H = ∇²L, accumulated batch by batch."""
        flat = self.theta() if flat is None else flat.detach()
        v = vector.detach().to(flat)
        out = torch.zeros_like(flat)
        for b in self.batches:
            th = flat.clone().requires_grad_(True)
            lb = self.batch_loss_sum(th, b) / self.n_samples
            (gb,) = torch.autograd.grad(lb, th, create_graph=True)
            (hv,) = torch.autograd.grad(gb @ v, th)
            out += hv
        return out


def prunable_weight_names(model: nn.Module) -> list[str]:
    """``named_parameters()`` names of the weights of every ``nn.Conv2d`` and ``nn.Linear``."""
    names = []
    for mod_name, mod in model.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            names.append(f"{mod_name}.weight" if mod_name else "weight")
    return names
