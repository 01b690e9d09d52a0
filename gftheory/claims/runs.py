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
# quota_from (stage 2) makes a run the arm "<measure>@<quota_from>" of its source: the same protocol.
WITHIN_CELL_KEYS = ("measure", "seed", "importance_temperature", "quota_from")
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
    side: list[str] = field(default_factory=list)          # side-experiment run dirs (results/side/…), not counted


def arm_name(measure, reference) -> str:
    """'<measure>@<reference>' (``rules.ARM_TEXT``): a quota-matched or layer-matched random arm."""
    from gftheory.claims.rules import ARM_SEP
    return f"{measure}{ARM_SEP}{reference}"


def run_of(stored: runstore.StoredRun) -> Run:
    """A prune-while-training run as claim evidence."""
    meta = stored.meta
    config = dict(meta.get("config", meta))
    if config.get("quota_from") is not None:      # rules.ARM_TEXT: the arm is a measure of its own
        config["measure"] = arm_name(config.get("measure"), config["quota_from"])
    return Run(path=stored.path, run_id=stored.run_id, config=config,
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
    runs += _arm_runs(stored, records, base, control)
    runs.append(Run(path=path, run_id=f"{cfg.get('run_id', path.name)}:*", config={**base, "measure": ALL_MEASURES},
                    summary=summary, metrics=[{**r, "kind": "study_event"} for r in records]
                    + [r for r in stored.records if r.get("kind") == "trajectory_epoch"],
                    provenance=cfg.get("provenance") or {}))
    return runs


def _recovery_gap(rec: dict, ctl: dict | None) -> float | None:
    try:
        return ((rec["recovery"]["probe_loss"][-1] - ctl["recovery"]["probe_loss"][-1])
                / ctl["recovery"]["probe_loss"][-1])
    except (KeyError, TypeError, IndexError, ZeroDivisionError):
        return None


def _widths_of(rec: dict | None) -> dict:
    if rec is None:
        return {}
    src = rec if rec.get("widths_after") is not None else next(iter(rec.get("draws") or []), {}) or {}
    out = {"widths_before": src.get("original_widths") or src.get("widths_before"),
           "widths_after": src.get("widths_after")}
    return {k: v for k, v in out.items() if v is not None}


def _arm_runs(stored: runstore.StoredRun, records: list[dict], base: dict, control: dict) -> list[Run]:
    """Edition 2's arms as virtual runs (``rules.ARM_TEXT``): '<m>@<reference>' from the
    ``round1_quota`` events (widths from ``profile_quota``), 'random@<m>' from the
    ``round1_layer_random`` events, one prune_event per draw (before: the checkpoint's; widths from
    ``profile_layer_random``; recovery gap on the draws that ran the recovery). Same config as the
    study's measures (paired by construction)."""
    path, cfg = stored.path, stored.meta
    arms: dict[str, list[dict]] = {}
    widths: dict[tuple, dict] = {}
    for r in records:
        ev, m = r.get("event"), r.get("measure")
        if ev in ("round1_quota", "profile_quota"):
            name = arm_name(m, r.get("quota_reference") or base.get("quota_reference"))
        elif ev in ("round1_layer_random", "profile_layer_random"):
            name = arm_name("random", r.get("matched_measure") or m)
        else:
            continue
        if ev.startswith("profile"):
            widths[(name, r.get("checkpoint"))] = _widths_of(r)
            continue
        ctl = control.get(r.get("checkpoint"))
        if ev == "round1_quota":
            rec = {"kind": "prune_event", "round": r.get("checkpoint"), "before": r.get("before"),
                   "after": r.get("after"), "pred": r.get("pred")}
            gap = _recovery_gap(r, ctl)
            evs = [rec if gap is None else {**rec, "recovery_gap": gap}]
        else:
            draws = r.get("draws") or []
            if not draws and isinstance(r.get("mean"), dict):        # only the mean recorded: one event
                mean = r["mean"]
                draws = [{"after": {"loss": mean.get("after_loss"), "grad_norm_sq": mean.get("after_grad_norm_sq")},
                          **({"recovery": {"probe_loss": mean["recovery_probe_loss"]}}
                             if mean.get("recovery_probe_loss") else {})}]
            evs = []
            for d in draws:
                rec = {"kind": "prune_event", "round": r.get("checkpoint"), "draw": d.get("draw"),
                       "before": d.get("before") or r.get("before"), "after": d.get("after"), "pred": d.get("pred")}
                gap = _recovery_gap(d, ctl)
                evs.append(rec if gap is None else {**rec, "recovery_gap": gap})
        arms.setdefault(name, []).extend(evs)
    out = []
    for name, evs in sorted(arms.items()):
        evs = [{**e, **widths.get((name, e["round"]), {})} for e in evs]
        out.append(Run(path=path, run_id=f"{cfg.get('run_id', path.name)}:{name}", config={**base, "measure": name},
                       summary=stored.summary, metrics=evs, provenance=cfg.get("provenance") or {}))
    return out


def read_runs(path: Path) -> list[Run]:
    """The run(s) a directory holds: one prune-while-training run, or an event study's virtual runs
    (raises OSError/ValueError on a malformed one)."""
    stored = runstore.read_run(path)
    return event_study_runs(stored) if stored.event_study else [run_of(stored)]


SIDE_DIR = "side"   # results/side/<experiment>/…: side experiments (e.g. the bf16 equivalence check)


def load_runs(roots, *, must_exist: bool = True, allow_planted: bool = False) -> RunSet:
    """All runs under each root (every run directory at any depth: runstore.run_dirs), except those
    under a folder named ``side`` (side experiments, listed in ``side``, never claim evidence).

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
            if SIDE_DIR in run_dir.relative_to(root).parts[:-1]:
                out.side.append(str(run_dir))     # a side experiment (results/side/…): never claim evidence
                continue
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
