"""Verdict logic on planted run sets, one test per defect of issue 9 (each fails on the pooled,
largest-scale-only, bootstrap-backed verdict layer it replaced): per-rule decisions combined as
the formal statement says, coverage and every scale, honest composites, planted runs segregated,
minimum meaningful differences, degenerate cells, Holm within a claim (simulated null family)."""
import numpy as np
import pytest
from scipy import stats as st

from gftheory.claims import CLAIMS, LiveEvidence, evaluate_claims, load_runs
from gftheory.claims import rules
from gftheory.claims.rules import Comparison, NonInferior, OneSample
from gftheory.claims.stats import holm, one_sample_stat, one_sided_p, t_interval, welch_interval, welch_stat
from gftheory.claims.verdicts import (Cell, Verdict, cell_from_values, combine, decide_family, identity_verdict,
                                      rule_cells, rule_verdict)
from planted import plant, write_run

E1_CMP = Comparison("magnitude", "loss_preservation", "final_acc")
LP, LPE, BLP, GNP = ("loss_preservation", "loss_preservation_elementwise", "biased_loss_preservation",
                     "gradient_norm_preservation")


def load(root):
    return load_runs([root], allow_planted=True)


def cells_for(root, comp=E1_CMP):
    return decide_family(rule_cells(comp, load(root).runs))


def evaluate(root, ids, live=None):
    return evaluate_claims(load(root), live or LiveEvidence(), ids=list(ids))


# ------------------------------------------------------------------ statistics
def test_welch_interval_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 5), rng.normal(0.0, 2.0, 7)
    ours = welch_interval(a, b)
    ref = st.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert ours.estimate == pytest.approx(a.mean() - b.mean())
    assert (ours.low, ours.high) == pytest.approx((ref.low, ref.high), rel=1e-10)


def test_t_interval_and_one_sided_p_match_scipy():
    a = np.array([0.3, 0.5, 0.1, 0.9])
    ref = st.ttest_1samp(a, 0.0).confidence_interval(0.95)
    assert (t_interval(a).low, t_interval(a).high) == pytest.approx((ref.low, ref.high), rel=1e-10)
    p_up, p_down = one_sided_p(one_sample_stat(a), 1.0, 0.1, -0.1)
    assert p_up == pytest.approx(st.ttest_1samp(a, 0.1, alternative="greater").pvalue, rel=1e-10)
    assert p_down == pytest.approx(st.ttest_1samp(a, -0.1, alternative="less").pvalue, rel=1e-10)
    b = np.array([0.0, 0.2, -0.3])
    p_up, _ = one_sided_p(welch_stat(a, b), 1.0, 0.0, 0.0)
    assert p_up == pytest.approx(st.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue, rel=1e-10)


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]) == [0.5] and holm([]) == []
    assert holm([0.9, 0.9, 0.9]) == pytest.approx([1.0, 1.0, 1.0])


def test_single_cell_rule_equals_the_95_interval_beyond_delta():
    """With one cell, Holm over its two one-sided tests is exactly 'CI95 entirely beyond ±δ'."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        a, b = rng.normal(rng.uniform(-1, 1), 0.4, 3), rng.normal(0, 0.4, 3)
        (cell,) = decide_family([cell_from_values(E1_CMP, a, b)])
        expect = ("confirmed" if cell.low > E1_CMP.delta else "contradicted" if cell.high < -E1_CMP.delta
                  else "inconclusive")
        assert cell.verdict == expect


def test_t_interval_covers_95_at_three_seeds_where_the_percentile_bootstrap_does_not():
    """Why the bootstrap was dropped: at n = 3 the percentile bootstrap covers ≈ 80 %."""
    rng = np.random.default_rng(0)
    reps, t_hits, boot_hits = 2000, 0, 0
    for _ in range(reps):
        x = rng.normal(0.0, 1.0, 3)
        ci = t_interval(x)
        t_hits += ci.low <= 0.0 <= ci.high
        means = x[rng.integers(0, 3, (400, 3))].mean(axis=1)
        lo, hi = np.quantile(means, [0.025, 0.975])
        boot_hits += lo <= 0.0 <= hi
    assert abs(t_hits / reps - 0.95) < 0.02
    assert boot_hits / reps < 0.88


# ------------------------------------------------------------------ cells
def test_real_effect_confirmed_with_effect_n_and_mde(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 92}, LP: {"final_acc": 90}}, noise=0.3)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "confirmed" and cell.low > cell.delta and cell.n == 3
    assert cell.estimate == pytest.approx(cell.a["mean"] - cell.b["mean"])
    assert cell.mde > cell.delta and cell.p_confirm_holm < rules.ALPHA


def test_opposite_effect_contradicted(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 88}, LP: {"final_acc": 90}}, noise=0.3)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "contradicted" and cell.high < 0


def test_lower_is_better_rule_straddling_zero_is_inconclusive(tmp_path):
    cmp = Comparison("magnitude", LPE, "train_loss_speed", "lower")
    plant(tmp_path, measures={"magnitude": {"converge": 0.5}, LPE: {"converge": 0.5}}, noise=3.0, rng_seed=2)
    (cell,) = cells_for(tmp_path, cmp)
    assert cell.low < 0 < cell.high and cell.verdict == "inconclusive"


def test_zero_variance_cell_is_refused(tmp_path):
    """Identical seeds: a zero-width interval must not confirm a 0.001-point difference."""
    plant(tmp_path, measures={"magnitude": {"final_acc": 90.001}, LP: {"final_acc": 90.0}}, noise=0.0)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "degenerate" and "zero spread" in cell.reason
    v = rule_verdict([cell], 6)
    assert v.cls == "missing" and v.label.startswith("degenerate")


def test_tiny_difference_below_the_minimum_meaningful_difference(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 90.01}, LP: {"final_acc": 90.0}}, noise=0.0005)
    (cell,) = cells_for(tmp_path)
    assert cell.low > 0 and cell.verdict == "inconclusive"      # real, but smaller than δ = 0.25 points


def test_three_seeds_against_two_is_insufficient(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 95}}, seeds=3)
    plant(tmp_path, measures={LP: {"final_acc": 80}}, seeds=2)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "insufficient" and cell.estimate is None and cell.a["n"] == 3 and cell.b["n"] == 2
    r = evaluate(tmp_path, ["E1"])
    assert r["E1"].verdict.cls == "missing" and "gftheory confirm E1" in r["E1"].verdict.detail


def test_one_sample_grasp_raises_grad_norm(tmp_path):
    cmp = OneSample("grasp", "event_rel_dgrad_norm_sq")
    plant(tmp_path / "up", measures={"grasp": {"d_grad_norm_sq": 0.5}})
    plant(tmp_path / "down", measures={"grasp": {"d_grad_norm_sq": -0.5}})
    assert cells_for(tmp_path / "up", cmp)[0].verdict == "confirmed"
    assert cells_for(tmp_path / "down", cmp)[0].verdict == "contradicted"


def test_non_inferiority(tmp_path):
    rule = NonInferior("magnitude", LP, "event_rel_abs_dloss", "lower")
    plant(tmp_path / "same", measures={"magnitude": {"d_loss": 0.05}, LP: {"d_loss": 0.05}}, noise=0.01)
    plant(tmp_path / "worse", measures={"magnitude": {"d_loss": 0.5}, LP: {"d_loss": 0.05}}, noise=0.01)
    assert cells_for(tmp_path / "same", rule)[0].verdict == "confirmed"
    assert cells_for(tmp_path / "worse", rule)[0].verdict == "contradicted"


def test_val_acc_used_when_no_test_set(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 92}, LP: {"final_acc": 90}}, eval_key="val_acc")
    (cell,) = cells_for(tmp_path)
    assert cell.sources == ["final.val_acc × 100"] and cell.verdict == "confirmed"


def test_final_accuracy_is_read_in_the_rules_unit_percent(tmp_path):
    """Runs store accuracies as fractions (the engine's records); the rule's δ (0.25) is in accuracy
    points, so a 2.8-point gain (0.028 as fractions) must be compared as 2.8, not 0.028."""
    from gftheory.claims.metrics import METRICS
    from gftheory.claims.runs import read_runs
    d = write_run(tmp_path / "one", final_acc=61.32, eval_key="val_acc")
    (run,) = read_runs(d)
    assert run.summary["final"]["val_acc"] == pytest.approx(0.6132)
    value, source = METRICS["final_acc"].fn(run)
    assert value == pytest.approx(61.32) and source == "final.val_acc × 100"
    plant(tmp_path / "small", measures={"magnitude": {"final_acc": 63.1}, LP: {"final_acc": 60.3}},
          eval_key="val_acc", noise=0.01)
    (cell,) = cells_for(tmp_path / "small")
    assert cell.estimate == pytest.approx(2.8, abs=0.05) and cell.verdict == "confirmed"


def test_incomplete_runs_are_not_evidence(tmp_path):
    for s in range(3):
        write_run(tmp_path, measure="magnitude", seed=s, final_acc=99, complete=False)
        write_run(tmp_path, measure=LP, seed=s, final_acc=10, complete=False)
    rs = load(tmp_path)
    assert rs.runs == [] and rs.incomplete == 6
    assert rule_cells(E1_CMP, rs.runs) == []


def test_cells_split_by_protocol_and_arch(tmp_path):
    ms = {"magnitude": {"final_acc": 92}, LP: {"final_acc": 90}}
    plant(tmp_path, measures=ms, arch="vgg13")
    plant(tmp_path, measures=ms, arch="resnet56")
    plant(tmp_path, measures=ms, arch="resnet56", extra_config={"target": 0.5})
    cells = cells_for(tmp_path)
    assert len(cells) == 3 and sum("protocol" in c.cell for c in cells) == 2


# ------------------------------------------------------------------ rule verdict edge cases
def _cells(*verdicts, n=3):
    out = []
    for i, v in enumerate(verdicts):
        c = Cell("r", f"a{i}/d", f"a{i}", "d", "full", "p", {"n": n}, {"n": n}, n=n, verdict=v)
        out.append(c)
    return out


def test_exactly_two_thirds_confirmed_is_confirmed():
    v = rule_verdict(_cells("confirmed", "confirmed", "inconclusive"), 6)
    assert v.cls == "positive" and v.label == "confirmed on 2 of 6 cells" and v.coverage == "3/6"
    v = rule_verdict(_cells("confirmed", "inconclusive", "inconclusive"), 6)
    assert v.cls == "open" and v.label.startswith("inconclusive")


def test_exactly_half_contradicted_is_contradicted_and_any_contradiction_blocks_confirmation():
    v = rule_verdict(_cells("contradicted", "contradicted", "inconclusive", "inconclusive"), 6)
    assert v.cls == "negative" and v.label == "contradicted on 2 of 6 cells"
    v = rule_verdict(_cells("contradicted", "inconclusive", "inconclusive"), 6)
    assert v.cls == "open" and v.label.startswith("inconclusive")
    v = rule_verdict(_cells("confirmed", "confirmed", "confirmed", "contradicted"), 6)
    assert v.cls == "open" and v.label.startswith("mixed")
    v = rule_verdict(_cells("insufficient", "degenerate"), 6)
    assert v.cls == "missing" and v.label.startswith("insufficient")


# ------------------------------------------------------------------ per-rule decisions (E4)
E4_OTHERS = ("magnitude", LPE, BLP, "grasp", GNP, "random")


@pytest.mark.parametrize("rng_seed", range(5))
def test_e4_two_ties_and_four_wins_is_not_confirmed(tmp_path, rng_seed):
    """Loss preservation ties grasp and gradient-norm preservation, beats the other four: 8 of the
    12 rules hold, so "lower than every other measure" is not confirmed (the pooled rule said
    confirmed, mixed or inconclusive by chance)."""
    tie = {"d_theta_g": 0.02, "d_loss": 0.02}
    ms = {LP: tie, "grasp": tie, GNP: tie, **{m: {"d_theta_g": 0.4, "d_loss": 0.4}
                                              for m in ("magnitude", LPE, BLP, "random")}}
    plant(tmp_path, measures=ms, noise=0.2, rng_seed=rng_seed)
    r = evaluate(tmp_path, ["E4"])["E4"]
    per_rule = r.scales["full"].rules
    assert len(per_rule) == 12
    for label, v in per_rule.items():
        tied = label.endswith(" grasp") or label.endswith(GNP)
        assert (v.cls == "positive") != tied, (label, v.label)
    assert r.verdict.cls == "open" and r.verdict.label.startswith("inconclusive (8 of 12 rules confirmed)")


def test_e4_every_rule_holds_is_confirmed(tmp_path):
    ms = {LP: {"d_theta_g": 0.02, "d_loss": 0.02}, **{m: {"d_theta_g": 0.4, "d_loss": 0.4} for m in E4_OTHERS}}
    plant(tmp_path, measures=ms, noise=0.2)
    r = evaluate(tmp_path, ["E4"])["E4"]
    assert r.verdict.cls == "positive" and r.verdict.label == \
        "confirmed (12 rules), all rules in 1 of 6 cells, full scale"
    assert r.verdict.coverage == "1/6" and r.verdict.scale == "full"


def test_e1_one_formulation_contradicted_contradicts_the_claim(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 92}, LPE: {"final_acc": 90}, LP: {"final_acc": 95}})
    r = evaluate(tmp_path, ["E1"])["E1"]
    labels = {k: v.cls for k, v in r.scales["full"].rules.items()}
    assert labels == {f"final_acc: magnitude > {LPE}": "positive", f"final_acc: magnitude > {LP}": "negative"}
    assert r.verdict.cls == "negative"


def test_claim_with_a_rule_not_run_is_incomplete(tmp_path):
    plant(tmp_path, measures={GNP: {"final_acc": 92}, "grasp": {"final_acc": 85, "d_grad_norm_sq": 0.5}})
    assert evaluate(tmp_path, ["E5"])["E5"].verdict.cls == "positive"
    plant(tmp_path / "x", measures={GNP: {"final_acc": 92}}, seeds=3)
    plant(tmp_path / "x", measures={"grasp": {"final_acc": 85, "d_grad_norm_sq": 0.5}}, seeds=2)
    assert evaluate(tmp_path / "x", ["E5"])["E5"].verdict.cls == "missing"


# ------------------------------------------------------------------ scales and coverage
def _e1(tmp_path, gap, *, arch="resnet56", dataset="cifar10", scale="full", rng_seed=0):
    plant(tmp_path, arch=arch, dataset=dataset, scale=scale, noise=0.2, rng_seed=rng_seed,
          measures={"magnitude": {"final_acc": 90 + gap}, LP: {"final_acc": 90}, LPE: {"final_acc": 90}})


def test_one_full_cell_cannot_hide_contradicting_short_cells(tmp_path):
    _e1(tmp_path, 3, scale="full")
    for i, (a, d) in enumerate([(a, d) for a in ("vgg13", "mobilenet_v1", "resnet56")
                                for d in ("cifar10", "cifar100")]):
        _e1(tmp_path, -3, arch=a, dataset=d, scale="short", rng_seed=10 + i)
    r = evaluate(tmp_path, ["E1"])["E1"]
    assert set(r.scales) == {"full", "short"}
    assert r.scales["full"].verdict.label == "confirmed (2 rules), all rules in 1 of 6 cells"
    assert r.scales["short"].verdict.cls == "negative" and r.scales["short"].verdict.coverage == "6/6"
    assert r.verdict.cls == "open" and r.verdict.label.startswith("conflicting across scales")
    assert "short" in r.verdict.label and "full" in r.verdict.label


def test_coverage_and_scale_in_every_verdict(tmp_path):
    _e1(tmp_path, 3, scale="cpu")
    r = evaluate(tmp_path, ["E1"])["E1"]
    assert r.verdict.label == "confirmed (2 rules), all rules in 1 of 6 cells, cpu scale"
    assert r.verdict.coverage == "1/6" and r.verdict.seeds == "n=3"


def test_generic_scale_names_and_order(tmp_path):
    _e1(tmp_path, 3, scale="cpu")
    _e1(tmp_path, -3, scale="smoke", rng_seed=1)
    _e1(tmp_path, 3, scale="tiny-gpu", rng_seed=2)
    r = evaluate(tmp_path, ["E1"])["E1"]
    assert list(r.scales) == ["cpu", "smoke", "tiny-gpu"]
    assert r.verdict.scale == "cpu" and r.verdict.cls == "positive"      # smoke never counts
    assert "plumbing" in r.scales["smoke"].verdict.label and r.scales["smoke"].verdict.cls == "missing"


def test_smoke_only_is_never_positive(tmp_path):
    _e1(tmp_path, 3, scale="smoke")
    r = evaluate(tmp_path, ["E1"])["E1"]
    assert r.verdict.cls == "missing" and "smoke scale" in r.verdict.label


def test_scope_restricts_architectures(tmp_path):
    """E2 is a ResNet-56 claim: VGG runs do not count."""
    plant(tmp_path, arch="vgg13", measures={"magnitude": {"converge": 0.3}, LP: {"converge": 0.9}})
    assert evaluate(tmp_path, ["E2"])["E2"].verdict.label == "not yet run"


# ------------------------------------------------------------------ E2: speed, not level
def test_e2_measures_speed_not_final_level(tmp_path):
    """A lower final train loss with the same speed is E1's business, not convergence speed."""
    level = {"magnitude": {"train_loss": 0.2, "final_acc": 93}, LP: {"train_loss": 0.6}, LPE: {"train_loss": 0.6}}
    plant(tmp_path / "level", measures=level)
    r = evaluate(tmp_path / "level", ["E2"])["E2"]
    assert r.verdict.cls != "positive"
    fast = {"magnitude": {"converge": 0.3}, LP: {"converge": 0.9}, LPE: {"converge": 0.9}}
    plant(tmp_path / "fast", measures=fast)
    assert evaluate(tmp_path / "fast", ["E2"])["E2"].verdict.cls == "positive"


# ------------------------------------------------------------------ composites
def _all_live():
    from gftheory.statements import STATEMENTS
    checks = [{"id": s, "passed": True} for s in STATEMENTS]
    proofs = [{"id": s, "status": "proved"} for s in STATEMENTS]
    return LiveEvidence.from_results(checks=checks, proofs=proofs)


def test_zero_runs_no_empirical_or_composite_claim_is_positive():
    r = evaluate_claims(None, _all_live())
    for cid, res in r.items():
        if res.claim.kind in ("empirical", "composite"):
            assert res.verdict.cls != "positive", (cid, res.verdict.label)
    for cid in ("O1", "O3", "O4", "O5"):
        assert r[cid].verdict.label == "theory holds, runs missing" and r[cid].verdict.cls == "missing"
    assert r["F4"].verdict.label == "proved and checked"


def test_composite_rule():
    P, M, N = Verdict("x", "positive"), Verdict("not yet run", "missing"), Verdict("y", "negative")
    assert combine({"th": P, "ev": M}, theory={"th"}).label == "theory holds, runs missing"
    assert combine({"th": P, "ev": P}, theory={"th"}).cls == "positive"
    assert combine({"th": P, "ev": N}, theory={"th"}).cls == "negative"
    assert combine({"th": N, "ev": P}, theory={"th"}).cls == "negative"
    assert combine({"e1": P, "e2": M}).label == "partly confirmed"
    assert combine({"th": M, "ev": P}, theory={"th"}).cls == "open"
    assert combine({"a": M, "b": M}).label == "not yet run"


O4_BASE = {"magnitude": {}, LP: {}, LPE: {}, BLP: {}, GNP: {}, "random": {}}


def test_o4_needs_grasp_events_to_raise_the_loss_most(tmp_path):
    """Observation 4 is about the loss: raising ‖g‖² alone does not confirm it."""
    live = _all_live()
    only_g = {**{m: {"d_loss": 0.05} for m in O4_BASE}, "grasp": {"d_loss": 0.05, "d_grad_norm_sq": 0.5}}
    plant(tmp_path / "g", measures=only_g, noise=0.2)
    r = evaluate(tmp_path / "g", ["O4"], live)["O4"]
    assert r.verdict.cls != "positive"
    both = {**{m: {"d_loss": 0.05} for m in O4_BASE}, "grasp": {"d_loss": 0.8, "d_grad_norm_sq": 0.5}}
    plant(tmp_path / "b", measures=both, noise=0.2)
    r = evaluate(tmp_path / "b", ["O4"], live)["O4"]
    assert r.verdict.cls == "positive", r.verdict


def test_o5_needs_second_order_dynamics_preserved(tmp_path):
    live = _all_live()
    acc_only = {GNP: {"final_acc": 92, "d_grad_norm_sq": 0.3}, "grasp": {"final_acc": 85, "d_grad_norm_sq": 0.3}}
    plant(tmp_path / "a", measures=acc_only, noise=0.2)
    assert evaluate(tmp_path / "a", ["O5"], live)["O5"].verdict.cls != "positive"
    full = {GNP: {"final_acc": 92, "d_grad_norm_sq": 0.0}, "grasp": {"final_acc": 85, "d_grad_norm_sq": 0.5}}
    plant(tmp_path / "f", measures=full, noise=0.2)
    assert evaluate(tmp_path / "f", ["O5"], live)["O5"].verdict.cls == "positive"


def test_o3_against_loss_preservation_as_well_as_random(tmp_path):
    live = _all_live()
    plant(tmp_path / "x", measures={"magnitude": {"d_loss": 0.3}, "random": {"d_loss": 0.8}, LP: {"d_loss": 0.02}},
          noise=0.1)
    assert evaluate(tmp_path / "x", ["O3"], live)["O3"].verdict.cls != "positive"
    plant(tmp_path / "y", measures={"magnitude": {"d_loss": 0.02}, "random": {"d_loss": 0.8}, LP: {"d_loss": 0.02}},
          noise=0.01)
    assert evaluate(tmp_path / "y", ["O3"], live)["O3"].verdict.cls == "positive"


# ------------------------------------------------------------------ identity verdicts
def _live(checks_pass=True, proof_status="proved", ids=("F4", "F4_unit")):
    checks = [{"id": i, "method": "fd", "cases": 5, "worst_rel_error": 1e-9, "fitted_order": None,
               "tolerance": 1e-6, "passed": checks_pass, "seconds": 0.1} for i in ids]
    proofs = [{"id": i, "statement": "", "status": proof_status, "steps_checked": 3, "seconds": 0.1,
               "markdown": "## derivation\n`x`"} for i in ids]
    return LiveEvidence.from_results(checks=checks, proofs=proofs)


def test_identity_verdicts():
    assert identity_verdict(["F4", "F4_unit"], _live()).label == "proved and checked"
    v = identity_verdict(["F4", "F4_unit"], _live(proof_status="identity-tested"))
    assert v.label == "identity-tested and checked" and "not proved symbolically" in v.detail
    assert identity_verdict(["F4", "F4_unit"], _live(checks_pass=False)).label == "refuted"
    assert identity_verdict(["F4", "F4_unit"], _live(proof_status="failed")).label == "proof failed"
    v = identity_verdict(["F4", "F4_unit"], _live(proof_status="refuted"))
    assert v.label == "disputed (proof refutes a step)" and v.cls == "open"
    assert identity_verdict(["F4"], _live(proof_status="error")).label == "checked (proof incomplete)"
    v = identity_verdict(["F4", "F4_unit"], LiveEvidence(checks_error="ImportError: x", proofs_error="ImportError: y"))
    assert v.label == "evidence unavailable" and "ImportError: x" in v.detail
    sub = LiveEvidence.from_results(checks=[{"id": "F4/mlp", "passed": False}], proofs=[])
    assert identity_verdict(["F4"], sub).label == "refuted"
    assert identity_verdict(["F4_unit"], sub).label == "no evidence registered"


def test_all_claims_evaluate_without_evidence():
    r = evaluate_claims(None, LiveEvidence(checks_error="x", proofs_error="y"))
    assert set(r) == set(CLAIMS)
    assert all(v.verdict.cls == "missing" for v in r.values())


# ------------------------------------------------------------------ planted runs
def test_planted_runs_are_set_aside_by_default(tmp_path):
    plant(tmp_path, measures={GNP: {"final_acc": 92}, "grasp": {"final_acc": 85, "d_grad_norm_sq": 0.5}})
    rs = load_runs([tmp_path])
    assert rs.runs == [] and len(rs.planted) == 6 and not rs.planted_in_use
    assert evaluate_claims(rs, LiveEvidence(), ids=["E5"])["E5"].verdict.label == "not yet run"
    rs = load_runs([tmp_path], allow_planted=True)
    assert len(rs.runs) == 6 and rs.planted_in_use


def test_a_run_is_planted_by_any_of_its_marks(tmp_path):
    import json
    d = write_run(tmp_path, measure="magnitude")
    cfg = json.loads((d / "config.json").read_text())
    cfg["config"].pop("synthetic")
    (d / "config.json").write_text(json.dumps(cfg))
    assert load_runs([tmp_path]).planted                # still marked by provenance / eval_data


# ------------------------------------------------------------------ family-wise error control
def test_holm_controls_the_family_wise_error_on_a_simulated_null_family():
    """E4-sized family (12 rules × 6 cells, n = 3), every true difference exactly at +δ (the least
    favourable null for 'confirmed'): the chance that any cell is falsely confirmed stays ≤ α
    with Holm; per-cell 95 % intervals without correction would exceed it many times over."""
    rng = np.random.default_rng(12345)
    rule = E1_CMP
    fams, holm_err, raw_err = 300, 0, 0
    for _ in range(fams):
        cells = [cell_from_values(rule, rng.normal(rule.delta, 1.0, 3), rng.normal(0.0, 1.0, 3))
                 for _ in range(72)]
        raw_err += any(c.p_confirm < rules.ALPHA / 2 for c in cells)
        decide_family(cells)
        holm_err += any(c.verdict == "confirmed" for c in cells)
    bound = rules.ALPHA + 3 * np.sqrt(rules.ALPHA * (1 - rules.ALPHA) / fams)
    assert holm_err / fams <= bound
    assert raw_err / fams > 0.5


# ------------------------------------------------------------------ rules are fixed
def test_rules_digest_is_frozen():
    """Changing any rule, threshold or claim's rule set changes the digest; update FROZEN_DIGEST
    (and RULES_VERSION) on purpose, never after the evidence is in."""
    assert rules.rules_digest() == rules.FROZEN_DIGEST


def test_rules_digest_sees_a_changed_threshold(monkeypatch):
    before = rules.rules_digest()
    monkeypatch.setitem(rules.MIN_EFFECT, "final_acc", 0.0)
    assert rules.rules_digest() != before


def test_rule_sentences_are_specific():
    sentences = [r.sentence() for c in CLAIMS.values() for r in c.comparisons]
    per_claim = [[r.sentence() for r in c.comparisons] for c in CLAIMS.values()]
    assert all(len(set(s)) == len(s) for s in per_claim)
    assert all(len(s) < 260 and s.endswith(".") for s in sentences)
    assert all(m in METRIC for m in {r.metric for c in CLAIMS.values() for r in c.comparisons})


METRIC = {**rules.MIN_EFFECT, **rules.MIN_EFFECT_V4}   # stage-2 claims (registered under v4) use v4 metrics


def test_a_new_rule_kind_plugs_in(tmp_path):
    """The event study will register paired rules (seeds as the unit): a subclass overriding
    ``statistic`` goes through the same cells, Holm, rule and claim verdicts."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Paired(Comparison):
        kind = "paired"

        def statistic(self, va, vb=None):
            return one_sample_stat(np.asarray(va) - np.asarray(vb))

    rule = Paired("magnitude", LP, "final_acc")
    plant(tmp_path, measures={"magnitude": {"final_acc": 92}, LP: {"final_acc": 90}}, noise=0.3)
    (cell,) = cells_for(tmp_path, rule)
    assert cell.verdict == "confirmed" and cell.df == 2


def test_minimum_detectable_effect_grows_with_the_family():
    rng = np.random.default_rng(5)
    a, b = rng.normal(1.0, 0.5, 3), rng.normal(0.0, 0.5, 3)
    (one,) = decide_family([cell_from_values(E1_CMP, a, b)])
    many = decide_family([cell_from_values(E1_CMP, a, b) for _ in range(12)])
    assert one.mde > one.delta and many[0].mde > one.mde
    assert one.mde == pytest.approx(one.delta + (st.t.ppf(1 - rules.ALPHA / 2, one.df) + st.t.ppf(0.8, one.df)) * one.se)
