"""Global ranking, the per-layer floor by score, exclusion of pruned units, score plumbing."""
import pytest
import torch

from gftheory.importance import importance
from empirical.models import build
from empirical.pruning import StructuredPruner, cumulative_pruned


def _rand_scores(model, gen):
    return {n: torch.rand(w.shape[0], generator=gen) for n, w in model.named_parameters() if w.dim() > 1}


def test_floor_keeps_best_scored_and_round_count_still_met():
    gen = torch.Generator().manual_seed(0)
    model = build("vgg13", 10)
    pr = StructuredPruner(model, "vgg13", target=0.5, rounds=1)
    scores = _rand_scores(model, gen)
    scores["features.0.conv.weight"] = -1000 + torch.rand(64, generator=gen)   # whole layer lowest
    scores["features.1.conv.weight"] = scores["features.1.conv.weight"] - 1000
    new, rep = pr.prune_round(model, scores, 1)
    assert pr.floors["features.0.conv"] == 4 == pr.floors["features.1.conv"]   # int(0.05·64)+1
    assert pr.floors["features.12.conv"] == 26                                  # int(0.05·512)+1
    for g in ("features.0.conv", "features.1.conv"):
        best = torch.argsort(scores[f"{g}.weight"], descending=True)[:4].tolist()
        assert sorted(pr.alive[g]) == sorted(best)          # best-scored, not last-indexed
    assert rep.target_met and rep.units_pruned == 1472       # remainder taken from other layers
    # global ranking without per-layer normalisation: the other pruned units are exactly the
    # lowest remaining scores overall
    rest = [(float(scores[f"{g}.weight"][i]), g, i) for g in pr.alive if g not in
            ("features.0.conv", "features.1.conv") for i in range(pr.original[g])]
    rest.sort()
    n_other = 1472 - 2 * 60
    pruned_other = {(g, i) for _, g, i in rest[:n_other]}
    for g in pr.alive:
        if g not in ("features.0.conv", "features.1.conv"):
            dead = set(range(pr.original[g])) - set(pr.alive[g])
            assert dead == {i for gg, i in pruned_other if gg == g}
    assert new.features[0].conv.out_channels == 4 and new.features[1].conv.in_channels == 4


def test_floor_on_mask_groups_and_masked_units_leave_the_ranking():
    gen = torch.Generator().manual_seed(1)
    model = build("resnet56", 10)
    pr = StructuredPruner(model, "resnet56", target=0.7, rounds=3)
    scores = _rand_scores(model, gen)
    scores["layer3.4.conv2.weight"] = scores["layer3.4.conv2.weight"] - 10
    model, rep = pr.prune_round(model, scores, 1)
    best = torch.argsort(scores["layer3.4.conv2.weight"], descending=True)[:4].tolist()
    assert sorted(pr.alive["layer3.4.conv2"]) == sorted(best)
    # round 2: magnitude scores; masked filters are exactly zero and must not be "pruned" again
    masks = pr.masks()
    assert any((~m).any() for m in masks.values())
    for conv, keep in masks.items():
        w = dict(model.named_parameters())[f"{conv}.weight"]
        assert (w[~keep] == 0).all() and (w[keep].abs().sum((1, 2, 3)) > 0).all()
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([0, 1])
    scores2 = importance(model, "magnitude", (x, y))
    before = pr.units_active
    model, rep = pr.prune_round(model, scores2, 2)
    assert rep.units_pruned == cumulative_pruned(2, 2112, 0.7, 3) and rep.target_met
    assert before - pr.units_active == rep.units_pruned - cumulative_pruned(1, 2112, 0.7, 3)


def test_importance_output_drives_mobilenet_and_non_units_are_ignored():
    model = build("mobilenet_v1", 10)
    pr = StructuredPruner(model, "mobilenet_v1", target=0.3, rounds=2)
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([3, 4])
    scores = importance(model, "magnitude", (x, y))
    assert "blocks.3.dw.weight" in scores and "classifier.weight" in scores
    model, rep = pr.prune_round(model, scores, 1)
    assert rep.target_met
    for j in range(1, 13):                      # depthwise follows its producer
        assert model.blocks[j].dw.out_channels == model.blocks[j - 1].pw.out_channels
    assert model.blocks[0].dw.out_channels == model.stem.conv.out_channels
    assert model.classifier.in_features == model.blocks[12].pw.out_channels
    assert model.classifier.out_features == 10


def test_bad_scores_and_arguments():
    gen = torch.Generator().manual_seed(2)
    model = build("resnet56", 10)
    pr = StructuredPruner(model, "resnet56", target=0.5, rounds=2)
    scores = _rand_scores(model, gen)
    with pytest.raises(ValueError, match="no entry"):
        pr.prune_round(model, {k: v for k, v in scores.items() if "layer2.3.conv1" not in k}, 1)
    with pytest.raises(ValueError, match="entries"):
        pr.prune_round(model, {**scores, "layer1.0.conv1.weight": torch.rand(3)}, 1)
    bad = dict(scores)
    bad["layer1.0.conv1.weight"] = bad["layer1.0.conv1.weight"].clone()
    bad["layer1.0.conv1.weight"][0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        pr.prune_round(model, bad, 1)
    with pytest.raises(ValueError, match="round 2"):
        pr.prune_round(model, scores, 2)
    with pytest.raises(ValueError, match="arch"):
        StructuredPruner(model, "vgg13", target=0.5, rounds=2)
    with pytest.raises(ValueError, match="coupled_residual"):
        StructuredPruner(build("vgg13", 10), "vgg13", target=0.5, rounds=2, coupled_residual=True)
    with pytest.raises(ValueError, match="target"):
        StructuredPruner(model, "resnet56", target=1.0, rounds=2)


def test_unreachable_target_stops_at_floors_and_says_so():
    gen = torch.Generator().manual_seed(4)
    model = build("resnet56", 10)
    pr = StructuredPruner(model, "resnet56", target=0.99, rounds=1)
    with pytest.warns(RuntimeWarning, match="floors"):
        model, rep = pr.prune_round(model, _rand_scores(model, gen), 1)
    assert not rep.target_met and rep.units_pruned < rep.target_units_pruned
    assert all(len(a) == pr.floors[g] for g, a in pr.alive.items())
    assert pr.floors["layer1.0.conv1"] == 1 and pr.floors["layer3.0.conv1"] == 4
