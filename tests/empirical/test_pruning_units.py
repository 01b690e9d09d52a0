"""Unit bookkeeping pinned: how many prunable units (and ranking groups) each network has, which
weights score them, and how a coupled residual stream is scored (the sum of its filters' scores)."""
import pytest
import torch

from empirical.models import MOBILENET_CFG, build
from empirical.pruning import StructuredPruner

# (arch, coupled) -> (ranking groups, prunable units), counted by hand from docs/paper.md §6
PINNED = {
    ("vgg13", False): (10, 2 * 64 + 2 * 128 + 2 * 256 + 4 * 512),                        # 2944
    # stem 32 + the 13 pointwise widths; depthwise convs follow their producer, never counted
    ("mobilenet_v1", False): (14, 32 + 64 + 128 + 128 + 256 + 256 + 5 * 512 + 512 + 1024 + 1024),
    # 27 block-internal conv1 groups (9·16 + 9·32 + 9·64) + 27 conv2 masks + 2 projection masks
    ("resnet56", False): (27 + 27 + 2, 1008 + 1008 + 32 + 64),                            # 2112
    # coupled: conv1s, the 9 stage-1 conv2 masks, one group per coupled stream (stages 2 and 3)
    ("resnet56", True): (27 + 9 + 2, 1008 + 9 * 16 + 32 + 64),                            # 1248
}


@pytest.mark.parametrize("arch, coupled", list(PINNED))
def test_unit_counts_are_pinned(arch, coupled):
    pr = StructuredPruner(build(arch, 10), arch, target=0.75, rounds=25, coupled_residual=coupled)
    groups, units = PINNED[(arch, coupled)]
    assert len(pr.groups) == groups and pr.units_total == units
    assert len({g.name for g in pr.groups}) == groups


def test_mobilenet_units_are_the_stem_and_pointwise_filters_only():
    model = build("mobilenet_v1", 10)
    pr = StructuredPruner(model, "mobilenet_v1", target=0.75, rounds=25)
    assert pr.units_total == 5984
    names = ["stem.conv"] + [f"blocks.{j}.pw" for j in range(len(MOBILENET_CFG))]
    assert [g.name for g in pr.groups] == names
    assert [g.score_from for g in pr.groups] == [(f"{n}.weight",) for n in names]
    assert pr.original == {"stem.conv": 32, **{f"blocks.{j}.pw": w for j, (w, _) in enumerate(MOBILENET_CFG)}}
    # every unit counts once in the global ranking: depthwise scores do not enter it
    params = dict(model.named_parameters())
    g = torch.Generator().manual_seed(0)
    scores = {n: torch.rand(p.shape[0], generator=g, dtype=torch.float64)
              for n, p in params.items() if p.dim() == 4}
    us = pr.unit_scores(model, scores)
    poisoned = {n: (s * 0 - 1e9 if ".dw." in n else s) for n, s in scores.items()}
    assert any(".dw." in n for n in scores)
    us2 = pr.unit_scores(model, poisoned)
    assert all(torch.equal(torch.as_tensor(us[k]), torch.as_tensor(us2[k])) for k in us)
    assert sum(len(v) for v in us.values()) == pr.units_total


def test_coupled_residual_stream_is_scored_by_the_sum_of_its_filters():
    model = build("resnet56", 10).double()
    pr = StructuredPruner(model, "resnet56", target=0.75, rounds=2, coupled_residual=True)
    g = torch.Generator().manual_seed(1)
    scores = {n: torch.rand(p.shape[0], generator=g, dtype=torch.float64)
              for n, p in model.named_parameters() if p.dim() == 4}
    us = pr.unit_scores(model, scores)
    for s in (2, 3):
        feeders = [f"layer{s}.{b}.conv2.weight" for b in range(9)] + [f"layer{s}.0.shortcut.conv.weight"]
        want = sum(scores[f] for f in feeders)
        assert torch.allclose(torch.as_tensor(us[f"layer{s}"]), want, rtol=0, atol=1e-12)
    # behaviour: a stream channel whose filters are each mediocre but sum lowest is the one removed
    width = 64
    for b in range(9):
        scores[f"layer3.{b}.conv2.weight"] = torch.full((width,), 10.0, dtype=torch.float64)
    scores["layer3.0.shortcut.conv.weight"] = torch.full((width,), 10.0, dtype=torch.float64)
    scores["layer3.0.shortcut.conv.weight"][5] = 0.0      # channel 5: sum 90, the lowest
    scores["layer3.4.conv2.weight"][9] = 1.0              # channel 9: one filter lowest, sum 91
    for n in scores:                                      # everything else far above
        if not n.startswith("layer3.") or ".conv1." in n:
            scores[n] = scores[n] + 1e6
    chosen = pr.select(pr.unit_scores(model, scores), 1)
    assert chosen["layer3"] == [5] and sum(len(v) for v in chosen.values()) == 1
