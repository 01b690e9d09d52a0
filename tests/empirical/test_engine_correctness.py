"""The engine measures what it says: scoring in eval mode at the configured temperature, probes at
the training temperature in eval mode, masked (removed) units contributing exactly nothing, and
SynFlow finite on every network. Each test fails on the behaviour it guards against."""
from __future__ import annotations

import pytest
import torch

from empirical import runner as runner_mod
from empirical.config import RunConfig
from empirical.models import MaskableBatchNorm2d, build
from empirical.pruning import StructuredPruner
from gftheory.importance import importance
from gftheory.measures import MEASURES
from gftheory.objective import Objective
from gftheory.state import bn_mode
from conftest import nontrivial_bn
from test_cli_empirical import write_cifar10

TINY = dict(max_train_samples=128, batch_size=32, holdout_size=64, importance_samples=40,
            probe_size=8, max_test_samples=64)


pytestmark = pytest.mark.usefixtures("single_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def instrumented_run(tmp_path_factory):
    """One smoke ResNet-56 run with spies on what the runner really passes to the scorer and the
    probe (mode and temperature at call time, not the values copied into config.json)."""
    data = write_cifar10(tmp_path_factory.mktemp("data"))
    root = tmp_path_factory.mktemp("runs")
    calls = {"importance": [], "probe": [], "data": data}
    real_importance = runner_mod.importance
    import empirical.probe as probe_mod
    real_flow_rates = probe_mod.flow_rates

    def spy_importance(model, measure, batches, **kw):
        calls["importance"].append({"mode": bn_mode(model), "temperature": kw["temperature"],
                                    "batches": [(x.clone(), t.clone()) for x, t in batches]})
        return real_importance(model, measure, batches, **kw)

    def spy_flow_rates(model, batches, **kw):
        calls["probe"].append({"mode": bn_mode(model), "temperature": kw["temperature"]})
        return real_flow_rates(model, batches, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(runner_mod, "importance", spy_importance)
    mp.setattr(probe_mod, "flow_rates", spy_flow_rates)
    try:
        cfg = RunConfig.preset("smoke", arch="resnet56", measure="grasp", **TINY)
        run_dir = runner_mod.ensure_run(cfg, root, device="cpu", data_dir=data, progress=False)
    finally:
        mp.undo()
    return cfg, run_dir, calls


def test_runner_scores_in_eval_mode_at_the_measures_temperature(instrumented_run):
    cfg, run_dir, calls = instrumented_run
    from empirical.runner import AGREEMENT_ROUNDS
    # one eval-mode scoring per round (the scores that prune), then, at the agreement rounds, one
    # train-mode rescoring for the descriptive eval/train rank agreement (never used to prune)
    extra = sum(1 for k in range(1, cfg.rounds + 1) if k in AGREEMENT_ROUNDS)
    assert len(calls["importance"]) == cfg.rounds + extra
    modes = [c["mode"] for c in calls["importance"]]
    assert modes.count("eval") == cfg.rounds and modes.count("train") == extra
    assert modes[0] == "eval"                                   # round 1 prunes on its eval-mode scores
    assert {c["temperature"] for c in calls["importance"]} == {200.0}  # grasp: authors' T = 200
    from gftheory import runstore
    events = [m for m in runstore.read_metrics(run_dir) if m["kind"] == "prune_event"]
    assert [e["score_bn_mode"] for e in events] == ["eval"] * cfg.rounds


def test_probe_measures_the_training_loss_in_eval_mode(instrumented_run):
    cfg, run_dir, calls = instrumented_run
    assert len(calls["probe"]) == 2 * cfg.rounds                 # before and after every event
    assert {c["mode"] for c in calls["probe"]} == {"eval"}
    assert {c["temperature"] for c in calls["probe"]} == {cfg.temperature}
    from gftheory import runstore
    events = [m for m in runstore.read_metrics(run_dir) if m["kind"] == "prune_event"]
    assert all(e["probe_temperature"] == cfg.temperature for e in events)


def test_importance_batches_are_augmented(instrumented_run):
    """Random crops with 4-px zero padding leave a border row or column at the normalised value of
    a black pixel ((0 − 0.5)/0.5 = −1) in most images; un-augmented synthetic images never do."""
    _, _, calls = instrumented_run
    x = torch.cat([b[0] for b in calls["importance"][0]["batches"]])
    pad = -1.0
    edge = torch.stack([(x[:, :, 0, :] == pad).all(-1).all(-1), (x[:, :, -1, :] == pad).all(-1).all(-1),
                        (x[:, :, :, 0] == pad).all(-1).all(-1), (x[:, :, :, -1] == pad).all(-1).all(-1)])
    assert edge.any(0).float().mean() > 0.5


def _masked_resnet(train_mode: bool):
    torch.manual_seed(0)
    model = nontrivial_bn(build("resnet56", 10).double())   # real-looking running stats and affine params
    pruner = StructuredPruner(model, "resnet56", target=0.75, rounds=2)
    g = torch.Generator().manual_seed(1)
    scores = {n: torch.rand(p.shape[0], generator=g, dtype=torch.float64)
              for n, p in model.named_parameters() if p.dim() == 4}
    model, _ = pruner.prune_round(model, scores, 1)
    model.train(train_mode)
    return model, pruner


@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train"])
def test_masked_units_have_exactly_zero_gradient_and_hvp(train_mode):
    model, pruner = _masked_resnet(train_mode)
    masks = pruner.masks()
    assert sum(int((~m).sum()) for m in masks.values()) > 0, "the round masked nothing"
    torch.manual_seed(2)
    batch = (torch.randn(6, 3, 32, 32, dtype=torch.float64), torch.arange(6) % 10)
    obj = Objective(model, [batch], temperature=5.0)
    _, g = obj.loss_and_grad()
    hg = obj.hvp(g)
    off = obj.spec.offsets()
    checked = 0
    for conv, keep in masks.items():
        bn = conv.replace("conv2", "bn2").replace("shortcut.conv", "shortcut.bn")
        drop = ~keep
        for name, rows in ((f"{conv}.weight", drop), (f"{bn}.weight", drop), (f"{bn}.bias", drop)):
            a, b = off[name]
            shape = dict(model.named_parameters())[name].shape
            for vec in (g, hg):
                block = vec[a:b].view(shape)[rows]
                assert torch.equal(block, torch.zeros_like(block)), f"{name} of a removed unit moves"
            checked += int(rows.sum())
    assert checked > 0
    assert g.abs().sum() > 0 and hg.abs().sum() > 0          # the rest of the net is alive


def test_masked_units_score_zero_under_every_measure():
    model, pruner = _masked_resnet(False)
    torch.manual_seed(3)
    batch = (torch.randn(6, 3, 32, 32, dtype=torch.float64), torch.arange(6) % 10)
    for measure in MEASURES:
        if measure == "random":
            continue
        scores = importance(model, measure, batch, unit="filter", temperature=5.0)
        for conv, keep in pruner.masks().items():
            s = scores[f"{conv}.weight"][~keep]
            assert torch.equal(s, torch.zeros_like(s)), f"{measure}: removed units of {conv} score {s}"


def test_enforce_masks_zeroes_running_statistics_and_output():
    model, pruner = _masked_resnet(False)
    mods = dict(model.named_modules())
    for conv, keep in pruner.masks().items():
        bn = mods[conv.replace("conv2", "bn2").replace("shortcut.conv", "shortcut.bn")]
        assert isinstance(bn, MaskableBatchNorm2d)
        assert torch.equal(bn.running_mean[~keep], torch.zeros(int((~keep).sum()), dtype=torch.float64))
        assert torch.equal(bn.running_var[~keep], torch.zeros(int((~keep).sum()), dtype=torch.float64))
        assert torch.equal(bn.keep, keep.to(bn.keep.dtype))


@pytest.mark.parametrize("arch", ["resnet56", "mobilenet_v1", "vgg13"])
def test_synflow_scores_are_finite_on_every_network(arch):
    torch.manual_seed(0)
    model = build(arch, 10)
    batch = (torch.randn(2, 3, 32, 32), torch.tensor([0, 1]))
    scores = importance(model, "synflow", batch, unit="filter")
    assert all(torch.isfinite(s).all() for s in scores.values())
    assert any((s > 0).any() for s in scores.values())


def test_dense_baseline_trains_the_same_schedule_and_prunes_nothing(tmp_path):
    from gftheory import runstore
    data = write_cifar10(tmp_path / "data")
    cfg = RunConfig.preset("smoke", arch="resnet56", measure="none", target=0.0, **TINY)
    calls = []
    mp = pytest.MonkeyPatch()
    mp.setattr(runner_mod, "importance", lambda *a, **k: calls.append(1))
    try:
        d = runner_mod.ensure_run(cfg, tmp_path / "runs", device="cpu", data_dir=data, progress=False)
    finally:
        mp.undo()
    metrics = runstore.read_metrics(d)
    assert calls == [] and not [m for m in metrics if m["kind"] == "prune_event"]
    epochs = [m for m in metrics if m["kind"] == "epoch"]
    assert [(m["phase"], m["lr"]) for m in epochs] == [(p, lr) for p, _, lr in cfg.records()]
    ck = runstore.load_checkpoint(d / runstore.CHECKPOINT)
    from empirical.models import default_widths
    assert ck["widths"] == default_widths("resnet56")
    assert len(runstore.read_config(d)["data"]["arrays_sha256"]) == 64


def test_death_between_metrics_append_and_checkpoint_loses_and_duplicates_nothing(instrumented_run,
                                                                                   tmp_path):
    """The run dies twice: right after appending record 2 to metrics.jsonl (before its checkpoint
    is written), and right after writing record 3's checkpoint (before anything else). Each time
    it is resumed; the final metrics.jsonl must equal the uninterrupted run's (the module's
    instrumented run, same config): no duplicate, no lost record, the same numbers."""
    from gftheory import runstore
    from test_cli_empirical import _close, _comparable
    cfg, ref_dir, calls = instrumented_run
    data = calls["data"]

    class Died(Exception):
        pass

    real_append, real_save = runstore.append_jsonl, runstore.save_checkpoint

    def append_then_die(path, record):
        real_append(path, record)
        if record.get("kind") == "epoch" and record["epoch"] == 2:
            raise Died("after appending record 2")

    def save_then_die(path, state):
        real_save(path, state)
        if state["epoch"] == 3:
            raise Died("after checkpoint 3")

    root = tmp_path / "runs"
    kw = dict(device="cpu", data_dir=data, progress=False)
    for patch, where in ((("append_jsonl", append_then_die), 2), (("save_checkpoint", save_then_die), 3)):
        mp = pytest.MonkeyPatch()
        mp.setattr(runstore, *patch)
        try:
            with pytest.raises(Died):
                runner_mod.ensure_run(cfg, root, **kw)
        finally:
            mp.undo()
        d = root / ref_dir.name
        assert not (d / runstore.SUMMARY).exists()
        assert max(m["epoch"] for m in runstore.read_metrics(d)) == where
    d = runner_mod.ensure_run(cfg, root, **kw)
    got, want = runstore.read_metrics(d), runstore.read_metrics(ref_dir)
    keys = [(m["kind"], m["epoch"]) for m in got]
    assert len(keys) == len(set(keys)), f"duplicate records after resume: {keys}"
    assert keys == [(m["kind"], m["epoch"]) for m in want], "records lost or reordered"
    _close(_comparable(got), _comparable(want))
