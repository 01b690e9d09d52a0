"""Verdicts computed from evidence, never typed: identity verdicts from proofs + numeric checks,
empirical verdicts per rule from per-cell tests over stored runs (Holm within a claim and scale),
combined as the claim's formal statement says, per scale; composite verdicts from their parts,
where only evidence that could have come out otherwise can be the positive part. The rules are
the constants of ``gftheory.claims.rules`` (see its docstring).
"""
from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass, field

from gftheory.claims import rules
from gftheory.claims.metrics import METRICS
from gftheory.claims.registry import CLAIMS, Claim
from gftheory.claims.runs import Run, RunSet
from scipy import stats as _st

from gftheory.claims.stats import describe, holm, min_detectable, one_sided_p

POSITIVE, NEGATIVE, OPEN, MISSING = "positive", "negative", "open", "missing"


@dataclass
class Verdict:
    label: str
    cls: str                       # positive | negative | open | missing
    detail: str = ""
    seeds: str = ""                # e.g. "n=3" or "n=3–5" over the decided cells
    scale: str = ""                # the scale the verdict is about ("" for theory)
    coverage: str = ""             # "k/N": cells with evidence / cells the claim is about

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
                  if r.get("status") not in ("proved", "identity-tested")]
    tested = [str(r["id"]) for rs in proofs.values() for r in rs if r.get("status") == "identity-tested"]
    notes = list(unavailable)
    if no_check and live.checks is not None:
        notes.append(f"no numeric check for {', '.join(no_check)}")
    if no_proof and live.proofs is not None:
        notes.append(f"no proof for {', '.join(no_proof)}")
    if bad_proofs:
        notes.append("proof status " + "; ".join(bad_proofs))
    if tested:
        notes.append("identity-tested at random points, not proved symbolically: " + ", ".join(tested))
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
        return Verdict("identity-tested and checked" if tested else "proved and checked", POSITIVE, detail)
    if all_checked:
        return Verdict("checked (no proof)" if not has_proofs else "checked (proof incomplete)", POSITIVE, detail)
    if all_proved:
        return Verdict("identity-tested (not checked)" if tested else "proved (not checked)", POSITIVE, detail)
    return Verdict("partial evidence", OPEN, detail)


# ---------------------------------------------------------------- empirical cells
@dataclass
class Cell:
    rule: str                      # the rule's label
    cell: str                      # "arch/dataset" (+ protocol when one scale holds several)
    arch: str
    dataset: str
    scale: str
    protocol: str
    a: dict                        # describe() of measure A's per-seed values (+ "values", "seeds")
    b: dict | None                 # None for a one-sample rule
    n: int = 0                     # smallest group size
    delta: float = 0.0             # minimum meaningful difference of the rule's metric
    estimate: float | None = None  # D, the difference in the claimed direction
    low: float | None = None       # unadjusted 95 % t interval of D
    high: float | None = None
    se: float | None = None
    df: float | None = None
    mde: float | None = None       # minimum detectable D at this n and spread: 80 % power at the claim
                                   # family's strictest Holm level α/m (one-sided); before Holm: α, two-sided
    p_confirm: float | None = None
    p_contra: float | None = None
    p_confirm_holm: float | None = None
    p_contra_holm: float | None = None
    verdict: str = "insufficient"  # confirmed | contradicted | inconclusive | insufficient | degenerate
    reason: str = ""
    sources: list = field(default_factory=list)
    eval_data: list = field(default_factory=list)
    paired: bool = False           # one-sample t of per-seed differences (rules.PAIRED)

    @property
    def testable(self) -> bool:
        return self.p_confirm is not None

    @property
    def decided(self) -> bool:
        return self.verdict in ("confirmed", "contradicted", "inconclusive")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _values(runs: list[Run], metric: str):
    fn = METRICS[metric].fn
    vals, seeds, sources = [], [], set()
    for r in sorted(runs, key=lambda r: str(r.config.get("seed"))):
        v, src = fn(r)
        if v is not None:
            vals.append(float(v))
            seeds.append(r.config.get("seed"))
            sources.add(re.sub(r"\b\d+ ", "", src))
    return vals, seeds, sorted(sources)


def rule_cells(rule, runs: list[Run], archs=None, datasets=None) -> list[Cell]:
    """One Cell per (arch, dataset, protocol) group of completed runs holding the rule's
    measures, with its test statistics; verdicts wait for ``decide_family``."""
    groups: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        if r.measure not in rule.measures():
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
    cells = []
    for key, rs in sorted(groups.items(), key=lambda kv: (str(kv[1][0].config.get("arch")),
                                                          str(kv[1][0].config.get("dataset")), kv[0])):
        c = rs[0].config
        if any(not any(r.measure == m for r in rs) for m in rule.measures()):
            continue        # a measure of the rule has no run here: not yet run, not 'insufficient'
        label = f"{c.get('arch')}/{c.get('dataset')}"
        if len(labels[(c.get("arch"), c.get("dataset"), c.get("scale"))]) > 1:
            label += f" [protocol {key}]"
        eval_data = sorted({str((r.summary or {}).get("eval_data")) for r in rs if (r.summary or {}).get("eval_data")})
        va, sa, src_a = _values([r for r in rs if r.measure == rule.measures()[0]], rule.metric)
        sources = set(src_a)
        vb = db = None
        if rule.two_sample:
            vb, sb, src_b = _values([r for r in rs if r.measure == rule.measures()[1]], rule.metric)
            db = {**describe(vb), "values": vb, "seeds": sb}
            sources |= set(src_b)
        if not va and not vb:
            continue        # no run of this protocol holds the metric (e.g. final accuracy of an event study)
        paired = bool(rule.two_sample and all(r.config.get("paired") for r in rs) and sa == db["seeds"])
        cell = cell_from_values(rule, va, vb, label, str(c.get("arch")), str(c.get("dataset")),
                                str(c.get("scale")), key, paired=paired)
        cell.a["seeds"] = sa
        if db is not None:
            cell.b["seeds"] = db["seeds"]
        cell.sources, cell.eval_data = sorted(sources), eval_data
        cells.append(cell)
    return cells


def cell_from_values(rule, va, vb=None, label="cell", arch="", dataset="", scale="", protocol="",
                     paired: bool = False) -> Cell:
    """A cell of ``rule`` from per-seed values (``vb`` None for a one-sample rule): the test
    statistics and one-sided p-values, verdict "pending" until ``decide_family``. ``paired``
    (same seeds on both sides, rules.PAIRED): the one-sample t of the per-seed differences."""
    sign = 1.0 if rule.direction == "higher" else -1.0
    above, below = rule.thresholds()
    n = min(len(va), len(vb)) if rule.two_sample else len(va)
    cell = Cell(rule.label(), label, arch, dataset, scale, protocol, {**describe(va), "values": list(va)},
                {**describe(vb), "values": list(vb)} if rule.two_sample else None, n, rule.delta)
    if n < rules.MIN_SEEDS:
        cell.reason = f"n = {n} < {rules.MIN_SEEDS} seeds in a group"
        return cell
    if paired:
        from gftheory.claims.stats import one_sample_stat
        st = one_sample_stat([a - b for a, b in zip(va, vb)])
        cell.paired = True
    else:
        st = rule.statistic(va, vb)
    ci = st.interval(rules.LEVEL)
    cell.estimate = sign * st.estimate
    cell.low, cell.high = sorted((sign * ci.low, sign * ci.high))
    cell.se, cell.df = st.se, st.df
    scale = max([1.0] + [abs(x) for x in list(va) + list(vb if rule.two_sample else [])])
    if st.se <= rules.DEGENERATE_SE * scale:      # zero spread up to rounding
        cell.verdict = "degenerate"
        cell.reason = "zero spread in every group: an interval of width 0 says nothing; check that the seeds differ"
        return cell
    cell.p_confirm, cell.p_contra = one_sided_p(st, sign, above, below)
    cell.mde = min_detectable(st, rule.delta, rules.ALPHA, rules.POWER)
    cell.verdict = "pending"
    return cell


def decide_family(cells: list[Cell], alpha: float = rules.ALPHA) -> list[Cell]:
    """Holm over every one-sided test of the testable cells (two per cell); sets verdicts."""
    testable = [c for c in cells if c.testable]
    adj = holm([p for c in testable for p in (c.p_confirm, c.p_contra)])
    m = 2 * len(testable)
    for c in testable:      # detectable even at Holm's strictest step (one-sided level α/m)
        c.mde = c.delta + (float(_st.t.ppf(1 - alpha / m, c.df)) + float(_st.t.ppf(rules.POWER, c.df))) * c.se
    for i, c in enumerate(testable):
        c.p_confirm_holm, c.p_contra_holm = adj[2 * i], adj[2 * i + 1]
        if c.p_confirm_holm < alpha:
            c.verdict = "confirmed"
        elif c.p_contra_holm < alpha:
            c.verdict = "contradicted"
        else:
            c.verdict = "inconclusive"
    return cells


def _seeds(cells) -> str:
    ns = [c.n for c in cells]
    if not ns:
        return ""
    return f"n={min(ns)}" if min(ns) == max(ns) else f"n={min(ns)}–{max(ns)}"


def _covered(cells) -> int:
    return len({(c.arch, c.dataset) for c in cells if c.decided})


def rule_verdict(cells: list[Cell], about: int) -> Verdict:
    """``rules.RULE_VERDICT_TEXT`` over one rule's cells at one scale (already decided)."""
    if not cells:
        return Verdict("not yet run", MISSING, "no stored runs", coverage=f"0/{about}")
    scale = cells[0].scale
    decided = [c for c in cells if c.decided]
    cov = f"{_covered(cells)}/{about}"
    if not decided:
        why = "; ".join(sorted({f"{c.cell}: {c.verdict} ({c.reason})" for c in cells}))
        word = "degenerate" if all(c.verdict == "degenerate" for c in cells) else "insufficient"
        return Verdict(f"{word}, evidence in 0 of {about} cells", MISSING, why, _seeds(cells), scale, cov)
    k_conf = sum(c.verdict == "confirmed" for c in decided)
    k_contra = sum(c.verdict == "contradicted" for c in decided)
    k_inc = len(decided) - k_conf - k_contra
    detail = (f"{k_conf} confirmed, {k_contra} contradicted, {k_inc} inconclusive of {len(decided)} decided "
              f"cell(s); evidence in {_covered(cells)} of {about} cells")
    if len(cells) > len(decided):
        detail += "; not decided: " + "; ".join(f"{c.cell} {c.verdict}" for c in cells if not c.decided)
    ev = f"evidence in {_covered(cells)} of {about} cells"
    if k_conf >= rules.CONFIRM_FRACTION * len(decided) and k_contra == 0:
        return Verdict(f"confirmed on {k_conf} of {about} cells", POSITIVE, detail, _seeds(decided), scale, cov)
    if k_contra >= rules.CONTRADICT_FRACTION * len(decided) and k_conf == 0:
        return Verdict(f"contradicted on {k_contra} of {about} cells", NEGATIVE, detail, _seeds(decided), scale, cov)
    if k_conf and k_contra:
        return Verdict(f"mixed, {ev}", OPEN, detail, _seeds(decided), scale, cov)
    return Verdict(f"inconclusive, {ev}", OPEN, detail, _seeds(decided), scale, cov)


def _word(v: Verdict) -> str:
    return v.label.split(",")[0].split(" on ")[0]


def combine_rules(claim: Claim, per_rule: dict[str, Verdict], cells: list[Cell], scale: str) -> Verdict:
    """The claim's combination (``rules.COMBINATIONS``) of its rules' verdicts at one scale."""
    if claim.combine != "all":
        raise ValueError(f"unknown combination {claim.combine!r}")
    about = claim.cells_about()
    R = len(per_rule)
    words = {k: _word(v) for k, v in per_rule.items()}
    by_cell = defaultdict(set)
    for c in cells:
        if c.decided:
            by_cell[(c.arch, c.dataset)].add(c.rule)
    full = sum(len(rs) == R for rs in by_cell.values())
    cov = f"{full}/{about}"
    seeds = _seeds([c for c in cells if c.decided])
    listing = "; ".join(f"{k}: {v.label}" for k, v in per_rule.items())
    n_conf = sum(w == "confirmed" for w in words.values())
    n_contra = sum(w == "contradicted" for w in words.values())
    n_missing = sum(v.cls == MISSING for v in per_rule.values())
    of = f"{R} rule{'s' if R > 1 else ''}"
    if R == 1:
        v = next(iter(per_rule.values()))
        return dataclasses.replace(v, coverage=cov if v.cls != MISSING else v.coverage)
    if n_contra:
        return Verdict(f"contradicted ({n_contra} of {of}), all rules in {full} of {about} cells", NEGATIVE,
                       listing, seeds, scale, cov)
    if n_conf == R:
        return Verdict(f"confirmed ({of}), all rules in {full} of {about} cells", POSITIVE, listing, seeds, scale, cov)
    if n_missing == R:
        word = "not yet run" if all(w == "not yet run" for w in words.values()) else "insufficient"
        return Verdict(word, MISSING, listing, seeds, scale, cov)
    if any(w == "mixed" for w in words.values()):
        return Verdict(f"mixed ({n_conf} of {of} confirmed)", OPEN, listing, seeds, scale, cov)
    if n_missing:
        return Verdict(f"incomplete ({n_conf} of {of} confirmed, {n_missing} without evidence)", OPEN, listing,
                       seeds, scale, cov)
    return Verdict(f"inconclusive ({n_conf} of {of} confirmed)", OPEN, listing, seeds, scale, cov)


@dataclass
class ScaleResult:
    scale: str
    verdict: Verdict
    rules: dict = field(default_factory=dict)      # rule label -> Verdict

    def as_dict(self) -> dict:
        return {"scale": self.scale, "verdict": self.verdict.as_dict(),
                "rules": {k: v.as_dict() for k, v in self.rules.items()}}


def evaluate_rules(claim: Claim, runs: list[Run]) -> tuple[list[Cell], dict[str, ScaleResult]]:
    """Cells of every rule of the claim; per scale: Holm over the claim's family, rule
    verdicts, and their combination."""
    from gftheory.runstore import EVENT_STUDY
    # each claim reads only the kinds of evidence it names (prune-while-training runs / event studies)
    runs = [r for r in runs if ("events" if r.config.get("kind") == EVENT_STUDY else "runs") in claim.evidence]
    cells = [c for rule in claim.comparisons for c in rule_cells(rule, runs, claim.archs, claim.datasets)]
    out: dict[str, ScaleResult] = {}
    for scale in sorted({c.scale for c in cells}, key=rules.scale_rank):
        sc = decide_family([c for c in cells if c.scale == scale])
        per_rule = {r.label(): rule_verdict([c for c in sc if c.rule == r.label()], claim.cells_about())
                    for r in claim.comparisons}
        for k, v in per_rule.items():
            if v.label == "not yet run":
                per_rule[k] = dataclasses.replace(v, label=f"not yet run at {scale} scale", scale=scale)
        v = combine_rules(claim, per_rule, sc, scale)
        if scale in rules.NON_EVIDENCE_SCALES and v.cls in (POSITIVE, NEGATIVE):
            v = dataclasses.replace(v, cls=MISSING, label=v.label + " (plumbing scale, not evidence)")
        out[scale] = ScaleResult(scale, v, per_rule)
    return cells, out


def headline(claim: Claim, per_scale: dict[str, ScaleResult]) -> Verdict:
    """``rules.SCALE_RULE_TEXT``: the highest evidence scale with a decided cell; conflicts flagged."""
    cmd = "; ".join(c for c in claim.commands(seeds=rules.MIN_SEEDS)
                    if c.startswith(("gftheory confirm", "gftheory events"))) or \
        f"gftheory confirm {claim.id} --scale full --seeds 0-{rules.MIN_SEEDS - 1}"
    if not per_scale:
        return Verdict("not yet run", MISSING, f"no stored runs; run: {cmd}", coverage=f"0/{claim.cells_about()}")
    order = sorted(per_scale, key=rules.scale_rank)
    evidence = [s for s in order if s not in rules.NON_EVIDENCE_SCALES]
    decided = [s for s in evidence if per_scale[s].verdict.cls in (POSITIVE, NEGATIVE, OPEN)]
    pick = decided[0] if decided else (evidence[0] if evidence else order[0])
    v = per_scale[pick].verdict
    others = [f"{s}: {per_scale[s].verdict.label}" for s in order if s != pick]
    detail = v.detail + (f". Other scales — {'; '.join(others)}" if others else "")
    if v.cls == MISSING:
        detail += f". Run: {cmd}"
    signs = {per_scale[s].verdict.cls for s in decided} & {POSITIVE, NEGATIVE}
    if signs == {POSITIVE, NEGATIVE}:
        scales = ", ".join(f"{_word(per_scale[s].verdict)} at {s}" for s in decided)
        return Verdict(f"conflicting across scales ({scales})", OPEN, detail, v.seeds, pick, v.coverage)
    return dataclasses.replace(v, label=f"{v.label}, {pick} scale", detail=detail)


# ---------------------------------------------------------------- claims
@dataclass
class ClaimResult:
    claim: Claim
    verdict: Verdict
    identity: Verdict | None = None
    empirical: Verdict | None = None
    cells: list[Cell] = field(default_factory=list)
    parts: dict = field(default_factory=dict)          # component id -> Verdict
    scales: dict = field(default_factory=dict)         # scale -> ScaleResult

    def as_dict(self) -> dict:
        c = self.claim
        return {"id": c.id, "title": c.title, "kind": c.kind, "words": c.words, "source": c.source,
                "formal": c.formal, "statements": list(c.statements), "components": list(c.components),
                "combine": c.combine, "rules": c.rule_text(), "commands": c.commands(), "notes": c.notes,
                "registered": c.registered,          # the rules version it was registered under ("4": stage 2 only)
                "judged_at_stage1": c.judged_at_stage1,
                "verdict": self.verdict.as_dict(),
                "identity": self.identity.as_dict() if self.identity else None,
                "empirical": self.empirical.as_dict() if self.empirical else None,
                "parts": {k: v.as_dict() for k, v in self.parts.items()},
                "scales": {k: v.as_dict() for k, v in self.scales.items()},
                "cells": [x.as_dict() for x in self.cells]}


THEORY_KINDS = ("identity", "approximation", "beyond the paper")


def combine(parts: dict[str, Verdict], theory=()) -> Verdict:
    """``rules.COMPOSITE_RULE_TEXT``: ``theory`` names the parts that are calculus (true for
    every measure whatever the data); only the other parts can make a composite positive."""
    desc = "; ".join(f"{k}: {v.label}" for k, v in parts.items())
    th = {k: v for k, v in parts.items() if k in theory}
    ev = {k: v for k, v in parts.items() if k not in theory}
    if any(v.cls == NEGATIVE for v in parts.values()):
        return Verdict("contradicted", NEGATIVE, desc)
    if not ev:
        if all(v.cls == POSITIVE for v in th.values()):
            return Verdict("theory holds", POSITIVE, desc)
        return Verdict("open", OPEN, desc)
    th_ok = all(v.cls == POSITIVE for v in th.values())
    n_pos = sum(v.cls == POSITIVE for v in ev.values())
    if n_pos == len(ev):
        return Verdict("confirmed", POSITIVE, desc) if th_ok else Verdict("evidence confirmed, theory open", OPEN, desc)
    if n_pos:
        return Verdict("partly confirmed", OPEN, desc)
    if all(v.cls == MISSING for v in ev.values()):
        if th and th_ok:
            return Verdict("theory holds, runs missing", MISSING, desc)
        label = "not yet run" if all(v.label.startswith("not yet run") for v in ev.values()) else "evidence missing"
        return Verdict(label, MISSING, desc)
    return Verdict("open", OPEN, desc)


STAGE2_ONLY = "stage 2 only (a rules-v4 claim)"
STAGE2_ONLY_TEXT = ("registered under rules version 4 before its first data; rules version 3 has no rule for it, "
                    "so stage 1 gives it no verdict: its verdict is stage 2's (confirmatory)")


def evaluate_claims(runset: RunSet | None, live: LiveEvidence, ids=None,
                    runs_error: str | None = None) -> dict[str, ClaimResult]:
    """Verdict of every claim (or of ``ids`` and their components), components first, under rules
    version 3 (stage 1). A claim registered under version 4 has no v3 rule: its runs are still read
    into cells and scales (a description), but its verdict is ``STAGE2_ONLY``, never 'not yet run'
    with a seeds-0–2 command."""
    out: dict[str, ClaimResult] = {}
    runs = runset.runs if runset is not None else []

    def visit(cid: str) -> ClaimResult:
        if cid in out:
            return out[cid]
        c = CLAIMS[cid]
        parts: dict[str, Verdict] = {}
        theory = set()
        ident = emp = None
        cells: list[Cell] = []
        scales: dict[str, ScaleResult] = {}
        if c.statements:
            ident = identity_verdict(c.statements, live)
            parts["proofs+checks"] = ident
            theory.add("proofs+checks")
        if c.comparisons:
            if runs_error:
                emp = Verdict("evidence unavailable", MISSING, f"evidence unavailable: {runs_error}")
            else:
                cells, scales = evaluate_rules(c, runs)
                emp = headline(c, scales) if c.judged_at_stage1 else Verdict(STAGE2_ONLY, MISSING, STAGE2_ONLY_TEXT)
            parts["runs"] = emp
        for sub in c.components:
            parts[sub] = visit(sub).verdict
            if CLAIMS[sub].kind in THEORY_KINDS:
                theory.add(sub)
        if len(parts) == 1:
            verdict = next(iter(parts.values()))
            if c.components:
                verdict = dataclasses.replace(verdict, detail=f"{c.components[0]}: {verdict.label}. {verdict.detail}".strip())
        else:
            verdict = combine(parts, theory)
        out[cid] = ClaimResult(c, verdict, ident, emp, cells,
                               {k: v for k, v in parts.items() if k in c.components}, scales)
        return out[cid]

    for cid in (ids or CLAIMS):
        visit(cid)
    return out
