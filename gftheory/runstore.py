"""The run store: the one place that knows the run-directory layout — file names, writer and
reader — for prune-while-training runs (empirical.runner) and event studies (empirical.events).
Everything else (the runner, the event study, sweeps, scripts/campaign.py, the claims' reader
gftheory.claims.runs, the tests' planted runs) reads and writes run directories through it.

A run: ``<root>/<run_id>/`` named by the hash of its canonical config,

    config.json     {"run_id", "config", "deviations", "provenance", ...}, written once
    metrics.jsonl   one JSON record a line ("kind": "epoch" | "prune_event")
    checkpoint.pt   the state after the last completed record (resume point)
    summary.json    written last, only when the run completed ({"complete": true, ...})

An event study (``"kind": "event_study"`` in config.json and summary.json): ``<root>/<study id>/``
with config.json, events.jsonl (one record per event; "kind": "event" | "trajectory_epoch"),
summary.json, and the trajectory's checkpoints trajectory.pt and checkpoint_e<E>.pt.

Evidence (what is committed under results/) is config.json, metrics.jsonl / events.jsonl and
summary.json; checkpoints never are.

Every whole-file write goes to a temporary file in the same directory, is fsync'ed, then
``os.replace``d over the target, so a killed process leaves either the old or the new file.
JSON-lines files are appended line by line (flushed, fsync'ed); a torn last line (killed
mid-write) is ignored when read — unless the run is complete, when it is an error — and cut off
by the next append, or on resume, when metrics.jsonl is also truncated back to the checkpoint's
record. A line that is not JSON before the last one is always an error (the file is corrupt).

One writer per run: ``exclusive(run_dir)`` holds an advisory lock (flock) on
``<root>/.locks/<run_id>.lock`` while a process runs it, so a second process (another sweep,
a campaign restarted beside an old one) gets ``RunBusy`` instead of interleaving writes. The
operating system drops the lock when its process dies, so a killed run never stays locked; the next
writer to take the lock deletes the temporary files a killed writer left mid-write.

This module imports no torch at import time (theory code reads runs through it); checkpoint
save/load import torch when called.
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gftheory.atomic import atomic_write_bytes
from gftheory.atomic import atomic_write_json as _atomic_write_json
from gftheory.errors import UsageError

# -- the layout ---------------------------------------------------------------------------
CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
SUMMARY = "summary.json"
EVENT_STUDY = "event_study"         # "kind" of an event study's config.json and summary.json
EVENTS = "events.jsonl"
TRAJECTORY = "trajectory.pt"
LOCKS = ".locks"                    # <root>/.locks/<run_id>.lock: who is writing a run now
EVIDENCE = (CONFIG, METRICS, EVENTS, SUMMARY)   # the files that are evidence (never checkpoints)


def study_checkpoint(epoch: int) -> str:
    """File name of an event study's trajectory checkpoint after data epoch ``epoch``."""
    return f"checkpoint_e{int(epoch)}.pt"


# -- files --------------------------------------------------------------------------------
def atomic_write_json(path, obj) -> None:
    """``obj`` as sorted, indented JSON (NaN refused), written atomically."""
    _atomic_write_json(path, obj, indent=1, sort_keys=True, allow_nan=False)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, allow_nan=False) + "\n"


def append_jsonl(path, record: dict) -> None:
    """Append one record as one line, flushed and fsync'ed. A torn last line (the writer was
    killed mid-line) is cut off first, so a resumed writer never glues a record onto it."""
    line = _line(record)
    path = Path(path)
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            torn = f.read(1) != b"\n"
        if torn:
            data = path.read_bytes()
            atomic_write_bytes(path, data[:data.rfind(b"\n") + 1])
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def write_jsonl(path, records) -> None:
    """Replace ``path`` with ``records``, one a line, atomically."""
    atomic_write_bytes(path, "".join(_line(r) for r in records).encode("utf-8"))


def read_jsonl(path, *, complete: bool = False) -> list[dict]:
    """All records of a JSON-lines file (none if it is absent). A torn last line (no newline /
    not JSON: killed mid-write) is ignored, or a ValueError when ``complete`` (a finished run
    has none); a line that is not JSON before the last one is a ValueError (corrupt file)."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if k == len(lines) - 1 and not complete:   # torn last line: normal mid-run
                break
            what = "torn last line in a completed run" if k == len(lines) - 1 else "the file is corrupt"
            raise ValueError(f"{path}: line {k + 1} is not JSON; {what}") from None
    return out


def save_checkpoint(path, state: dict) -> None:
    """``torch.save(state)`` to ``path`` atomically."""
    import torch
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path, map_location="cpu") -> dict:
    import torch
    return torch.load(path, map_location=map_location, weights_only=False)


# -- writer -------------------------------------------------------------------------------
def write_config(run_dir, meta: dict) -> None:
    """config.json (the directory is created): {"run_id", "config", ...; "kind" for a study}."""
    atomic_write_json(Path(run_dir) / CONFIG, meta)


def write_summary(run_dir, summary: dict) -> None:
    """summary.json, the last file a run writes: {"complete": true, ...}."""
    atomic_write_json(Path(run_dir) / SUMMARY, summary)


def append_metric(run_dir, record: dict) -> None:
    """One record appended to a run's metrics.jsonl."""
    append_jsonl(Path(run_dir) / METRICS, record)


def write_metrics(run_dir, records) -> None:
    """A run's whole metrics.jsonl, atomically."""
    write_jsonl(Path(run_dir) / METRICS, records)


def truncate_metrics(run_dir, epoch: int) -> list[dict]:
    """Keep only the records with "epoch" ≤ ``epoch`` (atomically; a torn last line goes too);
    return them. What a run resuming from its checkpoint after record ``epoch`` does first."""
    kept = [r for r in read_metrics(run_dir) if int(r.get("epoch", 0)) <= epoch]
    write_metrics(run_dir, kept)
    return kept


def append_event(run_dir, record: dict) -> None:
    """One record appended to an event study's events.jsonl."""
    append_jsonl(Path(run_dir) / EVENTS, record)


def write_events(run_dir, records) -> None:
    """An event study's whole events.jsonl, atomically."""
    write_jsonl(Path(run_dir) / EVENTS, records)


# -- reader -------------------------------------------------------------------------------
def has_config(run_dir) -> bool:
    return (Path(run_dir) / CONFIG).exists()


def read_config(run_dir) -> dict:
    """config.json (OSError when absent, ValueError when it is not a JSON object)."""
    path = Path(run_dir) / CONFIG
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: not a JSON object")
    return meta


def read_summary(run_dir) -> dict | None:
    """summary.json, or None while the run has not completed."""
    path = Path(run_dir) / SUMMARY
    return read_json(path) if path.exists() else None


def read_metrics(run_dir, *, complete: bool = False) -> list[dict]:
    return read_jsonl(Path(run_dir) / METRICS, complete=complete)


def read_events(run_dir, *, complete: bool = False) -> list[dict]:
    return read_jsonl(Path(run_dir) / EVENTS, complete=complete)


def is_event_study(meta: dict) -> bool:
    """Whether a config.json (or summary.json) is an event study's."""
    return isinstance(meta, dict) and meta.get("kind") == EVENT_STUDY


def is_complete(run_dir) -> bool:
    """summary.json exists, is readable and says complete."""
    try:
        return bool((read_summary(run_dir) or {}).get("complete"))
    except (OSError, ValueError, AttributeError):
        return False


@dataclass
class StoredRun:
    """What a run directory holds, as stored: config.json (``meta``), summary.json (None until
    complete) and the records (metrics.jsonl for a run, events.jsonl for an event study)."""
    path: Path
    meta: dict
    summary: dict | None = None
    records: list[dict] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id", self.path.name))

    @property
    def event_study(self) -> bool:
        return is_event_study(self.meta)

    @property
    def complete(self) -> bool:
        return bool(self.summary and self.summary.get("complete"))


def read_run(run_dir) -> StoredRun:
    """Read one run directory or event study (OSError / ValueError on a malformed one; a torn
    last line is an error once summary.json exists)."""
    run_dir = Path(run_dir)
    meta = read_config(run_dir)
    summary = read_summary(run_dir)
    read = read_events if is_event_study(meta) else read_metrics
    return StoredRun(path=run_dir, meta=meta, summary=summary, records=read(run_dir, complete=summary is not None))


def run_dirs(root, *, nested: bool = True) -> list[Path]:
    """The run directories (those holding config.json) under ``root``, sorted: at any depth
    (``nested``: a results tree such as results/<scale>/<run_id>/) or only ``root``'s children
    (a run store). None when ``root`` is not a directory."""
    root = Path(root)
    if not root.is_dir():
        return []
    if nested:
        return [p.parent for p in sorted(root.rglob(CONFIG))]
    return [d for d in sorted(root.iterdir()) if d.is_dir() and (d / CONFIG).is_file()]


# -- one writer per run ---------------------------------------------------------------------
class RunBusy(UsageError):
    """Another live process holds the run's lock."""


def lock_path(run_dir) -> Path:
    run_dir = Path(run_dir)
    return run_dir.parent / LOCKS / f"{run_dir.name}.lock"


@contextmanager
def exclusive(run_dir) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the body, or raise ``RunBusy`` at once (naming the holder)
    when another process holds it. The lock file records the holder (pid and host)."""
    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "holder unknown"
            raise RunBusy(f"{run_dir} is being written by another process ({holder}); fix: wait "
                          f"for it to finish or stop it (a stopped run resumes from its checkpoint), "
                          f"then run again") from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            fh.flush()
            remove_stale_temporaries(run_dir)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_stale_temporaries(run_dir) -> list[str]:
    """Delete the atomic-write temporaries (``.<name>.*.tmp``) a killed writer left in
    ``run_dir``; only safe under ``exclusive`` (no other writer can own them). Returns their names."""
    run_dir = Path(run_dir)
    gone = []
    for p in sorted(run_dir.glob(".*.tmp")) if run_dir.is_dir() else []:
        p.unlink(missing_ok=True)
        gone.append(p.name)
    return gone


def is_busy(run_dir) -> bool:
    """Whether another process holds ``run_dir``'s lock now (a snapshot, for progress displays
    and for not starting a run twice; ``exclusive`` is what guarantees one writer)."""
    path = lock_path(run_dir)
    if not path.is_file():
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False
