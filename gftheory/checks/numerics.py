"""Small numerical helpers of the checks: relative error, finite differences, order fits.

Relative error (stated once, used everywhere):
    rel(a, b) = max_i |a_i − b_i| / max(max_i |a_i|, max_i |b_i|, floor)
— the worst entry measured against the scale of the whole vector (so that one tiny
per-unit entry is not judged on its own noise).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


def to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy().reshape(-1)
    return np.asarray(x, dtype=np.float64).reshape(-1)


def rel_err(a, b, floor: float) -> float:
    """max|a − b| / max(max|a|, max|b|, floor) (see module docstring)."""
    a, b = to_numpy(a), to_numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b)) / scale)


# Central finite-difference stencils of order h⁴ on the points t0 + k·h, k = −2..2.
D1_WEIGHTS = np.array([1.0, -8.0, 0.0, 8.0, -1.0]) / 12.0
D2_WEIGHTS = np.array([-1.0, 16.0, -30.0, 16.0, -1.0]) / 12.0
STENCIL = (-2, -1, 0, 1, 2)


def d1(values, h: float) -> np.ndarray:
    """First derivative at the centre from 5 samples (order h⁴)."""
    return sum(w * to_numpy(v) for w, v in zip(D1_WEIGHTS, values)) / h


def d2(values, h: float) -> np.ndarray:
    """Second derivative at the centre from 5 samples (order h⁴)."""
    return sum(w * to_numpy(v) for w, v in zip(D2_WEIGHTS, values)) / h ** 2


def fit_order(eps, errors) -> float:
    """Least-squares slope of log|error| against log ε (the order p of error ∝ ε^p)."""
    e = np.abs(np.asarray(errors, dtype=np.float64))
    x = np.log(np.asarray(eps, dtype=np.float64))
    if np.any(e <= 0) or not np.all(np.isfinite(e)):
        return float("nan")
    return float(np.polyfit(x, np.log(e), 1)[0])


@dataclass
class Observation:
    """One measured number of one case for one (statement id, method).

    kind: "rel_err" (value = relative error, lower is better), "order" (value = fitted order),
    "violation" (value = a non-negative violation measure, 0 = holds), "info" (reported only).
    """
    id: str
    method: str
    kind: str
    value: float
    case: str = ""
    extra: dict = field(default_factory=dict)
