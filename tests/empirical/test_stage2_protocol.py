"""Stage 2 of the cpu scale (issue 25): the ``cpu2`` preset, the fields that leave stage-1 run ids
alone, the per-round validation subset, the thread count a run fixes for itself, the train-mode
probe loss and rank agreement, layer-matched (quota) arms, and the plan-driven campaign."""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import empirical.runner as runner_mod
from empirical.config import ConfigError, RunConfig, add_config_arguments, config_from_args
from empirical.runner import ensure_run, val_subset_indices
from empirical.sweep import config_to_argv, run_grid, with_quota_sources
from gftheory import runstore
from gftheory.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from test_cli_empirical import subprocess_env, write_cifar10  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TINY = dict(max_train_samples=128, batch_size=32, holdout_size=64, importance_samples=40, probe_size=8,
            max_test_samples=64)


pytestmark = pytest.mark.usefixtures("single_thread")   # tests/conftest.py: one torch thread, restored


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"))


def tiny(arch="mobilenet_v1", measure="loss_preservation", **kw):
    return RunConfig.preset("smoke", arch=arch, measure=measure, **{**TINY, **kw})


def parse(argv):
    p = argparse.ArgumentParser()
    add_config_arguments(p)
    return config_from_args(p.parse_args(argv))


def metrics(d: Path, drop=("seconds", "score_seconds", "train_mode_loss_seconds", "train_mode_score_seconds")):
    return [{k: v for k, v in m.items() if k not in drop} for m in runstore.read_metrics(d)]


# -- the preset and the run ids ------------------------------------------------------------
def test_cpu2_is_cpu_with_the_authors_importance_sample_and_a_round_validation_subset():
    c, c2 = RunConfig.preset("cpu"), RunConfig.preset("cpu2")
    assert c2.scale == "cpu2" and c.scale == "cpu"
    assert (c2.importance_samples, c2.probe_size, c2.round_val_size) == (2560, 64, 1000)
    assert (c.importance_samples, c.probe_size, c.round_val_size) == (256, 64, None)
    same = {k: v for k, v in c.canonical().items() if k not in ("scale", "importance_samples")}
    assert {k: c2.canonical()[k] for k in same} == same       # everything else as the cpu scale
    assert c2.records() == c.records() and c2.cpu_threads == 1 and c2.quota_from is None
    assert parse(["--scale", "cpu2"]) == c2
    assert any("1000 of the 5000 held-out" in d for d in c2.deviations())
    assert not any("held-out images (post-pruning" in d for d in c.deviations())


def test_every_stored_stage1_run_keeps_its_id():
    stored = sorted((REPO / "results" / "cpu").glob("*/config.json"))
    assert len(stored) >= 43
    for p in stored:
        meta = json.loads(p.read_text())
        cfg = RunConfig.from_canonical(meta["config"])
        assert cfg.run_id() == p.parent.name and cfg.canonical() == meta["config"], p


@pytest.mark.parametrize("field, value", [("cpu_threads", 2), ("round_val_size", 100),
                                          ("quota_from", "magnitude")])
def test_stage2_fields_enter_the_id_only_off_their_default(field, value):
    base = RunConfig.preset("cpu", measure="random")
    assert field not in base.canonical()
    other = base.replace(**{field: value})
    assert other.canonical()[field] == value and other.run_id() != base.run_id()
    back = RunConfig.from_canonical(other.canonical())
    assert back.canonical() == other.canonical() and getattr(back, field) == value
    back = parse(config_to_argv(other))
    assert back == other and back.run_id() == other.run_id()


@pytest.mark.parametrize("overrides, words", [
    ({"cpu_threads": 0}, ["cpu_threads", "fix:"]),
    ({"round_val_size": 6000}, ["round_val_size", "5000 held-out"]),
    ({"round_val_size": 10, "holdout_size": 0}, ["round_val_size", "held-out split"]),
    ({"quota_from": "taylor"}, ["quota_from", "unknown measure"]),
    ({"quota_from": "magnitude", "measure": "none", "target": 0.0}, ["quota_from", "dense"]),
])
def test_bad_stage2_values_are_refused(overrides, words):
    with pytest.raises(ConfigError) as exc:
        RunConfig.preset("cpu2", **overrides)
    for w in words:
        assert w in str(exc.value)


def test_the_validation_subset_is_fixed_and_independent_of_the_seed():
    a, b = val_subset_indices(5000, 1000), val_subset_indices(5000, 1000)
    assert torch.equal(a, b) and len(set(a.tolist())) == 1000 and int(a.max()) < 5000
    assert a.tolist() == sorted(a.tolist()) and a.tolist() != list(range(1000))


# -- a run: validation sets, train-mode quantities, threads -----------------------------------
def test_round_records_use_the_subset_and_best_and_final_the_full_set(data_dir, tmp_path):
    d = ensure_run(tiny(round_val_size=20), tmp_path, device="cpu", data_dir=data_dir, progress=False)
    recs = [m for m in runstore.read_metrics(d) if m["kind"] == "epoch"]
    assert [(m["phase"], m["val_set"], m["val_n"]) for m in recs] == \
        [("prune", "subset", 20)] * 2 + [("train", "full", 64)] * 3
    s = runstore.read_summary(d)
    assert s["validation"]["round_subset"]["n"] == 20 and s["validation"]["best_on"] == "full"
    assert s["final"]["val_acc"] == recs[-1]["val_acc"]
    assert s["best"]["val_acc"] == max(m["val_acc"] for m in recs if m["val_set"] == "full")
    # the subset is what the record says: its accuracy is a multiple of 1/20
    assert all(abs(m["val_acc"] * 20 - round(m["val_acc"] * 20)) < 1e-9 for m in recs[:2])
    # _best_of never picks a subset record, even when it is the highest
    fake = [{"kind": "epoch", "epoch": 1, "phase": "prune", "val_acc": 0.9, "test_acc": None, "val_set": "subset"},
            {"kind": "epoch", "epoch": 2, "phase": "prune", "val_acc": 0.5, "test_acc": None, "val_set": "full"}]
    assert runner_mod._best_of(fake)["epoch"] == 2


def test_prune_events_record_train_mode_loss_and_rank_agreement(data_dir, tmp_path):
    d = ensure_run(tiny(), tmp_path, device="cpu", data_dir=data_dir, progress=False)
    ev = [m for m in runstore.read_metrics(d) if m["kind"] == "prune_event"]
    for e in ev:
        assert e["before_train_mode_loss"] > 0 and e["after_train_mode_loss"] > 0
        assert e["before_train_mode_loss"] != e["before"]["loss"]     # batch statistics, not running ones
    assert -1 <= ev[0]["score_rank_agreement_train_eval"] <= 1 and ev[0]["train_mode_score_seconds"] > 0
    assert ev[1]["score_rank_agreement_train_eval"] is None and "rounds 1, 5, 25" in ev[1]["score_rank_agreement_note"]
    m = ensure_run(tiny(measure="magnitude"), tmp_path, device="cpu", data_dir=data_dir, progress=False)
    for e in [x for x in runstore.read_metrics(m) if x["kind"] == "prune_event"]:
        assert e["score_rank_agreement_train_eval"] is None and "reads no data" in e["score_rank_agreement_note"]


def test_the_descriptive_train_mode_quantities_do_not_change_the_run(data_dir, tmp_path, monkeypatch):
    a = ensure_run(tiny(), tmp_path / "a", device="cpu", data_dir=data_dir, progress=False)
    monkeypatch.setattr(runner_mod, "AGREEMENT_ROUNDS", ())
    monkeypatch.setattr(runner_mod.Run, "_train_mode_loss", lambda self: None)
    b = ensure_run(tiny(), tmp_path / "b", device="cpu", data_dir=data_dir, progress=False)
    drop = ("seconds", "score_seconds", "train_mode_loss_seconds", "train_mode_score_seconds",
            "before_train_mode_loss", "after_train_mode_loss", "score_rank_agreement_train_eval",
            "score_rank_agreement_note")
    assert metrics(a, drop) == metrics(b, drop)


def test_the_run_fixes_its_thread_count_whatever_the_caller_has(data_dir, tmp_path):
    cfg = tiny(measure="loss_preservation_elementwise")
    ref = ensure_run(cfg, tmp_path / "one", device="cpu", data_dir=data_dir, progress=False)
    torch.set_num_threads(2)
    two = ensure_run(cfg, tmp_path / "two", device="cpu", data_dir=data_dir, progress=False)
    assert torch.get_num_threads() == 2                      # the caller's count is given back
    env = dict(subprocess_env(), OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    res = subprocess.run([sys.executable, "-m", "gftheory", "run", *config_to_argv(cfg), "--root",
                          str(tmp_path / "omp2"), "--data-dir", str(data_dir), "--device", "cpu", "--quiet"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    omp = Path(res.stdout.strip())
    assert ref.name == two.name == omp.name
    for d in (ref, two, omp):
        prov = runstore.read_config(d)["provenance"]
        assert prov["threads"] == 1 and prov["cpu_threads_fixed_by_run"] == 1
    assert metrics(ref) == metrics(two) == metrics(omp)      # bit-identical, not approximately equal


# -- layer-matched arms ------------------------------------------------------------------------
def _removed_counts(d: Path) -> list[dict]:
    return [{g: len(v) for g, v in e["removed"].items() if v}
            for e in runstore.read_metrics(d) if e["kind"] == "prune_event"]


def _widths(d: Path) -> list[dict]:
    return [e["widths_after"] for e in runstore.read_metrics(d) if e["kind"] == "prune_event"]


def test_a_layer_matched_arm_removes_the_source_runs_per_layer_counts(data_dir, tmp_path):
    arms = [tiny(arch="resnet56", measure="random", quota_from="magnitude", precision="fp32"),
            tiny(arch="resnet56", measure="loss_preservation", quota_from="magnitude", precision="fp32")]
    assert [c.measure for c in with_quota_sources(arms)] == ["magnitude", "random", "loss_preservation"]
    paths = run_grid(arms, tmp_path, jobs=1, device="cpu", data_dir=data_dir, progress=False)
    src = tmp_path / arms[0].quota_source.run_id()
    assert runstore.is_complete(src) and all(runstore.is_complete(p) for p in paths)
    want = _removed_counts(src)
    assert len(want) == 2 and any(len(r) > 1 for r in want)
    for p in paths:
        assert _removed_counts(p) == want and _widths(p) == _widths(src)
        assert runstore.read_config(p)["provenance"]["quota_source_run"] == src.name
        assert runstore.read_summary(p)["provenance"]["quota_source_run"] == src.name
        assert all(e["quota_from"] == "magnitude" for e in runstore.read_metrics(p) if e["kind"] == "prune_event")
    # a different choice within the layers: random does not remove magnitude's units
    rm = [e["removed"] for e in runstore.read_metrics(src) if e["kind"] == "prune_event"]
    assert [e["removed"] for e in runstore.read_metrics(paths[0]) if e["kind"] == "prune_event"] != rm
    # quota from the measure itself reproduces the global ranking's choice exactly
    own = ensure_run(tiny(arch="resnet56", measure="magnitude", quota_from="magnitude", precision="fp32"), tmp_path, device="cpu",
                     data_dir=data_dir, progress=False)
    assert [e["removed"] for e in runstore.read_metrics(own) if e["kind"] == "prune_event"] == rm


def test_an_arm_without_a_complete_source_exits_2_before_work(data_dir, tmp_path, capsys):
    root = tmp_path / "runs"
    argv = ["run", *config_to_argv(tiny(measure="random", quota_from="magnitude")), "--root", str(root),
            "--data-dir", str(data_dir), "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "quota_from" in err and "absent" in err and "fix:" in err
    assert not root.exists() or [p for p in root.iterdir()] == []


# -- the plan-driven campaign ------------------------------------------------------------------
def _campaign():
    spec = importlib.util.spec_from_file_location("campaign_under_test", REPO / "scripts" / "campaign.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _plan(**over):
    from gftheory.claims.rules import rules_digest
    plan = {"rules_digest": rules_digest(), "seeds": {"resnet56/cpu2": [110, 111], "mobilenet_v1/cpu2": [120]},
            "protocol": {"cpu2": {"precision": "fp32"}},
            "cells": [{"claim": "E1", "rule": "E1a", "arch": "resnet56", "dataset": "cifar10", "scale": "cpu2",
                       "measures": ["magnitude", "loss_preservation"], "n": 2, "seeds": [110, 111],
                       "status": "planned"},
                      {"claim": "LMR", "rule": "lm", "arch": "resnet56", "dataset": "cifar10", "scale": "cpu2",
                       "measures": ["random@magnitude", {"measure": "random", "quota_from": "loss_preservation"}],
                       "n": 2, "seeds": [110, 111], "status": "planned"},
                      {"claim": "E1", "rule": "E1b", "arch": "mobilenet_v1", "dataset": "cifar10", "scale": "cpu2",
                       "measures": ["random@loss_preservation_elementwise", "none"], "n": 1, "seeds": None,
                       "status": "planned"},
                      {"claim": "E3", "rule": "x", "arch": "resnet56", "dataset": "cifar10", "scale": "cpu2",
                       "measures": ["grasp"], "n": 2, "seeds": [110], "status": "dropped: budget"},
                      {"claim": "E1", "rule": "E1a", "arch": "resnet56", "dataset": "cifar10", "scale": "cpu",
                       "measures": ["grasp"], "n": 2, "seeds": [0], "status": "planned"}]}
    plan.update(over)
    return plan


def test_stage2_campaign_orders_seed_major_with_arms_after_their_sources():
    camp = _campaign()
    got = [(c.arch, c.measure, c.quota_from, c.seed) for c in camp.stage2_cpu2(_plan())]
    assert got == [("resnet56", "magnitude", None, 110), ("resnet56", "loss_preservation", None, 110),
                   ("resnet56", "random", "magnitude", 110), ("resnet56", "random", "loss_preservation", 110),
                   ("resnet56", "magnitude", None, 111), ("resnet56", "loss_preservation", None, 111),
                   ("resnet56", "random", "magnitude", 111), ("resnet56", "random", "loss_preservation", 111),
                   ("mobilenet_v1", "loss_preservation_elementwise", None, 120),    # a source no cell names
                   ("mobilenet_v1", "none", None, 120),
                   ("mobilenet_v1", "random", "loss_preservation_elementwise", 120)]
    cfgs = camp.stage2_cpu2(_plan())
    assert all(c.scale == "cpu2" and c.precision == "fp32" for c in cfgs)
    assert [c.precision for c in camp.stage2_cpu2(_plan(protocol={"cpu2": {"precision": "bf16"}}))] == ["bf16"] * 11
    for i, c in enumerate(cfgs):         # every arm after its source
        if c.quota_from:
            assert c.quota_source in cfgs[:i]


@pytest.mark.parametrize("over, words", [
    ({"protocol": {"cpu2": {}}}, ["precision", "fp32"]),
    ({"seeds": {}, "cells": [{"claim": "E1", "rule": "r", "arch": "resnet56", "dataset": "cifar10", "scale": "cpu2",
                              "measures": ["magnitude"], "n": 2, "seeds": [1, 105], "status": "planned"}]},
     ["fresh seeds", "0–2"]),
])
def test_stage2_campaign_refuses_a_bad_plan(over, words):
    camp = _campaign()
    with pytest.raises(camp.PlanError) as exc:
        camp.stage2_cpu2(_plan(**over))
    for w in words:
        assert w in str(exc.value)


def test_the_plan_file_must_be_committed_unchanged_and_under_the_current_rules(tmp_path, monkeypatch, capsys):
    camp = _campaign()
    repo = tmp_path / "repo"
    plan_path = repo / "results" / "plans" / "stage2.json"
    plan_path.parent.mkdir(parents=True)
    monkeypatch.setattr(camp, "REPO", repo)
    monkeypatch.setattr(camp, "STAGE2_PLAN", plan_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    assert camp.main(["run", "stage2-cpu2", "--root", str(tmp_path / "runs")]) == 2
    assert "does not exist" in capsys.readouterr().err
    plan_path.write_text(json.dumps(_plan()))
    with pytest.raises(camp.PlanError, match="not committed"):
        camp.load_plan()
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "plan"], check=True)
    assert camp.load_plan()["seeds"]["mobilenet_v1/cpu2"] == [120]
    assert camp.main(["list", "stage2-cpu2"]) == 0
    assert "random@magnitude" in capsys.readouterr().out
    plan_path.write_text(json.dumps(_plan(seeds={"resnet56/cpu2": [110, 111, 112]})))
    with pytest.raises(camp.PlanError, match="differs from its committed version"):
        camp.load_plan()
    plan_path.write_text(json.dumps(_plan(rules_digest="0000000000000000")))
    subprocess.run([*git, "commit", "-q", "-am", "other rules"], check=True)
    assert camp.main(["run", "stage2-cpu2", "--root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "rules" in err and "fix:" in err and not (tmp_path / "runs").exists()
    assert {"resnet56-cpu", "mobilenet_v1-cpu", "mobilenet_v1-stage1-completion", "bf16-equivalence"} <= set(camp.CAMPAIGNS)


def test_cpu2_precision_per_architecture_and_conditional_on_the_bf16_decision(tmp_path):
    """protocol.cpu2.precision may name a precision per architecture, and "bf16-if-equivalent"
    follows the registered bf16 equivalence decision: bf16 only when it is 'equivalent' with every
    pair proven, fp32 when 'not shown equivalent', and no runs (deferred) while undecided."""
    import json
    camp = _campaign()
    assert camp.precision_for({"mobilenet_v1": "fp32", "resnet56": "bf16"}, "resnet56") == "bf16"
    assert camp.precision_for("fp32", "resnet56") == "fp32"
    with pytest.raises(camp.PlanError):
        camp.precision_for({"resnet56": "fp16"}, "resnet56")
    f = tmp_path / "analysis.json"
    assert camp.bf16_decision(f) is None
    f.write_text(json.dumps({"verdict": "equivalent", "pairs": [{"paired_proven": True}] * 3}))
    assert camp.bf16_decision(f) == "bf16"
    f.write_text(json.dumps({"verdict": "equivalent", "pairs": [{"paired_proven": True}, {"paired_proven": None}]}))
    assert camp.bf16_decision(f) is None
    f.write_text(json.dumps({"verdict": "not shown equivalent", "pairs": []}))
    assert camp.bf16_decision(f) == "fp32"
    f.write_text(json.dumps({"verdict": "incomplete (3 of 12 pairs)", "pairs": []}))
    assert camp.bf16_decision(f) is None
    spec = {"mobilenet_v1": "fp32", "resnet56": "bf16-if-equivalent"}
    assert camp.precision_for(spec, "resnet56", decision=lambda: None) is None
    assert camp.precision_for(spec, "resnet56", decision=lambda: "bf16") == "bf16"
    assert camp.precision_for(spec, "mobilenet_v1", decision=lambda: None) == "fp32"
    camp.bf16_decision = lambda path=None: None          # undecided: resnet56's runs wait
    cfgs = camp.stage2_cpu2(_plan(protocol={"cpu2": {"precision": spec}}))
    assert cfgs and {c.arch for c in cfgs} == {"mobilenet_v1"} and {c.precision for c in cfgs} == {"fp32"}


def test_unfinished_studies_travel_through_inflight_and_leave_it_when_collected(tmp_path):
    """stash copies an unfinished study's config and whole event records (not its checkpoints,
    not a torn last line, not a study without events, not a complete one); restore puts them into an
    empty run store (a fresh machine) and never over a store that has more; committed() finds a
    complete copy in results/ at any depth the collector writes."""
    camp = _campaign()
    root, inflight = tmp_path / "runs", tmp_path / "inflight"

    def study(name, records, complete=False, torn=False):
        d = root / name
        runstore.write_config(d, {"run_id": name, "kind": runstore.EVENT_STUDY, "config": {"seed": 1}})
        runstore.write_events(d, records)
        if torn:
            with open(d / runstore.EVENTS, "a") as f:
                f.write('{"kind": "ev')
        (d / "checkpoint_e1.pt").write_bytes(b"x")
        if complete:
            runstore.write_summary(d, {"run_id": name, "complete": True})
        return d

    traj = {"kind": "trajectory_epoch", "epoch": 1, "weights_sha256": "ab" * 8}
    evs = [traj, {"kind": "event", "checkpoint": 1, "measure": "none", "event": "control"},
           {"kind": "event", "checkpoint": 1, "measure": "magnitude", "event": "round1"}]
    study("ev-aaaaaaaaaaaaa", evs, torn=True)
    study("ev-bbbbbbbbbbbbb", [traj])                     # no event yet: nothing to carry
    study("ev-ccccccccccccc", evs, complete=True)         # complete: the collector's, not stash's
    got = camp.stash(root, commit=False, inflight=inflight)
    assert [p.name for p in got] == ["ev-aaaaaaaaaaaaa"]
    assert sorted(q.name for q in (inflight / "ev-aaaaaaaaaaaaa").iterdir()) == [runstore.CONFIG, runstore.EVENTS]
    assert runstore.read_events(inflight / "ev-aaaaaaaaaaaaa", complete=True) == evs
    assert camp.stash(root, commit=False, inflight=inflight) == []       # nothing new: no rewrite

    fresh = tmp_path / "fresh"
    assert [p.name for p in camp.restore(fresh, inflight=inflight)] == ["ev-aaaaaaaaaaaaa"]
    assert runstore.read_events(fresh / "ev-aaaaaaaaaaaaa") == evs and not list(fresh.rglob("*.pt"))
    runstore.append_event(fresh / "ev-aaaaaaaaaaaaa", {"kind": "event", "checkpoint": 3})
    assert camp.restore(fresh, inflight=inflight) == []                  # the store is ahead: left alone
    assert len(runstore.read_events(fresh / "ev-aaaaaaaaaaaaa")) == 4

    # a digest-less trajectory record gets its digest from the checkpoint file the events used
    from empirical.fingerprint import init_fingerprint
    state = {"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor(3)}
    d = study("ev-ddddddddddddd", [{"kind": "trajectory_epoch", "epoch": 1, "train_loss": 1.5},
                                   {"kind": "trajectory_epoch", "epoch": 2, "train_loss": 1.0}, evs[1]])
    runstore.save_checkpoint(d / "checkpoint_e1.pt", {"epoch": 1, "model": state})
    camp.stash(root, commit=False, inflight=inflight)
    got = runstore.read_events(inflight / "ev-ddddddddddddd")
    assert got[0] == {"kind": "trajectory_epoch", "epoch": 1, "train_loss": 1.5,
                      "weights_sha256": init_fingerprint(state), "weights_sha256_from": "checkpoint file"}
    assert got[1:] == [{"kind": "trajectory_epoch", "epoch": 2, "train_loss": 1.0}, evs[1]]   # no file: as is
    assert "weights_sha256" not in runstore.read_events(d)[0]                # the run store is not changed

    results = tmp_path / "results"
    assert not camp.committed("ev-ccccccccccccc", results)
    for sub in ("events", "side/bf16-equivalence"):
        d = results / sub / "ev-ccccccccccccc"
        runstore.write_summary(d, {"run_id": "ev-ccccccccccccc", "complete": False})
        assert not camp.committed("ev-ccccccccccccc", results)
        runstore.write_summary(d, {"run_id": "ev-ccccccccccccc", "complete": True})
        assert camp.committed("ev-ccccccccccccc", results)
        shutil.rmtree(results)


def test_collecting_a_study_removes_its_inflight_copy_in_the_same_commit(tmp_path, monkeypatch):
    camp = _campaign()
    repo = tmp_path / "repo"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True, text=True).stdout  # noqa: E731
    git("init", "-q")
    git("config", "user.email", "t@t")
    git("config", "user.name", "t")
    monkeypatch.setattr(camp, "REPO", repo)
    monkeypatch.setattr(camp, "INFLIGHT", repo / "inflight")
    name = "ev-eeeeeeeeeeeee"
    meta = {"run_id": name, "kind": runstore.EVENT_STUDY, "config": {"arch": "vgg13", "dataset": "cifar10", "seed": 13}}
    runstore.write_config(repo / "inflight" / name, meta)
    runstore.write_events(repo / "inflight" / name, [{"kind": "event"}])
    git("add", "inflight")
    git("commit", "-q", "-m", "stash")
    run = tmp_path / "runs" / name
    runstore.write_config(run, meta)
    runstore.write_events(run, [{"kind": "event"}, {"kind": "event"}])
    runstore.write_summary(run, {**meta, "complete": True, "events": 2, "seconds": 60.0})
    got = camp.collect(tmp_path / "runs", repo / "results", commit=True)
    assert got == [repo / "results" / "events" / name]
    assert git("ls-files", "inflight") == "" and not (repo / "inflight" / name).exists()
    assert git("ls-files", "results").split() == [f"results/events/{name}/{f}" for f in
                                                  (runstore.CONFIG, runstore.EVENTS, runstore.SUMMARY)]
    assert git("status", "--porcelain") == ""
    log = git("log", "--format=%s").splitlines()
    assert len(log) == 2 and log[0].startswith("results: event study vgg13 cifar10 seed 13, 2 events")
