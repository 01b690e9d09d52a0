"""The protocol config: paper defaults, scales, canonical hash, CLI flags, validation."""
from __future__ import annotations

import argparse
import dataclasses

import pytest
from hypothesis import given, strategies as st

from empirical.config import (ConfigError, RunConfig, add_config_arguments, config_from_args)
from empirical.sweep import config_to_argv, grid
from gftheory.errors import UsageError


def parse(argv):
    p = argparse.ArgumentParser()
    add_config_arguments(p)
    return config_from_args(p.parse_args(argv))


def test_full_is_the_papers_protocol():
    c = RunConfig.preset("full")
    assert c == RunConfig()
    assert (c.rounds, c.epochs_per_round, c.target) == (25, 1.0, 0.75)
    assert (c.batch_size, c.momentum, c.weight_decay, c.temperature) == (128, 0.9, 1e-4, 5.0)
    assert c.importance_samples == 2560 and c.class_balanced_hg and c.floor_fraction == 0.05
    assert c.total_epochs == 160
    assert c.post_prune_schedule() == [(55, 0.1), (40, 0.01), (40, 0.001)]
    recs = c.records()
    assert len(recs) == 25 + 135
    assert all(r == ("prune", k + 1, 0.1) for k, r in enumerate(recs[:25]))
    lrs = [lr for _, _, lr in recs[25:]]
    assert lrs == [0.1] * 55 + [0.01] * 40 + [0.001] * 40
    assert RunConfig.preset("full", measure="grasp").effective_importance_temperature == 200
    assert RunConfig.preset("full", measure="gradient_norm_preservation").effective_importance_temperature == 1
    assert RunConfig.preset("full", measure="magnitude").effective_importance_temperature == 5


def test_short_divides_every_phase_by_five():
    s, f = RunConfig.preset("short"), RunConfig.preset("full")
    assert s.rounds == f.rounds and s.epochs_per_round == pytest.approx(f.epochs_per_round / 5)
    assert [e for e, _ in s.lr_phases] == [e // 5 for e, _ in f.lr_phases]
    assert s.post_prune_schedule() == [(11, 0.1), (8, 0.01), (8, 0.001)]
    assert s.prune_epochs == pytest.approx(5) and s.total_epochs == 32


def test_smoke_is_tiny():
    s = RunConfig.preset("smoke")
    assert s.rounds == 2 and s.max_train_samples == 512 and s.holdout_size == 256
    assert s.post_prune_schedule() == [(1, 0.1), (1, 0.01), (1, 0.001)]
    assert len(s.records()) == 5


def test_run_id_is_a_hash_of_every_resolved_field():
    base = RunConfig.preset("smoke")
    assert base.run_id() == RunConfig.preset("smoke").run_id()
    assert len(base.run_id()) == 16 and int(base.run_id(), 16) >= 0
    # the resolved default and the explicit value are the same run
    assert base.replace(importance_temperature=5.0).run_id() == base.run_id()
    changes = {"arch": "vgg13", "dataset": "cifar100", "measure": "grasp", "seed": 1, "rounds": 4,
               "target": 0.5, "epochs_per_round": 1.0, "lr_phases": ((2, 0.2), (1, 0.01), (1, 0.001)),
               "batch_size": 32, "momentum": 0.8, "weight_decay": 0.0, "temperature": 1.0,
               "importance_samples": 64, "importance_temperature": 2.0, "class_balanced_hg": False,
               "probe_size": 16, "holdout_size": 100, "eval_split": "holdout", "max_train_samples": None,
               "max_test_samples": 10, "precision": "fp32", "channels_last": False, "compile": True,
               "device_independent": True, "floor_fraction": 0.1, "coupled_residual": True, "scale": "full",
               "cpu_threads": 2, "round_val_size": 10, "quota_from": "random"}
    assert set(changes) == {f.name for f in dataclasses.fields(RunConfig)}
    ids = {base.replace(**{k: v}).run_id() for k, v in changes.items()}
    assert len(ids) == len(changes) and base.run_id() not in ids
    canon = base.canonical()
    for key in ("arch", "dataset", "measure", "seed", "scale", "rounds", "target", "epochs_per_round",
                "lr_phases", "batch_size", "momentum", "weight_decay", "temperature", "importance_samples",
                "importance_temperature", "class_balanced_hg", "holdout_size", "floor_fraction",
                "coupled_residual", "max_train_samples", "precision", "device_independent"):
        assert key in canon
    assert RunConfig.from_canonical(canon) == base.replace(importance_temperature=5.0)


@given(arch=st.sampled_from(["vgg13", "mobilenet_v1", "resnet56"]),
       measure=st.sampled_from(["magnitude", "grasp", "loss_preservation", "random"]),
       seed=st.integers(0, 10**6), target=st.floats(0.01, 0.99),
       scale=st.sampled_from(["full", "short", "smoke"]), bools=st.lists(st.booleans(), min_size=4, max_size=4),
       itemp=st.one_of(st.none(), st.floats(0.1, 500)), mts=st.one_of(st.none(), st.integers(1, 10**5)))
def test_every_field_round_trips_through_cli_flags(arch, measure, seed, target, scale, bools, itemp, mts):
    c = RunConfig.preset(scale, arch=arch, measure=measure, seed=seed, target=target,
                         class_balanced_hg=bools[0], channels_last=bools[1], compile=bools[2],
                         device_independent=bools[3], importance_temperature=itemp, max_train_samples=mts)
    back = parse(config_to_argv(c))
    assert back == c and back.run_id() == c.run_id()


def test_flags_override_the_scale_preset_and_none_clears():
    c = parse(["--scale", "smoke", "--arch", "vgg13", "--lr-phases", "3:0.05,1:0.005", "--max-train-samples",
               "none", "--no-class-balanced-hg"])
    assert c.scale == "smoke" and c.arch == "vgg13" and c.max_train_samples is None
    assert c.lr_phases == ((3, 0.05), (1, 0.005)) and c.class_balanced_hg is False
    assert c.batch_size == 64  # untouched smoke default
    assert parse([]) == RunConfig()


@pytest.mark.parametrize("overrides, word", [
    ({"arch": "resnet18"}, "arch"), ({"measure": "snipp"}, "measure"), ({"dataset": "mnist"}, "dataset"),
    ({"lr_phases": ((80, -0.1), (40, 0.01))}, "lr_phases"), ({"target": 1.0}, "target"),
    ({"target": 0.0}, "target"), ({"target": -0.2}, "target"), ({"rounds": 0}, "rounds"),
    ({"batch_size": 0}, "batch_size"), ({"weight_decay": -1e-4}, "weight_decay"),
    ({"lr_phases": "80:0.1,40"}, "lr_phases"), ({"epochs_per_round": 0.3}, "epochs_per_round"),
    ({"rounds": 90}, "lr_phases"), ({"precision": "fp8"}, "precision"), ({"seed": -1}, "seed"),
])
def test_bad_values_are_rejected_naming_field_and_fix(overrides, word):
    with pytest.raises(ConfigError) as exc:
        RunConfig.preset("full", **overrides)
    msg = str(exc.value)
    assert word in msg and "fix:" in msg
    assert isinstance(exc.value, UsageError)


def test_unknown_scale_and_field_rejected():
    with pytest.raises(ConfigError, match="scale"):
        RunConfig.preset("huge")
    with pytest.raises(ConfigError, match="unknown config field"):
        RunConfig.preset("full", learning_rate=0.1)


def test_deviations_name_the_departures_from_the_authors_code():
    d = " ".join(RunConfig.preset("short", measure="loss_preservation").deviations())
    for phrase in ("best-scored", "truncat", "held-out validation", "seeded", "temperature 5",
                   "loss_preservation_elementwise", "scale 'short'"):
        assert phrase in d
    g = " ".join(RunConfig.preset("full", measure="grasp").deviations())
    assert "temperature 5" not in g and "scale" not in g


def test_grid_is_the_cartesian_product():
    cs = grid(["vgg13", "resnet56"], ["cifar10"], ["magnitude", "grasp"], [0, 1, 2], scale="smoke")
    assert len(cs) == 12 and len({c.run_id() for c in cs}) == 12
    assert all(c.scale == "smoke" for c in cs)


def test_cpu_scale_keeps_the_papers_structure():
    c, f = RunConfig.preset("cpu"), RunConfig.preset("full")
    assert (c.rounds, c.target, c.floor_fraction) == (f.rounds, f.target, f.floor_fraction)
    assert (c.batch_size, c.momentum, c.weight_decay, c.temperature) == (128, 0.9, 1e-4, 5.0)
    # the three phases in the paper's 80 : 40 : 40 proportion, learning rates unchanged
    assert [e / c.lr_phases[0][0] for e, _ in c.lr_phases] == [e / f.lr_phases[0][0] for e, _ in f.lr_phases]
    assert [lr for _, lr in c.lr_phases] == [lr for _, lr in f.lr_phases]
    assert c.prune_epochs == pytest.approx(1) and c.total_epochs == 4
    assert round(c.epochs_per_round * 352) == 14          # SGD steps per round at 45,000 / 128
    recs = c.records()
    assert len(recs) == 25 + 3 and recs[25:] == [("train", 1, 0.1), ("train", 2, 0.01), ("train", 3, 0.001)]
    assert (c.importance_samples, c.probe_size) == (256, 64)


def test_dense_baseline_is_measure_none_with_target_zero():
    d = RunConfig.preset("cpu", measure="none", target=0.0)
    assert d.dense and not RunConfig.preset("cpu").dense
    assert d.run_id() != RunConfig.preset("cpu").run_id()
    assert any("dense baseline" in line for line in d.deviations())
    with pytest.raises(ConfigError, match="dense baseline"):
        RunConfig.preset("cpu", measure="none")            # target 0.75 with no measure
    with pytest.raises(ConfigError, match="dense baseline"):
        RunConfig.preset("cpu", measure="magnitude", target=0.0)
    assert parse(["--scale", "cpu", "--measure", "none", "--target", "0"]) == d


def test_a_new_measure_with_its_own_temperature_is_one_class():
    """A measure's default importance temperature is a fact of its class: registering one subclass
    is all it takes for the run config (id, deviations, CLI help) and the event study to use it."""
    from empirical.events import EventConfig
    from gftheory.measures import MEASURES, PAPER_MEASURES, Measure, register_measure

    class Tempered(Measure):
        name, formula, needs = "toy_tempered", "|θ_pᵀg| at T = 7", frozenset({"grad"})
        importance_temperature = 7.0

        def parameter_scores(self, q):
            return (q.theta * q.grad).abs()

    register_measure(Tempered)
    try:
        cfg = RunConfig.preset("smoke", measure="toy_tempered")
        assert cfg.effective_importance_temperature == 7.0
        assert cfg.canonical()["importance_temperature"] == 7.0
        assert cfg.run_id() == cfg.replace(importance_temperature=7.0).run_id()
        assert cfg.run_id() != cfg.replace(importance_temperature=5.0).run_id()
        d = " ".join(cfg.deviations())
        assert "as in training" not in d
        assert "instead of the authors' 7" in " ".join(cfg.replace(importance_temperature=3.0).deviations())
        assert EventConfig(arch="vgg13", measures=("toy_tempered",)).importance_temperature("toy_tempered") == 7.0
        p = argparse.ArgumentParser()
        add_config_arguments(p)
        assert "7 for toy_tempered" in " ".join(p.format_help().split())
        assert "toy_tempered" not in PAPER_MEASURES     # in_paper defaults to False
    finally:
        MEASURES.unregister("toy_tempered")
    assert "toy_tempered" not in MEASURES
    with pytest.raises(ConfigError, match="unknown measure"):
        RunConfig.preset("smoke", measure="toy_tempered")


def test_measure_temperatures_and_the_paper_measures_come_from_the_measures():
    from gftheory.measures import MEASURES, PAPER_MEASURES
    own = {n: m.importance_temperature for n, m in MEASURES.items() if m.importance_temperature is not None}
    assert own == {"grasp": 200.0, "gradient_norm_preservation": 1.0}     # the authors' code
    assert PAPER_MEASURES == ("magnitude", "loss_preservation", "loss_preservation_elementwise",
                              "biased_loss_preservation", "grasp", "gradient_norm_preservation")
    for name in MEASURES:
        cfg = RunConfig.preset("full", measure=name)
        assert cfg.effective_importance_temperature == own.get(name, cfg.temperature)
