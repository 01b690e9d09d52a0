"""The event study: the removed set S it predicts with is exactly what surgery removes; a study
resumes after a crash without duplicate or lost events; its config validates and hashes."""
from __future__ import annotations

import pytest
import torch

from empirical import events as ev
from empirical.config import ConfigError
from empirical.models import build
from empirical.pruning import StructuredPruner
from gftheory import runstore
from gftheory.objective import Objective
from conftest import nontrivial_bn
from test_cli_empirical import write_cifar10


pytestmark = pytest.mark.usefixtures("single_thread")   # tests/conftest.py


@pytest.mark.parametrize("arch", ["vgg13", "mobilenet_v1", "resnet56"])
def test_channel_set_is_exactly_what_surgery_removes(arch):
    """Zeroing the 'channel' slices of θ gives the physically pruned network's function (float64,
    eval mode, non-trivial BN statistics); zeroing only the filters ('weights', the paper's θ_p)
    does not, because the removed channel's BN shift β remains."""
    torch.manual_seed(0)
    model = nontrivial_bn(build(arch, 10).double()).eval()
    pr = StructuredPruner(model, arch, target=0.75, rounds=2)
    g = torch.Generator().manual_seed(1)
    # two rounds, so the event's channel numbering differs from the original numbering
    scores = {n: torch.rand(p.shape[0], generator=g, dtype=torch.float64)
              for n, p in model.named_parameters() if p.dim() > 1}
    pre, _ = pr.prune_round(model, scores, 1)
    pre.eval()
    scores = {n: torch.rand(p.shape[0], generator=g, dtype=torch.float64)
              for n, p in pre.named_parameters() if p.dim() > 1}
    pruned, rep = pr.prune_round(pre, scores, 2)
    pruned.eval()
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    obj = Objective(pre, [(x, torch.zeros(3, dtype=torch.long))])
    w_sel, c_sel = ev._flat_owned(obj, pre, *ev.removed_in_pre_numbering(pr, rep.removed))
    theta = obj.theta()
    assert 0 < w_sel.sum() < c_sel.sum()
    with torch.no_grad():
        want = pruned(x)
        got_channel = obj.logits(theta * (1 - c_sel), x)
        got_weights = obj.logits(theta * (1 - w_sel), x)
    assert torch.allclose(got_channel, want, rtol=0, atol=1e-10)
    assert (got_weights - want).abs().max() > 1e-6


def _tiny(**kw):
    base = dict(arch="resnet56", edition=1, checkpoints=(1,), measures=("magnitude", "grasp"), importance_samples=32,
                probe_size=16, val_size=50, holdout_size=100, recovery_steps=4, recovery_eval=(2, 4),
                batch_size=32, max_train_samples=192, later_rounds=(2,))
    base.update(kw)
    return ev.EventConfig(**base)


def test_study_resumes_after_a_crash_without_duplicates(tmp_path, monkeypatch):
    data = write_cifar10(tmp_path / "data", per_batch=120)
    cfg = _tiny()
    real = ev.EventStudy._measure_event
    calls = {"n": 0}

    def dies_on_the_fourth(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real(self, *a, **k)

    monkeypatch.setattr(ev.EventStudy, "_measure_event", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        ev.ensure_study(cfg, tmp_path / "runs", data_dir=data, progress=False)
    d = tmp_path / "runs" / cfg.run_id()
    assert not runstore.is_complete(d)
    partial = [r for r in runstore.read_events(d) if r["kind"] == "event"]
    assert len(partial) == 4          # control + 3 events of magnitude
    monkeypatch.setattr(ev.EventStudy, "_measure_event", real)
    ev.ensure_study(cfg, tmp_path / "runs", data_dir=data, progress=False)
    assert runstore.is_complete(d)
    recs = runstore.read_events(d)
    keys = [(r["checkpoint"], r["measure"], r["event"]) for r in recs if r["kind"] == "event"]
    assert keys == [(1, m, e) for m, e in cfg.events_per_checkpoint()]
    assert [r["epoch"] for r in recs if r["kind"] == "trajectory_epoch"] == [1]
    by = {(r["measure"], r["event"]): r for r in recs if r["kind"] == "event"}
    for m in cfg.measures:
        r1 = by[(m, "round1")]
        assert set(r1["after"]) == {"loss", "norm_sq", "theta_dot_grad", "grad_norm_sq", "theta_dot_hvp"}
        assert r1["recovery"]["steps"] == [0, 2, 4] and len(r1["recovery"]["probe_loss"]) == 3
        assert r1["score_bn_mode"] == "eval" and r1["probe_temperature"] == cfg.temperature
        assert "theta_dot_hvp" not in by[(m, "small")]["after"]
        assert by[(m, "round2")]["before"] != r1["before"]          # the measure's own pre-pruned model
        assert by[(m, "profile")]["channel_sparsity"] == pytest.approx(0.75, abs=0.01)
    assert by[("grasp", "round1")]["importance_temperature"] == 200.0
    # a complete study is skipped
    mtime = (d / runstore.SUMMARY).stat().st_mtime_ns
    ev.ensure_study(cfg, tmp_path / "runs", data_dir=data, progress=False)
    assert (d / runstore.SUMMARY).stat().st_mtime_ns == mtime


def test_config_validates_and_hashes():
    a, b = ev.EventConfig(), ev.EventConfig(seed=1)
    assert a.run_id() != b.run_id() and a.run_id().startswith("ev-")
    assert a.first_round_ratio() == pytest.approx(0.75 / 7)
    assert ev.EventConfig(checkpoints="1,3").checkpoints == (1, 3)
    for bad in (dict(measures=("taylor",)), dict(checkpoints=(3, 1)), dict(small_ratio=1.5),
                dict(later_rounds=(1,)), dict(recovery_eval=(60,))):
        with pytest.raises(ConfigError, match="fix"):
            ev.EventConfig(**bad)


def _strip_timing(x):
    """A record without its wall-clock fields (the only ones two identical computations may differ in)."""
    if isinstance(x, dict):
        return {k: _strip_timing(v) for k, v in x.items() if "seconds" not in k}
    if isinstance(x, list):
        return [_strip_timing(v) for v in x]
    return x


def test_a_study_moved_to_another_machine_resumes_from_its_events_and_matches_an_uninterrupted_one(tmp_path):
    """Only config.json and events.jsonl travel (the campaign's inflight/ folder; checkpoints stay
    behind): the trajectory is recomputed, proven identical by its recorded weights digest and loss,
    and the events still missing are measured — equal, up to timing fields, to an uninterrupted study."""
    import shutil
    data = write_cifar10(tmp_path / "data", per_batch=120)
    cfg = _tiny(measures=("magnitude",), later_rounds=())
    whole = ev.ensure_study(cfg, tmp_path / "a", data_dir=data, progress=False)
    recs = runstore.read_events(whole)
    traj = [r for r in recs if r["kind"] == "trajectory_epoch"]
    assert len(traj) == 1 and len(traj[0]["weights_sha256"]) == 16
    events = [r for r in recs if r["kind"] == "event"]
    assert len(events) >= 3
    keep = len(recs) - 2                                  # the last two events are "not yet measured"

    def moved(dest):
        d = tmp_path / dest / cfg.run_id()
        d.mkdir(parents=True)
        shutil.copy2(whole / runstore.CONFIG, d / runstore.CONFIG)
        runstore.write_events(d, recs[:keep])
        return d

    d = moved("b")
    assert not any(d.glob("*.pt"))
    ev.ensure_study(cfg, tmp_path / "b", data_dir=data, progress=False)
    assert runstore.is_complete(d)
    got = runstore.read_events(d)
    replay = [r for r in got if r["kind"] == "trajectory_replay"]
    assert [r["weights_sha256"] for r in replay] == [traj[0]["weights_sha256"]]
    assert _strip_timing([r for r in got if r["kind"] == "event"]) == _strip_timing(events)
    assert runstore.read_summary(d)["events"] == len(events)

    # a recorded epoch that the recomputation does not reproduce is refused, nothing measured
    d = moved("c")
    bad = [dict(r, weights_sha256="0" * 16) if r["kind"] == "trajectory_epoch" else r for r in recs[:keep]]
    runstore.write_events(d, bad)
    with pytest.raises(ev.ReplayMismatch, match="fix: delete the study folder"):
        ev.ensure_study(cfg, tmp_path / "c", data_dir=data, progress=False)
    assert runstore.read_events(d) == bad and not runstore.is_complete(d)
    # and one recorded before the digest existed cannot be proven identical: refused too
    d = moved("e")
    old = [{k: v for k, v in r.items() if k != "weights_sha256"} for r in recs[:keep]]
    runstore.write_events(d, old)
    with pytest.raises(ev.ReplayMismatch, match="without a weights digest"):
        ev.ensure_study(cfg, tmp_path / "e", data_dir=data, progress=False)


def test_replay_check_needs_the_digest_only_at_checkpoint_epochs():
    rec = {"epoch": 2, "train_loss": 1.25}
    ev.check_replay("s", rec, 2, "a" * 16, 1.25, checkpoint=False)            # loss alone suffices
    with pytest.raises(ev.ReplayMismatch, match="train loss"):
        ev.check_replay("s", rec, 2, "a" * 16, 1.2500001, checkpoint=False)
    with pytest.raises(ev.ReplayMismatch, match="without a weights digest"):
        ev.check_replay("s", rec, 2, "a" * 16, 1.25, checkpoint=True)
    ev.check_replay("s", {**rec, "weights_sha256": "a" * 16}, 2, "a" * 16, 1.25, checkpoint=True)
    with pytest.raises(ev.ReplayMismatch, match="fix:"):
        ev.check_replay("s", {**rec, "weights_sha256": "b" * 16}, 2, "a" * 16, 1.25, checkpoint=True)
