"""Confidence intervals for the empirical verdicts.

Two-sample: difference of means d = mean(A) − mean(B) with the Welch t interval
d ± t_{0.975, ν} · sqrt(s_A²/n_A + s_B²/n_B), ν by Welch–Satterthwaite; cross-checked by a
seeded percentile bootstrap (each group resampled independently). One-sample: mean ± t·s/√n,
and the same bootstrap. Inputs are plain sequences of per-seed values.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _st

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 4000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    method: str

    def as_dict(self) -> dict:
        return asdict(self)


def describe(values) -> dict:
    """mean, sample std (ddof=1; 0 for n=1) and n of the per-seed values."""
    x = np.asarray(list(values), dtype=float)
    n = int(x.size)
    if n == 0:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if n > 1 else 0.0, "n": n}


def welch_interval(a, b, level: float = LEVEL) -> Interval:
    """Welch t interval for mean(a) − mean(b); needs n ≥ 2 in each group."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 2 or b.size < 2:
        raise ValueError("the Welch interval needs at least 2 values per group")
    d = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Interval(d, d, d, "welch-t")
    nu = (va + vb) ** 2 / ((va ** 2 / (a.size - 1) if va else 0.0) + (vb ** 2 / (b.size - 1) if vb else 0.0))
    half = float(_st.t.ppf(0.5 + level / 2, nu)) * se
    return Interval(d, d - half, d + half, "welch-t")


def t_interval(a, level: float = LEVEL) -> Interval:
    """One-sample t interval for mean(a); needs n ≥ 2."""
    a = np.asarray(a, float)
    if a.size < 2:
        raise ValueError("the t interval needs at least 2 values")
    m = float(a.mean())
    se = float(a.std(ddof=1)) / math.sqrt(a.size)
    half = float(_st.t.ppf(0.5 + level / 2, a.size - 1)) * se
    return Interval(m, m - half, m + half, "t")


def bootstrap_interval(a, b=None, level: float = LEVEL, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> Interval:
    """Seeded percentile bootstrap of mean(a) − mean(b) (or of mean(a) when b is None)."""
    rng = np.random.default_rng(seed)
    a = np.asarray(a, float)
    ma = a[rng.integers(0, a.size, (resamples, a.size))].mean(axis=1)
    if b is None:
        est, draws = float(a.mean()), ma
    else:
        b = np.asarray(b, float)
        mb = b[rng.integers(0, b.size, (resamples, b.size))].mean(axis=1)
        est, draws = float(a.mean() - b.mean()), ma - mb
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return Interval(est, float(lo), float(hi), "bootstrap")
