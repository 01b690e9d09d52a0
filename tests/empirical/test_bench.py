"""empirical.bench: the training step against a hand-written SGD update, and a CPU smoke run of
the benchmark (tiny model, 2 timed batches) through the API and the command line."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirical import bench
from gftheory.atomic import atomic_write_json


def tiny_model(arch: str, num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, num_classes))


def test_train_step_is_one_sgd_step_on_tempered_cross_entropy():
    torch.manual_seed(0)
    model = nn.Linear(6, 3).double()
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0])
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    opt = bench.make_optimizer(model, lr=0.1)
    loss = bench.train_step(model, opt, x, y)
    # independent: L = mean CE((W x + b)/5, y), gradient by hand; first SGD step with momentum
    # 0.9 is θ − lr (g + wd θ)
    p = torch.softmax((x @ w0.T + b0) / 5, dim=1)
    onehot = F.one_hot(y, 3).double()
    gz = (p - onehot) / 5 / 5                    # dL/dlogits (mean over 5 samples, 1/T)
    gw, gb = gz.T @ x, gz.sum(0)
    assert abs(float(loss) - float(-(onehot * p.log()).sum(1).mean())) < 1e-12
    assert torch.allclose(model.weight, w0 - 0.1 * (gw + 1e-4 * w0), atol=1e-12)
    assert torch.allclose(model.bias, b0 - 0.1 * (gb + 1e-4 * b0), atol=1e-12)
    assert opt.param_groups[0]["momentum"] == 0.9 and opt.param_groups[0]["weight_decay"] == 1e-4


def test_bench_smoke_cpu(tmp_path):
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(64) % 10
    res = bench.run_bench(archs=["tiny"], build_model=tiny_model, images=images, labels=labels,
                          num_classes=10, data_description="synthetic", device="cpu", max_batches=2,
                          warmup=1, repeats=2, batch_size=16, measures=["magnitude", "grasp"],
                          score_batches=1, score_batch_size=8, score_repeats=2, progress=False)
    (entry,) = res["results"]
    ref, ours = entry["pipelines"]["reference"], entry["pipelines"]["ours"]
    for p in (ref, ours):
        assert len(p["seconds_per_step"]) == 2 and all(t > 0 for t in p["seconds_per_step"])
        assert p["epoch_seconds_est"] == pytest.approx(p["seconds_per_step_mean"] * 3125)
    assert ours["speedup_vs_reference"] == pytest.approx(ref["seconds_per_step_mean"] / ours["seconds_per_step_mean"])
    inp = res["input_only"]
    assert len(inp["reference"]["seconds_per_batch"]) == 2 and inp["ours"]["seconds_per_batch_mean"] > 0
    assert set(entry["scoring"]) == {"magnitude", "grasp"}
    assert entry["scoring"]["grasp"]["temperature"] == 200.0 and entry["scoring"]["grasp"]["samples"] == 8
    assert res["config"]["precision"] == "fp32" and res["config"]["compile_modes"] == []
    assert {"code_version", "torch", "device", "time_utc"} <= set(res["provenance"])
    text = bench.format_table(res)
    assert "reference" in text and "ours" in text and "score grasp" in text and "input only" in text
    out = tmp_path / "sub" / "bench.json"
    atomic_write_json(out, res)
    assert json.loads(out.read_text())["results"][0]["arch"] == "tiny"
    assert [p.name for p in out.parent.iterdir()] == ["bench.json"]


def test_bench_cli_resnet56_tiny_batches(tmp_path, capsys):
    import empirical.models  # noqa: F401 - a broken import must fail, not skip
    from gftheory.cli import main
    out = tmp_path / "b.json"
    rc = main(["bench", "--device", "cpu", "--archs", "resnet56", "--max-batches", "1", "--warmup", "0",
               "--repeats", "1", "--batch-size", "4", "--measures", "magnitude", "--score-batch-size", "4",
               "--synthetic", "--workers", "0", "--json", str(out)])
    assert rc == 0, capsys.readouterr().err
    res = json.loads(out.read_text())
    assert res["results"][0]["params"] == 855_770 and "ours" in res["results"][0]["pipelines"]
    assert "speed-up vs reference" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--archs", "alexnet"], "unknown architecture"),
    (["--measures", "bogus"], "unknown measure"),
    (["--max-batches", "0"], "--max-batches must be >= 1"),
    (["--compile", "turbo"], "unknown torch.compile mode"),
])
def test_bench_cli_bad_input(args, message, capsys):
    from gftheory.cli import main
    assert main(["bench", "--device", "cpu", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err


def test_bench_times_the_runners_training_step(monkeypatch):
    """The bench has no training step of its own: every timed step is ``empirical.train.train_steps``
    (what a run executes), with the pruner's masks enforced for a registered network."""
    from empirical import train
    from empirical.models import build, default_widths
    calls = []
    real = train.train_steps

    def spy(model, batches, optimizer, **kw):
        calls.append(kw)
        return real(model, batches, optimizer, **kw)

    monkeypatch.setattr(train, "train_steps", spy)
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    res = bench.run_bench(archs=["vgg13"], build_model=lambda a, nc: build(a, nc, {k: 4 for k in default_widths(a)}),
                          images=images, labels=torch.arange(16) % 10, num_classes=10, data_description="synthetic",
                          device="cpu", max_batches=2, warmup=1, repeats=1, batch_size=4, workers=0,
                          progress=False)
    assert set(res["results"][0]["pipelines"]) == {"reference", "ours"}
    assert [c["steps"] for c in calls] == [1, 2, 1, 2]            # warm-up, timed; per pipeline
    assert all(c["temperature"] == 5.0 and c["precision"] == "fp32" for c in calls)
    assert all(c["pruner"] is not None and c["pruner"].arch == "vgg13" for c in calls)
    assert bench.pruner_for(tiny_model("tiny", 10)) is None
