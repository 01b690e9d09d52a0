"""Power of the one-sided t tests the rules make, and the sample sizes they need (float64, scipy).

Every test here is a t test on seeds as the unit. Write ``se`` for the true standard error of the
estimate D̂ and ``ν`` for its degrees of freedom:

* **one-sample / paired** (n values, or n pairs with the sd σ of the per-seed differences):
  se = σ/√n, ν = n − 1;
* **Welch** (n per group, true sds σ_a, σ_b): se = √(σ_a²/n + σ_b²/n) and the Welch–Satterthwaite
  ν = (σ_a²/n + σ_b²/n)² / ((σ_a²/n)²/(n − 1) + (σ_b²/n)²/(n − 1)), taken at the true variances
  (the usual approximation: Welch's statistic is only approximately noncentral t).

**Superiority** — H0: D ≤ c against D > c at level α rejects when T = (D̂ − c)/ŝe > t_{1−α,ν}.
T follows the noncentral t with ν df and noncentrality λ = (D − c)/se (exact for one-sample and
paired), so the power is

    power = P(t'_{ν,λ} > t_{1−α,ν}) = nct.sf(t_{1−α,ν}, ν, λ).

The test of H0: D ≥ c (a contradiction, D < c) is the same with D − c replaced by c − D.

**Equivalence** (TOST against ±δ, each one-sided test at α) rejects both H0: D ≤ −δ and H0: D ≥ δ
when −δ + t_{1−α,ν}·ŝe < D̂ < δ − t_{1−α,ν}·ŝe. With ŝe² = se²·V/ν, V ~ χ²_ν independent of D̂ ~
N(D, se²) (Owen 1965's representation),

    power = ∫₀^{v*} [Φ((δ − t·se√(v/ν) − D)/se) − Φ((−δ + t·se√(v/ν) − D)/se)] f_{χ²_ν}(v) dv,
    v* = ν·(δ/(t·se))²   (beyond v* the acceptance interval is empty),

integrated numerically (scipy.integrate.quad); exact for one-sample / paired, the Welch
approximation as above for two groups.

``n_for_power`` scans n = n_min … n_max for the smallest n whose power reaches the target
(None when none does); ``min_detectable`` inverts the superiority power for the true D at a given
n with the exact noncentral multiplier λ* (nct.sf(t_{1−α,ν}, ν, λ*) = power), D = c + λ*·se, which
is larger than the central approximation (t_{1−α,ν} + t_{power,ν}) at small ν.
"""
from __future__ import annotations

import math

from scipy import integrate as _integrate
from scipy import optimize as _optimize
from scipy import stats as _st

POWER = 0.80          # target power of the plan (rules.POWER)
N_MIN = 3             # the rules' minimum seeds per group (rules.MIN_SEEDS)
N_MAX = 50            # the most seeds per (architecture, protocol) a plan considers on this machine
DESIGNS = ("one-sample", "paired", "welch")
TARGETS = ("superiority", "equivalence")


def design_se_df(design: str, n: int, sd: float, sd_b: float | None = None) -> tuple[float, float]:
    """(se, ν) of D̂ for ``design`` with n seeds (per group for Welch); ``sd`` is the sd of the
    values (one-sample), of the per-seed differences (paired) or of group A (Welch, ``sd_b`` of B)."""
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; use one of {', '.join(DESIGNS)}")
    if n < 2:
        raise ValueError(f"n = {n}: a t test needs n ≥ 2")
    if not (sd >= 0 and math.isfinite(sd)):
        raise ValueError(f"sd = {sd} is not a finite non-negative number")
    if design in ("one-sample", "paired"):
        return sd / math.sqrt(n), float(n - 1)
    if sd_b is None or not (sd_b >= 0 and math.isfinite(sd_b)):
        raise ValueError("the Welch design needs sd_b, the sd of group B (finite, ≥ 0)")
    va, vb = sd * sd / n, sd_b * sd_b / n
    if va + vb == 0.0:
        return 0.0, float(2 * (n - 1))
    nu = (va + vb) ** 2 / (va * va / (n - 1) + vb * vb / (n - 1))
    return math.sqrt(va + vb), float(nu)


def power_t(effect: float, se: float, df: float, threshold: float = 0.0, alpha: float = 0.05) -> float:
    """P(reject H0: D ≤ threshold) at true D = ``effect``: nct.sf(t_{1−α,df}, df, (D − c)/se).
    se = 0 (no spread): 1 if D > c else 0."""
    if se == 0.0:
        return 1.0 if effect > threshold else 0.0
    tcrit = float(_st.t.ppf(1 - alpha, df))
    return float(_st.nct.sf(tcrit, df, (effect - threshold) / se))


def power_tost_t(effect: float, se: float, df: float, delta: float, alpha: float = 0.05) -> float:
    """P(both one-sided tests of TOST against ±δ reject) at true D = ``effect`` (module docstring)."""
    if delta <= 0:
        raise ValueError(f"the equivalence margin δ = {delta} must be positive")
    if se == 0.0:
        return 1.0 if abs(effect) < delta else 0.0
    tcrit = float(_st.t.ppf(1 - alpha, df))
    vmax = df * (delta / (tcrit * se)) ** 2
    norm = _st.norm

    def integrand(v: float) -> float:
        half = delta - tcrit * se * math.sqrt(v / df)
        if half <= 0:
            return 0.0
        p = norm.cdf((half - effect) / se) - norm.cdf((-half - effect) / se)
        return max(p, 0.0) * _st.chi2.pdf(v, df)

    # split at the χ² mode so quad sees the peak
    mode = max(df - 2.0, 0.0)
    points = [p for p in (mode,) if 0.0 < p < vmax]
    val, _err = _integrate.quad(integrand, 0.0, vmax, points=points or None, limit=200, epsabs=1e-10, epsrel=1e-8)
    return float(min(max(val, 0.0), 1.0))


def power(effect: float, sd: float, n: int, *, design: str = "paired", sd_b: float | None = None,
          threshold: float = 0.0, alpha: float = 0.05, target: str = "superiority", delta: float | None = None) -> float:
    """Power of the ``target`` test with n seeds: superiority of D over ``threshold`` (H0: D ≤ c),
    or equivalence within ±``delta`` (TOST). ``effect`` is the true D in the claimed direction."""
    se, df = design_se_df(design, n, sd, sd_b)
    if target == "superiority":
        return power_t(effect, se, df, threshold, alpha)
    if target == "equivalence":
        if delta is None:
            raise ValueError("the equivalence target needs delta")
        return power_tost_t(effect, se, df, delta, alpha)
    raise ValueError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")


def n_for_power(effect: float, sd: float, *, design: str = "paired", sd_b: float | None = None,
                threshold: float = 0.0, alpha: float = 0.05, target: str = "superiority",
                delta: float | None = None, goal: float = POWER, n_min: int = N_MIN,
                n_max: int = N_MAX) -> int | None:
    """The smallest n in [n_min, n_max] with ``power(...) ≥ goal``; None when no n up to n_max
    reaches it (e.g. a true D at or below the threshold). At the returned n (> n_min):
    power(n − 1) < goal ≤ power(n)."""
    if n_min < 2 or n_max < n_min:
        raise ValueError(f"bad range n_min = {n_min}, n_max = {n_max}")
    if target == "superiority" and effect <= threshold:
        return None            # power ≤ α for every n: not reachable
    for n in range(n_min, n_max + 1):
        if power(effect, sd, n, design=design, sd_b=sd_b, threshold=threshold, alpha=alpha, target=target,
                 delta=delta) >= goal:
            return n
    return None


def noncentral_multiplier(df: float, alpha: float = 0.05, goal: float = POWER) -> float:
    """λ* with nct.sf(t_{1−α,df}, df, λ*) = goal: the true (D − c)/se detected with power ``goal``."""
    tcrit = float(_st.t.ppf(1 - alpha, df))
    f = lambda lam: float(_st.nct.sf(tcrit, df, lam)) - goal   # noqa: E731
    hi = tcrit + float(_st.norm.ppf(goal)) + 1.0
    while f(hi) < 0:
        hi *= 2.0
    return float(_optimize.brentq(f, 0.0, hi, xtol=1e-12, rtol=1e-12))


def min_detectable(sd: float, n: int, *, design: str = "paired", sd_b: float | None = None,
                   threshold: float = 0.0, alpha: float = 0.05, goal: float = POWER) -> float:
    """Smallest true D detected beyond ``threshold`` with probability ``goal`` by the one-sided
    level-α test with n seeds: c + λ*·se, λ* the exact noncentral multiplier."""
    se, df = design_se_df(design, n, sd, sd_b)
    return float(threshold + noncentral_multiplier(df, alpha, goal) * se)


__all__ = ["POWER", "N_MIN", "N_MAX", "DESIGNS", "TARGETS", "design_se_df", "power_t", "power_tost_t", "power",
           "n_for_power", "noncentral_multiplier", "min_detectable"]
