"""What is missing, computed from the registry × cells × scales (rules version 4).

For every claim with rules, every v4 rule, every (architecture, dataset) the claim is about and
every scale of the rule's primary evidence (``events`` for an event-study rule; ``full``,
``short``, ``cpu`` for a runs rule), a row unless that cell was tested there. Each row says why:

* ``no data on this machine`` — the dataset's files are not in the data directory ($GFTHEORY_DATA;
  CIFAR-100), or the cell's final accuracy would need the CIFAR-10 test set, which is not there
  (runs then read a held-out validation split);
* ``needs an accelerator`` — full and short scale (``rules.ACCELERATOR_SCALES``);
* ``not applicable at this scale`` — the metric cannot measure the rule there (reason);
* ``insufficient`` — stored, fewer than MIN_SEEDS seeds; else ``not run``;

and what the missing seeds cost from measured constants, naming the constant: for a runs cell the
median recorded ``summary.seconds`` of the stored runs of that architecture, scale and measure
(else of that architecture and scale); for an event-study cell the mean recorded seconds of that
architecture's stored studies; for full/short scale the project's measured per-step CPU constants
(``gftheory.report.costs``) when given a schedule; else "not measured".
"""
from __future__ import annotations

import os
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gftheory.claims import rules
from gftheory.claims.decide import NOT_APPLICABLE, rule_cells4
from gftheory.claims.registry import CLAIMS, v4_rules
from gftheory.claims.runs import ALL_MEASURES, EVENT_SCALE, Run

DATA_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
TEST_FILE = {"cifar10": "cifar-10-batches-py/test_batch", "cifar100": "cifar-100-python/test"}


def data_status(dataset: str, data_dir: str | None = None) -> tuple[bool | None, bool | None]:
    """(training data present, test set present) in the data directory, None when unknown."""
    root = data_dir or os.environ.get("GFTHEORY_DATA")
    if not root or dataset not in DATA_FOLDERS:
        return None, None
    base = Path(root)
    return (base / DATA_FOLDERS[dataset]).is_dir(), (base / TEST_FILE[dataset]).is_file()


@dataclass
class MissingCell:
    claim: str
    arch: str
    dataset: str
    scale: str
    rules: list
    why: str
    seeds_needed: dict = field(default_factory=dict)   # measure -> seeds still needed (runs) / study seeds (events)
    cost_seconds: float | None = None
    constant: str = "not measured"

    def as_dict(self) -> dict:
        return asdict(self)


def _recorded(runs: list[Run]) -> dict:
    """(arch, scale, measure) and (arch, scale, '*') → recorded seconds of the stored runs;
    (arch, 'events', '*') → the stored studies' seconds."""
    out = defaultdict(list)
    for r in runs:
        sec = (r.summary or {}).get("seconds")
        if not sec:
            continue
        a, s = str(r.config.get("arch")), str(r.config.get("scale"))
        if s == EVENT_SCALE:
            if r.measure == ALL_MEASURES:
                out[(a, s, "*")].append(float(sec))
        else:
            out[(a, s, r.measure)].append(float(sec))
            out[(a, s, "*")].append(float(sec))
    return out


def _seeds(runs: list[Run], arch, dataset, scale, measure) -> set:
    return {r.config.get("seed") for r in runs if str(r.config.get("arch")) == arch
            and str(r.config.get("dataset")) == dataset and str(r.config.get("scale")) == scale
            and r.measure == measure}


def missing_cells(runs: list[Run], data_dir: str | None = None, schedules: dict | None = None,
                  ids=None, run_seconds=None) -> list[MissingCell]:
    """Every (claim, arch, dataset, scale) of a rule's primary evidence without a tested cell.
    ``run_seconds(arch, measure, schedule)`` prices a run that no stored run measured (the report
    passes ``gftheory.report.costs.run_seconds``; claims never import the report layer)."""
    rec = _recorded(runs)
    out: list[MissingCell] = []
    for cid in (ids or CLAIMS):
        claim = CLAIMS[cid]
        if not claim.comparisons:
            continue
        tested = defaultdict(list)
        for c in rule_cells4(claim, runs):
            if c.primary:
                tested[(c.rule, c.arch, c.dataset, c.scale)].append(c)
        groups: dict = defaultdict(list)
        for rule, primary in v4_rules(claim):
            scales = (EVENT_SCALE,) if primary == "events" else rules.RUN_SCALES
            for a in claim.archs:
                for d in claim.datasets:
                    for s in scales:
                        cells = tested.get((rule.label(), a, d, s), [])
                        if any(c.testable for c in cells):
                            continue
                        groups[(a, d, s)].append((rule, cells))
        for (a, d, s), items in groups.items():
            out.append(_row(claim, a, d, s, items, runs, rec, data_dir, schedules, run_seconds))
    return out


def _row(claim, a, d, s, items, runs, rec, data_dir, schedules, run_seconds=None) -> MissingCell:
    labels = [r.label() for r, _ in items]
    measures = list(dict.fromkeys(m for r, _ in items for m in r.measures()))
    train, test = data_status(d, data_dir)
    na = [c for _, cells in items for c in cells if c.verdict == NOT_APPLICABLE]
    row = MissingCell(claim.id, a, d, s, labels, "")
    if na and len(na) >= len(items):
        row.why = f"{NOT_APPLICABLE}: {na[0].reason}"
        return row
    whys = []
    if train is False:
        whys.append(f"no data on this machine ({d}: {DATA_FOLDERS[d]}/ not in the data directory)")
    if s in rules.ACCELERATOR_SCALES:
        whys.append(f"needs an accelerator ({s} scale)")
    if d == "cifar10" and test is False and s in rules.ACCELERATOR_SCALES and any(
            r.metric in ("final_acc", "eval_acc_speed") for r, _ in items):
        whys.append("no data on this machine (the CIFAR-10 test set: runs here read a held-out validation split)")
    stored = [c for _, cells in items for c in cells]
    if stored and not whys:
        whys.append("insufficient: " + "; ".join(sorted({f'{c.rule} n = {c.n}' for c in stored})))
    if not whys:
        whys.append("not run")
    row.why = "; ".join(whys)
    if s == EVENT_SCALE:
        have = {r.config.get("seed") for r in runs if str(r.config.get("arch")) == a and r.measure == ALL_MEASURES
                and str(r.config.get("dataset")) == d and str(r.config.get("scale")) == EVENT_SCALE}
        need = max(0, rules.MIN_SEEDS - len(have))
        row.seeds_needed = {"event studies": need}
        secs = rec.get((a, EVENT_SCALE, "*"))
        if secs and need:
            row.cost_seconds = need * statistics.mean(secs)
            row.constant = f"mean recorded seconds of the {len(secs)} stored {a} event stud(ies)"
        elif not need:
            row.constant = "—"
        return row
    need = {m: max(0, rules.MIN_SEEDS - len(_seeds(runs, a, d, s, m))) for m in measures}
    row.seeds_needed = need
    total, consts, unmeasured = 0.0, [], []
    for m, k in need.items():
        if not k:
            continue
        per = rec.get((a, s, m)) or rec.get((a, s, "*"))
        if per:
            total += k * statistics.median(per)
            consts.append(f"median recorded seconds of {len(per)} stored {a} {s} run(s)"
                          + ("" if rec.get((a, s, m)) else " (all measures)"))
            continue
        sec = None
        if schedules and s in schedules and run_seconds is not None:
            sec = run_seconds(a, m, schedules[s])
        if sec is not None:
            total += k * sec
            consts.append("per-step CPU constants of gftheory/report/costs.py (one thread)")
        else:
            unmeasured.append(m)
    if total:
        row.cost_seconds = total
    row.constant = "; ".join(dict.fromkeys(consts)) + (
        f"{'; ' if consts else ''}not measured for {a} {s} ({', '.join(unmeasured)})" if unmeasured else "")
    if not consts and not unmeasured:
        row.constant = "—"
    return row


def distinct_cost(rows: list[MissingCell]) -> tuple[float, int]:
    """(seconds, rows priced) over distinct (arch, dataset, scale) × measure needs: runs shared by
    several claims are counted once (the largest need per measure)."""
    need: dict = {}
    per: dict = {}
    for r in rows:
        if r.cost_seconds is None:
            continue
        key = (r.arch, r.dataset, r.scale)
        units = sum(r.seeds_needed.values()) or 1
        for m, k in r.seeds_needed.items():
            if k > need.get(key + (m,), 0):
                need[key + (m,)] = k
                per[key + (m,)] = r.cost_seconds / units
    return sum(need[k] * per[k] for k in need), len(need)
