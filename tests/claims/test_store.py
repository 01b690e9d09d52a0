"""The run store (gftheory.runstore): atomic writes, torn lines, truncation on resume, and the
round trip — what its writer stores, the claims' reader (gftheory.claims.runs) reads back, for a
prune-while-training run and for an event study."""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
import torch

from empirical.runner import _best_of
from gftheory import runstore
from gftheory.claims.runs import ALL_MEASURES, EVENT_SCALE, load_runs, read_runs

ROOT = Path(__file__).resolve().parents[2]
TORN = '{"kind": "epoch", "epo'  # a line cut by a kill mid-write


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a" / "x.json"
    runstore.atomic_write_json(p, {"v": 1})
    runstore.atomic_write_json(p, {"v": 2})
    assert runstore.read_json(p) == {"v": 2}
    assert [f.name for f in p.parent.iterdir()] == ["x.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "x.json"
    runstore.atomic_write_json(p, {"v": 1})

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        runstore.atomic_write_json(p, {"v": 2})
    monkeypatch.undo()
    assert runstore.read_json(p) == {"v": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["x.json"]


def test_nan_is_refused_not_written(tmp_path):
    with pytest.raises(ValueError):
        runstore.atomic_write_json(tmp_path / "x.json", {"v": float("nan")})
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(ValueError):
        runstore.append_metric(tmp_path, {"v": float("nan")})
    assert not (tmp_path / runstore.METRICS).exists()


def test_jsonl_torn_last_line_is_ignored_and_cut_on_truncate(tmp_path):
    for e in (1, 2, 3):
        runstore.append_metric(tmp_path, {"kind": "epoch", "epoch": e})
    p = tmp_path / runstore.METRICS
    with open(p, "a") as f:
        f.write(TORN)
    assert [r["epoch"] for r in runstore.read_metrics(tmp_path)] == [1, 2, 3]
    with pytest.raises(ValueError, match="torn last line"):
        runstore.read_metrics(tmp_path, complete=True)
    kept = runstore.truncate_metrics(tmp_path, 2)
    assert [r["epoch"] for r in kept] == [1, 2]
    assert [json.loads(line)["epoch"] for line in p.read_text().splitlines()] == [1, 2]
    assert runstore.truncate_metrics(tmp_path / "absent", 0) == []


def test_append_after_a_torn_line_cuts_it_first(tmp_path):
    """A writer resumed after a kill mid-line (an event study appends, it does not truncate)
    never glues its record onto the torn one."""
    runstore.append_event(tmp_path, {"kind": "event", "n": 1})
    with open(tmp_path / runstore.EVENTS, "a") as f:
        f.write(TORN)
    runstore.append_event(tmp_path, {"kind": "event", "n": 2})
    assert [r["n"] for r in runstore.read_events(tmp_path, complete=True)] == [1, 2]
    (tmp_path / runstore.EVENTS).write_text(TORN)          # nothing but a torn line
    runstore.append_event(tmp_path, {"kind": "event", "n": 3})
    assert [r["n"] for r in runstore.read_events(tmp_path, complete=True)] == [3]


def test_corrupt_middle_line_is_an_error(tmp_path):
    (tmp_path / runstore.METRICS).write_text('{"epoch": 1}\nnot json\n{"epoch": 2}\n')
    with pytest.raises(ValueError, match="corrupt"):
        runstore.read_metrics(tmp_path)


def test_checkpoint_round_trip(tmp_path):
    state = {"epoch": 3, "model": {"w": torch.arange(5.0)}, "rng": torch.get_rng_state()}
    runstore.save_checkpoint(tmp_path / runstore.CHECKPOINT, state)
    back = runstore.load_checkpoint(tmp_path / runstore.CHECKPOINT)
    assert back["epoch"] == 3 and torch.equal(back["model"]["w"], state["model"]["w"])


def test_is_complete_only_with_a_readable_complete_summary(tmp_path):
    assert not runstore.is_complete(tmp_path)
    (tmp_path / runstore.SUMMARY).write_text('{"complete": tr')
    assert not runstore.is_complete(tmp_path)
    runstore.write_summary(tmp_path, {"complete": False})
    assert not runstore.is_complete(tmp_path)
    runstore.write_summary(tmp_path, {"complete": True})
    assert runstore.is_complete(tmp_path)


def test_run_dirs_nested_or_children_only(tmp_path):
    for d in ("b", "a", "cpu/c"):
        runstore.write_config(tmp_path / d, {"run_id": d, "config": {}})
    (tmp_path / "stray").mkdir()
    assert [p.relative_to(tmp_path).as_posix() for p in runstore.run_dirs(tmp_path)] == ["a", "b", "cpu/c"]
    assert [p.name for p in runstore.run_dirs(tmp_path, nested=False)] == ["a", "b"]
    assert runstore.run_dirs(tmp_path / "nothing") == []


def test_the_module_imports_neither_torch_nor_empirical_at_import_time():
    """Theory code reads runs through it: no empirical import at all, and torch only inside the
    checkpoint functions."""
    tree = ast.parse((ROOT / "gftheory" / "runstore.py").read_text(encoding="utf-8"))
    top = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    top += [n.module for n in tree.body if isinstance(n, ast.ImportFrom)]
    every = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    every += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in top if m.split(".")[0] in ("torch", "empirical")]
    assert not [m for m in every if m.split(".")[0] == "empirical"]


# -- round trip: the writer's files, read back by the claims' reader -------------------------
EPOCHS = [{"kind": "epoch", "epoch": e, "phase": "prune" if e <= 2 else "train", "lr": 0.1,
           "train_loss": 2.0 / e, "val_acc": 0.3 + 0.1 * e, "test_acc": None, "seconds": 1.5} for e in (1, 2, 3, 4)]
EVENTS = [{"kind": "prune_event", "round": r, "epoch": r, "measure": "magnitude",
           "before": {"loss": 2.0 / r, "grad_norm_sq": 0.5}, "after": {"loss": 2.1 / r, "grad_norm_sq": 0.4},
           "widths_before": {"a": 64}, "widths_after": {"a": 64 - 16 * r}} for r in (1, 2)]


def test_round_trip_of_a_run_with_a_torn_line_then_resumed(tmp_path):
    cfg = {"arch": "resnet56", "dataset": "cifar10", "measure": "magnitude", "seed": 0, "scale": "cpu"}
    meta = {"run_id": "0123456789abcdef", "config": cfg, "deviations": ["d1"],
            "provenance": {"code_version": "abc", "device": "cpu"}}
    d = tmp_path / "cpu" / meta["run_id"]
    runstore.write_config(d, meta)
    records = [EPOCHS[0], EVENTS[0], EPOCHS[1], EVENTS[1], EPOCHS[2]]
    for rec in records:
        runstore.append_metric(d, rec)
    with open(d / runstore.METRICS, "a") as f:
        f.write(TORN)                      # killed while appending record 4

    stored = runstore.read_run(d)           # mid-run: the torn line is not a record
    assert (stored.run_id, stored.meta, stored.summary, stored.records) == (meta["run_id"], meta, None, records)
    assert not stored.complete and not stored.event_study
    rs = load_runs([tmp_path])
    assert rs.runs == [] and rs.incomplete == 1 and rs.unreadable == []

    assert runstore.truncate_metrics(d, 3) == records    # resume after record 3
    runstore.append_metric(d, EPOCHS[3])
    summary = {"run_id": meta["run_id"], "config": cfg, "complete": True, "epochs": 4,
               "final": {"val_acc": 0.7, "test_acc": None}}
    runstore.write_summary(d, summary)

    rs = load_runs([tmp_path])
    assert rs.incomplete == 0 and rs.unreadable == [] and len(rs.runs) == 1
    run = rs.runs[0]
    assert (run.path, run.run_id, run.config, run.summary) == (d, meta["run_id"], cfg, summary)
    assert (run.provenance, run.deviations) == (meta["provenance"], meta["deviations"])
    assert run.metrics == records + [EPOCHS[3]] and run.complete
    assert run.epochs() == EPOCHS and run.prune_events() == EVENTS
    assert read_runs(d) == rs.runs

    with open(d / runstore.METRICS, "a") as f:
        f.write(TORN)                      # a completed run with a torn line is not evidence
    rs = load_runs([tmp_path])
    assert rs.runs == [] and len(rs.unreadable) == 1 and "torn last line" in rs.unreadable[0]


def test_round_trip_of_an_event_study(tmp_path):
    study = {"kind": runstore.EVENT_STUDY, "arch": "vgg13", "dataset": "cifar10", "seed": 1,
             "checkpoints": [1], "measures": ["magnitude", "loss_preservation"]}
    meta = {"run_id": "ev-0123456789abc", "kind": runstore.EVENT_STUDY, "config": study,
            "provenance": {"code_version": "abc"}}
    d = tmp_path / "events" / meta["run_id"]
    runstore.write_config(d, meta)
    before = {"loss": 2.0, "grad_norm_sq": 0.5}
    recs = [{"kind": "trajectory_epoch", "epoch": 1, "train_loss": 2.0},
            {"kind": "event", "checkpoint": 1, "measure": "none", "event": "control", "before": before,
             "recovery": {"steps": [0, 50], "probe_loss": [2.0, 1.6]}}]
    for m, dl in (("magnitude", 0.3), ("loss_preservation", 0.05)):
        recs.append({"kind": "event", "checkpoint": 1, "measure": m, "event": "round1", "before": before,
                     "after": {"loss": 2.0 + dl, "grad_norm_sq": 0.45}, "pred": {"dloss_weights": dl},
                     "recovery": {"steps": [0, 50], "probe_loss": [2.0 + dl, 1.6 + dl]}})
        recs.append({"kind": "event", "checkpoint": 1, "measure": m, "event": "profile",
                     "original_widths": {"a": 64}, "widths_before": {"a": 64}, "widths_after": {"a": 32}})
    for rec in recs[:4]:
        runstore.append_event(d, rec)
    with open(d / runstore.EVENTS, "a") as f:
        f.write(TORN)                      # killed mid-line; the resumed study appends the rest
    assert runstore.read_run(d).records == recs[:4] and runstore.read_run(d).event_study
    assert load_runs([tmp_path]).incomplete == 1
    for rec in recs[4:]:
        runstore.append_event(d, rec)
    summary = {"run_id": meta["run_id"], "kind": runstore.EVENT_STUDY, "config": study, "complete": True,
               "events": 5}
    runstore.write_summary(d, summary)

    stored = runstore.read_run(d)
    assert (stored.meta, stored.summary, stored.records) == (meta, summary, recs)
    rs = load_runs([tmp_path])
    assert rs.unreadable == [] and rs.incomplete == 0
    by = {r.run_id: r for r in rs.runs}
    assert sorted(by) == [f"{meta['run_id']}:*", f"{meta['run_id']}:loss_preservation",
                          f"{meta['run_id']}:magnitude"]
    mag = by[f"{meta['run_id']}:magnitude"]
    assert mag.config == {**{k: v for k, v in study.items() if k != "measures"}, "measure": "magnitude",
                          "scale": EVENT_SCALE, "paired": True}
    assert mag.summary == summary and mag.provenance == meta["provenance"] and mag.path == d
    (ev,) = mag.prune_events()
    assert ev["round"] == 1 and ev["after"]["loss"] == pytest.approx(2.3) and ev["pred"] == {"dloss_weights": 0.3}
    assert ev["widths_before"] == {"a": 64} and ev["widths_after"] == {"a": 32}
    assert ev["recovery_gap"] == pytest.approx((1.9 - 1.6) / 1.6)
    every = by[f"{meta['run_id']}:*"]
    assert every.measure == ALL_MEASURES
    kinds = [m["kind"] for m in every.metrics]     # every "event" record, then the trajectory's epochs
    assert kinds.count("study_event") == 5 and kinds.count("trajectory_epoch") == 1 and len(kinds) == 6


def test_best_is_chosen_on_validation_never_test():
    ms = [{"kind": "epoch", "epoch": 1, "phase": "prune", "val_acc": 0.9, "test_acc": 0.1},
          {"kind": "epoch", "epoch": 2, "phase": "train", "val_acc": 0.3, "test_acc": 0.9},
          {"kind": "epoch", "epoch": 3, "phase": "train", "val_acc": 0.5, "test_acc": 0.2},
          {"kind": "epoch", "epoch": 4, "phase": "train", "val_acc": 0.5, "test_acc": 0.3}]
    assert _best_of(ms) == {"epoch": 3, "val_acc": 0.5, "test_acc": 0.2}
    assert _best_of(ms[:1]) == {"epoch": 1, "val_acc": 0.9, "test_acc": 0.1}
    assert _best_of([{"kind": "epoch", "epoch": 1, "phase": "train", "val_acc": None,
                      "test_acc": 0.5}])["epoch"] is None
