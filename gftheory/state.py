"""Guarantee that scoring leaves a model exactly as it was: mode flags of every submodule."""
from __future__ import annotations

from contextlib import contextmanager

from torch import nn


@contextmanager
def preserved_modes(model: nn.Module):
    """Restore every submodule's ``training`` flag on exit."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        yield model
    finally:
        for m, f in flags:
            m.training = f


def bn_mode(model: nn.Module) -> str:
    """"eval" if every normalisation layer of ``model`` uses its running statistics, "train" if
    every one uses batch statistics, "mixed" otherwise ("none" without such layers)."""
    flags = {m.training for m in model.modules() if isinstance(m, nn.modules.batchnorm._NormBase)}
    if not flags:
        return "none"
    return "mixed" if len(flags) == 2 else ("train" if flags.pop() else "eval")
