"""The stage-2 plan (gftheory.claims.plan, ``gftheory plan``) on planted stage-1 runs: the effect,
spread and n of a cell recomputed independently (values read straight from the planted
summary.json files; n by a direct scan of scipy's noncentral t, not through claims.power), seeds
fresh and within 3–99, the budget respected and cells that do not fit listed, every bad input
refused with exit status 2 before anything is written."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from gftheory.claims import rules
from gftheory.claims.plan import (PARALLEL, _stage1_cells_v3, make_plan, plan_digest, stage1_cells, table)
from gftheory.claims.runs import load_runs
from gftheory.cli import main
from planted import plant, write_event_study, write_run

LP, LPE = "loss_preservation", "loss_preservation_elementwise"
E1_LP = f"final_acc: magnitude > {LP}"
E1_LPE = f"final_acc: magnitude > {LPE}"


def planted_e1(root, seeds=3, noise=0.6, gap=2.0, rng_seed=4):
    plant(root, measures={"magnitude": {"final_acc": 90.0 + gap}, LP: {"final_acc": 90.0},
                          LPE: {"final_acc": 90.0 + gap / 2}},
          seeds=seeds, scale="cpu", noise=noise, rng_seed=rng_seed)


def load(root):
    return load_runs([root], allow_planted=True)


def summaries(root, measure):
    """{seed: final accuracy in points} read straight from the planted summary files."""
    out = {}
    for p in Path(root).rglob("summary.json"):
        s = json.loads(p.read_text())
        cfg = s.get("config", {})
        if cfg.get("measure") == measure and cfg.get("scale") == "cpu":
            out[cfg["seed"]] = 100.0 * s["final"]["test_acc"]
    return out


def n_by_scan(d, sd, c, alpha=0.05, goal=0.8):
    """Smallest n ≥ 3 with P(T' > t_{1−α,n−1}) ≥ goal, T' ~ nct(n − 1, (d − c)√n/sd): a direct scan."""
    for n in range(3, 51):
        if st.nct.sf(st.t.ppf(1 - alpha, n - 1), n - 1, (d - c) * math.sqrt(n) / sd) >= goal:
            return n
    return None


def cells_of(plan, claim, rule=None, arch="resnet56"):
    return [c for c in plan["cells"] if c["claim"] == claim and c["arch"] == arch and (rule is None or c["rule"] == rule)]


def write_costs(path, cpu2=None, events=None):
    path.write_text(json.dumps({"cpu2": cpu2 or {}, "events": events or {}, "source": "planted costs (test)"}))
    return path


# ------------------------------------------------------------------ the plan's numbers
def test_planned_n_effect_and_sd_match_an_independent_computation(tmp_path):
    planted_e1(tmp_path)
    plan = make_plan(load(tmp_path), budget_hours=1000)
    mag, lp = summaries(tmp_path, "magnitude"), summaries(tmp_path, LP)
    diffs = [mag[s] - lp[s] for s in sorted(mag)]
    d, sd = float(np.mean(diffs)), float(np.std(diffs, ddof=1))
    (cell,) = cells_of(plan, "E1", E1_LP)
    assert cell["paired"] and cell["design"] == "paired"       # same seeds, matching fingerprints
    assert cell["effect"] == pytest.approx(d, rel=1e-9) and cell["sd"] == pytest.approx(sd, rel=1e-9)
    assert cell["target"] == "confirm" and cell["threshold"] == rules.MIN_EFFECT["final_acc"]
    expected = n_by_scan(d, sd, rules.MIN_EFFECT["final_acc"])
    assert expected is not None and cell["n_needed"] == expected
    assert cell["status"] == "planned" and cell["power"] >= 0.8
    # the claim cell needs both rules: its n is the larger of the two, and both get that seed list
    (other,) = cells_of(plan, "E1", E1_LPE)
    n_claim = max(expected, other["n_needed"])
    assert plan["seeds"]["resnet56/cpu2"][:n_claim] == list(range(3, 3 + n_claim))
    assert cell["seeds"] == other["seeds"] == plan["seeds"]["resnet56/cpu2"]


def test_a_contradiction_is_planned_at_the_holm_level(tmp_path):
    planted_e1(tmp_path, gap=-2.0)          # magnitude worse: the rules point to a contradiction
    plan = make_plan(load(tmp_path), budget_hours=1000)
    (cell,) = cells_of(plan, "E1", E1_LP)
    mag, lp = summaries(tmp_path, "magnitude"), summaries(tmp_path, LP)
    diffs = [mag[s] - lp[s] for s in sorted(mag)]
    d, sd = float(np.mean(diffs)), float(np.std(diffs, ddof=1))
    assert cell["target"] == "contradict" and cell["alpha"] == pytest.approx(rules.ALPHA / 2)   # E1 has 2 rules
    assert cell["n_needed"] == n_by_scan(-d, sd, rules.MIN_EFFECT["final_acc"], alpha=rules.ALPHA / 2)
    # --confirm-only: no n confirms a negative effect
    strict = make_plan(load(tmp_path), budget_hours=1000, confirm_only=True)
    (cell,) = cells_of(strict, "E1", E1_LP)
    assert cell["status"] == "not decidable" and "no n confirms it" in cell["reason"] and not cell["seeds"]


def test_an_effect_below_the_threshold_is_not_decidable(tmp_path):
    planted_e1(tmp_path, gap=0.0, noise=3.0)
    plan = make_plan(load(tmp_path), budget_hours=1000, confirm_only=True)
    for cell in cells_of(plan, "E1"):
        assert cell["status"] == "not decidable" and cell["reason"].startswith("not decidable on this machine")


def test_welch_when_stage_one_cannot_pair(tmp_path):
    planted_e1(tmp_path)
    # a fourth seed for magnitude only: still paired over the 3 common seeds; then break seed 0's pairing
    runset = load(tmp_path)
    for r in runset.runs:
        if r.measure == "magnitude":
            for e in r.metrics:
                if e.get("kind") == "epoch":
                    e["train_loss"] = e["train_loss"] + 1e-9 * (1 + r.config["seed"])   # fingerprints differ
                    break
    plan = make_plan(runset, budget_hours=1000)
    (cell,) = cells_of(plan, "E1", E1_LP)
    assert cell["design"] == "welch" and not cell["paired"] and cell["sd_b"] is not None
    mag, lp = summaries(tmp_path, "magnitude"), summaries(tmp_path, LP)
    assert cell["sd"] == pytest.approx(np.std(list(mag.values()), ddof=1))
    assert cell["sd_b"] == pytest.approx(np.std(list(lp.values()), ddof=1))


def test_the_v3_fallback_reads_the_same_values(tmp_path):
    planted_e1(tmp_path)
    runs = load(tmp_path).runs
    new = {(c.claim, c.label, c.arch): c for c in stage1_cells(runs)}
    old = {(c.claim, c.label, c.arch): c for c in _stage1_cells_v3(runs)}
    for key in [("E1", E1_LP, "resnet56"), ("E1", E1_LPE, "resnet56")]:
        assert new[key].a["values"] == old[key].a["values"] and new[key].b["values"] == old[key].b["values"]
        assert new[key].paired and old[key].paired


# ------------------------------------------------------------------ costs and the budget
def test_budget_is_respected_and_what_does_not_fit_is_listed(tmp_path):
    planted_e1(tmp_path)
    per = 3600.0                               # one process-hour per run
    costs = write_costs(tmp_path / "costs.json", cpu2={"resnet56": {"magnitude": per, LP: per, LPE: per}})
    from gftheory.claims.plan import read_costs
    obj = read_costs(costs)
    full = make_plan(load(tmp_path), budget_hours=1000, costs_obj=obj, costs_path=str(costs))
    n_e1 = len(full["seeds"]["resnet56/cpu2"])
    e1_hours = n_e1 * 3 * per / PARALLEL / 3600          # 3 measures × n seeds, two runs at a time
    for cell in cells_of(full, "E1"):
        assert cell["cost_hours"] == pytest.approx(n_e1 * 2 * per / PARALLEL / 3600, abs=0.01)   # its 2 measures
    # a budget just above E1's cost buys E1 and nothing that needs more runs
    plan = make_plan(load(tmp_path), budget_hours=e1_hours + 0.01, costs_obj=obj, costs_path=str(costs))
    assert plan["total_cost_hours"] <= plan["budget_hours"]
    assert plan["total_cost_hours"] == pytest.approx(e1_hours, abs=0.01)
    assert all(c["status"] == "planned" for c in cells_of(plan, "E1"))
    unfit = [c for c in plan["cells"] if c["status"] == "does not fit"]
    assert unfit and all(c["reason"].startswith("does not fit the budget: needs n = ") and c["cost_hours"] > 0
                         and not c["seeds"] for c in unfit)
    # a budget below E1's cost: E1 does not fit, nothing is planned, nothing dropped
    small = make_plan(load(tmp_path), budget_hours=e1_hours / 2, costs_obj=obj, costs_path=str(costs))
    assert small["total_cost_hours"] == 0 and not small["seeds"]
    assert {c["status"] for c in cells_of(small, "E1")} == {"does not fit"}
    assert len(small["cells"]) == len(plan["cells"]) == len(full["cells"])
    assert plan["costs_measured"] and plan["costs_source"].startswith(str(costs))


def test_measures_shared_by_rules_are_paid_once_and_event_studies_cost_one_study(tmp_path):
    for s in range(3):
        write_event_study(tmp_path, seed=s, seconds=7200.0, rng_seed=s,
                          measures={"grasp": {"d_grad_norm_sq": 0.3}, "magnitude": {"d_grad_norm_sq": 0.0}})
    plan = make_plan(load(tmp_path), budget_hours=1000)
    assert not plan["costs_measured"] and "costs not measured for stage 2" in plan["costs_source"]
    assert plan["costs_seconds"]["events"]["resnet56"] == pytest.approx(7200.0)
    (cell,) = cells_of(plan, "E5", "event_log_grad_norm_ratio(grasp) > 0")
    assert cell["status"] == "planned" and cell["design"] == "one-sample"
    n = len(plan["seeds"]["resnet56/events"])
    assert cell["cost_hours"] == pytest.approx(n * 7200.0 / PARALLEL / 3600, abs=0.01)
    # the whole plan: one study per planned seed, however many rules read it
    assert plan["total_cost_hours"] == pytest.approx(n * 7200.0 / PARALLEL / 3600, abs=0.01)


# ------------------------------------------------------------------ seeds
def test_seeds_are_fresh_and_in_range(tmp_path):
    planted_e1(tmp_path)
    write_run(tmp_path, measure="random", seed=3, scale="smoke")                    # a stored run uses seed 3
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "other.json").write_text(json.dumps({"pairs": [{"seed": 4}], "seeds": {"x": [6]}}))
    for s in range(3):
        write_event_study(tmp_path, seed=s, rng_seed=s, measures={"grasp": {"d_grad_norm_sq": 0.3}})
    plan = make_plan(load(tmp_path), budget_hours=1000, plan_files=[tmp_path / "plans" / "other.json"])
    lists = plan["seeds"]
    assert lists["resnet56/cpu2"] and lists["resnet56/events"]
    every = [s for v in lists.values() for s in v]
    assert all(3 <= s <= 99 for s in every) and not {3, 4, 6} & set(every)
    assert not set(lists["resnet56/cpu2"]) & set(lists["resnet56/events"])      # disjoint protocols
    assert lists["resnet56/cpu2"] == sorted(lists["resnet56/cpu2"])
    for c in plan["cells"]:
        assert not c["seeds"] or c["seeds"] == lists[f"{c['arch']}/{c['scale']}"]
        assert (c["status"] == "planned") == bool(c["seeds"])
        if c["status"] == "planned":
            assert c["n"] == len(c["seeds"])


def test_the_plan_digest_covers_the_plan(tmp_path):
    planted_e1(tmp_path)
    plan = make_plan(load(tmp_path), budget_hours=1000, created_utc="2026-01-01T00:00:00+00:00")
    assert plan["plan_digest"] == plan_digest(plan)
    assert plan["rules_digest"] == rules.rules_digest() and plan["rules_version"] == rules.RULES_VERSION
    changed = json.loads(json.dumps(plan))
    changed["cells"][0]["n"] = 99
    assert plan_digest(changed) != plan["plan_digest"]
    again = make_plan(load(tmp_path), budget_hours=1000, created_utc="2026-01-01T00:00:00+00:00")
    assert again["stage1_digest_of_inputs"] == plan["stage1_digest_of_inputs"]
    assert again["plan_digest"] == plan["plan_digest"]                   # deterministic
    for key in ("rules_version", "rules_digest", "stage1_digest_of_inputs", "budget_hours", "costs_source", "protocol",
                "stage2_scales", "seeds", "cells", "total_cost_hours", "created_utc", "code_version"):
        assert key in plan
    for key in ("claim", "rule", "arch", "dataset", "scale", "protocol", "measures", "effect", "sd", "paired", "n",
                "seeds", "status", "cost_hours", "reason"):
        assert all(key in c for c in plan["cells"])
    assert {c["status"] for c in plan["cells"]} <= {"planned", "not decidable", "does not fit"}
    text = table(plan)
    assert "E1" in text and "planned" in text


# ------------------------------------------------------------------ the command
def test_command_writes_the_plan_and_prints_the_table(tmp_path, capsys):
    planted_e1(tmp_path / "res")
    out = tmp_path / "plan.json"
    # planted runs are never stage-1 evidence: the command refuses a store of planted runs only
    assert main(["plan", "--results", str(tmp_path / "res"), "--out", str(out)]) == 2
    assert not out.exists()
    assert "no completed stage-1 runs" in capsys.readouterr().err


def test_command_on_real_shaped_runs(tmp_path, capsys, monkeypatch):
    planted_e1(tmp_path / "res")
    import gftheory.claims.runs as runs_mod
    real = runs_mod.load_runs
    monkeypatch.setattr(runs_mod, "load_runs", lambda roots, **kw: real(roots, **{**kw, "allow_planted": True}))
    out = tmp_path / "sub" / "plan.json"
    assert main(["plan", "--results", str(tmp_path / "res"), "--out", str(out), "--budget-hours", "50"]) == 0
    plan = json.loads(out.read_text())
    assert plan["plan_digest"] == plan_digest(plan) and plan["budget_hours"] == 50
    printed = capsys.readouterr().out
    assert "stage-2 plan" in printed and E1_LP in printed and str(out) in printed
    # an existing plan is never replaced silently
    assert main(["plan", "--results", str(tmp_path / "res"), "--out", str(out)]) == 2
    assert json.loads(out.read_text()) == plan
    assert main(["plan", "--results", str(tmp_path / "res"), "--out", str(out), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cells"]


@pytest.mark.parametrize("args,message", [
    (["--results", "{tmp}/missing"], "does not exist"),
    (["--budget-hours", "0"], "not a positive number of hours"),
    (["--budget-hours", "-3"], "not a positive number of hours"),
    (["--budget-hours", "inf"], "not a positive number of hours"),
    (["--costs", "{tmp}/nope.json"], "costs file"),
    (["--costs", "{tmp}/bad.json"], "not readable JSON"),
    (["--costs", "{tmp}/negative.json"], "not a positive number of seconds"),
    (["--costs", "{tmp}/list.json"], "not an object"),
    (["--out", "{tmp}"], "is a directory"),
])
def test_command_errors_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    res = tmp_path / "res"
    planted_e1(res)
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "negative.json").write_text(json.dumps({"cpu2": {"resnet56": {"magnitude": -5}}}))
    (tmp_path / "list.json").write_text("[1, 2]")
    argv = ["plan", "--results", str(res), "--out", str(tmp_path / "out" / "plan.json")]
    argv += [a.format(tmp=tmp_path) for a in args]
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err
    assert sorted(p for p in tmp_path.rglob("*")) == before          # nothing written, no temporary file left


def test_command_checks_its_inputs_before_any_work(tmp_path, capsys, monkeypatch):
    planted_e1(tmp_path / "res")
    import gftheory.claims.plan as plan_mod
    monkeypatch.setattr(plan_mod, "make_plan", lambda *a, **k: pytest.fail("work started before the checks"))
    assert main(["plan", "--results", str(tmp_path / "res"), "--budget-hours", "-1",
                 "--out", str(tmp_path / "p.json")]) == 2


def test_a_costs_file_prices_measures_it_does_not_name_by_its_measured_factor(tmp_path):
    planted_e1(tmp_path)
    plant(tmp_path, measures={"random": {"final_acc": 85.0}}, seeds=3, scale="cpu", rng_seed=9)
    # stage-1 recorded seconds are 1.0 per run; the file says cpu2 magnitude and LP cost 4 s and 6 s
    costs = write_costs(tmp_path / "c.json", cpu2={"resnet56": {"magnitude": 4.0, LP: 6.0}})
    from gftheory.claims.plan import read_costs
    plan = make_plan(load(tmp_path), budget_hours=1000, costs_obj=read_costs(costs), costs_path=str(costs))
    sec = plan["costs_seconds"]["cpu2"]["resnet56"]
    assert sec["magnitude"] == 4.0 and sec[LP] == 6.0
    assert sec[LPE] == pytest.approx(5.0) and sec["random"] == pytest.approx(5.0)     # × median ratio 5
    assert any("median cpu2/stage-1 ratio" in n for n in plan["costs_notes"])
