"""One writer per run: a run (or event study) that another live process is writing is refused
with ``RunBusy`` (exit 2, the holder named, nothing written), a sweep leaves it to that process,
and the lock dies with its process (a killed run never stays locked)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from empirical import runner as runner_mod
from empirical.config import RunConfig
from empirical.sweep import run_grid
from gftheory import runstore
from gftheory.cli import main
from test_cli_empirical import TINY, write_cifar10

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"))


def tiny_config(**kw) -> RunConfig:
    flags = {k.lstrip("-").replace("-", "_"): int(v) for k, v in zip(TINY[2::2], TINY[3::2])}
    return RunConfig.preset("smoke", arch="vgg13", measure="magnitude", **flags, **kw)


class Holder:
    """Another process holding ``run_dir``'s lock until stopped (SIGKILL: no clean-up runs)."""

    def __init__(self, run_dir: Path):
        code = textwrap.dedent(f"""
            import sys, time
            from gftheory import runstore
            with runstore.exclusive({str(run_dir)!r}):
                print("locked", flush=True)
                time.sleep(600)
        """)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout.readline().strip() == "locked"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def test_exclusive_refuses_a_second_writer_and_names_the_holder(tmp_path):
    run_dir = tmp_path / "runs" / "abc"
    assert not runstore.is_busy(run_dir)
    holder = Holder(run_dir)
    try:
        assert runstore.is_busy(run_dir)
        with pytest.raises(runstore.RunBusy, match=rf"pid {holder.proc.pid} .*fix: wait"):
            with runstore.exclusive(run_dir):
                pytest.fail("a second writer got the lock")
    finally:
        holder.kill()
    assert not runstore.is_busy(run_dir)          # the lock died with its process
    with runstore.exclusive(run_dir):             # and the run can be taken again
        assert runstore.is_busy(run_dir) is True  # (a second open file description conflicts)
    assert not runstore.is_busy(run_dir)
    assert not run_dir.exists()                   # the lock lives in <root>/.locks, not in the run


def test_a_run_held_by_another_process_is_refused_with_exit_2_and_nothing_written(data_dir, tmp_path, capsys):
    root = tmp_path / "runs"
    cfg = runner_mod.effective_config(tiny_config(), runner_mod.resolve_device("cpu"))
    run_dir = root / cfg.run_id()
    holder = Holder(run_dir)
    try:
        with pytest.raises(runstore.RunBusy):
            runner_mod.ensure_run(cfg, root, device="cpu", data_dir=data_dir, progress=False)
        assert not run_dir.exists()
        argv = ["run", *TINY, "--arch", "vgg13", "--measure", "magnitude", "--root", str(root),
                "--data-dir", str(data_dir), "--device", "cpu"]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "being written by another process" in err and "fix" in err
        assert not run_dir.exists()
    finally:
        holder.kill()


def test_a_sweep_leaves_a_held_run_to_its_process_and_runs_the_rest(data_dir, tmp_path, capsys):
    root = tmp_path / "runs"
    dev = runner_mod.resolve_device("cpu")
    held, free = (runner_mod.effective_config(tiny_config(seed=s), dev) for s in (0, 1))
    holder = Holder(root / held.run_id())
    try:
        run_grid([held, free], root, jobs=1, device="cpu", data_dir=data_dir)
        err = capsys.readouterr().err
        assert "1 running in another process (skipped)" in err and "failed" not in err
        assert runstore.is_complete(root / free.run_id())
        assert not (root / held.run_id()).exists()
    finally:
        holder.kill()


def test_an_event_study_held_by_another_process_is_refused(tmp_path):
    from empirical import events as ev
    data = write_cifar10(tmp_path / "data", per_batch=120)
    cfg = ev.EventConfig(arch="resnet56", edition=1, checkpoints=(1,), measures=("magnitude",), importance_samples=32,
                         probe_size=16, val_size=50, holdout_size=100, recovery_steps=4, recovery_eval=(2, 4),
                         batch_size=32, max_train_samples=192, later_rounds=(2,))
    study = tmp_path / "runs" / cfg.run_id()
    holder = Holder(study)
    try:
        with pytest.raises(runstore.RunBusy, match="being written by another process"):
            ev.ensure_study(cfg, tmp_path / "runs", data_dir=data, progress=False)
        assert not study.exists()
    finally:
        holder.kill()


def test_the_next_writer_removes_what_a_killed_writer_left_mid_write(tmp_path):
    """A writer killed inside an atomic write leaves `.<name>.<random>.tmp`; whoever takes the lock
    next is the only writer, so it deletes them (and nothing else)."""
    run_dir = tmp_path / "runs" / "abc"
    run_dir.mkdir(parents=True)
    (run_dir / runstore.CONFIG).write_text("{}")
    holder = Holder(run_dir)
    (run_dir / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half")     # the holder, mid-write
    (run_dir / ".metrics.jsonl.z9.tmp").write_bytes(b"half")
    try:          # while the holder lives, a refused writer touches nothing
        with pytest.raises(runstore.RunBusy):
            with runstore.exclusive(run_dir):
                pass
        assert len(list(run_dir.glob(".*.tmp"))) == 2
    finally:
        holder.kill()
    with runstore.exclusive(run_dir):
        assert sorted(p.name for p in run_dir.iterdir()) == [runstore.CONFIG]
