"""enforce_masks under SGD, state_dict round trip / resume, sparsity report vs independent recount."""
import json

import pytest
import torch
import torch.nn.functional as F

from empirical.flops import count_flops, count_params
from empirical.models import build, widths_of
from empirical.pruning import StructuredPruner


def _rand_scores(model, gen):
    return {n: torch.rand(w.shape[0], generator=gen) for n, w in model.named_parameters() if w.dim() > 1}


def test_enforce_masks_after_sgd_momentum_weight_decay():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = build("resnet56", 10)
    pr = StructuredPruner(model, "resnet56", target=0.5, rounds=2)
    model, _ = pr.prune_round(model, _rand_scores(model, gen), 1)
    masks = pr.masks()
    assert sum(int((~m).sum()) for m in masks.values()) > 0
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    mods = dict(model.named_modules())
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    model.train()
    for step in range(2):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if step == 0:
            # removed units get exactly zero gradient (the keep-mask after their BN), so SGD with
            # momentum and weight decay leaves them at zero even before enforcement ...
            with torch.no_grad():
                leaked = max(float(mods[c.replace("conv2", "bn2").replace("shortcut.conv", "shortcut.bn")]
                                   .bias[~m].abs().max()) for c, m in masks.items() if (~m).any())
            assert leaked == 0
            # ... and enforcement restores them if anything else moves them
            with torch.no_grad():
                for conv, keep in masks.items():
                    mods[conv].weight[~keep] = 1.0
        if step == 1:
            with torch.no_grad():
                for conv, keep in masks.items():
                    bn = mods[conv.replace("conv2", "bn2").replace("shortcut.conv", "shortcut.bn")]
                    bn.bias[~keep] = 1.0
        pr.enforce_masks(model)
        for conv, keep in masks.items():
            bn = mods[conv.replace("conv2", "bn2").replace("shortcut.conv", "shortcut.bn")]
            assert (mods[conv].weight[~keep] == 0).all()
            assert (bn.weight[~keep] == 0).all() and (bn.bias[~keep] == 0).all()
            assert (mods[conv].weight[keep] != 0).any()


@pytest.mark.parametrize("arch,coupled", [("resnet56", True), ("mobilenet_v1", False)])
def test_state_round_trip_and_resume_equals_uninterrupted(arch, coupled):
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    model = build(arch, 100)
    pr = StructuredPruner(model, arch, target=0.6, rounds=4, coupled_residual=coupled)
    s = [None] + [None] * 4
    for k in (1, 2):
        s[k] = _rand_scores(model, gen)
        model, _ = pr.prune_round(model, s[k], k)
    saved_pruner = json.dumps(pr.state_dict())
    saved_widths = json.dumps(widths_of(model))
    saved_weights = {k: v.clone() for k, v in model.state_dict().items()}

    resumed = build(arch, 100, json.loads(saved_widths))
    resumed.load_state_dict(saved_weights)
    pr2 = StructuredPruner(resumed, arch, target=0.6, rounds=4, coupled_residual=coupled)
    pr2.load_state_dict(json.loads(saved_pruner))
    assert pr2.state_dict() == pr.state_dict()
    s3 = _rand_scores(model, gen)
    a, rep_a = pr.prune_round(model, s3, 3)
    b, rep_b = pr2.prune_round(resumed, s3, 3)
    assert rep_a.as_dict() == rep_b.as_dict()
    json.dumps(rep_a.as_dict())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    with pytest.raises(ValueError, match="target"):
        StructuredPruner(resumed, arch, target=0.5, rounds=4, coupled_residual=coupled).load_state_dict(
            json.loads(saved_pruner))
    fresh = StructuredPruner(build(arch, 100), arch, target=0.6, rounds=4, coupled_residual=coupled)
    with pytest.raises(ValueError, match="pruner state"):
        fresh.prune_round(b, s3, 1)          # pruned model, unpruned state: refused


def _recount_macs(arch, model):
    """MACs from the §6 definitions, widths read off the model, masked filters = all-zero rows."""
    def kept(conv):
        return int((conv.weight.flatten(1).abs().sum(1) > 0).sum())
    if arch == "vgg13":
        total, h = 0, 32
        for m in model.features:
            if isinstance(m, torch.nn.MaxPool2d):
                h //= 2
            else:
                total += h * h * m.conv.in_channels * m.conv.out_channels * 9
        return total + model.classifier.in_features * model.classifier.out_features
    if arch == "mobilenet_v1":
        total, h = 32 * 32 * 3 * model.stem.conv.out_channels * 9, 32
        for blk in model.blocks:
            h //= blk.dw.stride[0]
            total += h * h * blk.dw.out_channels * 9 + h * h * blk.pw.in_channels * blk.pw.out_channels
        return total + model.classifier.in_features * model.classifier.out_features
    total, h = 32 * 32 * 3 * 16 * 9, 32
    for layer in (model.layer1, model.layer2, model.layer3):
        for blk in layer:
            h //= blk.conv1.stride[0]
            total += h * h * blk.conv1.in_channels * blk.conv1.out_channels * 9
            total += h * h * blk.conv2.in_channels * kept(blk.conv2) * 9
            if blk.shortcut is not None:
                total += h * h * blk.shortcut.conv.in_channels * kept(blk.shortcut.conv)
    return total + model.classifier.in_features * model.classifier.out_features


def _recount_params(model):
    total = sum(p.numel() for p in model.parameters())
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            rows = m.weight.flatten(1)
            total -= int((rows.abs().sum(1) == 0).sum()) * rows.shape[1]
        elif isinstance(m, torch.nn.BatchNorm2d):
            total -= 2 * int(((m.weight == 0) & (m.bias == 0)).sum())
    return total


@pytest.mark.parametrize("arch,coupled", [("vgg13", False), ("mobilenet_v1", False),
                                          ("resnet56", False), ("resnet56", True)])
def test_sparsity_report_matches_recount(arch, coupled):
    gen = torch.Generator().manual_seed(5)
    torch.manual_seed(5)
    model = build(arch, 10)
    original = build(arch, 10)
    p0, f0 = _recount_params(original), _recount_macs(arch, original)
    pr = StructuredPruner(model, arch, target=0.7, rounds=3, coupled_residual=coupled)
    for k in (1, 2):
        model, rep = pr.prune_round(model, _rand_scores(model, gen), k)
        assert rep.params == _recount_params(model) and rep.flops == _recount_macs(arch, model)
        assert rep.params_raw == sum(p.numel() for p in model.parameters()) == count_params(model)
        assert rep.flops_raw == count_flops(model) >= rep.flops
        assert rep.param_sparsity == pytest.approx(1 - rep.params / p0, abs=1e-12)
        assert rep.flop_sparsity == pytest.approx(1 - rep.flops / f0, abs=1e-12)
        units = sum(widths_of(model)[g.space] for g in pr.groups if g.kind == "physical")
        units += sum(int(m.sum()) for m in pr.masks().values())
        assert rep.channels == units == rep.units_total - rep.units_pruned
        assert rep.channel_sparsity == pytest.approx(1 - units / rep.units_total)
        assert rep.target_met and rep.widths_before != rep.widths_after
        d = rep.as_dict()
        for key in ("round", "widths_before", "widths_after", "channels", "params", "flops",
                    "channel_sparsity", "param_sparsity", "flop_sparsity", "target_channel_sparsity"):
            assert key in d
        json.dumps(d)
    assert _recount_macs(arch, original) == count_flops(original)


def test_narrow_variant_is_its_own_original_and_resumes():
    gen = torch.Generator().manual_seed(9)
    narrow = {k: v // 8 for k, v in widths_of(build("vgg13", 10)).items()}
    model = build("vgg13", 10, narrow)
    pr = StructuredPruner(model, "vgg13", target=0.5, rounds=2)
    assert pr.units_total == sum(narrow.values()) and pr.original_params == count_params(model)
    model, rep = pr.prune_round(model, _rand_scores(model, gen), 1)
    assert rep.target_met and rep.channel_sparsity == pytest.approx(0.5 * 1 / 1.5, abs=0.5 / 368)
    state = json.loads(json.dumps(pr.state_dict()))
    pr2 = StructuredPruner(build("vgg13", 10), "vgg13", target=0.5, rounds=2)
    with pytest.raises(ValueError, match="inconsistent"):
        pr2.load_state_dict({**state, "alive": {**state["alive"], "features.0.conv": [99]}})
    assert pr2.units_total == 2944 and pr2.round == 0          # left as it was
    pr2.load_state_dict(state)
    assert pr2.state_dict() == pr.state_dict() and pr2.original_params == pr.original_params
    s2 = _rand_scores(model, gen)
    a, ra = pr.prune_round(model, s2, 2)
    b, rb = pr2.prune_round(model, s2, 2)
    assert ra.as_dict() == rb.as_dict() and ra.channel_sparsity == 0.5
