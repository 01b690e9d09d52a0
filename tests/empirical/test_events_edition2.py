"""The event study's second edition (issue 24): each new record checked against an independent
computation — θ_SᵀHθ_S by one Hessian-vector product against the dense Hessian; a unit's actual ΔL
and Δ‖g‖² by masking against physical removal; the per-unit T1/T2 predictions against
gftheory.flow_rates' per-unit θ_pᵀg and θ_pᵀ(Hg)_p — all in float64 on small networks; the unit
choice's determinism; a tiny edition-2 study's records; and edition-1 studies on main still load
with unchanged ids."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from empirical import events as ev
from empirical.architectures import widths_of
from empirical.config import ConfigError
from empirical.events_units import hvp_many, select_units, train_mode_loss, unit_events
from empirical.models import build
from empirical.pruning import StructuredPruner
from empirical.pruning.quota import prune_round_with_quota
from gftheory import runstore
from gftheory.flow import flow_rates
from gftheory.hessian import dense_hessian
from gftheory.objective import Objective
from conftest import nontrivial_bn
from test_cli_empirical import write_cifar10

pytestmark = pytest.mark.usefixtures("single_thread")
REPO = Path(__file__).resolve().parents[2]


def _small(arch, width=4, seed=0):
    torch.manual_seed(seed)
    w = {k: width for k in widths_of(build(arch, 10))}
    return nontrivial_bn(build(arch, 10, w).double()).eval()


def _batch(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g, dtype=torch.float64), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("arch", ["vgg13", "mobilenet_v1"])
def test_second_order_term_by_one_hvp_matches_the_dense_hessian(arch):
    model = _small(arch, width=2)
    obj = Objective(model, [_batch()], 5.0)
    theta = obj.theta()
    H = dense_hessian(model, [_batch()], temperature=5.0)
    g = torch.Generator().manual_seed(2)
    sel = (torch.rand(theta.shape, generator=g, dtype=torch.float64) < 0.2).double()
    v1, v2 = sel * theta, (1 - sel) * theta
    h1, h2 = hvp_many(obj, [v1, v2], theta)
    assert float(v1 @ h1) == pytest.approx(float(v1 @ H @ v1), rel=1e-9, abs=1e-12)
    assert torch.allclose(h2, H @ v2, rtol=1e-9, atol=1e-11)
    # the second-order prediction is closer than first order for a small removal (ε² vs ε³)
    eps = 1e-2
    s = eps * v1
    loss0, gr = obj.loss_and_grad(theta)
    actual = float(obj.loss(theta - s)) - loss0
    first, second = float(-(s @ gr)), float(-(s @ gr) + 0.5 * (s @ H @ s))
    assert abs(second - actual) < 0.1 * abs(first - actual)


@pytest.mark.parametrize("arch", ["vgg13", "mobilenet_v1", "resnet56"])
def test_unit_events_match_physical_removal_and_flow_rates(arch):
    """The `channel` set's actual ΔL and surviving Δ‖g‖² equal the physically pruned network's
    (surgery, or the mask for a residual-stream filter); T1/T2 predictions of the `weights` set
    equal −θ_pᵀg and −2θ_pᵀ(Hg)_p from gftheory.flow_rates (a different contraction)."""
    model = _small(arch)
    batch = _batch()
    pr = StructuredPruner(model, arch, target=0.75, rounds=25)
    rng = np.random.default_rng(100)
    fake = {g.name: rng.random(pr.original[g.name]) for g in pr.groups}
    units = select_units(pr, fake, fake, 6)
    kinds = {g.name: g for g in pr.groups}
    if arch == "resnet56":     # one unit of each kind
        mask = next(g for g in pr.groups if g.kind == "mask")
        units[0] = {**units[0], "group": mask.name, "index": 1}
        assert any(kinds[u["group"]].kind == "physical" for u in units)
    res = unit_events(model, pr, units, batch, 5.0)
    rates = flow_rates(model, [batch], temperature=5.0, per_unit=True)
    obj0 = Objective(model, [batch], 5.0)
    l0, g0 = obj0.loss_and_grad()
    assert res["before"]["loss"] == pytest.approx(l0, rel=1e-12)
    for u in res["units"]:
        grp = kinds[u["group"]]
        # physical removal of this one unit
        scores = {n: torch.ones(p.shape[0], dtype=torch.float64) for n, p in model.named_parameters() if p.dim() > 1}
        for w in grp.score_from:
            scores[w][u["index"]] = 0.0
        fresh = StructuredPruner(model, arch, target=0.75, rounds=25)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pruned, rep = prune_round_with_quota(fresh, model, scores, 1, {grp.name: 1})
        assert rep.removed[grp.name] == [u["index"]]
        pruned.eval()
        l1, g1 = Objective(pruned, [batch], 5.0).loss_and_grad()
        assert u["channel"]["dloss"] == pytest.approx(l1 - l0, rel=1e-8, abs=1e-12)
        assert u["channel"]["dgrad_norm_sq_surviving"] == pytest.approx(float(g1 @ g1 - g0 @ g0), rel=1e-8, abs=1e-12)
        # T1 / T2 predictions of the paper's θ_p (its conv filters), from flow_rates
        convs = [w for w in grp.score_from]
        t1 = -sum(float(rates.units[w].theta_dot_grad[u["index"]]) for w in convs)
        t2 = -2 * sum(float(rates.units[w].theta_dot_hvp[u["index"]]) for w in convs)
        assert u["weights"]["pred_dloss"] == pytest.approx(t1, rel=1e-9, abs=1e-14)
        assert u["weights"]["pred_dgrad_norm_sq"] == pytest.approx(t2, rel=1e-9, abs=1e-14)
        assert u["channel"]["n_params"] > u["weights"]["n_params"] > 0


def test_unit_choice_is_fixed_by_the_layout_and_stratified_by_deciles():
    model = build("resnet56", 10)
    pr = StructuredPruner(model, "resnet56", target=0.75, rounds=25)
    rng = np.random.default_rng(101)
    a = {g.name: rng.random(pr.original[g.name]) for g in pr.groups}
    b = {g.name: rng.random(pr.original[g.name]) for g in pr.groups}
    ua, ub = select_units(pr, a, a, 100), select_units(pr, b, b, 100)
    assert len(ua) == len(ub) == 100
    lay = lambda us: [(u["group"], u["index"]) for u in us if u["panel"] == "layout"]   # noqa: E731
    assert lay(ua) == lay(ub) and len(lay(ua)) == 50          # same units whatever the scores
    assert max(sum(1 for g, _ in lay(ua) if g == x) for x, _ in lay(ua)) == 1   # 50 groups ≤ 56: one each
    dec = [u["magnitude_decile"] for u in ua if u["panel"] == "deciles"]
    assert sorted(set(dec)) == list(range(10)) and all(dec.count(d) == 5 for d in range(10))
    assert select_units(pr, a, a, 100) == ua                   # deterministic
    assert len({(u["group"], u["index"]) for u in ua}) == 100


def test_train_mode_loss_leaves_the_model_alone_and_differs_from_eval():
    model = _small("vgg13")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = _batch(8)
    lt = train_mode_loss(model, (x, y), 5.0)
    assert not model.training and all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    le = float(Objective(model, [(x, y)], 5.0).loss(Objective(model, [(x, y)], 5.0).theta()))
    assert lt != pytest.approx(le)


def test_parts_charge_the_innermost_block():
    p = ev.Parts()
    import time
    with p("recovery"):
        time.sleep(0.02)
        with p("probe"):
            time.sleep(0.03)
    assert p.seconds["probe"] >= 0.03 and 0.02 <= p.seconds["recovery"] < 0.03 + 0.02


def test_edition1_studies_on_main_load_with_unchanged_ids():
    """Every study on main (edition 1 from stage 1, edition 2 from stage 2) loads back to the same id
    and canonical form; a stored config without ``edition`` is edition 1 and has no unit events."""
    dirs = sorted((REPO / "results" / "events").glob("ev-*"))
    editions = []
    for d in dirs:
        stored = json.loads((d / runstore.CONFIG).read_text())["config"]
        cfg = ev.EventConfig.from_canonical(stored)
        assert cfg.run_id() == d.name and cfg.canonical() == stored
        assert cfg.edition == (1 if "edition" not in stored else stored["edition"])
        if cfg.edition == 1:
            assert ("none", "units") not in cfg.events_per_checkpoint()
        editions.append(cfg.edition)
    assert 1 in editions, "no edition-1 studies on main"
    old = ev.EventConfig(edition=1)
    assert old.measures == ev.ALL_MEASURES and len(old.events_per_checkpoint()) == 1 + 4 * len(ev.ALL_MEASURES)
    assert "edition" not in old.canonical() and ev.EventConfig().canonical()["edition"] == 2
    assert ev.EventConfig().run_id() != ev.EventConfig(edition=1).run_id()
    assert set(ev.EventConfig().measures) == set(ev.EDITION2_MEASURES)
    assert not {"l1", "fisher", "synflow"} & set(ev.EventConfig().measures)
    for bad in (dict(edition=1, random_draws=2), dict(edition=3), dict(random_draws=1, random_recovery_draws=2),
                dict(quota_measures=("taylor",))):
        with pytest.raises(ConfigError, match="fix"):
            ev.EventConfig(**bad)


def test_an_edition2_study_records_every_new_field(tmp_path):
    data = write_cifar10(tmp_path / "data", per_batch=120)
    cfg = ev.EventConfig(arch="resnet56", checkpoints=(1,), measures=("magnitude", "loss_preservation", "grasp"),
                         importance_samples=16, probe_size=8, val_size=50, holdout_size=100, recovery_steps=2,
                         recovery_eval=(1, 2), batch_size=32, max_train_samples=192, later_rounds=(2,),
                         units_per_checkpoint=6, unit_probe_size=4, probe_chunk=4, random_draws=2,
                         random_recovery_draws=1, quota_measures=("grasp",),
                         layer_random_measures=("magnitude", "grasp"))
    d = ev.ensure_study(cfg, tmp_path / "runs", data_dir=data, progress=False)
    recs = [r for r in runstore.read_events(d) if r["kind"] == "event"]
    assert [(r["measure"], r["event"]) for r in recs] == cfg.events_per_checkpoint()
    by = {(r["measure"], r["event"]): r for r in recs}
    units = by[("none", "units")]
    assert units["n_units"] == len(units["units"]) == 6 and units["unit_probe_size"] == 4
    for u in units["units"]:
        for s in ("weights", "channel"):
            assert set(u[s]) == {"removed_norm_sq", "pred_dloss", "pred_dgrad_norm_sq", "dloss", "dgrad_norm_sq",
                                 "dgrad_norm_sq_surviving", "n_params"}
    for m in cfg.measures:
        r1 = by[(m, "round1")]
        p = r1["pred"]
        assert p["dloss_weights_second_order"] == pytest.approx(p["dloss_weights"] + 0.5 * p["theta_hess_theta_weights"])
        assert "loss_train_mode" in r1["before"] and "loss_train_mode" in r1["after"]
        assert "theta_hess_theta_weights" in by[(m, "small")]["pred"] and "theta_hess_theta_channel" in by[(m, "round2")]["pred"]
        prof = by[(m, "profile")]
        assert "after" in prof and prof["recovery"]["steps"] == [0, 1, 2] and "theta_hess_theta_weights" not in prof["pred"]
        assert set(r1["part_seconds"]) <= set(ev.Parts.NAMES) and r1["edition"] == 2
    assert "score_rank_train_vs_eval" in by[("grasp", "round1")] and "score_rank_train_vs_eval" not in by[("magnitude", "round1")]
    for ev_ in ("round1", "profile"):
        q = by[("grasp", f"{ev_}_quota")]
        assert q["units_removed"] == {g: n for g, n in by[("magnitude", ev_)]["units_removed"].items() if n}
        assert q["quota_reference"] == "magnitude" and "recovery" in q
        for m in ("magnitude", "grasp"):
            lr = by[(m, f"{ev_}_layer_random")]
            own = {g: n for g, n in by[(m, ev_)]["units_removed"].items() if n}
            assert lr["quota"] == own and lr["n_draws"] == 2
            assert all({g: n for g, n in dr["units_removed"].items() if n} == own for dr in lr["draws"])
            assert ["recovery" in dr for dr in lr["draws"]] == [True, False]
            assert lr["mean"]["dloss"] == pytest.approx(np.mean([dr["after"]["loss"] for dr in lr["draws"]])
                                                        - lr["before"]["loss"])
            assert lr["draws"][0]["removed"] != lr["draws"][1]["removed"]      # fresh draws
            assert lr["draws"][0]["removed"] != by[(m, ev_)]["removed"]
    s = json.loads((d / runstore.SUMMARY).read_text())
    assert s["edition"] == 2 and set(s["part_seconds"]) >= {"units", "recovery", "hvp", "scoring", "probe"}
    assert s["event_seconds_per_checkpoint"]["1"] == pytest.approx(sum(s["part_seconds"].values()))
