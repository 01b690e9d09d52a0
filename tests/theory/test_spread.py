"""Importance-sample spread (gftheory.spread): the rank and pruned-set agreement of one measure's
rankings across importance samples. Each quantity is checked against an independent reference —
Spearman ρ against scipy.stats.spearmanr, the pruned set against a brute-force sort, Jaccard against
its definition — on Hypothesis-generated score vectors with ties and scales over twelve orders of
magnitude; on generated networks a data-free measure agrees perfectly across samples and a
data-dependent one agrees perfectly with itself on the same sample."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.stats import spearmanr

from gftheory.spread import flatten_scores, importance_spread, pruned_set, ranking_spread, spearman
from strategies import WITH_RELU, problems

TOL = 1e-12

# score vectors: few distinct levels (ties) or continuous, at any positive scale
vectors = st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.lists(st.one_of(st.integers(0, 5).map(float), st.floats(-1e3, 1e3, allow_nan=False)), min_size=n, max_size=n),
    st.lists(st.one_of(st.integers(0, 5).map(float), st.floats(-1e3, 1e3, allow_nan=False)), min_size=n, max_size=n)))
fractions = st.floats(0.01, 1.0)
scales = st.floats(1e-6, 1e6)


@given(vectors)
def test_spearman_matches_scipy(pair):
    a, b = (np.array(v) for v in pair)
    if np.ptp(a) == 0 or np.ptp(b) == 0:       # scipy returns nan: our convention is stated
        assert spearman(a, b) == (1.0 if np.ptp(a) == np.ptp(b) == 0 else 0.0)
        return
    want = float(spearmanr(a, b).statistic)
    assert abs(spearman(a, b) - want) <= TOL


@given(vectors, fractions, scales)
def test_pruned_set_is_the_lowest_scored_units_ties_by_position(pair, fraction, scale):
    s = np.array(pair[0]) * scale
    k = min(len(s), math.ceil(fraction * len(s)))
    want = set(sorted(range(len(s)), key=lambda i: (s[i], i))[:k])
    assert pruned_set(s, fraction) == want


@given(vectors, fractions, scales)
def test_agreement_is_the_definition_and_invariant_to_scale(pair, fraction, scale):
    a, b = (np.array(v) for v in pair)
    out = ranking_spread([a, b], fraction)
    pa, pb = pruned_set(a, fraction), pruned_set(b, fraction)
    assert out.pruned_jaccard == (len(pa & pb) / len(pa | pb),)
    assert out.samples == 2 and out.units == len(a)
    scaled = ranking_spread([a * scale, b * scale], fraction)      # rankings do not see a positive scale
    assert scaled.rank_corr == pytest.approx(out.rank_corr, abs=TOL) and scaled.pruned_jaccard == out.pruned_jaccard
    same = ranking_spread([a, a, a], fraction)
    assert same.rank_corr == pytest.approx((1.0, 1.0, 1.0), abs=TOL) and same.pruned_jaccard == (1.0, 1.0, 1.0)
    assert same.median_rel_spread in (0.0, None)


def test_relative_spread_and_reversed_rankings():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    out = ranking_spread([a, a[::-1].copy()], 0.5)
    assert out.rank_corr == (pytest.approx(-1.0),) and out.pruned_jaccard == (0.0,)
    # each unit: std of (x, 5 − x) / |2.5|
    want = np.median([np.std([x, 5 - x], ddof=1) / 2.5 for x in a])
    assert out.median_rel_spread == pytest.approx(want, rel=TOL)


@pytest.mark.parametrize("bad, word", [([np.ones(3)], "at least 2"), ([np.ones(3), np.ones(4)], "one length"),
                                       ([np.ones(3), np.array([1, np.nan, 1])], "finite")])
def test_bad_input_is_rejected(bad, word):
    with pytest.raises(ValueError, match=word):
        ranking_spread(bad, 0.1)
    with pytest.raises(ValueError, match="fraction"):
        ranking_spread([np.ones(3), np.ones(3)], 0.0)


@given(problems(max_params=150, activations=WITH_RELU), fractions)
def test_on_generated_networks_data_free_rankings_agree_and_a_sample_agrees_with_itself(problem, fraction):
    samples = [problem.batches, [(x.flip(0) * 0.5, y.flip(0)) for x, y in problem.batches]]
    mag = importance_spread(problem.model, "magnitude", samples, fraction=fraction,
                            temperature=problem.temperature)
    assert mag.rank_corr == pytest.approx((1.0,), abs=TOL) and mag.pruned_jaccard == (1.0,)
    same = importance_spread(problem.model, "loss_preservation_elementwise", [problem.batches, problem.batches],
                             fraction=fraction, temperature=problem.temperature)
    assert same.rank_corr == pytest.approx((1.0,), abs=TOL) and same.pruned_jaccard == (1.0,)
    from gftheory.importance import importance
    got = importance_spread(problem.model, "grasp", samples, fraction=fraction, temperature=problem.temperature)
    direct = [flatten_scores(importance(problem.model, "grasp", s, temperature=problem.temperature))
              for s in samples]
    assert got.units == len(direct[0]) and got.rank_corr[0] == pytest.approx(spearman(*direct), abs=TOL)
