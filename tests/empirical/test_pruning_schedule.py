"""Per-round schedule r_k = p/(kp + n(1−p)) and the drift-free cumulative target (docs/paper.md §5, §7.4)."""
from fractions import Fraction

import pytest
import torch
from hypothesis import given, strategies as st

from empirical.models import build
from empirical.pruning import (StructuredPruner, cumulative_pruned, remaining_fraction,
                               round_ratio, target_counts)


@given(n=st.integers(1, 60), p=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.75, 0.9, 0.95, 0.99]),
       units=st.integers(1, 6000))
def test_schedule_ends_exactly_at_target(n, p, units):
    rho = Fraction(1)
    for k in range(1, n + 1):                      # product of (1 − r_k) vs closed form
        rho *= 1 - round_ratio(k, p, n)
        assert rho == remaining_fraction(k, p, n)
    assert remaining_fraction(n, p, n) == 1 - Fraction(str(p))
    counts = target_counts(units, p, n)
    assert all(c >= 0 for c in counts)
    expected = int(Fraction(str(p)) * units + Fraction(1, 2))      # round half up of U0·p
    assert sum(counts) == cumulative_pruned(n, units, p, n) == expected
    assert abs(sum(counts) - p * units) <= 0.5


def test_resnet_75_percent_25_rounds_no_drift():
    # U0 = 2112 ResNet-56 units (27 conv1 + 27 conv2 + 2 shortcuts, widths 16/32/64).
    assert sum(target_counts(2112, 0.75, 25)) == 1584
    # The authors' drift: truncating the running target each round ends well above 75 %.
    remaining = 2112
    for k in range(1, 26):
        remaining -= int(remaining * float(round_ratio(k, 0.75, 25)))
    assert remaining > 528       # truncation keeps more; ours keeps exactly 528


@pytest.mark.parametrize("arch,coupled,p,n", [("resnet56", False, 0.75, 25), ("resnet56", True, 0.75, 10),
                                               ("mobilenet_v1", False, 0.5, 7), ("vgg13", False, 0.9, 4)])
def test_pruner_hits_target_every_round(arch, coupled, p, n):
    torch.manual_seed(1)
    model = build(arch, 10)
    pr = StructuredPruner(model, arch, target=p, rounds=n, coupled_residual=coupled)
    for k in range(1, n + 1):
        scores = {name: torch.rand(w.shape[0]) for name, w in model.named_parameters() if w.dim() > 1}
        model, rep = pr.prune_round(model, scores, k)
        assert rep.target_met and rep.units_pruned == cumulative_pruned(k, rep.units_total, p, n)
        assert rep.target_channel_sparsity == pytest.approx(float(1 - remaining_fraction(k, p, n)))
        assert all(rep.group_units[g] >= pr.floors[g] for g in rep.group_units)
    assert rep.channel_sparsity == pytest.approx(p, abs=0.5 / rep.units_total)
    with pytest.raises(ValueError, match="round"):
        pr.prune_round(model, scores, n + 1)


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="target"):
        round_ratio(1, 1.0, 25)
    with pytest.raises(ValueError, match="rounds"):
        round_ratio(1, 0.5, 0)
    with pytest.raises(ValueError, match="round k"):
        round_ratio(26, 0.5, 25)
