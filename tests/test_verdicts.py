"""Verdict logic on planted synthetic runs: a real effect is confirmed, the opposite effect
contradicted, noise inconclusive, too few seeds insufficient, nothing stored 'not yet run'."""
import numpy as np
import pytest
from scipy import stats as st

from gftheory.claims import CLAIMS, LiveEvidence, evaluate_claims, load_runs
from gftheory.claims.rules import Comparison, OneSample
from gftheory.claims.stats import bootstrap_interval, t_interval, welch_interval
from gftheory.claims.synthetic import plant, write_run
from gftheory.claims.verdicts import aggregate, combine, evaluate_comparison, identity_verdict, Verdict

E1_CMP = Comparison("magnitude", "loss_preservation", "final_acc")


def cells_for(root, comp=E1_CMP):
    return evaluate_comparison(comp, load_runs([root]).runs)


# ------------------------------------------------------------------ statistics
def test_welch_interval_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 5), rng.normal(0.0, 2.0, 7)
    ours = welch_interval(a, b)
    ref = st.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert ours.estimate == pytest.approx(a.mean() - b.mean())
    assert (ours.low, ours.high) == pytest.approx((ref.low, ref.high), rel=1e-10)


def test_t_interval_matches_scipy():
    a = np.array([0.3, 0.5, 0.1, 0.9])
    ref = st.ttest_1samp(a, 0.0).confidence_interval(0.95)
    assert (t_interval(a).low, t_interval(a).high) == pytest.approx((ref.low, ref.high), rel=1e-10)


def test_bootstrap_seeded_and_brackets_estimate():
    a, b = [1.0, 1.2, 0.9, 1.1], [0.0, 0.2, -0.1]
    x, y = bootstrap_interval(a, b), bootstrap_interval(a, b)
    assert x == y and x.low <= x.estimate <= x.high
    assert x.low > 0


# ------------------------------------------------------------------ cells
def test_real_effect_confirmed(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 92}, "loss_preservation": {"final_acc": 90}}, noise=0.3)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "confirmed" and cell.interval["low"] > 0 and cell.a["n"] == cell.b["n"] == 3
    assert cell.bootstrap_agrees


def test_opposite_effect_contradicted(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 88}, "loss_preservation": {"final_acc": 90}}, noise=0.3)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "contradicted" and cell.interval["high"] < 0


def test_noise_inconclusive(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 90}, "loss_preservation": {"final_acc": 90}}, noise=3.0,
          rng_seed=4)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "inconclusive" and cell.interval["low"] < 0 < cell.interval["high"]


def test_margin_delta_turns_small_effect_inconclusive(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 90.5}, "loss_preservation": {"final_acc": 90}}, noise=0.05)
    assert cells_for(tmp_path)[0].verdict == "confirmed"
    assert cells_for(tmp_path, Comparison("magnitude", "loss_preservation", "final_acc", delta=2.0))[0].verdict \
        == "inconclusive"


def test_two_seeds_insufficient(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 95}, "loss_preservation": {"final_acc": 80}}, seeds=2)
    (cell,) = cells_for(tmp_path)
    assert cell.verdict == "insufficient" and cell.interval is None
    v = aggregate([cell], "E1")
    assert v.label == "insufficient" and v.cls == "missing" and "gftheory confirm E1" in v.detail


def test_lower_direction_for_convergence(tmp_path):
    """E2: magnitude's lower train-loss AUC confirms 'converges faster'; higher contradicts it."""
    plant(tmp_path / "a", arch="resnet56", measures={"magnitude": {"train_loss": 0.3},
                                                    "loss_preservation_elementwise": {"train_loss": 0.6}})
    cmp = Comparison("magnitude", "loss_preservation_elementwise", "train_loss_auc", "lower")
    assert cells_for(tmp_path / "a", cmp)[0].verdict == "confirmed"
    plant(tmp_path / "b", arch="resnet56", measures={"magnitude": {"train_loss": 0.9},
                                                    "loss_preservation_elementwise": {"train_loss": 0.6}})
    assert cells_for(tmp_path / "b", cmp)[0].verdict == "contradicted"


def test_one_sample_grasp_raises_grad_norm(tmp_path):
    cmp = OneSample("grasp", "event_dgrad_norm_sq")
    plant(tmp_path / "up", measures={"grasp": {"d_grad_norm_sq": 0.5}})
    plant(tmp_path / "down", measures={"grasp": {"d_grad_norm_sq": -0.5}})
    assert cells_for(tmp_path / "up", cmp)[0].verdict == "confirmed"
    assert cells_for(tmp_path / "down", cmp)[0].verdict == "contradicted"


def test_val_acc_used_when_no_test_set(tmp_path):
    plant(tmp_path, measures={"magnitude": {"final_acc": 92}, "loss_preservation": {"final_acc": 90}},
          eval_key="val_acc")
    (cell,) = cells_for(tmp_path)
    assert cell.sources == ["final.val_acc"] and cell.verdict == "confirmed"


def test_incomplete_runs_are_not_evidence(tmp_path):
    for s in range(3):
        write_run(tmp_path, measure="magnitude", seed=s, final_acc=99, complete=False)
        write_run(tmp_path, measure="loss_preservation", seed=s, final_acc=10, complete=False)
    rs = load_runs([tmp_path])
    assert rs.runs == [] and rs.incomplete == 6
    assert evaluate_comparison(E1_CMP, rs.runs) == []


def test_cells_split_by_protocol_and_arch(tmp_path):
    ms = {"magnitude": {"final_acc": 92}, "loss_preservation": {"final_acc": 90}}
    plant(tmp_path, measures=ms, arch="vgg13")
    plant(tmp_path, measures=ms, arch="resnet56")
    plant(tmp_path, measures=ms, arch="resnet56", extra_config={"target": 0.5})
    cells = cells_for(tmp_path)
    assert len(cells) == 3 and sum("protocol" in c.cell for c in cells) == 2


# ------------------------------------------------------------------ claim aggregation
def _claim(tmp_path, effects: dict, ids=("E1",)):
    """E1 with magnitude − loss_preservation(_elementwise) final-accuracy gaps per (arch, dataset)."""
    for (arch, ds), gap in effects.items():
        plant(tmp_path, arch=arch, dataset=ds, noise=0.2,
              measures={"magnitude": {"final_acc": 90 + gap}, "loss_preservation": {"final_acc": 90},
                        "loss_preservation_elementwise": {"final_acc": 90}})
    return evaluate_claims(load_runs([tmp_path]), LiveEvidence(), ids=list(ids))


def test_claim_confirmed_contradicted_mixed_notyet(tmp_path):
    r = _claim(tmp_path / "c", {("vgg13", "cifar10"): 3, ("resnet56", "cifar10"): 3, ("resnet56", "cifar100"): 3})
    assert r["E1"].verdict.label == "confirmed" and r["E1"].verdict.seeds == "n=3"
    r = _claim(tmp_path / "x", {("vgg13", "cifar10"): -3, ("resnet56", "cifar10"): -3, ("resnet56", "cifar100"): 3})
    assert r["E1"].verdict.label == "contradicted"
    r = _claim(tmp_path / "m", {("vgg13", "cifar10"): -3, ("resnet56", "cifar10"): 3, ("resnet56", "cifar100"): 3,
                                ("vgg13", "cifar100"): 0})
    assert r["E1"].verdict.label == "mixed"
    r = evaluate_claims(load_runs([tmp_path / "c"]), LiveEvidence(), ids=["E5"])
    assert r["E5"].verdict.label == "not yet run" and "gftheory confirm E5" in r["E5"].verdict.detail


def test_claim_uses_largest_scale_present(tmp_path):
    ms_good = {"magnitude": {"final_acc": 93}, "loss_preservation": {"final_acc": 90},
               "loss_preservation_elementwise": {"final_acc": 90}}
    ms_bad = {"magnitude": {"final_acc": 80}, "loss_preservation": {"final_acc": 90},
              "loss_preservation_elementwise": {"final_acc": 90}}
    plant(tmp_path, measures=ms_bad, scale="smoke")
    r = evaluate_claims(load_runs([tmp_path]), LiveEvidence(), ids=["E1"])
    assert r["E1"].verdict.label == "contradicted (smoke scale)"
    plant(tmp_path, measures=ms_good, scale="full")
    r = evaluate_claims(load_runs([tmp_path]), LiveEvidence(), ids=["E1"])
    assert r["E1"].verdict.label == "confirmed"
    assert {c.scale for c in r["E1"].cells if not c.counted} == {"smoke"}


def test_scope_restricts_architectures(tmp_path):
    """E2 is a ResNet-56 claim: VGG runs do not count."""
    plant(tmp_path, arch="vgg13", measures={"magnitude": {"train_loss": 0.1}, "loss_preservation": {"train_loss": 0.9}})
    r = evaluate_claims(load_runs([tmp_path]), LiveEvidence(), ids=["E2"])
    assert r["E2"].verdict.label == "not yet run"


# ------------------------------------------------------------------ identity and composite
def _live(checks_pass=True, proof_status="proved", ids=("F4", "F4_unit")):
    checks = [{"id": i, "method": "fd", "cases": 5, "worst_rel_error": 1e-9, "fitted_order": None,
               "tolerance": 1e-6, "passed": checks_pass, "seconds": 0.1} for i in ids]
    proofs = [{"id": i, "statement": "", "status": proof_status, "steps_checked": 3, "seconds": 0.1,
               "markdown": "## derivation\n`x`"} for i in ids]
    return LiveEvidence.from_results(checks=checks, proofs=proofs)


def test_identity_verdicts():
    assert identity_verdict(["F4", "F4_unit"], _live()).label == "proved and checked"
    assert identity_verdict(["F4", "F4_unit"], _live(checks_pass=False)).label == "refuted"
    assert identity_verdict(["F4", "F4_unit"], _live(proof_status="failed")).label == "proof failed"
    v = identity_verdict(["F4", "F4_unit"], _live(proof_status="refuted"))
    assert v.label == "disputed (proof refutes a step)" and v.cls == "open"
    assert identity_verdict(["F4"], _live(proof_status="error")).label == "checked (proof incomplete)"
    v = identity_verdict(["F4", "F4_unit"], LiveEvidence(checks_error="ImportError: x", proofs_error="ImportError: y"))
    assert v.label == "evidence unavailable" and "ImportError: x" in v.detail
    only_checks = LiveEvidence.from_results(checks=_live().checks, proofs=None, proofs_error="boom")
    v = identity_verdict(["F4"], only_checks)
    assert v.label == "checked (no proof)" and "boom" in v.detail
    # sub-case ids ("F4/mlp") join their statement; "F4_unit" does not join "F4"
    sub = LiveEvidence.from_results(checks=[{"id": "F4/mlp", "passed": False}], proofs=[])
    assert identity_verdict(["F4"], sub).label == "refuted"
    assert identity_verdict(["F4_unit"], sub).label == "no evidence registered"


def test_composite_rule(tmp_path):
    live = _live()
    r = evaluate_claims(load_runs([tmp_path]), live, ids=["O5"])
    assert r["F4"].verdict.label == "proved and checked"
    assert r["O5"].verdict.label == "partly confirmed"           # E5 not yet run
    plant(tmp_path, measures={"grasp": {"final_acc": 95, "d_grad_norm_sq": -0.5},
                              "gradient_norm_preservation": {"final_acc": 85}})
    r = evaluate_claims(load_runs([tmp_path]), live, ids=["O5"])
    assert r["E5"].verdict.label == "contradicted" and r["O5"].verdict.label == "contradicted"
    r = evaluate_claims(load_runs([tmp_path]), _live(checks_pass=False), ids=["O5"])
    assert r["F4"].verdict.label == "refuted" and r["O5"].verdict.cls == "negative"
    assert combine({"a": Verdict("not yet run", "missing"), "b": Verdict("not yet run", "missing")}).label \
        == "not yet run"


def test_all_claims_evaluate_without_evidence():
    r = evaluate_claims(None, LiveEvidence(checks_error="x", proofs_error="y"))
    assert set(r) == set(CLAIMS)
    assert all(v.verdict.cls == "missing" for v in r.values())


def test_layer_order_is_network_order(tmp_path):
    """Stored widths dicts are key-sorted as text; 'features.10' must come after 'features.3'."""
    from gftheory.claims.metrics import early_width_fraction, layer_fractions
    from gftheory.claims.runs import read_run
    import json
    d = write_run(tmp_path, measure="magnitude")
    lines = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
    names = ["features.0", "features.3", "features.7", "features.10", "features.14", "features.17"]
    for rec in lines:
        if rec["kind"] == "prune_event":
            rec["widths_before"] = {n: 64 for n in sorted(names)}
            rec["widths_after"] = {n: (8 if n in ("features.0", "features.3") else 32) for n in sorted(names)}
    (d / "metrics.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in lines))
    run = read_run(d)
    assert [n for n, _ in layer_fractions(run)] == names
    assert early_width_fraction(run)[0] == pytest.approx(8 / 64)


def test_measure_resolved_importance_temperature_stays_in_one_cell(tmp_path):
    """The protocol resolves importance_temperature per measure (GraSP 200, |θᵀHg| 1): such runs
    are still comparable (found with real smoke runs)."""
    plant(tmp_path, measures={"gradient_norm_preservation": {"final_acc": 90, "extra_config": {"importance_temperature": 1.0}},
                              "grasp": {"final_acc": 80, "extra_config": {"importance_temperature": 200.0}}})
    cells = cells_for(tmp_path, Comparison("gradient_norm_preservation", "grasp", "final_acc"))
    assert len(cells) == 1 and cells[0].verdict == "confirmed"
