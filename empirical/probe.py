"""Flow quantities on a fixed probe batch, recorded before and after every pruning event.

On the probe batch (fixed training images, no augmentation), model in eval mode (the mode the
measures are scored in), at the given temperature — the runner passes the training temperature T,
the loss the loss-based measures preserve — and weight decay 0: L, ‖θ‖², θᵀg, ‖g‖², θᵀHg with g = ∇L and H = ∇²L over all trainable parameters
(gftheory.flow_rates; the model is left untouched, fp32, no autocast).
"""
from __future__ import annotations

from torch import nn

from gftheory.flow import flow_rates
from gftheory.state import preserved_modes

PROBE_KEYS = ("loss", "norm_sq", "theta_dot_grad", "grad_norm_sq", "theta_dot_hvp")


def probe_quantities(model: nn.Module, batch, *, temperature: float) -> dict[str, float]:
    """{loss, norm_sq, theta_dot_grad, grad_norm_sq, theta_dot_hvp} at the model's current θ,
    with L the mean CE(f(x)/temperature, y) over the probe batch."""
    with preserved_modes(model):
        model.eval()
        fr = flow_rates(model, [batch], temperature=temperature, weight_decay=0.0)
    return {k: float(getattr(fr, k)) for k in PROBE_KEYS}
