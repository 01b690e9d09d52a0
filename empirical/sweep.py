"""``run_grid``: many runs, several at once on one device, with a progress display.

Each run goes to its own store directory (gftheory.runstore); completed runs are skipped, a run
with a checkpoint resumes, duplicate configs run once, and a run another process is writing (its
lock is held) is left to that process ("running in another process"). ``jobs == 1`` runs in this process;
``jobs > 1`` starts up to ``jobs`` subprocesses ``python -m gftheory run <every config flag>``
(each child's stderr goes to ``<root>/.logs/<run_id>.log``). Progress (stderr): one line per run
— done / running / queued / failed, record reached, last validation accuracy.

Layer-matched arms (``quota_from``) need their source run complete: the sweep adds a source that
the grid lacks just before its first arm, and starts an arm only once its source is complete (an
arm whose source failed fails with the runner's message, exit 2 of its child).
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

from empirical.config import RunConfig
from empirical.runner import check_root, effective_config, ensure_run, resolve_device
from gftheory import runstore

REPO_ROOT = Path(__file__).resolve().parent.parent


def grid(archs, datasets, measures, seeds, *, scale: str = "full", **overrides) -> list[RunConfig]:
    """architectures × datasets × measures × seeds, each ``RunConfig.preset(scale, ...)``."""
    return [RunConfig.preset(scale, arch=a, dataset=d, measure=m, seed=int(s), **overrides)
            for a, d, m, s in itertools.product(archs, datasets, measures, seeds)]


def config_to_argv(config: RunConfig) -> list[str]:
    """Flags that make ``config_from_args`` rebuild exactly ``config``."""
    argv = ["--scale", config.scale]
    for f in dataclasses.fields(config):
        if f.name == "scale":
            continue
        v = getattr(config, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(v, bool):
            argv.append(flag if v else "--no-" + f.name.replace("_", "-"))
        elif f.name == "lr_phases":
            argv += [flag, ",".join(f"{int(e)}:{lr!r}" for e, lr in v)]
        elif v is None:
            argv += [flag, "none"]
        else:
            argv += [flag, repr(v) if isinstance(v, float) else str(v)]
    return argv


def _stop_children(procs) -> None:
    """Interrupted: stop only the children this sweep started (terminate, then kill after 30 s)."""
    procs = list(procs)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _label(cfg: RunConfig) -> str:
    return f"{cfg.arch}/{cfg.dataset}/{cfg.measure}/s{cfg.seed}"


def _state_line(run_dir: Path, state: str, cfg: RunConfig) -> str:
    metrics = runstore.read_metrics(run_dir)
    epochs = [m for m in metrics if m.get("kind") == "epoch"]
    total = len(cfg.records())
    where = f"record {epochs[-1]['epoch']}/{total}" if epochs else f"record 0/{total}"
    acc = epochs[-1].get("val_acc") if epochs else None
    acc_s = "-" if acc is None else f"{acc:.4f}"
    return f"  {run_dir.name}  {_label(cfg):<44} {state:<8} {where:<16} val_acc {acc_s}"


def _display(rows: list[tuple[Path, str, RunConfig]]) -> None:
    counts = {s: sum(1 for _, st, _ in rows if st == s)
              for s in ("done", "running", "queued", "failed", "elsewhere")}
    lines = [f"sweep: {counts['done']} done, {counts['running']} running, {counts['queued']} queued"
             + (f", {counts['failed']} failed" if counts["failed"] else "")
             + (f", {counts['elsewhere']} running in another process (skipped)" if counts["elsewhere"] else "")]
    lines += [_state_line(d, s, c) for d, s, c in rows]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _check_data(configs: list[RunConfig], data_dir) -> None:
    """Fail before any run starts when a dataset is missing (DataError names the fix)."""
    from empirical.data import load_cifar
    for name in sorted({c.dataset for c in configs}):
        load_cifar(name, data_dir)


def with_quota_sources(configs: list[RunConfig]) -> list[RunConfig]:
    """``configs`` with each layer-matched arm's source run inserted before the arm, unless the
    list already has it earlier (an arm listed before its source has the source moved up)."""
    out: list[RunConfig] = []
    for c in configs:
        src = c.quota_source
        if src is not None and src not in out:
            out.append(src)
        if c not in out:
            out.append(c)
    return out


def run_grid(configs, root, *, jobs: int = 1, device=None, data_dir=None, progress: bool = True,
             refresh_s: float = 30.0) -> list[Path]:
    """Run every config (skipping completed ones); return their run directories in order.
    A failed run does not stop the others; it stays incomplete (summary.json absent)."""
    if jobs < 1:
        from empirical.config import ConfigError
        raise ConfigError(f"--jobs {jobs} is not ≥ 1; fix: give --jobs 1 or more")
    root = check_root(root)
    dev = resolve_device(device)
    configs = [effective_config(c, dev) for c in configs]
    paths = [root / c.run_id() for c in configs]
    unique: dict[Path, RunConfig] = {}
    for c in with_quota_sources(configs):
        unique.setdefault(root / c.run_id(), c)

    def source_of(c: RunConfig) -> Path | None:
        return None if c.quota_from is None else root / c.quota_source.run_id()
    state = {p: ("done" if runstore.is_complete(p) else "elsewhere" if runstore.is_busy(p) else "queued")
             for p in unique}
    pending = [(p, c) for p, c in unique.items() if state[p] == "queued"]
    if pending:
        _check_data([c for _, c in pending], data_dir)

    def show():
        if progress:
            _display([(p, state[p], c) for p, c in unique.items()])

    show()
    if jobs == 1:
        for p, c in pending:
            state[p] = "running"
            show()
            try:
                ensure_run(c, root, device=dev, data_dir=data_dir, progress=progress)
                state[p] = "done"
            except runstore.RunBusy:
                state[p] = "elsewhere"
            except Exception as exc:  # noqa: BLE001 - one failed run must not stop the sweep
                state[p] = "failed"
                print(f"[{p.name}] failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        show()
        return paths

    logs = root / ".logs"
    logs.mkdir(parents=True, exist_ok=True)
    queue = list(pending)
    running: dict[Path, subprocess.Popen] = {}
    last_show = time.monotonic()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if dev.type == "cpu":  # N runs share the cores: one intra-op thread pool each, never oversubscribed
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
    try:
        while queue or running:
            changed = False
            while queue and len(running) < jobs:
                # the first queued run whose source (layer-matched arms) is complete or not running
                pick = next((i for i, (_, c) in enumerate(queue)
                             if source_of(c) is None or runstore.is_complete(source_of(c))
                             or (source_of(c) not in running and state.get(source_of(c)) != "queued")), None)
                if pick is None:
                    break
                p, c = queue.pop(pick)
                if runstore.is_complete(p) or runstore.is_busy(p):  # another process took it meanwhile
                    state[p], changed = ("done" if runstore.is_complete(p) else "elsewhere"), True
                    continue
                cmd = [sys.executable, "-m", "gftheory", "run", *config_to_argv(c), "--root", str(root),
                       "--device", str(dev)]
                if data_dir is not None:
                    cmd += ["--data-dir", str(data_dir)]
                with open(logs / f"{p.name}.log", "ab") as log:
                    running[p] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env,
                                                  cwd=str(REPO_ROOT))
                state[p], changed = "running", True
            for p, proc in list(running.items()):
                rc = proc.poll()
                if rc is not None:
                    del running[p]
                    state[p] = "done" if rc == 0 and runstore.is_complete(p) else "failed"
                    if state[p] == "failed":
                        print(f"[{p.name}] failed (exit {rc}); see {logs / (p.name + '.log')}",
                              file=sys.stderr, flush=True)
                    changed = True
            if changed or time.monotonic() - last_show > refresh_s:
                show()
                last_show = time.monotonic()
            if running:
                time.sleep(0.2)
    finally:
        _stop_children(running.values())
    return paths


def run_studies(configs, root, *, jobs: int = 1, device=None, data_dir=None, progress: bool = True,
                poll_s: float = 1.0) -> list[Path]:
    """Event studies (``empirical.events.EventConfig``), up to ``jobs`` at once: ``jobs == 1`` runs
    them in this process one after another; ``jobs > 1`` starts one subprocess ``python -m gftheory
    events <every config flag> --quiet`` per study (each fixes its own torch thread count:
    ``events.STUDY_CPU_THREADS``; its stderr goes to ``<root>/.logs/<study id>.log``). Complete
    studies are skipped, a study another process holds is left to it, a failed one does not stop
    the others (it stays incomplete). Returns the study directories in order."""
    from empirical.events import config_to_argv as study_argv, ensure_study
    if jobs < 1:
        from empirical.config import ConfigError
        raise ConfigError(f"--jobs {jobs} is not ≥ 1; fix: give --jobs 1 or more")
    root = check_root(root)
    dev = resolve_device(device)
    paths = [root / c.run_id() for c in configs]
    pending = list(dict.fromkeys((p, c) for p, c in zip(paths, configs)
                                 if not runstore.is_complete(p) and not runstore.is_busy(p)))

    def say(msg):
        if progress:
            print(msg, file=sys.stderr, flush=True)
    say(f"studies: {len(configs) - len(pending)} complete or elsewhere, {len(pending)} to run, {jobs} at a time")
    if jobs == 1:
        for p, c in pending:
            try:
                ensure_study(c, root, device=dev, data_dir=data_dir, progress=progress)
            except runstore.RunBusy:
                say(f"[{p.name}] running in another process; left to it")
            except Exception as exc:  # noqa: BLE001 - one failed study must not stop the others
                say(f"[{p.name}] failed: {type(exc).__name__}: {exc}")
        return paths
    logs = root / ".logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    queue, running = list(pending), {}
    try:
        while queue or running:
            while queue and len(running) < jobs:
                p, c = queue.pop(0)
                if runstore.is_complete(p) or runstore.is_busy(p):
                    continue
                cmd = [sys.executable, "-m", "gftheory", "events", *study_argv(c), "--root", str(root),
                       "--device", str(dev), "--quiet"]
                if data_dir is not None:
                    cmd += ["--data-dir", str(data_dir)]
                with open(logs / f"{p.name}.log", "ab") as log:
                    running[p] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env,
                                                  cwd=str(REPO_ROOT))
                say(f"[{p.name}] {c.arch}/{c.dataset} seed {c.seed}: started")
            for p, proc in list(running.items()):
                rc = proc.poll()
                if rc is not None:
                    del running[p]
                    ok = rc == 0 and runstore.is_complete(p)
                    say(f"[{p.name}] " + ("complete" if ok else f"failed (exit {rc}); see {logs / (p.name + '.log')}"))
            if running:
                time.sleep(poll_s)
    finally:
        _stop_children(running.values())
    return paths
