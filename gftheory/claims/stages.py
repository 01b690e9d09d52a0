"""The two stages of the evidence (``rules.STAGE_TEXT``) and the committed plan that defines stage 2.

Plan file (written by ``gftheory plan``, committed before any stage-2 run), JSON at
``results/plans/stage2.json``::

    {"rules_version": "4", "rules_digest": str,
     "cells": [{"claim": str, "rule": str (the v4 rule label), "arch": str, "dataset": str,
                "scale": str (the stage-2 protocol: cpu2 | events),
                "protocol": str | null (the protocol_key of the STAGE-1 runs the cell's estimate came
                from: provenance of the power calculation, not a property of stage-2 runs),
                "measures": [str], "n": int, "seeds": [int],
                "status": "planned" | "not decidable", "cost_hours": float, "reason": str}, ...],
     "stage2_scales": [...], "protocol": {...}}

A run is *named* by the plan when a planned cell has its arch, dataset, scale (the stage-2
protocol name), measure and seed. Stage 2 = the named runs; stage 1 = every other run whose seed is
not in ``CONFIRMATORY_SEEDS`` (seeds reserved for the plan that it does not name are flagged and
ignored). A cell's named runs must share one protocol_key (one configuration apart from measure and
seed); a cell whose runs hold several is reported "runs of k protocols" and not judged.

(Until 2026-12-07 the cell's ``protocol`` field was also required to equal the run's protocol_key.
The plan writes there the stage-1 key its estimate came from, which a stage-2 run (another scale,
another importance sample) never has, so no stage-2 run was ever named. Found on the first nine
stage-2 runs, before any stage-2 cell had its planned seeds, so before any judgement; the plan, its
cells, seeds and n are unchanged.)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from gftheory.claims import rules
from gftheory.claims.decide import Cell4, ClaimCell, Claim4, claim_cell, headline4, rule_cell4
from gftheory.claims.registry import CLAIMS, v4_rules
from gftheory.claims.runs import Run
from gftheory.errors import UsageError

PLAN_PATH = Path("plans") / "stage2.json"       # under a results root
CONFIRMATORY_SEEDS = range(3, 100)              # reserved for the confirmatory plan (never stage 1)
CELL_KEYS = ("claim", "rule", "arch", "dataset", "scale", "measures", "n", "seeds", "status")


@dataclass
class Plan:
    path: str
    rules_version: str
    rules_digest: str
    cells: list[dict]
    raw: dict = field(default_factory=dict)

    @property
    def digest_matches(self) -> bool:
        return self.rules_digest == rules.rules_digest()

    def planned(self) -> list[dict]:
        return [c for c in self.cells if c.get("status") == "planned"]


def load_plan(roots) -> Plan | None:
    """The first ``<root>/plans/stage2.json`` found, or None (no confirmatory plan committed).
    A malformed plan is a usage error naming the problem and its fix."""
    for root in roots:
        p = Path(root) / PLAN_PATH
        if not p.is_file():
            continue
        try:
            raw = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"plan {p} is not readable JSON ({exc}); fix: regenerate it with `gftheory plan`") from None
        cells = raw.get("cells") if isinstance(raw, dict) else None
        if not isinstance(cells, list) or not isinstance(raw.get("rules_digest"), str):
            raise UsageError(f"plan {p} lacks 'rules_digest' (str) or 'cells' (list); fix: regenerate it with "
                             f"`gftheory plan`")
        for i, c in enumerate(cells):
            miss = [k for k in CELL_KEYS if k not in c]
            if miss:
                raise UsageError(f"plan {p}: cell {i} lacks {', '.join(miss)}; fix: regenerate it with `gftheory plan`")
        return Plan(str(p), str(raw.get("rules_version")), raw["rules_digest"], cells, raw)
    return None


def _names(cell: dict, run: Run) -> bool:
    c = run.config
    return (c.get("arch") == cell["arch"] and c.get("dataset") == cell["dataset"]
            and str(c.get("scale")) == str(cell["scale"])
            and run.measure in cell["measures"] and c.get("seed") in cell["seeds"])


def _in_scope(cell: dict, run: Run) -> bool:
    c = run.config
    return (c.get("arch") == cell["arch"] and c.get("dataset") == cell["dataset"]
            and str(c.get("scale")) == str(cell["scale"])
            and run.measure in cell["measures"])


@dataclass
class Stages:
    stage1: list[Run]
    stage2: list[Run]
    beyond: list[Run]               # reserved seeds the plan does not name: ignored, flagged
    plan: Plan | None


def split(runs: list[Run], plan: Plan | None) -> Stages:
    planned = plan.planned() if plan else []
    s1, s2, beyond = [], [], []
    for r in runs:
        if any(_names(c, r) for c in planned):
            s2.append(r)
        elif r.config.get("seed") in CONFIRMATORY_SEEDS:
            beyond.append(r)
        else:
            s1.append(r)
    return Stages(s1, s2, beyond, plan)


@dataclass
class PlanCell:
    spec: dict
    stored: dict                     # measure -> seeds stored among the planned ones
    verdict: str
    cell: Cell4 | None = None
    extra: list = field(default_factory=list)   # "measure seed s" beyond the plan (ignored)

    def as_dict(self) -> dict:
        return {"spec": self.spec, "stored": self.stored, "verdict": self.verdict,
                "cell": self.cell.as_dict() if self.cell else None, "extra": self.extra}


def judge_plan_cell(spec: dict, stages: Stages) -> PlanCell:
    """One plan cell: not decidable / plan digest differs / incomplete (k of n) / the v4 rule cell."""
    claim = CLAIMS.get(spec["claim"])
    rule = next((r for r, _ in v4_rules(claim) if r.label() == spec["rule"]), None) if claim else None
    runs = [r for r in stages.stage2 if _names(spec, r)]
    stored = {m: sorted({r.config.get("seed") for r in runs if r.measure == m}) for m in spec["measures"]}
    extra = sorted(f"{r.measure} seed {r.config.get('seed')}" for r in stages.beyond if _in_scope(spec, r))
    if spec.get("status") != "planned":
        return PlanCell(spec, stored, f"not decidable on this machine ({spec.get('reason', '')})", extra=extra)
    if rule is None:
        return PlanCell(spec, stored, f"unknown rule {spec['rule']!r} of {spec['claim']!r} in the plan", extra=extra)
    if stages.plan is not None and not stages.plan.digest_matches:
        return PlanCell(spec, stored, "plan made under another rules digest", extra=extra)
    keys = sorted({r.protocol_key for r in runs})
    if len(keys) > 1:
        return PlanCell(spec, stored, f"runs of {len(keys)} protocols ({', '.join(keys)}): not judged", extra=extra)
    k = min((len(v) for v in stored.values()), default=0)
    n = int(spec["n"])
    if k < n:
        return PlanCell(spec, stored, f"incomplete ({k} of {n})", extra=extra)
    cell = rule_cell4(rule, runs, claim=spec["claim"], evidence="events" if spec["scale"] == "events" else "runs")
    return PlanCell(spec, stored, cell.verdict if cell else "not yet run", cell, extra)


def evaluate_stage2(stages: Stages) -> tuple[list[PlanCell], dict[str, Claim4]]:
    """Every plan cell judged, and per claim its claim cells (IUT / Holm over its rules in each
    (arch, dataset)) and headline, from the plan cells only; rules the plan does not name in a
    cell read 'not in the plan' (such a claim cell cannot be confirmed)."""
    if stages.plan is None:
        return [], {}
    pcs = [judge_plan_cell(spec, stages) for spec in stages.plan.cells]
    by_claim: dict = {}
    for pc in pcs:
        by_claim.setdefault(pc.spec["claim"], []).append(pc)
    out: dict[str, Claim4] = {}
    for cid, cells in by_claim.items():
        claim = CLAIMS.get(cid)
        if claim is None:
            continue
        labels = [r.label() for r, _ in v4_rules(claim)]
        ccs = []
        for a in claim.archs:
            for d in claim.datasets:
                mine = [pc for pc in cells if pc.spec["arch"] == a and pc.spec["dataset"] == d]
                if not mine:
                    continue
                here: dict = {}
                for pc in mine:
                    if pc.cell is not None:
                        here[pc.spec["rule"]] = pc.cell
                    else:
                        here[pc.spec["rule"]] = _placeholder(claim, pc)
                ccs.append(claim_cell(cid, a, d, labels, here, "not in the plan"))
        label, cls, detail = headline4(claim, ccs)
        out[cid] = Claim4(claim, label, cls, detail, ccs, [pc.cell for pc in cells if pc.cell is not None])
    return pcs, out


def _placeholder(claim, pc: PlanCell) -> Cell4:
    """A untested Cell4 carrying the plan cell's word (incomplete, not decidable, digest differs)."""
    rule = next((r for r, _ in v4_rules(claim) if r.label() == pc.spec["rule"]), None)
    c = Cell4(claim.id, pc.spec["rule"], rule.kind if rule else "?", rule.metric if rule else "?", pc.spec["arch"],
              pc.spec["dataset"], str(pc.spec["scale"]), str(pc.spec.get("protocol")), "plan", True, {"n": 0}, None)
    c.verdict = pc.verdict
    return c


__all__ = ["Plan", "load_plan", "split", "Stages", "PlanCell", "judge_plan_cell", "evaluate_stage2", "ClaimCell",
           "PLAN_PATH", "CONFIRMATORY_SEEDS"]
