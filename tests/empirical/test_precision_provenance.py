"""bf16 training on the CPU (issue: more evidence per CPU-hour): scoring, probes and every
gradient-flow quantity stay fp32 under a bf16 run; every run records the processor's instruction
sets, its effective precision and its pairing fingerprint; a run refuses to resume under another
precision or on a processor of another bf16 capability."""
from __future__ import annotations

import json

import pytest
import torch

import empirical.probe as probe_mod
from empirical import runner as runner_mod
from empirical.config import ConfigError, RunConfig
from gftheory import runstore
from gftheory.provenance import cpu_features
from test_cli_empirical import write_cifar10

TINY = dict(max_train_samples=128, batch_size=32, holdout_size=64, importance_samples=40,
            probe_size=8, max_test_samples=64)

pytestmark = pytest.mark.usefixtures("single_thread")   # tests/conftest.py


def _state(model) -> dict:
    return {"autocast": torch.is_autocast_enabled("cpu"),
            "param_dtypes": sorted({str(p.dtype) for p in model.parameters()})}


@pytest.fixture(scope="module")
def bf16_and_fp32(tmp_path_factory):
    """The same smoke config trained once in bf16 and once in fp32, with spies on what scoring,
    probing and training see at call time."""
    data = write_cifar10(tmp_path_factory.mktemp("data"))
    root = tmp_path_factory.mktemp("runs")
    calls = {"importance": [], "probe": [], "train_forward": []}
    real_importance, real_flow_rates = runner_mod.importance, probe_mod.flow_rates
    real_train_steps = runner_mod.train_steps

    def spy_importance(model, measure, batches, **kw):
        out = real_importance(model, measure, batches, **kw)
        calls["importance"].append({**_state(model), "out": sorted({str(v.dtype) for v in out.values()})})
        return out

    def spy_flow_rates(model, batches, **kw):
        out = real_flow_rates(model, batches, **kw)
        calls["probe"].append(_state(model))
        return out

    def spy_train_steps(model, batches, optimizer, **kw):
        def hook(mod, args, output):
            calls["train_forward"].append({"precision": kw["precision"], "dtype": str(output.dtype)})
        h = model.register_forward_hook(hook)
        try:
            return real_train_steps(model, batches, optimizer, **kw)
        finally:
            h.remove()

    mp = pytest.MonkeyPatch()
    mp.setattr(runner_mod, "importance", spy_importance)
    mp.setattr(probe_mod, "flow_rates", spy_flow_rates)
    mp.setattr(runner_mod, "train_steps", spy_train_steps)
    dirs = {}
    try:
        for prec in ("bf16", "fp32"):
            cfg = RunConfig.preset("smoke", arch="resnet56", measure="loss_preservation", precision=prec, **TINY)
            dirs[prec] = runner_mod.ensure_run(cfg, root, device="cpu", data_dir=data, progress=False)
            if prec == "bf16":
                bf16_calls = {k: list(v) for k, v in calls.items()}
                for v in calls.values():
                    v.clear()
    finally:
        mp.undo()
    return dirs, bf16_calls, data, root


def test_bf16_run_trains_in_bf16_but_scores_and_probes_in_fp32(bf16_and_fp32):
    _, calls, _, _ = bf16_and_fp32
    assert calls["train_forward"] and {c["dtype"] for c in calls["train_forward"]} == {"torch.bfloat16"}
    assert len(calls["importance"]) >= 2 and len(calls["probe"]) >= 4   # 2 rounds (+ the train-mode rescoring)
    for c in calls["importance"] + calls["probe"]:
        assert c["autocast"] is False, c
        assert c["param_dtypes"] == ["torch.float32"], c
    for c in calls["importance"]:
        assert c["out"] == ["torch.float32"], c


def test_fp32_run_trains_in_fp32(bf16_and_fp32):
    dirs, _, _, _ = bf16_and_fp32
    assert runstore.read_summary(dirs["fp32"])["precision"] == "fp32"


def test_runs_record_precision_instruction_sets_and_threads(bf16_and_fp32):
    dirs, _, _, _ = bf16_and_fp32
    for prec, d in dirs.items():
        s = runstore.read_summary(d)
        assert s["precision"] == prec and s["config"]["precision"] == prec
        feats = s["provenance"]["cpu_features"]
        assert feats == cpu_features()
        assert isinstance(s["provenance"]["threads"], int)
        assert runstore.read_config(d)["provenance"]["cpu_features"] == feats


def test_precision_changes_neither_initialisation_nor_data_order(bf16_and_fp32):
    """The pairing fingerprint of a bf16 run equals that of the fp32 run of the same config, and
    it is a real digest of the state: another seed gives another one."""
    dirs, _, _, _ = bf16_and_fp32
    fb, ff = (runstore.read_summary(dirs[p])["fingerprint"] for p in ("bf16", "fp32"))
    assert fb == ff and len(fb["init"]) == 16 and fb["probe"] is not None
    from empirical.fingerprint import init_fingerprint
    from empirical.models import build
    torch.manual_seed(0)
    a = init_fingerprint(build("resnet56", 10))
    torch.manual_seed(1)
    assert init_fingerprint(build("resnet56", 10)) != a


def test_prune_events_record_the_removed_units(bf16_and_fp32):
    dirs, _, _, _ = bf16_and_fp32
    events = [m for m in runstore.read_metrics(dirs["fp32"]) if m["kind"] == "prune_event"]
    for e in events:
        removed = sum(len(v) for v in e["removed"].values())
        assert removed == sum(e["widths_before"].values()) - sum(e["widths_after"].values()) or removed > 0


def test_resume_under_another_precision_is_refused(bf16_and_fp32, tmp_path):
    dirs, _, data, _ = bf16_and_fp32
    cfg = RunConfig.preset("smoke", arch="resnet56", measure="loss_preservation", precision="bf16", **TINY)
    run_dir = tmp_path / cfg.run_id()
    run_dir.mkdir()
    meta = runstore.read_config(dirs["bf16"])
    meta["config"]["precision"] = "fp32"
    (run_dir / runstore.CONFIG).write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="precision 'fp32'"):
        runner_mod.ensure_run(cfg, tmp_path, device="cpu", data_dir=data, progress=False)
    meta["config"]["precision"] = "bf16"
    meta["provenance"]["cpu_features"] = {**cpu_features(), "bf16": not cpu_features()["bf16"]}
    (run_dir / runstore.CONFIG).write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="bf16 instructions"):
        runner_mod.ensure_run(cfg, tmp_path, device="cpu", data_dir=data, progress=False)
    assert not (run_dir / runstore.METRICS).exists()   # nothing half-written
