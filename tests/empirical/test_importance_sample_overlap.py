"""scripts/importance_sample_overlap.py (issue 25): the replay of a committed run's first rounds is
the run (faithfulness), the other sample's selection never changes the run, and the overlap is
computed on the units the pruner would remove. Tiny synthetic runs; one thread."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from empirical.config import RunConfig
from empirical.runner import ensure_run
from gftheory import runstore

sys.path.insert(0, str(Path(__file__).parent))
from test_cli_empirical import write_cifar10  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TINY = dict(max_train_samples=128, batch_size=32, holdout_size=64, importance_samples=40, probe_size=8,
            max_test_samples=64)

pytestmark = pytest.mark.usefixtures("single_thread")


def _script():
    spec = importlib.util.spec_from_file_location("overlap_under_test", REPO / "scripts" / "importance_sample_overlap.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def stored(data_dir, tmp_path_factory):
    cfg = RunConfig.preset("smoke", arch="mobilenet_v1", measure="loss_preservation", **TINY)
    d = ensure_run(cfg, tmp_path_factory.mktemp("runs"), device="cpu", data_dir=data_dir, progress=False)
    return runstore.read_config(d)["config"], runstore.read_metrics(d)


def test_jaccard_and_units():
    ov = _script()
    a = ov.units({"conv1": [0, 1, 2], "conv2": [5]})
    b = ov.units({"conv1": [1, 2, 3], "conv2": []})
    assert a == {("conv1", 0), ("conv1", 1), ("conv1", 2), ("conv2", 5)}
    assert ov.jaccard(a, b) == pytest.approx(2 / 5)
    assert ov.jaccard(set(), set()) is None and ov.jaccard(a, a) == 1.0


def test_same_sample_size_gives_overlap_one_and_a_faithful_replay(stored, data_dir):
    """With the other sample the run's own (same size, same draw), the second selection must be the
    run's own: J = 1 exactly; the replay equals the stored run at every round replayed."""
    ov = _script()
    config, recorded = stored
    res = ov.replay_overlap(config, recorded, rounds=2, data_dir=data_dir, other=config["importance_samples"])
    assert [r["round"] for r in res["rounds"]] == [1, 2]
    for r in res["rounds"]:
        assert r["faithful"] is True
        assert r["own_minus_recorded"] == 0 and r["recorded_minus_own"] == 0
        assert r[f"jaccard_40_vs_40"] == 1.0


def test_a_different_sample_leaves_the_replay_on_the_run_and_changes_the_selection(stored, data_dir):
    ov = _script()
    config, recorded = stored
    res = ov.replay_overlap(config, recorded, rounds=2, data_dir=data_dir, other=8)
    for r in res["rounds"]:
        assert r["faithful"] is True           # the extra scoring did not perturb the trajectory
        j = r["jaccard_40_vs_8"]
        assert 0.0 <= j <= 1.0
    assert min(r["jaccard_40_vs_8"] for r in res["rounds"]) < 1.0   # 8 images do not reproduce 40's ranking


def test_a_tampered_record_is_reported_as_a_replay_that_differs(stored, data_dir):
    ov = _script()
    config, recorded = stored
    tampered = [dict(e) for e in recorded]
    ev = next(e for e in tampered if e["kind"] == "prune_event")
    ev["after"] = {**ev["after"], "loss": ev["after"]["loss"] * (1 + 1e-6)}
    res = ov.replay_overlap(config, tampered, rounds=1, data_dir=data_dir, other=8)
    assert res["rounds"][0]["faithful"] is False and res["rounds"][0]["jaccard_40_vs_8"] is None


def test_from_record_agrees_with_the_full_replay_and_checks_the_network(stored, data_dir):
    """--from-record (round 1): the run's own set taken from its record gives the same J as the full
    replay that recomputes it; a record whose pre-prune probe differs is 'replay differs'; a run
    without 'removed' and rounds > 1 are refused."""
    ov = _script()
    config, recorded = stored
    full = ov.replay_overlap(config, recorded, rounds=1, data_dir=data_dir, other=8)
    fast = ov.replay_overlap(config, recorded, rounds=1, data_dir=data_dir, other=8, from_record=True)
    assert fast["rounds"][0]["faithful"] is True and full["rounds"][0]["faithful"] is True
    assert fast["rounds"][0]["jaccard_40_vs_8"] == full["rounds"][0]["jaccard_40_vs_8"]
    assert fast["rounds"][0]["removed"] == full["rounds"][0]["removed"]
    tampered = [dict(e) for e in recorded]
    ev = next(e for e in tampered if e["kind"] == "prune_event")
    ev["before"] = {**ev["before"], "grad_norm_sq": ev["before"]["grad_norm_sq"] * (1 + 1e-6)}
    bad = ov.replay_overlap(config, tampered, rounds=1, data_dir=data_dir, other=8, from_record=True)
    assert bad["rounds"][0]["faithful"] is False and bad["rounds"][0]["jaccard_40_vs_8"] is None
    no_removed = [{k: v for k, v in e.items() if k != "removed"} for e in recorded]
    with pytest.raises(SystemExit, match="did not record its removed units"):
        ov.replay_overlap(config, no_removed, rounds=1, data_dir=data_dir, other=8, from_record=True)
    with pytest.raises(SystemExit, match="round 1 only"):
        ov.replay_overlap(config, recorded, rounds=2, data_dir=data_dir, other=8, from_record=True)
