"""Stage-2 progress: what the committed plan runs, what of it is stored, what the stored part cost
against the plan's own estimate, and what the rest will cost at the rate measured so far.

Only counts and recorded seconds are read — never an outcome — so reading progress is not a look
at the data (no optional stopping: the plan's n is fixed whatever this says).

A planned *unit* is one process of the campaign:

* cpu2 (prune-while-training): one run (arch, dataset, measure or arm ``m@src``, seed) named by a
  planned cell; a run several cells name counts once;
* events: one event study (arch, dataset, seed) of a planned events cell (a study records every
  measure at once).

Estimate of a unit, in process-seconds: the plan's ``costs_seconds`` (``Costs.run_seconds``: an arm
is priced as its own measure's run, as the plan priced it; a study by ``events[arch]``). Measured:
the stored run's recorded ``seconds`` (one single-thread process, the other core busy with the
campaign's second process). Per block (arch, dataset, scale) and per measure:

    ratio = Σ measured / Σ estimate over the stored units,
    rest  = Σ estimate of the missing units × ratio   (the plan's estimate where nothing is stored yet).

Wall-hours = process-hours / 2 (the plan's ``wall_hours``: two single-thread processes share the two
cores). Recorded seconds count completed work only: work lost to a killed process is not in them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from statistics import median

from gftheory.claims.runs import ALL_MEASURES, EVENT_SCALE, Run

PARALLEL = 2            # processes sharing the machine (the plan's wall_hours)


@dataclass
class Line:
    """Progress of one group of planned units (a block, or one measure of a block)."""
    arch: str
    dataset: str
    scale: str
    measure: str                            # an arm "m@src", ALL_MEASURES for studies, "" for a block
    planned: int = 0
    stored: int = 0
    measured_s: float = 0.0                 # recorded seconds of the stored units
    estimate_stored_s: float = 0.0          # the plan's estimate of the same units
    estimate_missing_s: float = 0.0         # the plan's estimate of the missing units
    unpriced: int = 0                       # units the plan gives no seconds for
    missing: list = field(default_factory=list)     # "measure seed s" of the missing units

    @property
    def ratio(self) -> float | None:
        return self.measured_s / self.estimate_stored_s if self.stored and self.estimate_stored_s > 0 else None

    @property
    def rest_s(self) -> float:
        """Process-seconds the missing units need: the plan's estimate × the measured ratio."""
        r = self.ratio
        return self.estimate_missing_s * (r if r is not None else 1.0)

    def add(self, estimate: float | None, seconds: float | None, label: str) -> None:
        self.planned += 1
        if estimate is None:
            self.unpriced += 1
        if seconds is not None:
            self.stored += 1
            self.measured_s += seconds
            self.estimate_stored_s += estimate or 0.0
        else:
            self.estimate_missing_s += estimate or 0.0
            self.missing.append(label)

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "rest_s": self.rest_s}


@dataclass
class Progress:
    blocks: list[Line]                      # one per (arch, dataset, scale), in plan order
    measures: list[Line]                    # one per (arch, dataset, scale, measure)
    parallel: int = PARALLEL

    def total(self) -> Line:
        t = Line("all", "", "", "")
        for b in self.blocks:
            t.planned += b.planned
            t.stored += b.stored
            t.measured_s += b.measured_s
            t.estimate_stored_s += b.estimate_stored_s
            t.estimate_missing_s += b.estimate_missing_s
            t.unpriced += b.unpriced
        return t

    @property
    def rest_s(self) -> float:
        """Σ of the blocks' rests (each at its own block's measured ratio)."""
        return sum(b.rest_s for b in self.blocks)

    def rows(self) -> list[tuple[str, Line, float]]:
        """The table's rows in order, for every formatter: ("block", line, rest_s) for a block, then
        ("measure", line, rest_s) for each of its measures, and last ("all", total, Σ of the blocks'
        rests) — the total's rest is not the total ratio × the missing estimate."""
        out = []
        for b in self.blocks:
            out.append(("block", b, b.rest_s))
            out += [("measure", m, m.rest_s) for m in self.measures
                    if (m.arch, m.dataset, m.scale) == (b.arch, b.dataset, b.scale) and m.measure != ALL_MEASURES]
        out.append(("all", self.total(), self.rest_s))
        return out

    def as_dict(self) -> dict:
        return {"parallel": self.parallel, "blocks": [b.as_dict() for b in self.blocks],
                "measures": [m.as_dict() for m in self.measures], "total": self.total().as_dict(),
                "rest_s": self.rest_s}


def planned_units(plan) -> list[tuple[str, str, str, str, int]]:
    """(arch, dataset, scale, measure, seed) of every planned unit, once each, in plan order; a
    study's measure is ALL_MEASURES."""
    out: dict = {}
    for c in plan.planned():
        scale = str(c["scale"])
        measures = [ALL_MEASURES] if scale == EVENT_SCALE else [str(m) for m in c["measures"]]
        for m in measures:
            for s in c["seeds"]:
                out.setdefault((str(c["arch"]), str(c["dataset"]), scale, m, int(s)), None)
    return list(out)


def _stored_seconds(runs: list[Run]) -> dict:
    """(arch, dataset, scale, measure, seed) → recorded seconds of each complete stored run."""
    out = {}
    for r in runs:
        if not r.complete:
            continue
        c = r.config
        s = (r.summary or {}).get("seconds")
        key = (str(c.get("arch")), str(c.get("dataset")), str(c.get("scale")), r.measure, c.get("seed"))
        out[key] = float(s) if isinstance(s, (int, float)) else 0.0
    return out


def stage2_progress(plan, runs: list[Run]) -> Progress:
    """The plan's progress over ``runs`` (any runs: those the plan does not name are not read)."""
    from gftheory.claims.plan import Costs
    cs = (plan.raw or {}).get("costs_seconds") or {}
    costs = Costs(cpu2=dict(cs.get("cpu2") or {}), events=dict(cs.get("events") or {}))
    stored = _stored_seconds(runs)
    blocks: dict = {}
    measures: dict = {}
    for arch, dataset, scale, m, seed in planned_units(plan):
        est = costs.run_seconds("events" if scale == EVENT_SCALE else "cpu2", arch, m)[0]
        sec = stored.get((arch, dataset, scale, m, seed))
        label = f"{m} seed {seed}" if scale != EVENT_SCALE else f"study seed {seed}"
        blocks.setdefault((arch, dataset, scale), Line(arch, dataset, scale, "")).add(est, sec, label)
        measures.setdefault((arch, dataset, scale, m), Line(arch, dataset, scale, m)).add(est, sec, label)
    return Progress(list(blocks.values()), list(measures.values()))


# ---------------------------------------------------------------- recorded cost per part
PARTS = ("total", "scoring", "diagnostics", "rest")
PARTS_TEXT = ("per run, from its own records: total = summary seconds; scoring = Σ prune events' score_seconds "
              "(the importance pass); diagnostics = Σ train_mode_loss_seconds + train_mode_score_seconds (the "
              "descriptive train-mode probe loss and rank agreement, cpu2 only); rest = total − both (training "
              "steps, probes, validation, surgery); median over the stored runs of a row")


def run_parts(run: Run) -> dict | None:
    """Seconds per part of one complete prune-while-training run (PARTS_TEXT), or None."""
    total = (run.summary or {}).get("seconds")
    if not run.complete or not isinstance(total, (int, float)):
        return None
    ev = run.prune_events()
    score = sum(float(e.get("score_seconds") or 0.0) for e in ev)
    diag = sum(float(e.get("train_mode_loss_seconds") or 0.0) + float(e.get("train_mode_score_seconds") or 0.0)
               for e in ev)
    return {"total": float(total), "scoring": score, "diagnostics": diag, "rest": float(total) - score - diag}


def recorded_parts(runs: list[Run], scales=("cpu", "cpu2")) -> list[dict]:
    """Median seconds per part (PARTS_TEXT) per (arch, measure, scale) over the complete runs of
    ``scales``, in (arch, measure, scale-order) order: {"arch", "measure", "scale", "n", PART: s}."""
    groups: dict = {}
    for r in runs:
        scale = str(r.config.get("scale"))
        parts = run_parts(r) if scale in scales else None
        if parts is None:
            continue
        groups.setdefault((str(r.config.get("arch")), r.measure, scale), []).append(parts)
    out = []
    for (arch, m, scale), ps in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], scales.index(kv[0][2]))):
        out.append({"arch": arch, "measure": m, "scale": scale, "n": len(ps),
                    **{k: median([p[k] for p in ps]) for k in PARTS}})
    return out


def parts_table(rows: list[dict]) -> str:
    """Plain text: one line per (arch, measure, scale), minutes per part."""
    head = ("arch", "measure", "scale", "runs", *(f"{k} min" for k in PARTS))
    lines = [head] + [(r["arch"], r["measure"], r["scale"], str(r["n"]), *(f"{r[k] / 60:.1f}" for k in PARTS))
                      for r in rows]
    w = [max(len(x[i]) for x in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(x)).rstrip() for x in lines) + \
        "\n\n" + PARTS_TEXT


def hours(seconds: float, parallel: int = 1) -> float:
    return seconds / 3600 / parallel


def table(p: Progress) -> str:
    """Plain-text progress: one line per block and per measure, then the total."""
    head = ("block / measure", "stored", "measured h", "plan h (same runs)", "ratio", "missing", "rest h (wall)")
    rows = [head]
    for kind, ln, rest in p.rows():
        name = {"block": f"{ln.arch}/{ln.dataset} {ln.scale}", "measure": f"  {ln.measure}", "all": "all"}[kind]
        rows.append((name, f"{ln.stored}/{ln.planned}", f"{hours(ln.measured_s):.2f}",
                     f"{hours(ln.estimate_stored_s):.2f}", "—" if ln.ratio is None else f"{ln.ratio:.2f}×",
                     str(ln.planned - ln.stored), f"{hours(rest):.2f} ({hours(rest, p.parallel):.2f})"
                     + (f" +{ln.unpriced} unpriced" if ln.unpriced and kind != "all" else "")))
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    return "\n".join(lines + ["", f"process-hours; wall = process-hours / {p.parallel} (two single-thread processes "
                                  f"share the two cores); rest = the plan's estimate of the missing runs × the "
                                  f"block's (measure's) measured ratio, the plan's estimate where none is stored"])


__all__ = ["Line", "Progress", "planned_units", "stage2_progress", "table", "hours", "PARALLEL", "PARTS", "run_parts",
           "recorded_parts", "parts_table"]
