"""Read stored runs in the run-directory layout of EMPIRICAL_CONTRACT.md, without importing
``empirical`` (theory code never does):

``<root>/<run_id>/config.json``  {"run_id", "config", "deviations", "provenance"}
``<root>/<run_id>/metrics.jsonl`` one record a line, "kind": "epoch" | "prune_event"
``<root>/<run_id>/summary.json`` written last, only for a completed run.

Only completed runs (summary with ``complete: true``) are evidence; the others are counted.
Planted runs (``gftheory.claims.synthetic``: config ``"synthetic": true``, or provenance
code_version / summary eval_data saying "synthetic") are never mixed with real ones: by default
they are set aside in ``RunSet.planted`` and not counted; ``allow_planted=True`` (tests and
demonstrations) counts them and marks the run set, and the report then carries a banner.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from gftheory.cli import UsageError

# config keys that vary *within* a comparison cell; every other key defines the protocol.
# importance_temperature is resolved per measure by the protocol (GraSP's Hg at T = 200,
# gradient-norm preservation at T = 1, as in the authors' code), so it is part of the measure.
WITHIN_CELL_KEYS = ("measure", "seed", "importance_temperature")
from gftheory.claims.rules import SCALE_ORDER  # noqa: F401  (re-exported)


@dataclass
class Run:
    """One stored run: its directory, canonical config, summary (None if incomplete), records."""
    path: Path
    run_id: str
    config: dict
    summary: dict | None
    metrics: list[dict] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    deviations: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.summary and self.summary.get("complete"))

    def epochs(self) -> list[dict]:
        return sorted((m for m in self.metrics if m.get("kind") == "epoch"), key=lambda m: m.get("epoch", 0))

    def prune_events(self) -> list[dict]:
        return sorted((m for m in self.metrics if m.get("kind") == "prune_event"),
                      key=lambda m: m.get("round", 0))

    @property
    def measure(self) -> str:
        return str(self.config.get("measure"))

    @property
    def planted(self) -> bool:
        """True for a synthetic run with planted values (never evidence about the paper)."""
        if self.config.get("synthetic"):
            return True
        if str((self.provenance or {}).get("code_version", "")).startswith("synthetic"):
            return True
        return str((self.summary or {}).get("eval_data", "")).startswith("synthetic")

    @property
    def protocol_key(self) -> str:
        """Hash of the config without measure and seed: runs with equal keys are comparable."""
        rest = {k: v for k, v in sorted(self.config.items()) if k not in WITHIN_CELL_KEYS}
        return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()[:8]


@dataclass
class RunSet:
    runs: list[Run]                 # completed runs, deduplicated by run_id
    incomplete: int = 0
    unreadable: list[str] = field(default_factory=list)   # "path: why"
    roots: list[str] = field(default_factory=list)
    planted: list[Run] = field(default_factory=list)      # planted runs set aside (not counted)
    planted_in_use: bool = False                           # planted runs are among ``runs``


def _read_json(path: Path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_run(path: Path) -> Run:
    """Read one run directory (raises OSError/ValueError on a malformed one)."""
    cfg = _read_json(path / "config.json")
    config = cfg.get("config", cfg)
    summary = None
    if (path / "summary.json").exists():
        summary = _read_json(path / "summary.json")
    metrics = []
    mpath = path / "metrics.jsonl"
    if mpath.exists():
        with open(mpath, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line:
                    try:
                        metrics.append(json.loads(line))
                    except json.JSONDecodeError:
                        if summary is not None:   # a torn last line is normal only mid-run
                            raise
    return Run(path=path, run_id=str(cfg.get("run_id", path.name)), config=dict(config),
               summary=summary, metrics=metrics, provenance=cfg.get("provenance") or {},
               deviations=list(cfg.get("deviations") or []))


def load_runs(roots, *, must_exist: bool = True, allow_planted: bool = False) -> RunSet:
    """All runs under each root (a run directory is one holding config.json, at any depth).

    A missing root is a usage error (exit 2) when ``must_exist``; malformed runs are listed,
    not fatal. Planted (synthetic) runs go to ``planted`` unless ``allow_planted``."""
    out = RunSet(runs=[], roots=[str(r) for r in roots])
    seen: set[str] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            if must_exist:
                raise UsageError(f"results directory {str(root)!r} does not exist or is not a directory; "
                                 f"fix: pass --results DIR pointing at a folder of run directories "
                                 f"(each with config.json), e.g. --results results")
            continue
        for cfg in sorted(root.rglob("config.json")):
            try:
                run = read_run(cfg.parent)
            except (OSError, ValueError, AttributeError) as exc:
                out.unreadable.append(f"{cfg.parent}: {exc}")
                continue
            if not run.complete:
                out.incomplete += 1
                continue
            if run.run_id in seen:
                continue
            seen.add(run.run_id)
            if run.planted and not allow_planted:
                out.planted.append(run)
                continue
            out.planted_in_use |= run.planted
            out.runs.append(run)
    return out
