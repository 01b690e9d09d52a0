"""The run store: one directory per run, named by the hash of its canonical config.

<root>/<run_id>/config.json     {"run_id", "config", "deviations", "provenance"}
<root>/<run_id>/metrics.jsonl   one JSON record per line ("kind": "epoch" | "prune_event")
<root>/<run_id>/checkpoint.pt   the state after the last completed record (resume point)
<root>/<run_id>/summary.json    written last, only when the run completed

Every whole-file write goes to a temporary file in the same directory, is fsync'ed, then
``os.replace``d over the target, so a killed process leaves either the old or the new file.
metrics.jsonl is appended line by line; a torn last line (killed mid-write) is ignored when read
and cut off on resume, when the file is also truncated back to the checkpoint's record.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gftheory.atomic import atomic_write_bytes
from gftheory.atomic import atomic_write_json as atomic_write_json_

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
SUMMARY = "summary.json"


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_json_(path, obj, indent=1, sort_keys=True, allow_nan=False)


def read_json(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def append_jsonl(path: Path, record: dict) -> None:
    """Append one record as one line, flushed and fsync'ed."""
    line = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: Path) -> list[dict]:
    """All complete records; a torn trailing line (no newline / not JSON) is ignored."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if k == len(lines) - 1:  # torn last line
                break
            raise ValueError(f"{path}: line {k + 1} is not JSON; the file is corrupt") from None
    return out


def truncate_metrics(path: Path, epoch: int) -> list[dict]:
    """Keep only the records with "epoch" ≤ ``epoch`` (atomically); return them."""
    kept = [r for r in read_jsonl(path) if int(r.get("epoch", 0)) <= epoch]
    atomic_write_bytes(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept).encode())
    return kept


def check_root(root) -> Path:
    """The run store directory ``root``, checked before any data is loaded or anything written:
    every existing component of the path must be a directory, and the deepest existing one must
    accept a new file (probed with an anonymous temporary file, which works for root too).
    Raises ConfigError (exit 2) naming the problem and the fix; creates nothing."""
    import tempfile

    from empirical.config import ConfigError
    root = Path(root).expanduser()
    probe = root
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "is not a directory" if probe == root else f"lies under {probe}, which is not a directory"
        raise ConfigError(f"--root {root} {what}; fix: give --root a directory (or a path to create) "
                          f"outside any regular file")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise ConfigError(f"--root {root}: cannot write in {probe} ({exc.strerror or exc}); fix: give "
                          f"--root a writable directory") from None
    return root


def save_checkpoint(path: Path, state: dict) -> None:
    import torch
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    import torch
    return torch.load(path, map_location=map_location, weights_only=False)


@dataclass
class RunRecord:
    """What a run directory holds (read-only view)."""
    path: Path
    config: dict
    summary: dict | None = None
    metrics: list[dict] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def complete(self) -> bool:
        return bool(self.summary and self.summary.get("complete"))

    def epochs(self) -> list[dict]:
        return [m for m in self.metrics if m.get("kind") == "epoch"]

    def prune_events(self) -> list[dict]:
        return [m for m in self.metrics if m.get("kind") == "prune_event"]


def load_run(path: Path) -> RunRecord:
    path = Path(path)
    meta = read_json(path / CONFIG)
    summary = read_json(path / SUMMARY) if (path / SUMMARY).exists() else None
    return RunRecord(path=path, config=meta["config"], summary=summary,
                     metrics=read_jsonl(path / METRICS), deviations=meta.get("deviations", []),
                     provenance=meta.get("provenance", {}))


def iter_runs(root: Path, *, complete_only: bool = False) -> Iterator[RunRecord]:
    """Every run directory under ``root`` (those holding a config.json), sorted by run id."""
    root = Path(root)
    if not root.is_dir():
        return
    for d in sorted(root.iterdir()):
        if d.is_dir() and (d / CONFIG).is_file():
            rec = load_run(d)
            if complete_only and not rec.complete:
                continue
            yield rec


def is_complete(run_dir: Path) -> bool:
    p = Path(run_dir) / SUMMARY
    if not p.exists():
        return False
    try:
        return bool(read_json(p).get("complete"))
    except (OSError, ValueError):
        return False
