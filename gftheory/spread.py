"""How much an importance ranking depends on the sample it is estimated from.

A measure scores the units from a finite importance sample S. With K independent samples
S_1 … S_K of the same size, s_k the scores of every unit on S_k (one global vector, as the
pruner ranks), and P_k(f) the set of the ⌈f·n⌉ lowest-scored units (what one pruning event of
fraction f removes):

- rank agreement: Spearman ρ(s_i, s_j) (average ranks for ties) for every pair i < j;
- pruned-set agreement: Jaccard |P_i ∩ P_j| / |P_i ∪ P_j| for every pair (ties at the boundary
  broken by unit position, as the pruner breaks them);
- per-unit relative spread: the median over units of std_k(s_k) / |mean_k(s_k)| (units whose
  mean is 0 are left out).

A data-free measure (magnitude) has ρ = 1 and Jaccard 1; a ranking that is noise has ρ ≈ 0.
``importance_spread`` scores a model on each sample with ``gftheory.importance``.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class RankingSpread:
    """The agreement of K score vectors over the same units (see the module docstring)."""
    samples: int
    units: int
    fraction: float
    rank_corr: tuple[float, ...]          # Spearman ρ for each pair i < j
    pruned_jaccard: tuple[float, ...]     # Jaccard of the pruned sets for each pair i < j
    median_rel_spread: float | None       # None when every unit's mean score is 0

    def summary(self) -> dict:
        """The figures a report shows: mean and min over pairs, and the spread."""
        def stats(xs):
            return {"mean": float(np.mean(xs)), "min": float(np.min(xs))} if xs else None
        return {"samples": self.samples, "units": self.units, "fraction": self.fraction,
                "rank_corr": stats(self.rank_corr), "pruned_jaccard": stats(self.pruned_jaccard),
                "median_rel_spread": self.median_rel_spread}

    def as_dict(self) -> dict:
        return asdict(self)


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata
    return rankdata(x, method="average")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman ρ with average ranks for ties; 1.0 when both vectors are constant, 0.0 when only
    one is (no ranking to agree with)."""
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    da, db = float(np.sqrt((ra ** 2).sum())), float(np.sqrt((rb ** 2).sum()))
    if da == 0.0 and db == 0.0:
        return 1.0
    if da == 0.0 or db == 0.0:
        return 0.0
    return float((ra * rb).sum() / (da * db))


def pruned_set(scores: np.ndarray, fraction: float) -> set[int]:
    """The ⌈fraction·n⌉ lowest-scored unit positions (ties: the lower position first)."""
    n = len(scores)
    k = min(n, math.ceil(fraction * n))
    order = np.lexsort((np.arange(n), scores))
    return set(int(i) for i in order[:k])


def jaccard_pairs(sets: Sequence[set]) -> tuple[float, ...]:
    """|A ∩ B| / |A ∪ B| for every pair i < j of ``sets`` (1.0 for two empty sets)."""
    return tuple((len(a & b) / len(a | b)) if (a | b) else 1.0 for a, b in itertools.combinations(sets, 2))


def ranking_spread(score_sets: Sequence[np.ndarray], fraction: float) -> RankingSpread:
    """Agreement of ``score_sets`` (K ≥ 2 vectors over the same n units) at pruning ``fraction``."""
    vecs = [np.asarray(s, dtype=np.float64).reshape(-1) for s in score_sets]
    if len(vecs) < 2:
        raise ValueError(f"need at least 2 score vectors to compare, got {len(vecs)}")
    n = len(vecs[0])
    if n == 0 or any(len(v) != n for v in vecs):
        raise ValueError(f"score vectors must be non-empty and of one length, got {[len(v) for v in vecs]}")
    if not all(np.isfinite(v).all() for v in vecs):
        raise ValueError("score vectors must be finite")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    pairs = list(itertools.combinations(range(len(vecs)), 2))
    sets = [pruned_set(v, fraction) for v in vecs]
    corr = tuple(spearman(vecs[i], vecs[j]) for i, j in pairs)
    jac = jaccard_pairs(sets)
    stack = np.stack(vecs)
    mean = stack.mean(axis=0)
    ok = mean != 0
    rel = float(np.median(stack[:, ok].std(axis=0, ddof=1) / np.abs(mean[ok]))) if ok.any() else None
    return RankingSpread(samples=len(vecs), units=n, fraction=float(fraction), rank_corr=corr,
                         pruned_jaccard=jac, median_rel_spread=rel)


def flatten_scores(scores: dict, names: Sequence[str] | None = None) -> np.ndarray:
    """One global vector from {weight name: per-unit scores} (``names`` order, default sorted)."""
    keys = list(names) if names is not None else sorted(scores)
    return np.concatenate([np.asarray(scores[k].detach().double().cpu() if hasattr(scores[k], "detach")
                                      else scores[k], dtype=np.float64).reshape(-1) for k in keys])


def importance_spread(model, measure, samples: Sequence, *, fraction: float, temperature: float = 1.0,
                      seed: int = 0) -> RankingSpread:
    """Score ``model`` with ``measure`` (``gftheory.importance``, unit = filter) on each sample of
    ``samples`` (each one batch or an iterable of batches, as ``importance`` takes) and compare
    the per-filter rankings. ``random`` gets a different seed per sample (its ranking is noise)."""
    from gftheory.importance import importance
    score_sets = []
    for k, batches in enumerate(samples):
        s = importance(model, measure, batches, unit="filter", temperature=temperature, seed=seed + k)
        score_sets.append(flatten_scores(s))
    return ranking_spread(score_sets, fraction)


__all__ = ["RankingSpread", "spearman", "pruned_set", "jaccard_pairs", "ranking_spread", "flatten_scores", "importance_spread"]
