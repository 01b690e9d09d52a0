"""Quota-matched selection (empirical.pruning.quota): within-group lowest scores with each group's
count fixed; checked against a brute-force sort and against the global pruner itself (the global
ranking's own per-group counts, used as a quota with the same scores, must give the same units)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.models import build
from empirical.pruning import StructuredPruner
from empirical.pruning.quota import prune_round_with_quota, quota_of, select_with_quota


pytestmark = pytest.mark.usefixtures("single_thread")


def test_select_with_quota_matches_a_brute_force_sort():
    rng = np.random.default_rng(100)
    scores = {"a": torch.tensor(rng.normal(size=9)), "b": rng.normal(size=5), "c": rng.normal(size=3)}
    scores["b"][3] = scores["b"][1]           # a tie: the lower index goes first
    quota = {"a": 4, "b": 2}
    got = select_with_quota(scores, quota)
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        want = sorted(sorted(range(len(s)), key=lambda i: (s[i], i))[:quota.get(name, 0)])
        assert got[name] == want
    assert got["c"] == []
    assert select_with_quota(scores, {"a": 2}, candidates={"a": [7, 8]})["a"] == [7, 8]
    for bad in ({"a": 10}, {"z": 1}, {"a": -1}, {"a": 1.5}):
        with pytest.raises(ValueError):
            select_with_quota(scores, bad)


@pytest.mark.parametrize("arch", ["vgg13", "resnet56", "mobilenet_v1"])
def test_global_rounds_own_quota_reproduces_the_global_round(arch):
    """Two rounds (the second on a pruned model, mask groups with dead filters): the quota taken
    from a global round, applied with the same scores, removes exactly the same units."""
    torch.manual_seed(0)
    model = build(arch, 10).eval()
    g = torch.Generator().manual_seed(101)

    def rand_scores(m):
        return {n: torch.rand(p.shape[0], generator=g, dtype=torch.float64)
                for n, p in m.named_parameters() if p.dim() > 1}

    ref = StructuredPruner(model, arch, target=0.75, rounds=3)
    alt = StructuredPruner(model, arch, target=0.75, rounds=3)
    s1 = rand_scores(model)
    m_ref, r_ref = ref.prune_round(model, s1, 1)
    m_alt, r_alt = prune_round_with_quota(alt, model, s1, 1, quota_of(r_ref))
    assert r_alt.removed == r_ref.removed and ref.alive == alt.alive
    s2 = rand_scores(m_ref)
    _, r_ref2 = ref.prune_round(m_ref, s2, 2)
    _, r_alt2 = prune_round_with_quota(alt, m_alt, s2, 2, quota_of(r_ref2))
    assert r_alt2.removed == r_ref2.removed and r_alt2.group_units == r_ref2.group_units
    # a different measure under the same quota: identical per-group counts, other units
    other = {n: -s for n, s in s1.items()}
    fresh = StructuredPruner(model, arch, target=0.75, rounds=3)
    _, r_q = prune_round_with_quota(fresh, model, other, 1, quota_of(r_ref))
    assert quota_of(r_q) == quota_of(r_ref) and r_q.removed != r_ref.removed
    assert "select" not in fresh.__dict__


def test_quota_below_the_floor_is_refused_and_leaves_the_pruner_unchanged():
    model = build("vgg13", 10).eval()
    pr = StructuredPruner(model, "vgg13", target=0.75, rounds=3)
    name = pr.groups[0].name
    state = pr.state_dict()
    with pytest.raises(ValueError, match="floor"):
        prune_round_with_quota(pr, model, {n: torch.ones(p.shape[0]) for n, p in model.named_parameters()
                                           if p.dim() > 1}, 1, {name: pr.original[name]})
    assert pr.state_dict() == state and "select" not in pr.__dict__
