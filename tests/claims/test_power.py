"""The power of the rules' t tests (gftheory.claims.power) against Monte-Carlo simulations of the
tests themselves (fixed seeds; tolerance 0.015 for the exact formulas = more than 4 Monte-Carlo
standard errors at 40,000 replicates; 0.025 for Welch, whose noncentral-t power is an
approximation), and the sample-size search at its boundary."""
import math

import numpy as np
import pytest
from scipy import stats as st

from gftheory.claims.power import (N_MAX, design_se_df, min_detectable, n_for_power, noncentral_multiplier, power,
                                   power_tost_t)

REPS = 40_000
TOL = 0.015


def _tcrit(alpha, df):
    return st.t.ppf(1 - alpha, df)


def mc_one_sample(effect, sd, n, c, alpha, rng):
    x = rng.normal(effect, sd, size=(REPS, n))
    t = (x.mean(1) - c) / (x.std(1, ddof=1) / math.sqrt(n))
    return float(np.mean(t > _tcrit(alpha, n - 1)))


def mc_paired(effect, sd_a, sd_b, rho, n, c, alpha, rng):
    """Pairs (A, B) with correlation ρ: the paired test uses the per-seed differences."""
    cov = [[sd_a ** 2, rho * sd_a * sd_b], [rho * sd_a * sd_b, sd_b ** 2]]
    ab = rng.multivariate_normal([effect, 0.0], cov, size=(REPS, n))
    d = ab[..., 0] - ab[..., 1]
    t = (d.mean(1) - c) / (d.std(1, ddof=1) / math.sqrt(n))
    return float(np.mean(t > _tcrit(alpha, n - 1))), math.sqrt(sd_a ** 2 + sd_b ** 2 - 2 * rho * sd_a * sd_b)


def mc_welch(effect, sd_a, sd_b, n, c, alpha, rng):
    a = rng.normal(effect, sd_a, size=(REPS, n))
    b = rng.normal(0.0, sd_b, size=(REPS, n))
    va, vb = a.var(1, ddof=1) / n, b.var(1, ddof=1) / n
    nu = (va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1))
    t = (a.mean(1) - b.mean(1) - c) / np.sqrt(va + vb)
    return float(np.mean(t > st.t.ppf(1 - alpha, nu)))


def mc_tost(effect, sd, n, delta, alpha, rng):
    x = rng.normal(effect, sd, size=(REPS, n))
    m, se = x.mean(1), x.std(1, ddof=1) / math.sqrt(n)
    tc = _tcrit(alpha, n - 1)
    return float(np.mean(((m + delta) / se > tc) & ((m - delta) / se < -tc)))


@pytest.mark.parametrize("effect,sd,n,c", [(1.0, 1.0, 5, 0.25), (0.6, 0.5, 3, 0.1), (2.0, 3.0, 12, 0.0),
                                           (0.1, 1.0, 4, 0.25)])
def test_one_sample_power_matches_simulation(effect, sd, n, c):
    rng = np.random.default_rng(11)
    exact = power(effect, sd, n, design="one-sample", threshold=c, alpha=0.05)
    assert exact == pytest.approx(mc_one_sample(effect, sd, n, c, 0.05, rng), abs=TOL)


@pytest.mark.parametrize("rho,n", [(0.8, 4), (0.5, 6), (0.0, 3)])
def test_paired_power_uses_the_sd_of_differences(rho, n):
    rng = np.random.default_rng(12)
    sim, sd_d = mc_paired(1.0, 1.0, 1.2, rho, n, 0.25, 0.05, rng)
    assert power(1.0, sd_d, n, design="paired", threshold=0.25) == pytest.approx(sim, abs=TOL)


@pytest.mark.parametrize("effect,sd_a,sd_b,n", [(1.5, 1.0, 1.0, 5), (2.0, 0.5, 2.0, 8), (1.0, 1.0, 0.3, 4)])
def test_welch_power_matches_simulation(effect, sd_a, sd_b, n):
    rng = np.random.default_rng(13)
    approx = power(effect, sd_a, n, design="welch", sd_b=sd_b, threshold=0.25)
    assert approx == pytest.approx(mc_welch(effect, sd_a, sd_b, n, 0.25, 0.05, rng), abs=0.025)


@pytest.mark.parametrize("effect,sd,n,delta", [(0.0, 1.0, 10, 1.0), (0.3, 0.5, 6, 0.8), (0.0, 0.02, 3, 0.05),
                                               (0.5, 1.0, 20, 0.8)])
def test_tost_power_matches_simulation(effect, sd, n, delta):
    rng = np.random.default_rng(14)
    exact = power(effect, sd, n, design="one-sample", target="equivalence", delta=delta)
    assert exact == pytest.approx(mc_tost(effect, sd, n, delta, 0.05, rng), abs=TOL)


def test_tost_power_is_zero_when_the_interval_cannot_fit():
    # n = 3, sd large against δ: the acceptance interval is empty for almost every sample
    assert power_tost_t(0.0, 10.0, 2, 0.1) < 1e-3


def test_welch_df_is_welch_satterthwaite():
    se, df = design_se_df("welch", 5, 1.0, 2.0)
    va, vb = 1 / 5, 4 / 5
    assert se == pytest.approx(math.sqrt(va + vb))
    assert df == pytest.approx((va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 4))
    assert design_se_df("welch", 5, 1.0, 1.0)[1] == pytest.approx(8.0)     # equal variances: 2(n − 1)
    assert design_se_df("paired", 5, 2.0) == pytest.approx((2 / math.sqrt(5), 4.0))


@pytest.mark.parametrize("kw", [dict(effect=1.0, sd=1.0, threshold=0.25, design="paired"),
                                dict(effect=0.9, sd=0.7, threshold=0.25, design="welch", sd_b=1.1),
                                dict(effect=0.0, sd=0.4, design="one-sample", target="equivalence", delta=0.5)])
def test_n_for_power_is_exact_at_the_boundary(kw):
    n = n_for_power(**kw)
    assert n is not None and 3 <= n <= N_MAX
    pw = lambda k: power(kw["effect"], kw["sd"], k, **{x: v for x, v in kw.items() if x not in ("effect", "sd")})  # noqa: E731
    assert pw(n) >= 0.8
    if n > 3:
        assert pw(n - 1) < 0.8


def test_n_for_power_is_monotone():
    # larger effects never need more seeds; larger spreads never fewer
    ns = [n_for_power(e, 1.0, threshold=0.25, n_max=400) for e in (0.6, 0.8, 1.0, 1.5, 2.5, 5.0)]
    assert all(a >= b for a, b in zip(ns, ns[1:])) and ns[0] > ns[-1]
    ns = [n_for_power(1.0, s, threshold=0.25, n_max=400) for s in (0.2, 0.5, 1.0, 1.5)]
    assert all(a <= b for a, b in zip(ns, ns[1:])) and ns[0] < ns[-1]
    assert ns[0] == 3          # a tiny spread still needs the rules' minimum


def test_n_for_power_unreachable_is_none():
    assert n_for_power(0.2, 1.0, threshold=0.25) is None          # D below the threshold: never
    assert n_for_power(0.3, 5.0, threshold=0.25) is None          # reachable only far beyond N_MAX
    assert n_for_power(0.3, 5.0, threshold=0.25, n_max=100_000) is not None


def test_min_detectable_inverts_power():
    rng = np.random.default_rng(15)
    for n in (3, 5, 10):
        mde = min_detectable(1.0, n, design="paired", threshold=0.25)
        assert power(mde, 1.0, n, design="paired", threshold=0.25) == pytest.approx(0.8, abs=1e-9)
        assert mc_one_sample(mde, 1.0, n, 0.25, 0.05, rng) == pytest.approx(0.8, abs=TOL)
        # the multiplier is the noncentral one, not the normal approximation z_{1-α} + z_{power}
        assert noncentral_multiplier(n - 1) > st.norm.ppf(0.95) + st.norm.ppf(0.8) + 0.1
