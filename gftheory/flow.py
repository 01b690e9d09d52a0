"""Quantities of gradient flow dθ/dt = v, v = −(g + λθ) (λ = weight decay, default 0).

With λ = 0 (docs/paper.md §2):
  F1 d‖θ‖²/dt = −2θᵀg          F2 dL/dt = −‖g‖²          F3 d‖g‖²/dt = −2gᵀHg
  F4 d²‖θ‖²/dt² = 2‖g‖² + 2θᵀHg  F5 d(θ_pᵀg)/dt = −‖g_p‖² − θ_pᵀ(Hg)_p
In general: d‖θ‖²/dt = 2θᵀv, dL/dt = gᵀv, d‖g‖²/dt = 2gᵀHv,
d²‖θ‖²/dt² = 2‖v‖² − 2θᵀ(Hv + λv), d(θ_pᵀg)/dt = v_pᵀg_p + θ_pᵀ(Hv)_p.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from gftheory.objective import Objective, prunable_weight_names
from gftheory.measures import rows


@dataclass
class UnitRates:
    """Per-unit (one entry per output channel/neuron) quantities of one weight tensor."""
    norm_sq: Tensor            # ‖θ_p‖²
    theta_dot_grad: Tensor     # θ_pᵀg
    theta_dot_hvp: Tensor      # θ_pᵀ(Hg)_p
    grad_norm_sq: Tensor       # ‖g_p‖²
    norm_sq_rate: Tensor       # d‖θ_p‖²/dt  (= −2θ_pᵀg at λ = 0)
    norm_sq_accel: Tensor      # d²‖θ_p‖²/dt² (= 2‖g_p‖² + 2θ_pᵀ(Hg)_p at λ = 0)
    theta_dot_grad_rate: Tensor  # d(θ_pᵀg)/dt (= −‖g_p‖² − θ_pᵀ(Hg)_p at λ = 0)


@dataclass
class FlowRates:
    loss: float
    norm_sq: float             # ‖θ‖²
    grad_norm_sq: float        # ‖g‖²
    theta_dot_grad: float      # θᵀg
    theta_dot_hvp: float       # θᵀHg
    grad_dot_hvp: float        # gᵀHg
    norm_sq_rate: float        # d‖θ‖²/dt
    loss_rate: float           # dL/dt
    grad_norm_sq_rate: float   # d‖g‖²/dt
    norm_sq_accel: float       # d²‖θ‖²/dt²
    weight_decay: float = 0.0
    units: dict[str, UnitRates] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if k != "units"}


def flow_rates(model: nn.Module, batches, *, temperature: float = 1.0, weight_decay: float = 0.0,
               per_unit: bool = False) -> FlowRates:
    """Evaluate the gradient-flow quantities at the model's current θ (see module docstring).
    ``per_unit=True`` adds ``units``: {weight name: UnitRates} for every Conv2d/Linear weight."""
    obj = Objective(model, batches, temperature)
    theta = obj.theta()
    lam = float(weight_decay)
    loss, g = obj.loss_and_grad(theta)
    hg = obj.hvp(g, theta)
    v = -(g + lam * theta)
    hv = -(hg + lam * obj.hvp(theta, theta)) if lam else -hg
    dv = -(hv + lam * v)
    rates = FlowRates(
        loss=loss, norm_sq=float(theta @ theta), grad_norm_sq=float(g @ g),
        theta_dot_grad=float(theta @ g), theta_dot_hvp=float(theta @ hg), grad_dot_hvp=float(g @ hg),
        norm_sq_rate=float(2 * theta @ v), loss_rate=float(g @ v),
        grad_norm_sq_rate=float(2 * g @ hv), norm_sq_accel=float(2 * v @ v + 2 * theta @ dv),
        weight_decay=lam)
    if per_unit:
        offsets = obj.spec.offsets()
        shapes = dict(zip(obj.spec.names, obj.spec.shapes))
        units = {}
        for n in prunable_weight_names(model):
            if n not in offsets:
                continue
            a, b = offsets[n]
            th, gg, hh, vv, hvv, dvv = (rows(x[a:b].view(shapes[n]))
                                         for x in (theta, g, hg, v, hv, dv))
            units[n] = UnitRates(
                norm_sq=(th * th).sum(1), theta_dot_grad=(th * gg).sum(1),
                theta_dot_hvp=(th * hh).sum(1), grad_norm_sq=(gg * gg).sum(1),
                norm_sq_rate=2 * (th * vv).sum(1),
                norm_sq_accel=2 * (vv * vv).sum(1) + 2 * (th * dvv).sum(1),
                theta_dot_grad_rate=(vv * gg).sum(1) + (th * hvv).sum(1))
        rates.units = units
    return rates
