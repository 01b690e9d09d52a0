"""Stored runs as claim evidence: the run directories written by ``empirical`` (layout, writer
and reader: ``gftheory.runstore``, which this module reads through, without importing
``empirical``; theory code never does), interpreted for the claims — a run's config, summary and
records; comparison cells (``protocol_key``); an event study as virtual runs, one per measure.

Only completed runs (summary with ``complete: true``) are evidence; the others are counted.
Planted runs (tests/planted.py: config ``"synthetic": true``, or provenance code_version /
summary eval_data saying "synthetic") are never mixed with real ones: by default they are set
aside in ``RunSet.planted`` and not counted; ``allow_planted=True`` (tests and demonstrations)
counts them and marks the run set, and the report then carries a banner.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from gftheory import runstore
from gftheory.errors import UsageError

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


def run_of(stored: runstore.StoredRun) -> Run:
    """A prune-while-training run as claim evidence."""
    meta = stored.meta
    return Run(path=stored.path, run_id=stored.run_id, config=dict(meta.get("config", meta)),
               summary=stored.summary, metrics=stored.records, provenance=meta.get("provenance") or {},
               deviations=list(meta.get("deviations") or []))


EVENT_SCALE = "events"        # the event study's evidence is its own protocol and scale
ALL_MEASURES = "every measure"  # the study-level virtual run (T1/T2 at scale)


def event_study_runs(stored: runstore.StoredRun) -> list[Run]:
    """An event study (empirical.events, ``"kind": "event_study"``) as virtual runs: one per
    measure, whose ``prune_event`` records are its ``round1`` events (one per checkpoint, probe
    before/after; ``widths_before``/``widths_after`` those of its one-shot ``profile`` event,
    ``recovery_gap`` its recovery against the dense control), plus one study-level run
    (measure ALL_MEASURES) holding every event (T1/T2 at scale) and the trajectory's
    ``trajectory_epoch`` records (the study's cost per data epoch). Config: the study's, with
    ``measure``, ``scale`` = EVENT_SCALE and ``paired`` = True (every measure on the same
    checkpoints, importance sample and probe: seeds are the unit, differences are paired)."""
    path, cfg, summary = stored.path, stored.meta, stored.summary
    study = dict(cfg.get("config", {}))
    records = [r for r in stored.records if r.get("kind") == "event"]
    base = {k: v for k, v in study.items() if k != "measures"}
    base.update(scale=EVENT_SCALE, paired=True)
    control = {r["checkpoint"]: r for r in records if r.get("event") == "control"}
    runs = []
    for m in study.get("measures", []):
        mine = {(r["checkpoint"], r["event"]): r for r in records if r.get("measure") == m}
        metrics = []
        for (e, kind), r in sorted(mine.items()):
            if kind != "round1":
                continue
            rec = {"kind": "prune_event", "round": e, "before": r.get("before"), "after": r.get("after"),
                   "pred": r.get("pred")}
            prof = mine.get((e, "profile"))
            if prof is not None:
                rec["widths_before"] = prof.get("original_widths") or prof.get("widths_before")
                rec["widths_after"] = prof.get("widths_after")
            ctl = control.get(e)
            try:
                rec["recovery_gap"] = ((r["recovery"]["probe_loss"][-1] - ctl["recovery"]["probe_loss"][-1])
                                       / ctl["recovery"]["probe_loss"][-1])
            except (KeyError, TypeError, IndexError, ZeroDivisionError):
                pass
            metrics.append(rec)
        runs.append(Run(path=path, run_id=f"{cfg.get('run_id', path.name)}:{m}", config={**base, "measure": m},
                        summary=summary, metrics=metrics, provenance=cfg.get("provenance") or {}))
    runs.append(Run(path=path, run_id=f"{cfg.get('run_id', path.name)}:*", config={**base, "measure": ALL_MEASURES},
                    summary=summary, metrics=[{**r, "kind": "study_event"} for r in records]
                    + [r for r in stored.records if r.get("kind") == "trajectory_epoch"],
                    provenance=cfg.get("provenance") or {}))
    return runs


def read_runs(path: Path) -> list[Run]:
    """The run(s) a directory holds: one prune-while-training run, or an event study's virtual runs
    (raises OSError/ValueError on a malformed one)."""
    stored = runstore.read_run(path)
    return event_study_runs(stored) if stored.event_study else [run_of(stored)]


def load_runs(roots, *, must_exist: bool = True, allow_planted: bool = False) -> RunSet:
    """All runs under each root (every run directory at any depth: runstore.run_dirs).

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
                                 f"(each with {runstore.CONFIG}), e.g. --results results")
            continue
        for run_dir in runstore.run_dirs(root):
            try:
                found = read_runs(run_dir)
            except (OSError, ValueError, AttributeError, KeyError) as exc:
                out.unreadable.append(f"{run_dir}: {exc}")
                continue
            if not found[0].complete:
                out.incomplete += 1
                continue
            for run in found:
                if run.run_id in seen:
                    continue
                seen.add(run.run_id)
                if run.planted and not allow_planted:
                    out.planted.append(run)
                    continue
                out.planted_in_use |= run.planted
                out.runs.append(run)
    return out


# ---------------------------------------------------------------- pairing (rules version 4)
def fingerprint(run: Run) -> tuple | None:
    """The run's pairing fingerprint (``rules.PAIRING_TEXT``): ("recorded", init, data_order, probe)
    from summary.json's "fingerprint"; for a stage-1 run without one ("fallback", first epoch
    record's exact train_loss, first prune event's before.loss or None for a dense run); None when
    neither exists."""
    fp = (run.summary or {}).get("fingerprint")
    if isinstance(fp, dict) and fp.get("init") and fp.get("data_order"):
        return ("recorded", str(fp["init"]), str(fp["data_order"]), fp.get("probe"))
    eps = run.epochs()
    if not eps or eps[0].get("train_loss") is None:
        return None
    evs = run.prune_events()
    before = (evs[0].get("before") or {}).get("loss") if evs else None
    return ("fallback", float(eps[0]["train_loss"]), None if before is None else float(before))


def fingerprints_match(a: tuple | None, b: tuple | None) -> bool:
    """Same kind and equal on every component both hold (a probe / pre-prune loss that one side
    lacks — a dense run — is not compared); a missing fingerprint never matches."""
    if a is None or b is None or a[0] != b[0] or len(a) != len(b):
        return False
    for x, y in zip(a[1:], b[1:]):
        if x is None or y is None:
            continue
        if x != y:
            return False
    return a[1] is not None and b[1] is not None
