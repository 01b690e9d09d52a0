"""Stage-2 progress (gftheory.claims.progress, ``gftheory plan --progress``) on planted runs: every
count and hour is checked against a sum written out by hand from the planted seconds."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gftheory.claims import rules
from gftheory.claims.progress import stage2_progress, table
from gftheory.claims.runs import load_runs
from gftheory.claims.stages import load_plan
from planted import write_event_study, write_run

REPO = Path(__file__).resolve().parents[2]
COSTS = {"cpu2": {"resnet56": {"magnitude": 100.0, "random": 10.0}}, "events": {"vgg13": 1000.0}}


def _plan(root: Path, cells, costs=COSTS) -> Path:
    p = root / "plans" / "stage2.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"rules_version": "4", "rules_digest": rules.rules_digest(), "cells": cells,
                             "stage2_scales": ["cpu2", "events"], "protocol": {}, "costs_seconds": costs}))
    return p


def _cell(claim, rule, arch, scale, measures, seeds):
    return {"claim": claim, "rule": rule, "arch": arch, "dataset": "cifar10", "scale": scale, "protocol": None,
            "measures": measures, "n": len(seeds), "seeds": list(seeds), "status": "planned", "cost_hours": 1.0,
            "reason": "80 % power"}


CELLS = [
    _cell("E7", "final_acc: magnitude > random", "resnet56", "cpu2", ["magnitude", "random"], (3, 4, 5)),
    # the same magnitude runs again (counted once) and an arm priced as its own measure's run
    _cell("LMRF", "final_acc: magnitude > random@magnitude", "resnet56", "cpu2", ["magnitude", "random@magnitude"],
          (3, 4, 5)),
    # two cells of one study per seed: one unit per (arch, seed)
    _cell("E4", "x", "vgg13", "events", ["loss_preservation", "grasp"], (11, 12)),
    _cell("E5", "y", "vgg13", "events", ["grasp"], (11, 12)),
    # a cell the plan does not run: never a unit
    {**_cell("E1", "z", "mobilenet_v1", "cpu2", ["magnitude"], (3,)), "status": "not decidable"},
]


def _store(root: Path) -> None:
    cpu2 = {"scale": "cpu2", "arch": "resnet56", "dataset": "cifar10"}
    write_run(root, measure="magnitude", seed=3, seconds=150.0, **cpu2)
    write_run(root, measure="magnitude", seed=4, seconds=250.0, **cpu2)
    write_run(root, measure="random", seed=3, seconds=30.0, **cpu2)
    write_run(root, measure="random", seed=3, seconds=40.0, extra_config={"quota_from": "magnitude"}, **cpu2)
    write_run(root, measure="random", seed=5, seconds=999.0, complete=False, **cpu2)      # incomplete: not stored
    write_run(root, measure="magnitude", seed=6, seconds=999.0, **cpu2)                   # not named by the plan
    write_run(root, measure="magnitude", seed=3, seconds=999.0, scale="cpu", arch="resnet56")  # stage 1
    write_event_study(root, arch="vgg13", seed=11, measures={"loss_preservation": {}, "grasp": {}}, seconds=3000.0)


def test_progress_counts_units_once_and_prices_them_as_the_plan_does(tmp_path):
    _plan(tmp_path, CELLS)
    _store(tmp_path)
    p = stage2_progress(load_plan([tmp_path]), load_runs([tmp_path], allow_planted=True).runs)
    blocks = {(b.arch, b.scale): b for b in p.blocks}
    assert list(blocks) == [("resnet56", "cpu2"), ("vgg13", "events")]          # plan order; no undecidable cell
    r = blocks[("resnet56", "cpu2")]
    # units: magnitude, random, random@magnitude × seeds 3, 4, 5 = 9; stored: mag 3, 4; random 3; arm 3
    assert (r.planned, r.stored) == (9, 4)
    assert r.measured_s == pytest.approx(150 + 250 + 30 + 40)
    assert r.estimate_stored_s == pytest.approx(100 + 100 + 10 + 10)             # the arm priced as random
    assert r.ratio == pytest.approx(470 / 220)
    assert r.estimate_missing_s == pytest.approx(100 + 10 + 10 + 10 + 10)         # mag 5; random 4, 5; arm 4, 5
    assert r.rest_s == pytest.approx(140 * 470 / 220)
    assert sorted(r.missing) == sorted(["magnitude seed 5", "random seed 4", "random seed 5",
                                        "random@magnitude seed 4", "random@magnitude seed 5"])
    m = {x.measure: x for x in p.measures if x.arch == "resnet56"}
    assert m["random@magnitude"].ratio == pytest.approx(40 / 10) and m["magnitude"].ratio == pytest.approx(400 / 200)
    assert m["magnitude"].rest_s == pytest.approx(100 * 2.0)
    v = blocks[("vgg13", "events")]
    assert (v.planned, v.stored, v.measured_s, v.estimate_stored_s, v.estimate_missing_s) == (2, 1, 3000.0, 1000.0,
                                                                                              1000.0)
    assert v.rest_s == pytest.approx(3000.0) and v.missing == ["study seed 12"]
    t = p.total()
    assert (t.planned, t.stored) == (11, 5)
    assert p.rest_s == pytest.approx(140 * 470 / 220 + 3000.0)
    text = table(p)
    assert "4/9" in text and "1/2" in text and "5/11" in text


def test_a_block_with_nothing_stored_rests_on_the_plans_estimate_and_unpriced_units_are_counted(tmp_path):
    cells = [_cell("E7", "final_acc: grasp > random", "resnet56", "cpu2", ["grasp", "random"], (3, 4)),
             _cell("E4", "x", "mobilenet_v1", "events", ["grasp"], (11,))]
    _plan(tmp_path, cells, costs={"cpu2": {"resnet56": {"random": 10.0}}, "events": {}})
    p = stage2_progress(load_plan([tmp_path]), [])
    r, e = p.blocks
    assert r.ratio is None and r.stored == 0
    # grasp has no seconds: the architecture's most expensive recorded measure stands in (Costs.run_seconds)
    assert r.rest_s == pytest.approx(2 * 10.0 + 2 * 10.0) and r.unpriced == 0
    assert e.unpriced == 1 and e.rest_s == 0.0
    assert "+1 unpriced" in table(p)


def _cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "gftheory", "plan", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_progress_prints_the_table_and_json_and_writes_nothing(tmp_path):
    plan = _plan(tmp_path, CELLS)
    _store(tmp_path)
    before = sorted(str(q) for q in tmp_path.rglob("*"))
    out = _cli("--progress", "--results", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "resnet56/cifar10 cpu2" in out.stdout and "random@magnitude" in out.stdout
    # planted runs are never evidence: the command sets them aside and says so
    assert "planted (synthetic) run(s) set aside" in out.stdout
    js = _cli("--progress", "--json", "--results", str(tmp_path), "--out", str(plan))
    assert js.returncode == 0, js.stderr
    d = json.loads(js.stdout)
    assert d["total"]["planned"] == 11 and d["total"]["stored"] == 0 and d["planted_set_aside"] >= 5
    assert sorted(str(q) for q in tmp_path.rglob("*")) == before


def test_cli_progress_without_a_plan_is_a_usage_error(tmp_path):
    out = _cli("--progress", "--results", str(tmp_path))
    assert out.returncode == 2 and "no plan at" in out.stderr and "fix:" in out.stderr
    bad = tmp_path / "elsewhere.json"
    bad.write_text("{}")
    out = _cli("--progress", "--results", str(tmp_path), "--out", str(bad))
    assert out.returncode == 2 and "fix:" in out.stderr
    assert not (tmp_path / "plans").exists()
    out = _cli("--progress", "--results", str(tmp_path), "--force", "--budget-hours", "5")
    assert out.returncode == 2 and "--force, --budget-hours would have no effect" in out.stderr


def test_recorded_parts_split_each_runs_own_seconds_and_take_the_median(tmp_path):
    from gftheory.claims.progress import parts_table, recorded_parts, run_parts
    for seed, sec in ((0, 10.0), (1, 30.0), (2, 20.0)):
        write_run(tmp_path, measure="grasp", seed=seed, scale="cpu", rounds=3, seconds=sec)
    d = write_run(tmp_path, measure="grasp", seed=3, scale="cpu2", rounds=4, seconds=50.0)
    recs = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
    for r in recs:                       # cpu2 records the descriptive train-mode quantities' seconds too
        if r["kind"] == "prune_event":
            r.update(train_mode_loss_seconds=0.5, train_mode_score_seconds=1.5)
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    write_run(tmp_path, measure="grasp", seed=4, scale="cpu2", seconds=99.0, complete=False)   # incomplete
    runs = load_runs([tmp_path], allow_planted=True).runs
    one = next(r for r in runs if r.config["scale"] == "cpu2")
    assert run_parts(one) == pytest.approx({"total": 50.0, "scoring": 0.4, "diagnostics": 8.0, "rest": 41.6})
    rows = recorded_parts(runs)
    assert [(r["scale"], r["n"]) for r in rows] == [("cpu", 3), ("cpu2", 1)]
    assert rows[0]["total"] == 20.0 and rows[0]["scoring"] == pytest.approx(0.3)
    assert rows[0]["rest"] == pytest.approx(19.7) and rows[0]["diagnostics"] == 0.0
    assert "grasp" in parts_table(rows) and "0.8" in parts_table(rows)          # 50 s = 0.8 min


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    """`gftheory plan --progress | head -1`: the closed pipe ends the command quietly (the table is
    made longer than a pipe's buffer, so the write after `head` exits does fail)."""
    many = [f"m{i}" for i in range(2000)]
    _plan(tmp_path, [_cell("E7", "r", "resnet56", "cpu2", many, (3,))])
    out = subprocess.run(f"{sys.executable} -m gftheory plan --progress --results {tmp_path} | head -1",
                         shell=True, cwd=REPO, capture_output=True, text=True)
    assert out.stdout.startswith("plan ") and len(out.stdout.splitlines()) == 1
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr
