"""The run store: atomic writes, torn lines, truncation on resume, run records."""
from __future__ import annotations

import json
import os

import pytest
import torch

from empirical import store
from empirical.runner import _best_of


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a" / "x.json"
    store.atomic_write_json(p, {"v": 1})
    store.atomic_write_json(p, {"v": 2})
    assert store.read_json(p) == {"v": 2}
    assert [f.name for f in p.parent.iterdir()] == ["x.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "x.json"
    store.atomic_write_json(p, {"v": 1})

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.atomic_write_json(p, {"v": 2})
    monkeypatch.undo()
    assert store.read_json(p) == {"v": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["x.json"]


def test_nan_is_refused_not_written(tmp_path):
    with pytest.raises(ValueError):
        store.atomic_write_json(tmp_path / "x.json", {"v": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_jsonl_torn_last_line_is_ignored_and_cut_on_truncate(tmp_path):
    p = tmp_path / store.METRICS
    for e in (1, 2, 3):
        store.append_jsonl(p, {"kind": "epoch", "epoch": e})
    with open(p, "a") as f:
        f.write('{"kind": "epoch", "epo')  # killed mid-write
    assert [r["epoch"] for r in store.read_jsonl(p)] == [1, 2, 3]
    kept = store.truncate_metrics(p, 2)
    assert [r["epoch"] for r in kept] == [1, 2]
    assert [json.loads(line)["epoch"] for line in p.read_text().splitlines()] == [1, 2]
    assert store.truncate_metrics(tmp_path / "absent.jsonl", 0) == []


def test_corrupt_middle_line_is_an_error(tmp_path):
    p = tmp_path / store.METRICS
    p.write_text('{"epoch": 1}\nnot json\n{"epoch": 2}\n')
    with pytest.raises(ValueError, match="corrupt"):
        store.read_jsonl(p)


def test_checkpoint_round_trip(tmp_path):
    state = {"epoch": 3, "model": {"w": torch.arange(5.0)}, "rng": torch.get_rng_state()}
    store.save_checkpoint(tmp_path / store.CHECKPOINT, state)
    back = store.load_checkpoint(tmp_path / store.CHECKPOINT)
    assert back["epoch"] == 3 and torch.equal(back["model"]["w"], state["model"]["w"])


def test_iter_runs_reads_what_a_run_dir_holds(tmp_path):
    for rid, complete in (("b" * 16, True), ("a" * 16, False)):
        d = tmp_path / rid
        store.atomic_write_json(d / store.CONFIG, {"run_id": rid, "config": {"arch": "x"},
                                                   "deviations": ["d"], "provenance": {}})
        store.append_jsonl(d / store.METRICS, {"kind": "epoch", "epoch": 1, "val_acc": 0.5})
        store.append_jsonl(d / store.METRICS, {"kind": "prune_event", "epoch": 1, "round": 1})
        if complete:
            store.atomic_write_json(d / store.SUMMARY, {"complete": True})
    (tmp_path / "stray").mkdir()
    runs = list(store.iter_runs(tmp_path))
    assert [r.run_id for r in runs] == ["a" * 16, "b" * 16]
    assert [r.complete for r in runs] == [False, True]
    assert len(runs[0].epochs()) == 1 and len(runs[0].prune_events()) == 1
    assert [r.run_id for r in store.iter_runs(tmp_path, complete_only=True)] == ["b" * 16]
    assert list(store.iter_runs(tmp_path / "nothing")) == []


def test_best_is_chosen_on_validation_never_test():
    ms = [{"kind": "epoch", "epoch": 1, "phase": "prune", "val_acc": 0.9, "test_acc": 0.1},
          {"kind": "epoch", "epoch": 2, "phase": "train", "val_acc": 0.3, "test_acc": 0.9},
          {"kind": "epoch", "epoch": 3, "phase": "train", "val_acc": 0.5, "test_acc": 0.2},
          {"kind": "epoch", "epoch": 4, "phase": "train", "val_acc": 0.5, "test_acc": 0.3}]
    assert _best_of(ms) == {"epoch": 3, "val_acc": 0.5, "test_acc": 0.2}
    assert _best_of(ms[:1]) == {"epoch": 1, "val_acc": 0.9, "test_acc": 0.1}
    assert _best_of([{"kind": "epoch", "epoch": 1, "phase": "train", "val_acc": None,
                      "test_acc": 0.5}])["epoch"] is None
