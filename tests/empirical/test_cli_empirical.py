"""`gftheory run` / `gftheory sweep` end to end on CPU at smoke scale: record schema, skip of
completed runs, resume after SIGKILL mid-epoch, bad inputs, real CIFAR-10 when present."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gftheory import runstore
from gftheory.cli import main

REPO = Path(__file__).resolve().parents[2]
EPOCH_KEYS = {"kind", "epoch", "phase", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
              "test_acc", "seconds"}
FLOW_KEYS = {"loss", "norm_sq", "theta_dot_grad", "grad_norm_sq", "theta_dot_hvp"}
PRUNE_KEYS = {"kind", "round", "epoch", "measure", "before", "after", "widths_before", "widths_after", "params",
              "flops", "channel_sparsity", "param_sparsity", "flop_sparsity", "target_channel_sparsity",
              "score_seconds"}
# smoke scale, shrunk further so a real-size network trains in seconds on one CPU core
TINY = ["--scale", "smoke", "--max-train-samples", "128", "--batch-size", "32", "--holdout-size", "64",
        "--importance-samples", "40", "--probe-size", "8", "--max-test-samples", "64"]


def write_cifar10(root: Path, per_batch: int = 160, test: int = 200, seed: int = 0) -> Path:
    """A synthetic CIFAR-10 in the official pickle layout: class c = a colour tint + noise."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    tint = rng.integers(0, 256, size=(10, 3, 1, 1))

    def batch(n, label):
        y = np.arange(n) % 10
        rng.shuffle(y)
        x = np.clip(tint[y] * 0.6 + rng.integers(0, 100, size=(n, 3, 32, 32)), 0, 255).astype(np.uint8)
        return {b"batch_label": label, b"labels": y.tolist(), b"data": x.reshape(n, 3072)}

    for i in range(1, 6):
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump(batch(per_batch, b"training batch %d of 5" % i), f)
    if test:
        with open(folder / "test_batch", "wb") as f:
            pickle.dump(batch(test, b"testing batch 1 of 1"), f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"c%d" % i for i in range(10)], b"num_cases_per_batch": per_batch,
                     b"num_vis": 3072}, f)
    return root


@pytest.fixture(autouse=True)
def one_thread():
    """In-process runs on one intra-op thread (2-thread barriers crawl on a shared 2-core host)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"))


def cli(*argv):
    return main([str(a) for a in argv])


def subprocess_env():
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def check_run_dir(d: Path, *, rounds: int, has_test: bool):
    """The contract's layout and record schema."""
    meta = runstore.read_config(d)
    assert meta["run_id"] == d.name and meta["deviations"] and "code_version" in meta["provenance"]
    metrics = runstore.read_metrics(d)
    epochs = [m for m in metrics if m["kind"] == "epoch"]
    events = [m for m in metrics if m["kind"] == "prune_event"]
    assert {m["kind"] for m in metrics} == {"epoch", "prune_event"}
    assert [m["epoch"] for m in epochs] == list(range(1, len(epochs) + 1))
    for m in epochs:
        assert EPOCH_KEYS <= set(m)
        assert m["phase"] == ("prune" if m["epoch"] <= rounds else "train")
        assert 0 <= m["train_acc"] <= 1 and 0 <= m["val_acc"] <= 1 and m["seconds"] > 0
        assert (m["test_acc"] is not None) == has_test
    assert [e["round"] for e in events] == list(range(1, rounds + 1))
    for e in events:
        assert PRUNE_KEYS <= set(e)
        assert set(e["before"]) == FLOW_KEYS == set(e["after"])
        assert all(np.isfinite(v) for v in e["before"].values())
        assert sum(e["widths_after"].values()) <= sum(e["widths_before"].values())
    assert [e["channel_sparsity"] for e in events] == sorted({e["channel_sparsity"] for e in events})
    assert events[-1]["target_channel_sparsity"] == pytest.approx(meta["config"]["target"])
    assert [e["params"] for e in events] == sorted([e["params"] for e in events], reverse=True)
    s = runstore.read_summary(d)
    assert s["complete"] is True and s["run_id"] == d.name and s["config"] == meta["config"]
    assert s["epochs"] == len(epochs)
    assert s["final"]["val_acc"] == epochs[-1]["val_acc"]
    train = [m for m in epochs if m["phase"] == "train"]
    assert s["best"]["val_acc"] == max(m["val_acc"] for m in train)
    assert ("official test set" in s["eval_data"]) == has_test
    return meta, metrics, s


def test_run_command_smoke_then_skip(data_dir, tmp_path, capsys):
    root = tmp_path / "runs"
    assert cli("run", *TINY, "--arch", "mobilenet_v1", "--measure", "grasp", "--root", root,
               "--data-dir", data_dir, "--device", "cpu") == 0
    out = capsys.readouterr()
    (d,) = runstore.run_dirs(root, nested=False)
    assert out.out.strip() == str(d)
    meta, metrics, s = check_run_dir(d, rounds=2, has_test=True)
    assert meta["config"]["scale"] == "smoke" and meta["config"]["precision"] == "fp32"
    assert meta["config"]["importance_temperature"] == 200.0
    ev = [m for m in metrics if m["kind"] == "prune_event"][0]
    assert ev["importance_samples"] == 40  # class-balanced: 40/10 per class
    before = (d / runstore.METRICS).read_bytes(), (d / runstore.SUMMARY).read_bytes()
    # relaunch: skipped, nothing rewritten
    assert cli("run", *TINY, "--arch", "mobilenet_v1", "--measure", "grasp", "--root", root,
               "--data-dir", data_dir) == 0
    assert "skipped" in capsys.readouterr().err
    assert ((d / runstore.METRICS).read_bytes(), (d / runstore.SUMMARY).read_bytes()) == before
    assert [p.name for p in runstore.run_dirs(root, nested=False) if runstore.is_complete(p)] == [d.name]


def _comparable(records):
    out = []
    for r in records:
        r = {k: v for k, v in r.items() if not k.endswith("seconds")}  # every timing field
        out.append(r)
    return out


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-7), path
    else:
        assert a == b, path


def test_resume_after_sigkill_mid_epoch_equals_uninterrupted(data_dir, tmp_path):
    args = [*TINY, "--arch", "resnet56", "--measure", "magnitude", "--lr-phases", "3:0.1,1:0.01,1:0.001",
            "--device-independent", "--data-dir", str(data_dir), "--device", "cpu"]
    cmd = [sys.executable, "-m", "gftheory", "run", *args]
    env = subprocess_env()
    ref = subprocess.run([*cmd, "--root", str(tmp_path / "ref")], env=env, capture_output=True, text=True,
                         timeout=600)
    assert ref.returncode == 0, ref.stderr
    ref_dir = Path(ref.stdout.strip())

    root = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--root", str(root)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    run_dir = root / ref_dir.name
    deadline = time.monotonic() + 300
    seen = []
    while time.monotonic() < deadline:
        seen = [m for m in runstore.read_metrics(run_dir) if m["kind"] == "epoch"]
        if any(m["epoch"] == 3 for m in seen):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    rec3 = [m for m in seen if m["epoch"] == 3][0]
    time.sleep(0.4 * rec3["seconds"])  # into record 4 (a training epoch)
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    d = root / ref_dir.name
    assert not (d / runstore.SUMMARY).exists()
    ck = runstore.load_checkpoint(d / runstore.CHECKPOINT)  # not corrupt
    assert 3 <= ck["epoch"] < 6
    killed_at = max(m["epoch"] for m in runstore.read_metrics(d))

    res = subprocess.run([*cmd, "--root", str(root)], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert f"resuming after record {ck['epoch']}" in res.stderr
    got, want = runstore.read_metrics(d), runstore.read_metrics(ref_dir)
    keys = [(m["kind"], m["epoch"]) for m in got]
    assert len(keys) == len(set(keys)), "duplicate records after resume"
    assert keys == [(m["kind"], m["epoch"]) for m in want] and killed_at <= 6
    _close(_comparable(got), _comparable(want))
    s_got, s_want = runstore.read_summary(d), runstore.read_summary(ref_dir)
    _close(s_got["final"], s_want["final"])
    _close(s_got["best"], s_want["best"])
    assert [p.name for p in d.iterdir() if p.name.startswith(".")] == []  # no temp files left
    check_run_dir(d, rounds=2, has_test=True)


def test_sweep_runs_a_grid_in_parallel_and_skips_completed(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = tmp_path / "runs"
    argv = ["sweep", "--archs", "vgg13,mobilenet_v1", "--measures", "magnitude", "--seeds", "0", *TINY,
            "--lr-phases", "2:0.1,1:0.01", "--root", root, "--data-dir", data_dir, "--jobs", "2",
            "--device", "cpu"]
    assert cli(*argv) == 0
    out = capsys.readouterr()
    dirs = [Path(p) for p in out.out.split()]
    assert len(dirs) == 2 and len(set(dirs)) == 2
    assert "sweep: 2 done, 0 running, 0 queued" in out.err and "running" in out.err
    runs = [runstore.read_run(p) for p in runstore.run_dirs(root, nested=False)]
    assert {r.meta["config"]["arch"] for r in runs} == {"vgg13", "mobilenet_v1"} and all(r.complete for r in runs)
    for d in dirs:
        check_run_dir(d, rounds=2, has_test=True)
    stamps = {d: (d / runstore.SUMMARY).stat().st_mtime_ns for d in dirs}
    assert cli(*argv) == 0  # everything complete: nothing rerun, nothing duplicated
    assert "sweep: 2 done" in capsys.readouterr().err
    assert {d: (d / runstore.SUMMARY).stat().st_mtime_ns for d in dirs} == stamps
    assert len([p for p in root.iterdir() if not p.name.startswith(".")]) == 2


@pytest.mark.parametrize("argv, words", [
    (["--arch", "resnet18"], ["arch", "resnet56"]),
    (["--measure", "taylor"], ["measure", "magnitude"]),
    (["--dataset", "mnist"], ["dataset", "cifar10"]),
    (["--lr-phases", "2:-0.1,1:0.01,1:0.001"], ["learning rate", "fix:"]),
    (["--target", "1.5"], ["target", "[0, 1)"]),
    (["--target", "0"], ["target", "dense baseline", "--measure none"]),
    (["--data-dir", "MISSING"], ["not found", "gftheory data download"]),
])
def test_bad_input_exits_2_with_the_fix_and_writes_nothing(argv, words, data_dir, tmp_path, capsys):
    argv = [a.replace("MISSING", str(tmp_path / "nowhere")) for a in argv]
    if "--data-dir" not in argv:
        argv += ["--data-dir", str(data_dir)]
    root = tmp_path / "runs"
    assert cli("run", "--scale", "smoke", "--root", root, *argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "fix" in err
    for w in words:
        assert w in err
    assert not root.exists() or list(root.iterdir()) == []


def test_sweep_bad_input_exits_2(data_dir, tmp_path, capsys):
    root = tmp_path / "runs"
    assert cli("sweep", "--scale", "smoke", "--archs", "vgg13", "--measures", "nope", "--root", root,
               "--data-dir", data_dir) == 2
    assert "measure" in capsys.readouterr().err
    assert cli("sweep", "--scale", "smoke", "--archs", "vgg13", "--root", root,
               "--data-dir", tmp_path / "nowhere") == 2
    assert "gftheory data download" in capsys.readouterr().err
    assert not root.exists() or list(root.iterdir()) == []


def real_cifar10_dir() -> Path | None:
    for cand in (os.environ.get("GFTHEORY_DATA"), REPO.parent / "shared" / "data"):
        if cand and (Path(cand) / "cifar-10-batches-py" / "data_batch_1").is_file():
            return Path(cand)
    return None


@pytest.mark.data
def test_real_cifar10_smoke_run(tmp_path):
    d = real_cifar10_dir()
    if d is None:
        pytest.skip("real CIFAR-10 not found: get it with `gftheory data download cifar10 --data-dir DIR` and set GFTHEORY_DATA=DIR")
    root = tmp_path / "runs"
    assert cli("run", "--scale", "smoke", "--arch", "mobilenet_v1", "--measure", "magnitude", "--root", root,
               "--data-dir", d, "--device", "cpu", "--quiet") == 0
    (run,) = runstore.run_dirs(root, nested=False)
    meta, metrics, s = check_run_dir(run, rounds=2, has_test=(d / "cifar-10-batches-py" / "test_batch").exists())
    assert meta["data"]["train"] == 512 and meta["data"]["val"] == 256
    if meta["data"]["test"] is None:
        assert s["eval_data"] == "held-out 256 of the training set (seed 0) in place of the test set"
        assert all(m["test_acc"] is None for m in metrics if m["kind"] == "epoch")
