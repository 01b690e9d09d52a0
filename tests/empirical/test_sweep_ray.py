"""`gftheory sweep --backend ray` on a local Ray instance started here (2 CPUs, no GPU): the same
run ids and identical metrics as the local backend (every non-timing field bit for bit, the local
sweep launched by a caller with 2 torch threads, the Ray worker with 1: each run fixes its own
``cpu_threads``), a second invocation skips everything, a worker killed
mid-run (SIGKILL) is retried and resumes from its checkpoint, a failed run does not stop the
others, bad input exits 2 with the fix. The grids run on a small synthetic CIFAR-10 in the official
pickle layout (what is compared is the backend, not the data; the real data's path through the
runner is tested in test_cli_empirical.py), so no test here needs the shared data."""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from empirical.config import RunConfig
from gftheory import runstore
from test_cli_empirical import TINY, _comparable, check_run_dir, cli, write_cifar10

ANY_DEVICE = ["--archs", "vgg13,mobilenet_v1", "--measures", "magnitude", "--seeds", "0", *TINY,
              "--lr-phases", "2:0.1,1:0.01", "--quiet"]
GRID = [*ANY_DEVICE, "--device", "cpu"]
WAIT_S = 600  # every wait is bounded


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance for this module: 2 CPUs, no GPU, no dashboard; shut down after."""
    from conftest import optional_module
    ray = optional_module("ray", "ray")
    assert not ray.is_initialized()
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"))


def _identical(a, b, path=""):
    """Equal, not close: every number bit for bit (NaN equals NaN), every key and item; the first
    difference is named by its path."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), (path, sorted(set(a) ^ set(b)))
        for k in a:
            _identical(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _identical(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        pass
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def same_run(got: Path, want: Path) -> None:
    """Same config, identical records (wall-clock fields excluded), identical summary, no duplicates:
    the run fixes its own thread count (cpu_threads), so the backend must not change one bit."""
    assert got.name == want.name
    assert runstore.read_config(got)["config"] == runstore.read_config(want)["config"]
    g, w = runstore.read_metrics(got), runstore.read_metrics(want)
    keys = [(m["kind"], m["epoch"]) for m in g]
    assert len(keys) == len(set(keys)), "duplicate records"
    assert keys == [(m["kind"], m["epoch"]) for m in w]
    _identical(_comparable(g), _comparable(w), "metrics")
    sg, sw = runstore.read_summary(got), runstore.read_summary(want)
    timing = {"seconds", "provenance"}                       # wall clock and where/when it ran
    assert set(sg) == set(sw)
    for k in sorted(set(sg) - timing):
        _identical(sg[k], sw[k], f"summary.{k}")


def test_ray_sweep_equals_local_backend_then_skips_everything(ray_local, synthetic, tmp_path, capsys):
    cifar10 = synthetic
    local, remote = tmp_path / "local", tmp_path / "ray"
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(2)      # the caller's count differs from a Ray worker's (1): each run sets its own
    try:
        assert cli("sweep", *GRID, "--root", local, "--data-dir", cifar10) == 0
    finally:
        torch.set_num_threads(before)
    want = [Path(p) for p in capsys.readouterr().out.split()]
    argv = ["sweep", *GRID, "--root", remote, "--data-dir", cifar10, "--backend", "ray"]
    argv.remove("--quiet")
    assert cli(*argv) == 0
    out = capsys.readouterr()
    got = [Path(p) for p in out.out.split()]
    assert [p.name for p in got] == [p.name for p in want] and len(set(got)) == 2
    assert "sweep (ray): 2 done, 0 running, 0 queued, 0 failed; records 8/8" in out.err
    assert "2 runs, 2 completed now, 0 already complete (skipped), 0 failed" in out.err
    for g, w in zip(got, want):
        same_run(g, w)
        check_run_dir(g, rounds=2, has_test=(cifar10 / "cifar-10-batches-py" / "test_batch").exists())
        marker = runstore.read_json(remote / ".ray" / f"{g.name}.json")
        assert marker["attempt"] == 1 and marker["threads"] == 1 and marker["pid"] != os.getpid()
        assert "complete: final val" in (remote / ".logs" / f"{g.name}.log").read_text()
    # a second invocation submits nothing and rewrites nothing
    stamps = {p: p.stat().st_mtime_ns for d in got for p in [d / runstore.SUMMARY, d / runstore.METRICS]}
    markers = {p: p.read_bytes() for p in (remote / ".ray").iterdir()}
    assert cli(*argv) == 0
    err = capsys.readouterr().err
    assert "2 runs, 0 completed now, 2 already complete (skipped), 0 failed" in err
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert {p: p.read_bytes() for p in (remote / ".ray").iterdir()} == markers


def _wait(cond, what: str, timeout: float = WAIT_S, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_worker_sigkilled_mid_run_is_retried_and_resumes(ray_local, synthetic, tmp_path, capsys):
    cifar10 = synthetic
    from empirical.ray_backend import run_grid_ray
    from empirical.runner import ensure_run
    cfg = RunConfig.preset("smoke", arch="resnet56", measure="magnitude", seed=0, max_train_samples=128,
                           batch_size=32, holdout_size=64, importance_samples=40, probe_size=8,
                           max_test_samples=64, lr_phases=((4, 0.1), (1, 0.01), (1, 0.001)),
                           device_independent=True)
    ref = ensure_run(cfg, tmp_path / "ref", device="cpu", data_dir=cifar10, progress=False)  # local backend's function
    root = tmp_path / "runs"
    d = root / ref.name
    result: dict = {}

    def driver():
        try:
            result["paths"] = run_grid_ray([cfg], root, data_dir=cifar10, device="cpu", max_retries=2,
                                           refresh_s=5)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            result["error"] = exc

    th = threading.Thread(target=driver, daemon=True)
    th.start()
    marker = root / ".ray" / f"{ref.name}.json"

    def mid_run():
        if "error" in result or not th.is_alive():
            return -1  # the driver stopped before the kill: reported below
        if not marker.exists() or not (d / runstore.CHECKPOINT).exists():
            return None
        epochs = [m["epoch"] for m in runstore.read_metrics(d) if m["kind"] == "epoch"]
        return max(epochs) if epochs and max(epochs) >= 3 else None  # record 3 logged ⇒ checkpoint ≥ 2

    reached = _wait(mid_run, "record 3 of the run under Ray")
    assert "error" not in result, result.get("error")
    assert reached > 0, "the sweep ended before its worker could be killed"
    first = runstore.read_json(marker)
    total = len(cfg.records())
    assert first["attempt"] == 1 and reached < total and not (d / runstore.SUMMARY).exists()
    os.kill(first["pid"], signal.SIGKILL)
    th.join(WAIT_S)
    assert not th.is_alive(), "the sweep did not finish after the worker was killed"
    assert "error" not in result, result.get("error")
    assert result["paths"] == [d]
    second = runstore.read_json(marker)
    assert second["attempt"] == 2 and second["pid"] != first["pid"]
    log = (root / ".logs" / f"{ref.name}.log").read_text()
    assert "attempt 2" in log and "resuming after record" in log
    resumed = int(log.split("resuming after record ")[1].split("/")[0])
    assert 2 <= reached - 1 <= resumed < total  # resumed from a checkpoint, not from scratch
    err = capsys.readouterr().err
    assert "1 runs, 1 completed now, 0 already complete (skipped), 0 failed, 1 retried" in err
    same_run(d, ref)
    assert [p.name for p in d.iterdir() if p.name.startswith(".")] == []
    check_run_dir(d, rounds=2, has_test=(cifar10 / "cifar-10-batches-py" / "test_batch").exists())


def test_a_failing_run_is_reported_and_the_others_complete(ray_local, synthetic, tmp_path, capsys):
    from empirical.ray_backend import run_grid_ray
    from empirical.runner import effective_config, resolve_device
    ok = RunConfig.preset("smoke", arch="mobilenet_v1", measure="magnitude", seed=0, max_train_samples=128,
                          batch_size=32, holdout_size=64, importance_samples=40, probe_size=8,
                          max_test_samples=64, lr_phases=((2, 0.1), (1, 0.01)))
    bad = ok.replace(holdout_size=10_000)  # more than the 800 synthetic training images: fails in the task
    root = tmp_path / "runs"
    paths = run_grid_ray([bad, ok], root, data_dir=synthetic, device="cpu", refresh_s=5)
    err = capsys.readouterr().err
    assert paths == [root / effective_config(c, resolve_device("cpu")).run_id() for c in (bad, ok)]
    bad_id = paths[0].name
    assert runstore.is_complete(paths[1]) and not runstore.is_complete(paths[0])
    assert "2 runs, 1 completed now, 0 already complete (skipped), 1 failed" in err
    line = [ln for ln in err.splitlines() if ln.startswith(f"  FAILED {bad_id}")]
    assert line and "DataError" in line[0] and "holdout size 10000" in line[0]
    assert runstore.read_json(root / ".ray" / f"{bad_id}.json")["attempt"] == 1  # exceptions: no retry
    check_run_dir(paths[1], rounds=2, has_test=True)


# -- bad input ------------------------------------------------------------------------------
def _no_files(root: Path) -> bool:
    return not root.exists() or list(root.iterdir()) == []


def test_backend_ray_without_ray_installed_exits_2_with_the_install_command(synthetic, tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    root = tmp_path / "runs"
    assert cli("sweep", *GRID, "--root", root, "--data-dir", synthetic, "--backend", "ray") == 2
    err = capsys.readouterr().err
    assert "error:" in err and "pip install -e .[ray]" in err
    assert _no_files(root)


@pytest.mark.parametrize("extra, words", [
    (["--address", "127.0.0.1:1"], ["127.0.0.1:1", "ray start --head", "fix"]),
    (["--address", "nonsense"], ["'nonsense'", "HOST:PORT", "fix"]),
    (["--gpus-per-run", "0.5"], ["--gpus-per-run 0.5", "no GPU", "fix"]),
    (["--cpus-per-run", "3"], ["3 CPU", "CPU 2", "fix"]),
    (["--gpus-per-run", "1.5"], ["fraction", "fix"]),
    (["--gpus-per-run", "1", "--device", "cuda:1"], ["Ray assigns each run its GPU", "fix"]),
    (["--jobs", "2"], ["--jobs", "fix"]),
])
def test_ray_bad_input_exits_2_with_the_fix_and_runs_nothing(extra, words, ray_local, synthetic, tmp_path,
                                                             capsys):
    root = tmp_path / "runs"
    grid = ANY_DEVICE if "--gpus-per-run" in extra else GRID  # with a GPU share the runs use cuda
    assert cli("sweep", *grid, "--root", root, "--data-dir", synthetic, "--backend", "ray", *extra) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    for w in words:
        assert w in err
    assert _no_files(root)
    assert ray_local.is_initialized()  # the caller's instance is left alone


def test_ray_flags_without_backend_ray_exit_2(synthetic, tmp_path, capsys):
    root = tmp_path / "runs"
    assert cli("sweep", *GRID, "--root", root, "--data-dir", synthetic, "--gpus-per-run", "1",
               "--address", "auto") == 2
    err = capsys.readouterr().err
    assert "--address, --gpus-per-run only apply to --backend ray" in err and "fix" in err
    assert _no_files(root)
