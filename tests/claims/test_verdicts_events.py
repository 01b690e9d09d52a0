"""Event-study evidence in the verdict layer (planted studies): virtual runs per measure, paired
cells (seeds as the unit), the recovery claim E8, T1/T2 at scale, and the 'events' scale kept
apart from the prune-while-training scales."""
from __future__ import annotations

import pytest

from gftheory.claims import LiveEvidence, evaluate_claims, load_runs
from gftheory.claims.rules import Comparison
from gftheory.claims.runs import ALL_MEASURES, EVENT_SCALE
from gftheory.claims.verdicts import decide_family, rule_cells
from planted import write_event_study

LP, LPE, BLP, GNP = ("loss_preservation", "loss_preservation_elementwise", "biased_loss_preservation",
                     "gradient_norm_preservation")
OTHERS = ("magnitude", LPE, BLP, "grasp", GNP, "random")


def _plant(root, measures, seeds=(0, 1, 2), shifts=(0.0, 0.3, -0.3), **kw):
    for s, shift in zip(seeds, shifts):
        write_event_study(root, seed=s, measures=measures, seed_shift=shift, **kw)


def _e4_measures(lp_dloss=0.01, other_dloss=0.10):
    m = {o: {"d_loss": other_dloss, "d_theta_g": 0.2} for o in OTHERS}
    m[LP] = {"d_loss": lp_dloss, "d_theta_g": 0.01}
    return m


def test_event_study_becomes_one_virtual_run_per_measure(tmp_path):
    _plant(tmp_path, _e4_measures())
    rs = load_runs([tmp_path], allow_planted=True)
    assert len(rs.runs) == 3 * (len(OTHERS) + 1 + 1)          # measures + the study-level run, × 3 seeds
    run = next(r for r in rs.runs if r.measure == LP)
    assert run.config["scale"] == EVENT_SCALE and run.config["paired"] is True
    assert [e["round"] for e in run.prune_events()] == [1, 3]  # one round-1 event per checkpoint
    assert all("recovery_gap" in e and "widths_after" in e for e in run.prune_events())
    assert any(r.measure == ALL_MEASURES for r in rs.runs)
    assert load_runs([tmp_path]).runs == [] and load_runs([tmp_path]).planted   # planted: set aside


def test_paired_cells_see_through_a_between_seed_offset(tmp_path):
    """Each seed shifts every measure's ΔL by ±0.3 (the checkpoint's own state); within a seed
    loss preservation changes the loss far less. Paired: confirmed; Welch on the same values: the
    offset swamps the difference."""
    _plant(tmp_path, _e4_measures())
    runs = load_runs([tmp_path], allow_planted=True).runs
    rule = Comparison(LP, "random", "event_rel_dloss", "lower")
    (cell,) = decide_family(rule_cells(rule, runs))
    assert cell.paired and cell.verdict == "confirmed" and cell.scale == EVENT_SCALE
    for r in runs:
        r.config["paired"] = False
    (welch,) = decide_family(rule_cells(rule, runs))
    assert not welch.paired and welch.verdict == "inconclusive"


def test_e4_confirmed_and_reversed_contradicted_at_the_events_scale(tmp_path):
    _plant(tmp_path / "good", _e4_measures(), shifts=(0.0, 0.01, -0.01))
    res = evaluate_claims(load_runs([tmp_path / "good"], allow_planted=True), LiveEvidence(), ids=["E4"])["E4"]
    assert res.scales[EVENT_SCALE].verdict.label.startswith("confirmed")
    _plant(tmp_path / "bad", _e4_measures(lp_dloss=0.3, other_dloss=0.01), shifts=(0.0, 0.01, -0.01))
    res = evaluate_claims(load_runs([tmp_path / "bad"], allow_planted=True), LiveEvidence(), ids=["E4"])["E4"]
    assert res.scales[EVENT_SCALE].verdict.label.startswith("contradicted")


def test_e8_recovery_gap(tmp_path):
    m = {"magnitude": {"recovery_loss": 0.0}, "random": {"recovery_loss": 0.2}, LPE: {"recovery_loss": 0.15}}
    _plant(tmp_path, m, shifts=(0.0, 0.001, -0.001))
    res = evaluate_claims(load_runs([tmp_path], allow_planted=True), LiveEvidence(), ids=["E8"])["E8"]
    assert res.verdict.label.startswith("confirmed")
    assert all(c.paired for c in res.cells)


@pytest.mark.parametrize("noise, expected", [(0.03, "confirmed"), (3.0, "contradicted")])
def test_first_order_agreement_at_scale(tmp_path, noise, expected):
    """Predictions close to the actual change (3 % noise) make T1S/T2S confirmed; predictions that are
    noise (300 %) make the rank correlation fall below 0.8 and the error exceed 0.5."""
    m = {o: {"d_loss": 0.02 * (i + 1), "d_grad_norm_sq": 0.01 + 0.0012 * i} for i, o in enumerate(OTHERS + (LP,))}
    _plant(tmp_path, m, pred_noise=noise, shifts=(0.0, 0.0, 0.0))
    res = evaluate_claims(load_runs([tmp_path], allow_planted=True), LiveEvidence(), ids=["T1S", "T2S"])
    for cid in ("T1S", "T2S"):
        assert res[cid].verdict.label.startswith(expected), (cid, res[cid].verdict)


def test_no_event_study_no_verdict_and_event_claims_print_events_commands():
    from gftheory.claims import CLAIMS
    res = evaluate_claims(None, LiveEvidence(), ids=["E8", "T1S"])
    assert all(not r.verdict.label.startswith(("confirmed", "contradicted")) for r in res.values())
    assert any(c.startswith("gftheory events --arch resnet56") for c in CLAIMS["E8"].commands())
    assert not any(c.startswith("gftheory confirm") for c in CLAIMS["T1S"].commands())
    assert any(c.startswith("gftheory events") for c in CLAIMS["E4"].commands())


def test_claims_read_only_the_evidence_they_name(tmp_path):
    """An event study holds no final accuracy: E1 (runs only) gets no 'events' scale at all, and a
    run-only rule of a mixed claim (E5's accuracy) has no cells there rather than 'insufficient'."""
    _plant(tmp_path, _e4_measures())
    res = evaluate_claims(load_runs([tmp_path], allow_planted=True), LiveEvidence(), ids=["E1", "E5"])
    assert EVENT_SCALE not in res["E1"].scales and res["E1"].verdict.label.startswith("not yet run")
    e5 = res["E5"].scales[EVENT_SCALE].rules
    acc = next(v for k, v in e5.items() if k.startswith("final_acc"))
    assert acc.label.startswith("not yet run")
