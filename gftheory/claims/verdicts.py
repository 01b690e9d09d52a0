"""Verdicts computed from evidence, never typed: identity verdicts from proofs + numeric checks,
empirical verdicts from per-cell confidence intervals over stored runs, composite verdicts from
their parts. The rules are the constants of ``gftheory.claims.rules``.
"""
from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass, field

from gftheory.claims import rules
from gftheory.claims.metrics import METRICS
from gftheory.claims.registry import CLAIMS, Claim
from gftheory.claims.runs import SCALE_ORDER, Run, RunSet
from gftheory.claims.stats import bootstrap_interval, describe, t_interval, welch_interval

POSITIVE, NEGATIVE, OPEN, MISSING = "positive", "negative", "open", "missing"


@dataclass
class Verdict:
    label: str
    cls: str                       # positive | negative | open | missing
    detail: str = ""
    seeds: str = ""                # e.g. "n=3" or "n=3–5" over the counted cells

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- live evidence (proofs, checks)
def _row(result) -> dict:
    if isinstance(result, dict):
        return dict(result)
    if hasattr(result, "as_dict"):
        try:
            return dict(result.as_dict())
        except Exception:  # noqa: BLE001 - fall back to attributes
            pass
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    return dict(vars(result))


@dataclass
class LiveEvidence:
    """Results of ``run_checks`` and ``run_proofs`` as dicts, or the error that prevented them."""
    checks: list[dict] | None = None
    proofs: list[dict] | None = None
    checks_error: str | None = None
    proofs_error: str | None = None
    seconds: dict = field(default_factory=dict)

    @classmethod
    def from_results(cls, checks=None, proofs=None, checks_error=None, proofs_error=None, seconds=None):
        return cls([_row(r) for r in checks] if checks is not None else None,
                   [_row(r) for r in proofs] if proofs is not None else None,
                   checks_error, proofs_error, dict(seconds or {}))

    @staticmethod
    def _matches(rid: str, sid: str) -> bool:
        rid = str(rid)
        return rid == sid or (rid.startswith(sid) and rid[len(sid)] in "/:[. ")

    def checks_for(self, sid: str) -> list[dict]:
        return [r for r in (self.checks or []) if self._matches(r.get("id", ""), sid)]

    def proofs_for(self, sid: str) -> list[dict]:
        return [r for r in (self.proofs or []) if self._matches(r.get("id", ""), sid)]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def identity_verdict(statements, live: LiveEvidence) -> Verdict:
    """Proof status plus numeric-check statistics for the given statement ids."""
    checks = {s: live.checks_for(s) for s in statements}
    proofs = {s: live.proofs_for(s) for s in statements}
    failed = [r["id"] for rs in checks.values() for r in rs if not r.get("passed")]
    unavailable = []
    if live.checks is None:
        unavailable.append(f"checks: evidence unavailable: {live.checks_error or 'not run'}")
    if live.proofs is None:
        unavailable.append(f"proofs: evidence unavailable: {live.proofs_error or 'not run'}")
    if failed:
        return Verdict("refuted", NEGATIVE, f"numeric check(s) failed: {', '.join(map(str, failed))}")
    has_checks = any(checks.values())
    has_proofs = any(proofs.values())
    no_check = [s for s, rs in checks.items() if not rs]
    no_proof = [s for s, rs in proofs.items() if not rs]
    bad_proofs = [f"{r['id']}: {r.get('status')}" for rs in proofs.values() for r in rs
                  if r.get("status") != "proved"]
    notes = list(unavailable)
    if no_check and live.checks is not None:
        notes.append(f"no numeric check for {', '.join(no_check)}")
    if no_proof and live.proofs is not None:
        notes.append(f"no proof for {', '.join(no_proof)}")
    if bad_proofs:
        notes.append("proof status " + "; ".join(bad_proofs))
    detail = "; ".join(notes)
    if not has_checks and not has_proofs:
        return Verdict("evidence unavailable" if unavailable else "no evidence registered", MISSING, detail)
    statuses = {r.get("status") for rs in proofs.values() for r in rs}
    if "refuted" in statuses:   # a derivation step certified false; the checks still pass
        return Verdict("disputed (proof refutes a step)", OPEN, detail)
    if "failed" in statuses:    # a step could not be decided
        return Verdict("proof failed", OPEN, detail)
    all_checked = has_checks and not no_check
    all_proved = has_proofs and not no_proof and not bad_proofs
    if all_checked and all_proved:
        return Verdict("proved and checked", POSITIVE, detail)
    if all_checked:
        return Verdict("checked (no proof)" if not has_proofs else "checked (proof incomplete)", POSITIVE, detail)
    if all_proved:
        return Verdict("proved (not checked)", POSITIVE, detail)
    return Verdict("partial evidence", OPEN, detail)


# ---------------------------------------------------------------- empirical cells
@dataclass
class Cell:
    comparison: str
    cell: str                      # "arch/dataset"
    scale: str
    protocol: str
    a: dict                        # describe() of measure A's per-seed values (+ "values", "seeds")
    b: dict | None                 # None for a one-sample rule
    interval: dict | None          # Welch / t CI of the claimed-direction difference
    bootstrap: dict | None
    verdict: str
    counted: bool = True
    sources: list = field(default_factory=list)
    eval_data: list = field(default_factory=list)
    bootstrap_agrees: bool | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _values(runs: list[Run], metric: str):
    fn = METRICS[metric].fn
    vals, seeds, sources = [], [], set()
    for r in sorted(runs, key=lambda r: str(r.config.get("seed"))):
        v, src = fn(r)
        if v is not None:
            vals.append(v)
            seeds.append(r.config.get("seed"))
            sources.add(re.sub(r"\b\d+ ", "", src))
    return vals, seeds, sorted(sources)


def _decide(low: float, high: float, delta: float) -> str:
    if low > delta:
        return "confirmed"
    if high < -delta:
        return "contradicted"
    return "inconclusive"


def evaluate_comparison(comp, runs: list[Run], archs=None, datasets=None) -> list[Cell]:
    """One Cell per (arch, dataset, protocol) group of completed runs holding comp's measures."""
    groups: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        if r.measure not in comp.measures():
            continue
        if archs and r.config.get("arch") not in archs:
            continue
        if datasets and r.config.get("dataset") not in datasets:
            continue
        groups[r.protocol_key].append(r)
    labels = defaultdict(list)
    for key, rs in groups.items():
        c = rs[0].config
        labels[(c.get("arch"), c.get("dataset"), c.get("scale"))].append(key)
    sign = 1.0 if comp.direction == "higher" else -1.0
    cells = []
    for key, rs in sorted(groups.items(), key=lambda kv: (str(kv[1][0].config.get("arch")),
                                                          str(kv[1][0].config.get("dataset")), kv[0])):
        c = rs[0].config
        label = f"{c.get('arch')}/{c.get('dataset')}"
        if len(labels[(c.get("arch"), c.get("dataset"), c.get("scale"))]) > 1:
            label += f" [protocol {key}]"
        eval_data = sorted({str((r.summary or {}).get("eval_data")) for r in rs if (r.summary or {}).get("eval_data")})
        va, sa, src_a = _values([r for r in rs if r.measure == comp.measures()[0]], comp.metric)
        da = {**describe(va), "values": va, "seeds": sa}
        sources = set(src_a)
        if isinstance(comp, rules.Comparison):
            vb, sb, src_b = _values([r for r in rs if r.measure == comp.b], comp.metric)
            db = {**describe(vb), "values": vb, "seeds": sb}
            sources |= set(src_b)
            n = min(len(va), len(vb))
        else:
            vb, db, n = None, None, len(va)
        cell = Cell(comp.label(), label, str(c.get("scale")), key, da, db, None, None, "insufficient",
                    sources=sorted(sources), eval_data=eval_data)
        if n >= rules.MIN_SEEDS:
            if vb is not None:
                ci, boot = welch_interval(va, vb), bootstrap_interval(va, vb)
            else:
                ci, boot = t_interval(va), bootstrap_interval(va)
            lo, hi = sorted((sign * ci.low, sign * ci.high))
            blo, bhi = sorted((sign * boot.low, sign * boot.high))
            cell.interval = {"estimate": sign * ci.estimate, "low": lo, "high": hi, "method": ci.method}
            cell.bootstrap = {"estimate": sign * boot.estimate, "low": blo, "high": bhi, "method": boot.method}
            cell.verdict = _decide(lo, hi, comp.delta)
            cell.bootstrap_agrees = _decide(blo, bhi, comp.delta) == cell.verdict
        cells.append(cell)
    return cells


def aggregate(cells: list[Cell], claim_id: str) -> Verdict:
    """The claim rule of ``rules.CLAIM_RULE_TEXT`` over the cells (marks which are counted)."""
    cmd = f"gftheory confirm {claim_id} --scale full --seeds 3"
    if not cells:
        return Verdict("not yet run", MISSING, f"no stored runs; run: {cmd}")
    present = [s for s in SCALE_ORDER if any(c.scale == s for c in cells)]
    scale = present[0] if present else cells[0].scale
    for c in cells:
        c.counted = c.scale == scale
    counted = [c for c in cells if c.counted]
    decided = [c for c in counted if c.verdict != "insufficient"]
    ns = [min(c.a["n"], c.b["n"]) if c.b is not None else c.a["n"] for c in counted]
    seeds = f"n={min(ns)}" if min(ns) == max(ns) else f"n={min(ns)}–{max(ns)}"
    suffix = "" if scale == "full" else f" ({scale} scale)"
    if not decided:
        return Verdict("insufficient" + suffix, MISSING,
                       f"{len(counted)} cell(s), none with n ≥ {rules.MIN_SEEDS} seeds per measure; run: {cmd}", seeds)
    k_conf = sum(c.verdict == "confirmed" for c in decided)
    k_contra = sum(c.verdict == "contradicted" for c in decided)
    detail = f"{k_conf} confirmed, {k_contra} contradicted, {len(decided) - k_conf - k_contra} inconclusive " \
             f"of {len(decided)} decided cell(s) at {scale} scale"
    if len(counted) > len(decided):
        detail += f"; {len(counted) - len(decided)} cell(s) insufficient"
    if k_conf >= rules.CONFIRM_FRACTION * len(decided) and k_contra == 0:
        return Verdict("confirmed" + suffix, POSITIVE, detail, seeds)
    if k_contra > rules.CONTRADICT_FRACTION * len(decided):
        return Verdict("contradicted" + suffix, NEGATIVE, detail, seeds)
    if k_conf and k_contra:
        return Verdict("mixed" + suffix, OPEN, detail, seeds)
    return Verdict("inconclusive" + suffix, OPEN, detail, seeds)


# ---------------------------------------------------------------- claims
@dataclass
class ClaimResult:
    claim: Claim
    verdict: Verdict
    identity: Verdict | None = None
    empirical: Verdict | None = None
    cells: list[Cell] = field(default_factory=list)
    parts: dict = field(default_factory=dict)          # component id -> Verdict

    def as_dict(self) -> dict:
        c = self.claim
        return {"id": c.id, "title": c.title, "kind": c.kind, "words": c.words, "source": c.source,
                "formal": c.formal, "statements": list(c.statements), "components": list(c.components),
                "rules": c.rule_text(), "commands": c.commands(), "notes": c.notes,
                "verdict": self.verdict.as_dict(),
                "identity": self.identity.as_dict() if self.identity else None,
                "empirical": self.empirical.as_dict() if self.empirical else None,
                "parts": {k: v.as_dict() for k, v in self.parts.items()},
                "cells": [x.as_dict() for x in self.cells]}


def combine(parts: dict[str, Verdict]) -> Verdict:
    """The composite rule of ``rules.COMPOSITE_RULE_TEXT``."""
    classes = {k: v.cls for k, v in parts.items()}
    desc = "; ".join(f"{k}: {v.label}" for k, v in parts.items())
    if any(c == NEGATIVE for c in classes.values()):
        return Verdict("contradicted", NEGATIVE, desc)
    if all(c == POSITIVE for c in classes.values()):
        return Verdict("confirmed", POSITIVE, desc)
    if any(c == POSITIVE for c in classes.values()):
        return Verdict("partly confirmed", OPEN, desc)
    if all(c == MISSING for c in classes.values()):
        label = "not yet run" if all(v.label == "not yet run" for v in parts.values()) else "evidence missing"
        return Verdict(label, MISSING, desc)
    return Verdict("open", OPEN, desc)


def evaluate_claims(runset: RunSet | None, live: LiveEvidence, ids=None,
                    runs_error: str | None = None) -> dict[str, ClaimResult]:
    """Verdict of every claim (or of ``ids`` and their components), components first."""
    out: dict[str, ClaimResult] = {}
    runs = runset.runs if runset is not None else []

    def visit(cid: str) -> ClaimResult:
        if cid in out:
            return out[cid]
        c = CLAIMS[cid]
        parts: dict[str, Verdict] = {}
        ident = emp = None
        cells: list[Cell] = []
        if c.statements:
            ident = identity_verdict(c.statements, live)
            parts["proofs+checks"] = ident
        if c.comparisons:
            if runs_error:
                emp = Verdict("evidence unavailable", MISSING, f"evidence unavailable: {runs_error}")
            else:
                for comp in c.comparisons:
                    cells.extend(evaluate_comparison(comp, runs, c.archs, c.datasets))
                emp = aggregate(cells, c.id)
            parts["runs"] = emp
        for sub in c.components:
            parts[sub] = visit(sub).verdict
        verdict = next(iter(parts.values())) if len(parts) == 1 else combine(parts)
        if len(parts) == 1 and c.components:
            verdict = dataclasses.replace(verdict, detail=f"{c.components[0]}: {verdict.label}. {verdict.detail}".strip())
        out[cid] = ClaimResult(c, verdict, ident, emp, cells,
                               {k: v for k, v in parts.items() if k in c.components})
        return out[cid]

    for cid in (ids or CLAIMS):
        visit(cid)
    return out
