"""Generated problems: small float64 ``nn.Sequential`` models + random data + a temperature.

Shared by the Hypothesis strategies (tests/strategies.py) and ``gftheory check``.
A problem is fully described by a ``ProblemSpec`` (architecture, depth 1–4, width 1–8,
activation, BatchNorm placement, parameter scale, temperature, data sizes, seed);
``build_problem`` turns it into a model and data deterministically, without touching
torch's global RNG. ``random_spec`` draws a spec from a ``random.Random`` / numpy
``Generator`` / int seed under constraints (smooth activations only, no BN, …).

Layout: depth × [Linear|Conv2d(3×3, pad 1) → (BN) → act (→ BN)] → (Flatten) → Linear head.
"""
from __future__ import annotations

import copy
import math
import random as _random
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from gftheory.objective import Objective, prunable_weight_names

ACTIVATIONS = {"tanh": nn.Tanh, "softplus": nn.Softplus, "gelu": nn.GELU, "sigmoid": nn.Sigmoid,
               "relu": nn.ReLU}
SMOOTH_ACTIVATIONS = ("tanh", "softplus", "gelu", "sigmoid")
ARCHS = ("mlp", "cnn")
BN_POSITIONS = ("before", "after")   # BatchNorm before or after the activation


@dataclass(frozen=True)
class ProblemSpec:
    """Everything that determines a generated problem."""
    arch: str = "mlp"                 # mlp | cnn
    depth: int = 2                    # hidden layers, 1–4
    width: int = 4                    # hidden units / channels, 1–8
    activation: str = "tanh"
    batchnorm: bool = False
    bn_position: str = "before"       # before | after the activation
    bn_eps: float = 1e-5
    bias: bool = True                 # biases of the hidden layers and head
    scale: float = 1.0                # weights ~ scale · N(0, 1/fan_in)
    temperature: float = 1.0
    n_classes: int = 3
    in_features: int = 4              # MLP input size / CNN input channels
    image_size: int = 3               # CNN only
    batch_sizes: tuple[int, ...] = (6,)
    seed: int = 0

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if self.bn_position not in BN_POSITIONS:
            raise ValueError(f"bn_position must be one of {BN_POSITIONS}, got {self.bn_position!r}")
        if not (1 <= self.depth and 1 <= self.width and self.n_classes >= 2 and self.batch_sizes):
            raise ValueError(f"bad sizes in {self}")
        if self.batchnorm and min(self.batch_sizes) < 2:
            raise ValueError("BatchNorm in train mode needs batches of ≥ 2 samples")

    @property
    def num_params(self) -> int:
        return spec_num_params(self)

    @property
    def smooth(self) -> bool:
        return self.activation in SMOOTH_ACTIVATIONS

    def describe(self) -> str:
        bn = f"+BN({self.bn_position})" if self.batchnorm else ""
        return (f"{self.arch} d{self.depth} w{self.width} {self.activation}{bn} "
                f"bias={int(self.bias)} s={self.scale:.2g} T={self.temperature:.2g} "
                f"n={list(self.batch_sizes)} seed={self.seed}")


def spec_num_params(spec: ProblemSpec) -> int:
    """Number of parameters of the model ``build_problem(spec)`` would build."""
    b = 1 if spec.bias else 0
    n, fan = 0, spec.in_features
    k = 9 if spec.arch == "cnn" else 1
    for _ in range(spec.depth):
        n += spec.width * fan * k + b * spec.width + (2 * spec.width if spec.batchnorm else 0)
        fan = spec.width
    head_in = spec.width * (spec.image_size ** 2 if spec.arch == "cnn" else 1)
    return n + spec.n_classes * head_in + b * spec.n_classes


@dataclass
class Problem:
    spec: ProblemSpec
    model: nn.Sequential
    batches: list[tuple[Tensor, Tensor]]
    temperature: float
    hidden_weights: list[str] = field(default_factory=list)   # weights of the hidden layers
    bn_followed: list[str] = field(default_factory=list)      # weights followed by train-mode BN

    def objective(self) -> Objective:
        return Objective(self.model, self.batches, self.temperature)

    @property
    def prunable(self) -> list[str]:
        return prunable_weight_names(self.model)


def build_problem(spec: ProblemSpec) -> Problem:
    """Build the float64 model (train mode) and the data of ``spec``, deterministically."""
    gen = torch.Generator().manual_seed(int(spec.seed))
    act = ACTIVATIONS[spec.activation]
    layers: list[nn.Module] = []
    hidden, followed = [], []
    fan = spec.in_features
    for _ in range(spec.depth):
        idx = len(layers)
        if spec.arch == "cnn":
            layers.append(nn.Conv2d(fan, spec.width, 3, padding=1, bias=spec.bias))
            bn = nn.BatchNorm2d(spec.width, eps=spec.bn_eps) if spec.batchnorm else None
        else:
            layers.append(nn.Linear(fan, spec.width, bias=spec.bias))
            bn = nn.BatchNorm1d(spec.width, eps=spec.bn_eps) if spec.batchnorm else None
        hidden.append(f"{idx}.weight")
        if bn is not None:
            followed.append(f"{idx}.weight")
        if bn is not None and spec.bn_position == "before":
            layers.append(bn)
        layers.append(act())
        if bn is not None and spec.bn_position == "after":
            layers.append(bn)
        fan = spec.width
    if spec.arch == "cnn":
        layers.append(nn.Flatten())
        fan = spec.width * spec.image_size ** 2
    layers.append(nn.Linear(fan, spec.n_classes, bias=spec.bias))
    model = nn.Sequential(*layers).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=torch.float64)
                               * spec.scale / math.sqrt(fan_in))
                if m.bias is not None:
                    m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=gen, dtype=torch.float64))
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen, dtype=torch.float64))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen, dtype=torch.float64))
    model.train()
    batches = []
    for n in spec.batch_sizes:
        shape = (n, spec.in_features) if spec.arch == "mlp" else \
            (n, spec.in_features, spec.image_size, spec.image_size)
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
        y = torch.randint(0, spec.n_classes, (n,), generator=gen)
        batches.append((x, y))
    return Problem(spec=spec, model=model, batches=batches, temperature=float(spec.temperature),
                   hidden_weights=hidden, bn_followed=followed)


def model_at(model: nn.Module, flat: Tensor) -> nn.Module:
    """A deep copy of ``model`` whose requires_grad parameters are set to the flat θ."""
    out = copy.deepcopy(model)
    named = [p for _, p in out.named_parameters() if p.requires_grad]
    with torch.no_grad():
        start = 0
        for p in named:
            k = p.numel()
            p.copy_(flat[start:start + k].view(p.shape).to(p))
            start += k
    if start != flat.numel():
        raise ValueError(f"flat θ has {flat.numel()} entries, the model {start}")
    return out


def _as_random(rng) -> _random.Random:
    if isinstance(rng, _random.Random):
        return rng
    if isinstance(rng, np.random.Generator):
        return _random.Random(int(rng.integers(0, 2 ** 63 - 1)))
    return _random.Random(int(rng))


def random_spec(rng, *, archs=ARCHS, activations=SMOOTH_ACTIVATIONS, batchnorm=(False, True),
                bn_positions=BN_POSITIONS, bias=(True, False), depth=(1, 4), width=(1, 8),
                scale=(0.5, 2.0), temperature=(0.5, 5.0), max_params: int = 1500,
                **fixed) -> ProblemSpec:
    """Draw a spec: choices from the given tuples, depth/width/scale/temperature uniform in
    the given ranges (scale, temperature log-uniform); resampled until ≤ max_params.
    Keyword ``fixed`` sets any ProblemSpec field outright."""
    r = _as_random(rng)
    for _ in range(1000):
        bn = r.choice(tuple(batchnorm))
        kw = dict(
            arch=r.choice(tuple(archs)), depth=r.randint(*depth), width=r.randint(*width),
            activation=r.choice(tuple(activations)), batchnorm=bn,
            bn_position=r.choice(tuple(bn_positions)), bias=r.choice(tuple(bias)),
            scale=math.exp(r.uniform(math.log(scale[0]), math.log(scale[1]))),
            temperature=math.exp(r.uniform(math.log(temperature[0]), math.log(temperature[1]))),
            n_classes=r.randint(2, 4), in_features=r.randint(2, 5), image_size=r.randint(2, 3),
            batch_sizes=tuple(r.randint(3, 8) for _ in range(r.randint(1, 3))),
            seed=r.randrange(2 ** 31))
        kw.update(fixed)
        spec = ProblemSpec(**kw)
        if spec.num_params <= max_params:
            return spec
    raise ValueError(f"no spec with ≤ {max_params} parameters under the given constraints")


def unit_slices(problem_or_obj, names=None) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    """{weight name: (start, stop, shape)} of prunable weights inside flat θ."""
    obj = problem_or_obj.objective() if isinstance(problem_or_obj, Problem) else problem_or_obj
    offsets = obj.spec.offsets()
    shapes = dict(zip(obj.spec.names, obj.spec.shapes))
    names = names if names is not None else prunable_weight_names(obj.model)
    return {n: (*offsets[n], tuple(shapes[n])) for n in names if n in offsets}
