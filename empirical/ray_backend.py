"""``run_grid_ray``: the grid of a sweep on Ray — an embedded local instance or a cluster.

Every run of the grid is one Ray task that calls ``empirical.runner.ensure_run``, the function
the local backend runs. The run store is the single source of truth: it must be one directory
reachable at the same path from the driver and every node (as must the data directory). So a
completed run is skipped (by the driver, before anything is submitted, and again by
``ensure_run``), and a run whose worker died — killed, out of memory, node lost — is retried by
Ray (``max_retries``) and resumes from its last checkpoint on whichever node picks it up. An
exception raised by a run is not retried: the run is reported failed with its error and the
other runs go on.

Resources: each task asks for ``cpus_per_run`` CPUs (its torch intra-op threads) and
``gpus_per_run`` GPUs (a fraction lets several small trainings share one GPU; the run then uses
``cuda``, which Ray maps to the GPU it assigned). A request no node can satisfy is an error
before anything is submitted, not a hang.

Bookkeeping under ``<root>``: ``.ray/<run_id>.json`` (written by the task when it starts: pid,
host, node, attempt), ``.logs/<run_id>.log`` (the run's own progress lines). The driver shows
done / running / queued / failed, records reached and an ETA on stderr, and a summary at the end.

Ray is an optional extra: ``pip install -e .[ray]``.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import uuid
from pathlib import Path

from empirical.config import ConfigError, RunConfig
from empirical.sweep import REPO_ROOT, _check_data, _label, _state_line
from gftheory import runstore

INSTALL = "pip install -e .[ray]"
MARKERS = ".ray"
LOGS = ".logs"
DEFAULT_MAX_RETRIES = 3
CONNECT_TIMEOUT_S = 5.0


# -- Ray itself ------------------------------------------------------------------------------
def import_ray():
    """The ``ray`` module, or a ConfigError (exit 2) that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray, which is not installed; fix: "
                          f"{INSTALL} (or pip install 'ray>=2.40'), or use --backend local") from None
    return ray


def check_address(address: str | None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast (a clear error, not Ray's minutes of retries) when ``address`` is not a
    reachable ``HOST:PORT`` (``ray://HOST:PORT`` for Ray Client). ``None``/``auto``/``local``
    are left to Ray."""
    if address is None or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = hostport.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--address {address!r} is not HOST:PORT; fix: give the address that "
                          "`ray start --head` printed on the head node (e.g. --address 10.0.0.1:6379), "
                          "or omit --address to run on a local Ray instance")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"--address {address}: no Ray head answers there ({exc}); fix: start one "
                          f"on {host} with `ray start --head --port={port}` (and open the port), give "
                          "the address it printed, or omit --address to run on a local Ray instance"
                          ) from None


def worker_env() -> dict:
    """The runtime_env of every task: import the project from the driver's source tree when that
    tree exists on the node (on a cluster, install the package on every node)."""
    path = str(REPO_ROOT)
    if os.environ.get("PYTHONPATH"):
        path += os.pathsep + os.environ["PYTHONPATH"]
    return {"env_vars": {"PYTHONPATH": path}}


def connect(ray, address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Join ``address`` (or start a local instance); return True when this call started the
    connection (and so must shut it down). An already initialised Ray is used as it is."""
    check_address(address if address is not None else os.environ.get("RAY_ADDRESS"))
    if ray.is_initialized():
        return False
    kwargs = {"include_dashboard": False, "runtime_env": worker_env()}
    if address in (None, "local") and num_cpus is not None and not os.environ.get("RAY_ADDRESS"):
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as exc:
        raise ConfigError(f"--address {address}: could not connect to Ray ({exc}); fix: start a head "
                          "node with `ray start --head` and give its address, or omit --address to run "
                          "on a local Ray instance") from None
    return True


def check_resources(ray, cpus: float, gpus: float, where: str) -> None:
    """ConfigError unless some alive node can hold one run (else Ray would wait forever)."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if any(r.get("CPU", 0) >= cpus and r.get("GPU", 0) >= gpus for r in nodes):
        return
    have = "; ".join(f"CPU {r.get('CPU', 0):g}, GPU {r.get('GPU', 0):g}" for r in nodes) or "no alive node"
    if gpus > 0 and not any(r.get("GPU", 0) > 0 for r in nodes):
        raise ConfigError(f"--gpus-per-run {gpus:g} but the Ray cluster ({where}) has no GPU (nodes: {have}); "
                          "fix: add GPU nodes to the cluster (`ray start --address ... --num-gpus N`), or "
                          "drop --gpus-per-run to train on CPUs")
    raise ConfigError(f"no node of the Ray cluster ({where}) has {cpus:g} CPU and {gpus:g} GPU for one run "
                      f"(nodes: {have}); fix: lower --cpus-per-run / --gpus-per-run or add larger nodes")


# -- the task -----------------------------------------------------------------------------
def marker_path(root, run_id: str) -> Path:
    return Path(root) / MARKERS / f"{run_id}.json"


def read_marker(root, run_id: str) -> dict | None:
    try:
        return runstore.read_json(marker_path(root, run_id))
    except (OSError, ValueError):
        return None


def run_task(config: RunConfig, root: str, device: str, data_dir: str | None, threads: int,
             sweep_id: str) -> str:
    """One run, in a Ray worker: torch threads, a start marker (pid, attempt), then ensure_run
    with its progress going to ``<root>/.logs/<run_id>.log``. Returns the run directory."""
    import torch
    torch.set_num_threads(max(1, int(threads)))
    from empirical.runner import ensure_run
    run_id = config.run_id()
    prev = read_marker(root, run_id)
    attempt = prev["attempt"] + 1 if prev and prev.get("sweep") == sweep_id else 1
    try:
        import ray
        node = ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 - informative only
        node = None
    (Path(root) / MARKERS).mkdir(parents=True, exist_ok=True)
    runstore.atomic_write_json(marker_path(root, run_id), {
        "run_id": run_id, "sweep": sweep_id, "attempt": attempt, "pid": os.getpid(),
        "host": socket.gethostname(), "node": node, "threads": torch.get_num_threads(),
        "started": time.time()})
    (Path(root) / LOGS).mkdir(parents=True, exist_ok=True)
    with open(Path(root) / LOGS / f"{run_id}.log", "a", encoding="utf-8") as log, \
            contextlib.redirect_stderr(log):
        print(f"[{run_id}] attempt {attempt} on {socket.gethostname()} pid {os.getpid()}", file=log, flush=True)
        return str(ensure_run(config, root, device=device, data_dir=data_dir, progress=True))


def describe_error(exc: BaseException, max_retries: int) -> str:
    """One line: the run's own exception when it raised one; a dead worker otherwise."""
    cause = getattr(exc, "cause", None)
    if cause is not None:
        exc = cause
    name = type(exc).__name__
    if name in ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "TaskUnschedulableError"):
        return (f"{name}: the worker died (killed, out of memory or node lost) and the "
                f"{max_retries} retries are used up; rerun the sweep to resume from the checkpoint")
    msg = str(exc).strip().splitlines()
    return f"{name}: {msg[-1] if msg else ''}".strip()


# -- the driver ---------------------------------------------------------------------------
def _fmt_s(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _records_done(run_dir: Path) -> int:
    return sum(1 for m in runstore.read_metrics(run_dir) if m.get("kind") == "epoch")


class Progress:
    """The driver's view of the sweep: states, records, ETA (records per second since start)."""

    def __init__(self, runs: dict[Path, RunConfig], state: dict[Path, str], show: bool):
        self.runs, self.state, self.show = runs, state, show
        self.t0 = time.monotonic()
        self.total = {p: len(c.records()) for p, c in runs.items()}
        self.start = {p: (self.total[p] if state[p] == "done" else _records_done(p)) for p in runs}
        self.attempt: dict[Path, int] = {}

    def records(self) -> dict[Path, int]:
        return {p: (self.total[p] if self.state[p] == "done" else min(self.total[p], _records_done(p)))
                for p in self.runs}

    def headline(self) -> str:
        counts = {s: sum(1 for st in self.state.values() if st == s) for s in ("done", "running", "queued", "failed")}
        rec = self.records()
        done_r, total_r = sum(rec.values()), sum(self.total.values())
        elapsed = time.monotonic() - self.t0
        gained = done_r - sum(self.start.values())
        todo = sum(self.total[p] - rec[p] for p in self.runs if self.state[p] in ("running", "queued"))
        eta = "-" if gained <= 0 else _fmt_s(todo * elapsed / gained)
        if not todo:
            eta = "0m00s"
        return (f"sweep (ray): {counts['done']} done, {counts['running']} running, {counts['queued']} queued, "
                f"{counts['failed']} failed; records {done_r}/{total_r}; elapsed {_fmt_s(elapsed)}, ETA {eta}")

    def display(self) -> None:
        if not self.show:
            return
        lines = [self.headline()]
        for p, c in self.runs.items():
            st = self.state[p]
            a = self.attempt.get(p, 1)
            lines.append(_state_line(p, st if a <= 1 else f"{st}#{a}", c))
        print("\n".join(lines), file=sys.stderr, flush=True)


def run_grid_ray(configs, root, *, address: str | None = None, gpus_per_run: float = 0.0,
                 cpus_per_run: float = 1, device=None, data_dir=None, progress: bool = True,
                 refresh_s: float = 30.0, max_retries: int = DEFAULT_MAX_RETRIES,
                 num_cpus: int | None = None, poll_s: float = 1.0) -> list[Path]:
    """Run every config as one Ray task (skipping completed ones); return their run directories
    in order, as ``run_grid`` does. A failed run does not stop the others; it stays incomplete.
    ``num_cpus`` sizes a local instance started here (ignored when joining a cluster)."""
    from empirical.train import effective_precision
    import torch

    gpus_per_run, cpus_per_run = float(gpus_per_run or 0), float(cpus_per_run)
    if gpus_per_run < 0 or (gpus_per_run > 1 and not gpus_per_run.is_integer()):
        raise ConfigError(f"--gpus-per-run {gpus_per_run:g}: give a fraction in (0, 1] or a whole number "
                          "of GPUs; fix: e.g. --gpus-per-run 0.25 (four runs share a GPU) or 1")
    if cpus_per_run <= 0 or not cpus_per_run.is_integer():
        raise ConfigError(f"--cpus-per-run {cpus_per_run:g}: give a whole number ≥ 1 (the run's torch "
                          "threads); fix: e.g. --cpus-per-run 1")
    if max_retries < 0:
        raise ConfigError(f"--max-retries {max_retries} is negative; fix: give 0 or more")
    dev = str(device) if device not in (None, "auto") else ("cuda" if gpus_per_run > 0 else "cpu")
    try:
        dev_type = torch.device(dev).type
    except RuntimeError as exc:
        raise ConfigError(f"device {dev!r} is not a torch device ({exc}); fix: use cpu or cuda") from None
    if dev_type == "cuda" and gpus_per_run == 0:
        raise ConfigError(f"--device {dev} with --backend ray needs a GPU share per run; fix: give "
                          "--gpus-per-run (1, or e.g. 0.25 to let four runs share a GPU)")
    if dev_type == "cuda" and torch.device(dev).index not in (None, 0):
        raise ConfigError(f"--device {dev} with --backend ray: Ray assigns each run its GPU; fix: give "
                          "--device cuda (or drop --device)")
    if dev_type != "cuda" and gpus_per_run > 0:
        raise ConfigError(f"--gpus-per-run {gpus_per_run:g} with --device {dev}; fix: drop --device "
                          "(the runs then use cuda) or drop --gpus-per-run")
    ray = import_ray()

    root = Path(root)
    abs_root = root.expanduser().resolve()
    configs = [c.replace(precision=effective_precision(c.precision, dev)) for c in configs]
    paths = [root / c.run_id() for c in configs]
    runs: dict[Path, RunConfig] = {}
    for p, c in zip(paths, configs):
        runs.setdefault(p, c)
    pending = [(p, c) for p, c in runs.items() if not runstore.is_complete(p)]
    state = {p: ("queued" if (p, c) in pending else "done") for p, c in runs.items()}
    prog = Progress(runs, state, progress)
    errors: dict[Path, str] = {}
    if not pending:
        prog.display()
        _summary(prog, errors, skipped=len(runs), progress=progress)
        return paths
    data = None
    if data_dir is not None:
        data = str(Path(data_dir).expanduser().resolve())
    else:
        from empirical.data import default_data_dir
        data = str(default_data_dir().resolve())
    _check_data([c for _, c in pending], data)

    started = connect(ray, address, num_cpus=num_cpus)
    try:
        where = address or "local instance"
        check_resources(ray, cpus_per_run, gpus_per_run, where)
        sweep_id = uuid.uuid4().hex
        # max_calls=1: a fresh worker process per run, as the local pool's subprocess per run (no
        # torch global state — deterministic-algorithm flags, thread counts, CUDA context — leaks
        # from one run into the next)
        task = ray.remote(max_calls=1)(run_task)
        opts = {"num_cpus": cpus_per_run, "num_gpus": gpus_per_run, "max_retries": max_retries,
                "retry_exceptions": False}
        if not started:  # the caller's Ray: carry the source tree per task
            opts["runtime_env"] = worker_env()
        refs = {}
        for p, c in pending:
            ref = task.options(name=f"gftheory-run-{p.name}", **opts).remote(
                c, str(abs_root), dev, data, int(cpus_per_run), sweep_id)
            refs[ref] = p
        prog.display()
        last = time.monotonic()
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1, timeout=poll_s)
                changed = False
                for ref in ready:
                    p = refs.pop(ref)
                    try:
                        ray.get(ref)
                        state[p] = "done" if runstore.is_complete(p) else "failed"
                        if state[p] == "failed":
                            errors[p] = "the task returned but summary.json is missing"
                    except Exception as exc:  # noqa: BLE001 - one failed run must not stop the sweep
                        state[p] = "failed"
                        errors[p] = describe_error(exc, max_retries)
                    if state[p] == "failed" and progress:
                        print(f"[{p.name}] failed: {errors[p]}; log: {abs_root / LOGS / (p.name + '.log')}",
                              file=sys.stderr, flush=True)
                    changed = True
                for p in refs.values():
                    m = read_marker(abs_root, p.name)
                    if m and m.get("sweep") == sweep_id:
                        a = int(m.get("attempt", 1))
                        if state[p] != "running" or a != prog.attempt.get(p, 1):
                            state[p], changed = "running", True
                            prog.attempt[p] = a
                if changed or time.monotonic() - last > refresh_s:
                    prog.display()
                    last = time.monotonic()
        except BaseException:  # interrupted: stop our tasks; their runs resume from the checkpoint
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()
    for p, _ in pending:  # the attempts a fast retry may have hidden from the polling
        m = read_marker(abs_root, p.name)
        if m and m.get("sweep") == sweep_id:
            prog.attempt[p] = int(m.get("attempt", 1))
    _summary(prog, errors, skipped=len(runs) - len(pending), progress=progress)
    return paths


def _summary(prog: Progress, errors: dict[Path, str], *, skipped: int, progress: bool) -> None:
    """The end of the sweep: always printed (stderr) unless --quiet; failed runs with their error."""
    if not progress:
        return
    n = len(prog.runs)
    failed = [p for p, s in prog.state.items() if s == "failed"]
    ran = n - skipped - len(failed)
    retried = sum(1 for a in prog.attempt.values() if a > 1)
    lines = [f"sweep (ray) finished in {_fmt_s(time.monotonic() - prog.t0)}: {n} runs, {ran} completed now, "
             f"{skipped} already complete (skipped), {len(failed)} failed"
             + (f", {retried} retried after a worker died" if retried else "")]
    for p in failed:
        lines.append(f"  FAILED {p.name}  {_label(prog.runs[p])}: {errors.get(p, '?')}")
    print("\n".join(lines), file=sys.stderr, flush=True)

