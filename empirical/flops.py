"""Cost of a network: multiply-accumulates (MACs) and parameter counts.

``count_flops`` counts the multiply-accumulates of every nn.Conv2d and nn.Linear for one input of
``input_shape`` (default 3×32×32): a conv contributes H_out·W_out·C_out·(C_in/groups)·k_h·k_w, a
linear in·out. BatchNorm, ReLU, pooling, additions and biases are ignored. ("FLOPs" in the
reports means these MACs, the usual convention of pruning papers.)

``count_params`` counts every parameter. With ``masks`` = {conv module name: bool tensor over its
output channels, True = kept} it gives the *effective* count: a masked (zeroed) output filter of
that conv and the γ, β of the BatchNorm that follows it (per ``channel_layout``) are excluded.
``count_flops`` with ``masks`` likewise drops the MACs of masked output filters. Without masks
both are raw counts.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from empirical.architectures import bn_after as _bn_after, channel_layout
from gftheory.state import preserved_modes


def _check_masks(model: nn.Module, masks: dict[str, Tensor] | None) -> dict[str, Tensor]:
    masks = dict(masks or {})
    mods = dict(model.named_modules())
    for name, m in masks.items():
        mod = mods.get(name)
        if not isinstance(mod, nn.Conv2d):
            raise ValueError(f"mask given for {name!r}, which is not a Conv2d of the model")
        if tuple(m.shape) != (mod.out_channels,):
            raise ValueError(f"mask for {name!r} has shape {tuple(m.shape)}; expected "
                             f"({mod.out_channels},)")
    return masks


def count_params(model: nn.Module, masks: dict[str, Tensor] | None = None) -> int:
    """Number of parameters; with ``masks``, minus masked filters and their BN γ, β."""
    masks = _check_masks(model, masks)
    total = sum(p.numel() for p in model.parameters())
    if not masks:
        return int(total)
    mods = dict(model.named_modules())
    bn_after = _bn_after(channel_layout(model))
    for name, keep in masks.items():
        dropped = int((~keep.bool()).sum())
        w = mods[name].weight
        total -= dropped * (w.numel() // w.shape[0])
        bn = mods.get(bn_after.get(name, ""), None)
        if isinstance(bn, nn.BatchNorm2d) and bn.affine:
            total -= 2 * dropped
    return int(total)


def count_flops(model: nn.Module, input_shape=(3, 32, 32), masks: dict[str, Tensor] | None = None) -> int:
    """Multiply-accumulates of all Conv2d / Linear layers for one input of ``input_shape``."""
    return count_flops_raw_and_effective(model, input_shape, masks)[1]


def count_flops_raw_and_effective(model: nn.Module, input_shape=(3, 32, 32),
                                  masks: dict[str, Tensor] | None = None) -> tuple[int, int]:
    """(raw MACs, MACs without the masked output filters), from one forward pass."""
    masks = _check_masks(model, masks)
    total = [0, 0]
    hooks = []

    def conv_hook(name):
        def hook(mod: nn.Conv2d, inp, out):
            kh, kw = mod.kernel_size
            per_out = out.shape[2] * out.shape[3] * (mod.in_channels // mod.groups) * kh * kw
            kept = mod.out_channels if name not in masks else int(masks[name].bool().sum())
            total[0] += per_out * mod.out_channels
            total[1] += per_out * kept
        return hook

    def linear_hook(mod: nn.Linear, inp, out):
        total[0] += mod.in_features * mod.out_features
        total[1] += mod.in_features * mod.out_features

    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook(name)))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear_hook))
    p = next(model.parameters())
    try:
        with torch.no_grad(), preserved_modes(model):
            model.eval()
            model(torch.zeros((1, *input_shape), dtype=p.dtype, device=p.device))
    finally:
        for h in hooks:
            h.remove()
    return int(total[0]), int(total[1])
