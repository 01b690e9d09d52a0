"""``importance``: score every prunable unit of a model with one measure.

The loss is L = (1/N) Σ CE(f(x)/T, y) over all samples of all batches; θ is every parameter
with requires_grad; g and Hg are taken with respect to all of θ; a unit's score reads only
its own weight slice. The model is used in its current mode and left untouched.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call

from gftheory.measures import MEASURES, Measure, WeightQuantities
from gftheory.objective import Objective, as_batch_list, prunable_weight_names
from gftheory.state import preserved_modes

UNITS = ("filter", "parameter")


def synflow_saliency(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, Tensor]:
    """|θ| ⊙ ∂R/∂|θ| with R = 1ᵀ f(1; |θ|), all parameters and float buffers replaced by their
    absolute values, the model in eval mode (Tanaka et al. 2020). Computed in float64, as the
    SynFlow authors do: R is a product of layer norms and overflows float32 on deep networks
    (ResNet-56). Keyed by parameter name; float64 scores."""
    params = {n: p.detach().double().abs().requires_grad_(True) for n, p in model.named_parameters()}
    buffers = {n: (b.detach().double().abs() if b.is_floating_point() else b.clone())
               for n, b in model.named_buffers()}
    first = next(iter(params.values()))
    ones = torch.ones((1, *input_shape), dtype=torch.float64, device=first.device)
    with preserved_modes(model):
        model.eval()
        out = functional_call(model, {**params, **buffers}, (ones,))
    names = list(params)
    grads = torch.autograd.grad(out.sum(), [params[n] for n in names], allow_unused=True)
    return {n: (g * params[n]).detach().abs() if g is not None else torch.zeros_like(params[n])
            for n, g in zip(names, grads)}



def fill_quantities(obj: Objective, theta: Tensor, needs: set, put) -> None:
    """The data quantities a measure declares, at θ, handed to ``put(key, flat)`` as flat vectors
    over the objective's parameters: ``grad`` g = ∇L(θ), ``hvp`` Hg (one double-backward product),
    ``grad_sq`` E_b[g_b²] (per-batch squared gradients weighted by batch size). Computes nothing a
    measure does not declare: an hvp-only measure gets no ``grad``."""
    if needs & {"grad", "hvp"}:
        _, g = obj.loss_and_grad(theta)
        if "grad" in needs:
            put("grad", g)
        if "hvp" in needs:
            put("hvp", obj.hvp(g, theta))
    if "grad_sq" in needs:
        acc = torch.zeros_like(theta)
        for n_b, g_b in obj.batch_grads(theta):
            acc += (n_b / obj.n_samples) * g_b.pow(2)
        put("grad_sq", acc)

def importance(model: nn.Module, measure, batches, *, unit: str = "filter",
               temperature: float = 1.0, seed: int = 0) -> dict[str, Tensor]:
    """Scores of ``measure`` for the weight of every nn.Conv2d and nn.Linear.

    Returns {weight name: scores}: a 1-D tensor (one score per output unit) for
    ``unit="filter"``, a weight-shaped tensor for ``unit="parameter"``.
    ``batches`` is one (inputs, targets) pair or an iterable of pairs; ``seed`` seeds
    ``random``. Lower score = pruned first.
    """
    m: Measure = MEASURES.resolve(measure)
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    batch_list = as_batch_list(batches)
    names = prunable_weight_names(model)
    if not names:
        raise ValueError("the model has no nn.Conv2d or nn.Linear layer to score")
    params = dict(model.named_parameters())
    needs = set(m.needs)

    per_weight: dict[str, dict[str, Tensor]] = {n: {} for n in names}
    if needs & {"grad", "hvp", "grad_sq"}:
        obj = Objective(model, batch_list, temperature)
        frozen = [n for n in names if n not in obj.spec.names]
        if frozen:
            raise ValueError(f"measure {m.name!r} needs gradients, but {frozen} do not require "
                             f"grad; set requires_grad=True on them")
        offsets = obj.spec.offsets()
        theta = obj.theta()

        def put(key: str, flat: Tensor) -> None:
            for n in names:
                a, b = offsets[n]
                per_weight[n][key] = flat[a:b].view(params[n].shape)

        fill_quantities(obj, theta, needs, put)
    if "synflow" in needs:
        sal = synflow_saliency(model, tuple(batch_list[0][0].shape[1:]))
        for n in names:
            per_weight[n]["synflow"] = sal[n]
    gen = None
    if "generator" in needs:
        gen = torch.Generator().manual_seed(int(seed))

    out: dict[str, Tensor] = {}
    for n in names:
        q = WeightQuantities(name=n, theta=params[n].detach(), generator=gen,
                             **{k: v.detach() for k, v in per_weight[n].items()})
        s = m.filter_scores(q) if unit == "filter" else m.parameter_scores(q)
        expected = (params[n].shape[0],) if unit == "filter" else tuple(params[n].shape)
        if tuple(s.shape) != expected:
            raise RuntimeError(f"measure {m.name!r} returned shape {tuple(s.shape)} for {n}; "
                               f"expected {expected} for unit={unit!r}")
        out[n] = s.detach()
    return out
