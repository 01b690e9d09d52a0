"""Architectures are registered units (empirical.architectures): the paper's networks are
registered with their parameter counts, their checkpoints' state_dict keys and shapes are pinned
(running campaigns resume from them), and a network defined here — one Architecture subclass —
is pruned while training by the real runner, end to end."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

import pytest
import torch
from torch import nn

from empirical import runner
from empirical.architectures import (ARCHITECTURES, INPUT_SPACE, Architecture, LayoutEntry, UnitGroup,
                                     build, channel_layout, default_widths, get_architecture,
                                     register_architecture, widths_of)
from empirical.config import ConfigError, RunConfig, architectures
from empirical.pruning import StructuredPruner, cumulative_pruned
from gftheory import runstore
from test_cli_empirical import write_cifar10

pytestmark = pytest.mark.usefixtures("single_thread")   # tests/conftest.py


def test_every_paper_architecture_is_registered():
    """gftheory.claims.registry keeps the paper's architectures as data (the theory layer never
    imports empirical); each must be a registered unit with the paper's parameter counts."""
    from gftheory.claims.registry import ARCHS
    assert set(ARCHS) <= set(ARCHITECTURES)
    assert architectures() == tuple(ARCHITECTURES)
    for name in ARCHS:
        a = ARCHITECTURES[name]
        assert a.name == name and set(a.param_counts) == {10, 100}
        assert sum(p.numel() for p in build(name, 10).parameters()) == a.param_counts[10]


def _keys_and_shapes(model: nn.Module) -> str:
    sd = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    return hashlib.sha256(json.dumps(sd).encode()).hexdigest()[:16]


# sha256 of the [[state_dict key, shape], ...] list, computed before the networks moved into
# empirical/architectures/ (commit 38c5c05): checkpoints of running campaigns must stay loadable
PINNED_STATE = {
    ("vgg13", 10): "db5aff81c53aba56", ("vgg13", 100): "8be9c8eb32f449da", ("vgg13", "pruned"): "ea243ba3f287408c",
    ("mobilenet_v1", 10): "041ab76b3379a450", ("mobilenet_v1", 100): "9199bfc2a363c0e4",
    ("mobilenet_v1", "pruned"): "8d63d9e4b5fa61ba",
    ("resnet56", 10): "a30d3e90c34220ae", ("resnet56", 100): "e9c463d5defdd007",
    ("resnet56", "pruned"): "21e745a93448a647",
}


@pytest.mark.parametrize("name, nc", list(PINNED_STATE))
def test_state_dict_keys_and_shapes_are_unchanged(name, nc):
    if nc == "pruned":
        model = build(name, 10, {k: max(1, v // 3) for k, v in default_widths(name).items()})
    else:
        model = build(name, nc)
    assert _keys_and_shapes(model) == PINNED_STATE[(name, nc)]


def test_registry_errors():
    with pytest.raises(ValueError, match="already registered"):
        register_architecture(type(ARCHITECTURES["vgg13"]))
    with pytest.raises(TypeError, match="Architecture"):
        register_architecture(object)
    with pytest.raises(ValueError, match="unknown architecture"):
        get_architecture("alexnet")
    with pytest.raises(ValueError, match="not built by"):
        get_architecture(nn.Linear(2, 2))
    with pytest.raises(ConfigError, match="unknown architecture"):
        RunConfig.preset("smoke", arch="alexnet")


# -- a network of one's own -----------------------------------------------------------------------
class ToyCNN(Architecture):
    """conv 3→8 → BN → ReLU → max-pool 4 → conv 8→6 → BN → ReLU → global avg-pool → Linear."""
    name = "toy_cnn"
    description = "two-conv toy network (tests)"
    param_counts = {10: 3 * 8 * 9 + 16 + 8 * 6 * 9 + 12 + 6 * 10 + 10}

    def default_widths(self):
        return {"conv1": 8, "conv2": 6}

    def network(self, num_classes, widths):
        c1, c2 = widths["conv1"], widths["conv2"]
        return nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(3, c1, 3, padding=1, bias=False), bn1=nn.BatchNorm2d(c1), relu1=nn.ReLU(),
            pool=nn.MaxPool2d(4),
            conv2=nn.Conv2d(c1, c2, 3, padding=1, bias=False), bn2=nn.BatchNorm2d(c2), relu2=nn.ReLU(),
            gap=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), classifier=nn.Linear(c2, num_classes)))

    def channel_layout(self):
        return [LayoutEntry("conv1", "conv", "conv1", INPUT_SPACE), LayoutEntry("bn1", "bn", "conv1", None),
                LayoutEntry("conv2", "conv", "conv2", "conv1"), LayoutEntry("bn2", "bn", "conv2", None),
                LayoutEntry("classifier", "linear", None, "conv2")]

    def unit_groups(self, coupled_residual=False):
        return [UnitGroup(n, "physical", (f"{n}.weight",), space=n) for n in ("conv1", "conv2")]


@pytest.fixture
def toy():
    register_architecture(ToyCNN)
    try:
        yield ARCHITECTURES["toy_cnn"]
    finally:
        ARCHITECTURES.unregister("toy_cnn")
    assert "toy_cnn" not in ARCHITECTURES and "toy_cnn" not in architectures()


def test_a_registered_toy_network_builds_counts_and_prunes(toy):
    model = build("toy_cnn", 10)
    assert sum(p.numel() for p in model.parameters()) == toy.param_counts[10]
    assert widths_of(model) == {"conv1": 8, "conv2": 6} and [e.module for e in channel_layout(model)][-1] == "classifier"
    pr = StructuredPruner(model, "toy_cnn", target=0.5, rounds=1, floor_fraction=0.05)
    scores = {n: torch.arange(p.shape[0], dtype=torch.float64) for n, p in model.named_parameters() if p.dim() == 4}
    pruned, rep = pr.prune_round(model, scores, 1)
    assert rep.units_pruned == 7 and sum(widths_of(pruned).values()) == 7
    assert pruned(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_a_registered_toy_network_is_pruned_while_training_by_the_runner(toy, tmp_path):
    data = write_cifar10(tmp_path / "data", per_batch=40, test=64)
    cfg = RunConfig.preset("smoke", arch="toy_cnn", measure="loss_preservation", max_train_samples=96,
                           batch_size=32, holdout_size=64, importance_samples=40, probe_size=8,
                           max_test_samples=64)
    run_dir = runner.ensure_run(cfg, tmp_path / "runs", device="cpu", data_dir=data, progress=False)
    assert runstore.is_complete(run_dir)
    metrics = runstore.read_metrics(run_dir)
    events = [m for m in metrics if m["kind"] == "prune_event"]
    assert [e["round"] for e in events] == [1, 2]
    units = sum(toy.default_widths().values())                      # 14 filters
    assert 0 < events[0]["channel_sparsity"] < events[1]["channel_sparsity"]
    assert events[1]["channel_sparsity"] == cumulative_pruned(2, units, cfg.target, cfg.rounds) / units
    assert len([m for m in metrics if m["kind"] == "epoch"]) == len(cfg.records())
    ck = runstore.load_checkpoint(run_dir / runstore.CHECKPOINT)
    assert sum(ck["widths"].values()) == units - cumulative_pruned(2, units, cfg.target, cfg.rounds)
    meta = runstore.read_config(run_dir)
    assert meta["config"]["arch"] == "toy_cnn"
