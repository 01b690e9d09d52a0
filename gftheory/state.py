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
