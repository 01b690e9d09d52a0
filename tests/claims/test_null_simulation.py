"""Null simulation (issue 23, rules version 4): every positive statement the report makes —
confirmed, contradicted, equivalent, for a rule and for a claim in a cell — keeps its error ≤ α
when the truth sits on the boundary of its null hypothesis.

Data are drawn under the boundary nulls (true D exactly +δ, −δ, the equivalence margins ±δ) with a
fixed numpy seed and run through the real decision code (``decide.cell_from_values4`` and
``decide.claim_cell``; only the MDE, which decides nothing, is skipped for speed) for n = 3 and 8,
paired and Welch. Tolerance: α + 3 binomial standard errors of the Monte-Carlo frequency,
3·√(α(1 − α)/REPS) ≈ 0.015 at REPS = 2000 (a correct test exceeds it with probability ≈ 0.1 %).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from gftheory.claims import decide, rules
from gftheory.claims.registry import LP, LPE
from gftheory.claims.rules import Comparison

REPS = 2000
ALPHA = rules.ALPHA
SLACK = 3 * math.sqrt(ALPHA * (1 - ALPHA) / REPS)
SD = 0.5
RULES = [Comparison("magnitude", LP, "final_acc"), Comparison("magnitude", LPE, "final_acc"),
         Comparison("magnitude", "random", "final_acc")]
DELTA = RULES[0].delta


@pytest.fixture(autouse=True)
def _no_mde(monkeypatch):
    monkeypatch.setattr(decide, "mde_nct", lambda *a, **k: float("nan"))


def draw(rng, d: float, n: int, paired: bool):
    """Per-seed values of A and B with true mean difference d; paired: a shared per-seed effect
    (sd 2·SD) that the paired t cancels; Welch: independent groups, unequal spreads (SD, 1.5·SD)."""
    if paired:
        shared = rng.normal(0, 2 * SD, n)
        return list(shared + d + rng.normal(0, SD, n)), list(shared + rng.normal(0, SD, n))
    return list(rng.normal(d, SD, n)), list(rng.normal(0, 1.5 * SD, n))


def rate(hits: int) -> float:
    return hits / REPS


CONFIGS = [(n, paired) for n in (3, 8) for paired in (True, False)]


@pytest.mark.parametrize("n,paired", CONFIGS)
def test_rule_statements_keep_their_error(n, paired):
    rng = np.random.default_rng(20260 + 10 * n + paired)
    rule = RULES[0]
    counts = {"confirmed@+δ": 0, "contradicted@−δ": 0, "equivalent@+δ": 0, "equivalent@−δ": 0}
    for _ in range(REPS):
        counts["confirmed@+δ"] += decide.cell_from_values4(rule, *draw(rng, DELTA, n, paired),
                                                           paired=paired).verdict == "confirmed"
        counts["contradicted@−δ"] += decide.cell_from_values4(rule, *draw(rng, -DELTA, n, paired),
                                                              paired=paired).verdict == "contradicted"
        counts["equivalent@+δ"] += decide.cell_from_values4(rule, *draw(rng, DELTA, n, paired),
                                                            paired=paired).verdict == "equivalent"
        counts["equivalent@−δ"] += decide.cell_from_values4(rule, *draw(rng, -DELTA, n, paired),
                                                            paired=paired).verdict == "equivalent"
    for what, k in counts.items():
        assert rate(k) <= ALPHA + SLACK, f"{what}: {rate(k):.4f} > α + {SLACK:.4f} (n={n}, paired={paired})"
    # the one-sided tests are exact at the boundary (paired / one-sample t): the rate is near α, not near 0
    if paired:
        assert rate(counts["confirmed@+δ"]) >= ALPHA - SLACK


@pytest.mark.parametrize("n,paired", CONFIGS)
def test_claim_statements_keep_their_error(n, paired):
    rng = np.random.default_rng(31337 + 10 * n + paired)
    labels = [r.label() for r in RULES]
    conf = contra = equiv = 0
    for _ in range(REPS):
        # intersection–union: one rule exactly at +δ, the others far beyond it
        cells = {r.label(): decide.cell_from_values4(r, *draw(rng, DELTA if i == 0 else DELTA + 20 * SD, n, paired),
                                                     paired=paired) for i, r in enumerate(RULES)}
        conf += decide.claim_cell("E", "a", "d", labels, cells).verdict == "confirmed"
        # union (Holm over the claim's rules here): every rule exactly at −δ, independent
        cells = {r.label(): decide.cell_from_values4(r, *draw(rng, -DELTA, n, paired), paired=paired) for r in RULES}
        contra += decide.claim_cell("E", "a", "d", labels, cells).verdict == "contradicted"
        # equivalence (Holm over the rules' TOST): every rule exactly at the margin +δ
        cells = {r.label(): decide.cell_from_values4(r, *draw(rng, DELTA, n, paired), paired=paired) for r in RULES}
        equiv += decide.claim_cell("E", "a", "d", labels, cells).verdict == "equivalent"
    for what, k in (("confirmed", conf), ("contradicted", contra), ("equivalent", equiv)):
        assert rate(k) <= ALPHA + SLACK, f"claim {what}: {rate(k):.4f} (n={n}, paired={paired})"


def test_without_holm_the_union_would_exceed_alpha():
    """The check can fail: the same union judged rule by rule at α (no Holm) exceeds α."""
    rng = np.random.default_rng(99)
    hits = 0
    for _ in range(REPS):
        cells = [decide.cell_from_values4(r, *draw(rng, -DELTA, 3, True), paired=True) for r in RULES]
        hits += any(c.verdict == "contradicted" for c in cells)
    assert rate(hits) > ALPHA + SLACK
