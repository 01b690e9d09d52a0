"""The stage-2 rules of issues 24 and 25 (registered under rules version 4 before their first data) on
planted edition-2 event studies and quota-matched runs: each test fails without the new claims,
metrics or virtual arms."""
from __future__ import annotations

import pytest

from gftheory.claims import rules
from gftheory.claims.decide import evaluate_claims4
from gftheory.claims.plan import make_plan
from gftheory.claims.registry import CLAIMS, GNP, LP, LPE
from gftheory.claims.runs import ALL_MEASURES, fingerprint, fingerprints_match, load_runs
from gftheory.claims.verdicts import LiveEvidence
from planted import plant, write_event_study, write_event_study_v2, write_run

NOLIVE = LiveEvidence(checks_error="skipped", proofs_error="skipped")
NEW = ("T1U", "T1UC", "T2U", "T2UC", "SO1", "E5Q", "E5QF", "LMR", "LMRF")


def runs_of(root):
    return load_runs([root], allow_planted=True).runs


def v4(root, ids):
    return evaluate_claims4(runs_of(root), NOLIVE, ids=ids)


def verdicts(res, arch="resnet56"):
    return {c.rule: c.verdict for c in res.cells if c.arch == arch}


def studies(root, seeds=(0, 1, 2), **kw):
    for s in seeds:
        write_event_study_v2(root, seed=s, **kw)


# ------------------------------------------------------------------ registration
def test_new_claims_are_registered_under_v4_and_v3_is_unchanged():
    assert set(NEW) <= set(CLAIMS)
    assert all(CLAIMS[c].registered == "4" for c in NEW)
    assert rules.rules_digest_v3() == rules.FROZEN_DIGEST_V3 == "8b5f45d4ac90f52b"
    assert not set(NEW) & set(rules.rules_manifest_v3()["claims"])
    man = rules.rules_manifest()
    assert set(NEW) <= set(man["claims"]) and rules.rules_digest() == rules.FROZEN_DIGEST
    assert rules.RULES_VERSION == "4"
    prim = {cid: {r["primary"] for r in man["claims"][cid]["rules"]} for cid in NEW}
    assert prim["E5QF"] == prim["LMRF"] == {"runs"}
    assert all(prim[c] == {"events"} for c in NEW if c not in ("E5QF", "LMRF"))
    # δ a priori: the agreement margins keep the v3 margins' δ; the event / accuracy rules reuse registered metrics
    for cid in NEW:
        for r in CLAIMS[cid].comparisons:
            if "margin" in r.metric or "gain" in r.metric:
                assert r.delta == rules.MIN_EFFECT["t1_rank_corr_margin_round1"]
            else:
                assert r.metric in rules.MIN_EFFECT_V4 or r.metric in rules.MIN_EFFECT
    assert CLAIMS["LMRF"].archs == ("resnet56", "mobilenet_v1") and CLAIMS["E5QF"].archs == ("mobilenet_v1",)
    # agreement margins never read 'equivalent'; the second-order gain can (no gain is an answer)
    lab = {r.metric: rules.equivalence_allowed(r) for r in CLAIMS["SO1"].comparisons}
    assert lab == {"t1_so_rank_corr_margin_round1": False, "t1_so_rel_error_margin_round1": False,
                   "so_rank_corr_gain_round1": True}
    assert "either" in CLAIMS["SO1"].formal.lower()


# ------------------------------------------------------------------ per-unit T1 / T2
def test_per_unit_agreement_confirms_when_predictions_track_and_not_otherwise(tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    studies(good, unit_agreement=0.9)
    studies(bad, unit_agreement=0.0)
    res = v4(good, ["T1U", "T2U", "T1UC", "T2UC"])
    for cid in ("T1U", "T2U", "T1UC", "T2UC"):
        v = verdicts(res[cid])
        assert len(v) == 2 and set(v.values()) == {"confirmed"}, (cid, v)
        assert res[cid].label.startswith("confirmed in 1 of 3 cells")
    res = v4(bad, ["T1U", "T2U"])
    for cid in ("T1U", "T2U"):
        v = verdicts(res[cid])
        assert v[f"{cid[:2].lower()}_unit_rank_corr_margin_weights(every measure) > 0"] == "contradicted", v
        assert res[cid].claim_cells[0].verdict == "contradicted"


def test_per_unit_metric_is_per_checkpoint_then_averaged(tmp_path):
    from gftheory.claims.metrics import METRICS
    write_event_study_v2(tmp_path, seed=0, unit_agreement=1.0, checkpoints=(1, 3, 5), n_units=12)
    study = next(r for r in runs_of(tmp_path) if r.measure == ALL_MEASURES)
    v, src = METRICS["t1_unit_rank_corr_margin_weights"].fn(study)
    assert v == pytest.approx(1.0 - rules.RANK_CORR_MIN) and "mean over 3 checkpoints" in src
    v, _ = METRICS["t2_unit_rel_error_margin_channel"].fn(study)
    assert v == pytest.approx(rules.REL_ERROR_MAX)
    assert METRICS["t1_unit_rank_corr_margin_weights"].fn(
        next(r for r in runs_of(tmp_path) if r.measure == "magnitude"))[0] is None


# ------------------------------------------------------------------ second order
def test_second_order_rules_read_either_outcome(tmp_path):
    helps, fails = tmp_path / "helps", tmp_path / "fails"
    ms = {m: {"d_loss": d} for m, d in (("magnitude", 0.05), (LP, 0.02), (LPE, 0.03), ("grasp", 0.2),
                                        (GNP, 0.1), ("random", 0.08))}
    studies(helps, measures=ms, so_agreement=0.9, fo_agreement=0.0, checkpoints=(1, 2, 3, 4))
    studies(fails, measures=ms, so_agreement=0.0, fo_agreement=1.0, checkpoints=(1, 2, 3, 4))
    res = v4(helps, ["SO1"])["SO1"]
    assert set(verdicts(res).values()) == {"confirmed"}, verdicts(res)
    v = verdicts(v4(fails, ["SO1"])["SO1"])
    assert v["so_rank_corr_gain_round1(every measure) > 0"] == "contradicted", v


# ------------------------------------------------------------------ quota-matched E5
def test_quota_arms_are_virtual_measures_and_decide_e5q(tmp_path):
    studies(tmp_path, measures={"magnitude": {}, "grasp": {}, GNP: {}},
            quota={"grasp": {"d_grad_norm_sq": 0.1}, GNP: {"d_grad_norm_sq": 0.0}})
    names = {r.measure for r in runs_of(tmp_path)}
    assert {"grasp@magnitude", f"{GNP}@magnitude"} <= names
    arm = next(r for r in runs_of(tmp_path) if r.measure == "grasp@magnitude")
    src = next(r for r in runs_of(tmp_path) if r.measure == "grasp" and r.config["seed"] == arm.config["seed"])
    assert arm.protocol_key == src.protocol_key and arm.config["paired"]
    assert len(arm.prune_events()) == 2 and all("recovery_gap" in e for e in arm.prune_events())
    res = v4(tmp_path, ["E5Q"])["E5Q"]
    v = verdicts(res)
    assert set(v.values()) == {"confirmed"} and len(v) == 2, v
    assert all(c.test.startswith("paired t") for c in res.cells if c.kind == "superiority")


# ------------------------------------------------------------------ layer-matched random
def test_layer_random_arms_one_event_per_draw_and_lmr_decides(tmp_path):
    ms = {"magnitude": {"d_loss": 0.02, "recovery_loss": 0.0}, LP: {"d_loss": 0.01, "recovery_loss": 0.0},
          LPE: {"d_loss": 0.01, "recovery_loss": 0.0}, "grasp": {"d_loss": 0.3, "d_grad_norm_sq": 0.2},
          GNP: {"d_loss": 0.02, "d_grad_norm_sq": 0.0}}
    rnd = {m: {"d_loss": 0.15, "d_grad_norm_sq": 0.05, "recovery_loss": 0.1} for m in ms}
    ms["grasp"]["recovery_loss"] = ms[GNP]["recovery_loss"] = 0.0
    studies(tmp_path, measures=ms, layer_random=rnd, draws=3)
    arm = next(r for r in runs_of(tmp_path) if r.measure == "random@magnitude")
    evs = arm.prune_events()
    assert len(evs) == 2 * 3                                          # checkpoints × draws
    assert sum("recovery_gap" in e for e in evs) == 2                 # the draw that ran the recovery
    res = v4(tmp_path, ["LMR"])["LMR"]
    v = verdicts(res)
    assert len(v) == len(CLAIMS["LMR"].comparisons) == 12 and set(v.values()) == {"confirmed"}, v
    assert res.claim_cells[0].verdict == "confirmed"
    # the same measures without their random arms: the rules have nothing to read
    other = tmp_path / "no_arms"
    studies(other, measures=ms)
    assert v4(other, ["LMR"])["LMR"].label == "not yet run"


# ------------------------------------------------------------------ prune-while-training arms (quota_from)
def _fp(seed):
    return {"init": f"i{seed:015d}", "data_order": f"d{seed:015d}", "probe": f"p{seed:015d}"}


def test_quota_from_runs_are_arms_paired_with_their_source(tmp_path):
    for s in range(3):
        kw = dict(seed=s, scale="cpu2", arch="mobilenet_v1", fingerprint=_fp(s))
        shift = [0.0, 2.0, -1.5][s]                  # a shared seed effect: pairing cancels it
        write_run(tmp_path, measure="magnitude", final_acc=80.0 + shift + 0.1 * s, **kw)
        write_run(tmp_path, measure="random", final_acc=78.0 + shift, extra_config={"quota_from": "magnitude"}, **kw)
        write_run(tmp_path, measure=LP, final_acc=79.0 + shift + 0.05 * s, **kw)
        write_run(tmp_path, measure="random", final_acc=77.0 + shift - 0.1 * s, extra_config={"quota_from": LP}, **kw)
    runs = runs_of(tmp_path)
    arm = next(r for r in runs if r.measure == "random@magnitude" and r.config["seed"] == 0)
    src = next(r for r in runs if r.measure == "magnitude" and r.config["seed"] == 0)
    plain_random = {r.measure for r in runs} - {"magnitude", LP, "random@magnitude", f"random@{LP}"}
    assert not plain_random
    assert arm.protocol_key == src.protocol_key and fingerprints_match(fingerprint(arm), fingerprint(src))
    res = v4(tmp_path, ["LMRF"])["LMRF"]
    v = verdicts(res, "mobilenet_v1")
    assert set(v.values()) == {"confirmed"} and len(v) == 2, v
    assert all(c.test.startswith("paired t (3 seeds; recorded fingerprints match") for c in res.cells)


# ------------------------------------------------------------------ the plan
def test_plan_lists_the_new_rules_riding_on_the_planned_seed_lists(tmp_path):
    for s in range(3):          # stage-1 event studies (edition 1): E4 etc. have estimates, the new rules none
        write_event_study(tmp_path, seed=s, rng_seed=s, pred_noise=0.3,
                          measures={m: {"d_loss": d, "d_theta_g": d} for m, d in (
                              ("magnitude", 0.05), (LP, 0.01), (LPE, 0.03), ("biased_loss_preservation", 0.04),
                              ("grasp", 0.2), (GNP, 0.1), ("random", 0.08))})
    plan = make_plan(load_runs([tmp_path], allow_planted=True), budget_hours=1000.0,
                     costs_obj={"events": {"resnet56": 3600.0}}, costs_path="planted")
    new = [c for c in plan["cells"] if c["claim"] in NEW and c["arch"] == "resnet56" and c["scale"] == "events"]
    ids = {c["claim"] for c in new}
    assert ids == {"T1U", "T1UC", "T2U", "T2UC", "SO1", "E5Q", "LMR"}
    n = len(plan["seeds"]["resnet56/events"])
    assert n >= rules.MIN_SEEDS
    for c in new:
        assert c["status"] == "planned" and not c["stage1_estimate"], c
        assert c["seeds"] == plan["seeds"]["resnet56/events"] and c["n"] == n
        assert "planned (no stage-1 estimate)" in c["reason"] and "rides on" in c["reason"]
    # riders never drive n: the seed list is what the estimated cells alone ask for
    est = [c["n_needed"] for c in plan["cells"] if c["stage1_estimate"] and c["status"] == "planned"
           and c["arch"] == "resnet56" and c["scale"] == "events"]
    assert n == max(est)
    runs_cells = [c for c in plan["cells"] if c["claim"] in ("LMRF", "E5QF")]
    assert runs_cells and all(c["status"] == "not decidable" and "no planned" in c["reason"] for c in runs_cells)
