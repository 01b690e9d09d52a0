"""Rules version 4: the decision engine (``gftheory.claims.rules``, section "rules version 4").

Per rule and cell one test, never corrected for other rules, cells or claims:

* D = sign·(mean(A) − mean(B)) (two-sample) or sign·mean(A) (one-sample), sign = +1 when the claim
  says "higher"; the paired t of the per-seed differences when the cell's seeds pair
  (``runs.fingerprints_match``, or an event study's measures, paired by construction), else Welch;
* confirmed ⇔ p(H0: D ≤ c_confirm) < α; contradicted ⇔ p(H0: D ≥ c_contra) < α; equivalent ⇔
  max(p(H0: D ≤ −δ), p(H0: D ≥ δ)) < α (TOST; only where ``rules.equivalence_allowed``);
* shown: the (1 − 2α) two-sided interval (its ends are the one-sided 1 − α bounds that decide) and
  MDE = δ + λ·se with λ the exact noncentral-t multiplier (``power.noncentral_multiplier``).

A claim in a cell (architecture × dataset, each rule on its primary evidence): confirmed ⇔ every
rule confirmed (intersection–union, Berger 1982: level α without correction); contradicted ⇔ Holm
over the claim's rules in that cell rejects one of their contradiction p-values; equivalent ⇔ Holm
over their TOST p-values rejects one (and none contradicted).
"""
from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass, field

from gftheory.claims import rules
from gftheory.claims.metrics import METRICS, speed_applicable
from gftheory.claims.registry import CLAIMS, Claim, v4_rules
from gftheory.claims.runs import EVENT_SCALE, Run, fingerprint, fingerprints_match
from gftheory.claims.stats import describe, holm, mde_nct, one_sided_p, paired_stat, tost_p

NOT_APPLICABLE = "not applicable at this scale"
TESTED = ("confirmed", "contradicted", "equivalent", "inconclusive")


@dataclass
class Cell4:
    """One rule in one cell under rules version 4 (its verdict depends on this cell's data only)."""
    claim: str
    rule: str                       # the rule's label
    kind: str
    metric: str
    arch: str
    dataset: str
    scale: str
    protocol: str
    evidence: str                   # "runs" | "events"
    primary: bool                   # the rule's primary evidence (decides) or shown below it
    a: dict
    b: dict | None
    n: int = 0
    delta: float = 0.0
    test: str = ""                  # "paired t (k seeds, fingerprints match)" | "Welch t (...)" | "one-sample t"
    estimate: float | None = None
    se: float | None = None
    df: float | None = None
    low: float | None = None        # (1 − 2α) two-sided interval = the one-sided (1 − α) bounds
    high: float | None = None
    mde: float | None = None        # δ + λ·se (exact noncentral t, one-sided α, POWER)
    p_confirm: float | None = None
    p_contra: float | None = None
    p_equiv: float | None = None    # TOST (None where equivalence is not a verdict of this rule)
    verdict: str = "insufficient"
    reason: str = ""
    sources: list = field(default_factory=list)

    @property
    def testable(self) -> bool:
        return self.p_confirm is not None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _sign(rule) -> float:
    return 1.0 if rule.direction == "higher" else -1.0


def cell_from_values4(rule, va, vb=None, *, paired: bool = False, claim: str = "", arch: str = "", dataset: str = "",
                      scale: str = "", protocol: str = "", evidence: str = "runs", primary: bool = True,
                      test: str | None = None) -> Cell4:
    """A rule's v4 cell from per-seed values (``paired``: va[i] and vb[i] are the same seed and
    their fingerprints match). Verdict at α, one test, nothing else enters."""
    sign = _sign(rule)
    above, below = rule.thresholds()
    cell = Cell4(claim, rule.label(), rule.kind, rule.metric, arch, dataset, scale, protocol, evidence, primary,
                 {**describe(va), "values": list(va)}, {**describe(vb), "values": list(vb)} if rule.two_sample else None,
                 delta=rule.delta)
    n = min(len(va), len(vb)) if rule.two_sample else len(va)
    cell.n = n
    if n < rules.MIN_SEEDS:
        cell.reason = f"n = {n} < {rules.MIN_SEEDS} seeds in a group"
        return cell
    if not rule.two_sample:
        from gftheory.claims.stats import one_sample_stat
        st, cell.test = one_sample_stat(va), test or "one-sample t"
    elif paired:
        st, cell.test = paired_stat(va, vb), test or f"paired t ({n} seeds)"
    else:
        from gftheory.claims.stats import welch_stat
        st, cell.test = welch_stat(va, vb), test or "Welch t"
    cell.estimate, cell.se, cell.df = sign * st.estimate, st.se, st.df
    scale_ = max([1.0] + [abs(x) for x in list(va) + list(vb if rule.two_sample else [])])
    if st.se <= rules.DEGENERATE_SE * scale_:
        cell.verdict = "degenerate"
        cell.reason = "zero spread: an interval of width 0 says nothing; check that the seeds differ"
        return cell
    ci = st.interval(rules.DECIDING_LEVEL)
    cell.low, cell.high = sorted((sign * ci.low, sign * ci.high))
    cell.p_confirm, cell.p_contra = one_sided_p(st, sign, above, below)
    if rules.equivalence_allowed(rule):
        cell.p_equiv = tost_p(st, sign, rule.delta)
    cell.mde = mde_nct(st, rule.delta, rules.ALPHA, rules.POWER)
    if cell.p_confirm < rules.ALPHA:
        cell.verdict = "confirmed"
    elif cell.p_contra < rules.ALPHA:
        cell.verdict = "contradicted"
    elif cell.p_equiv is not None and cell.p_equiv < rules.ALPHA:
        cell.verdict = "equivalent"
    else:
        cell.verdict = "inconclusive"
    return cell


def _per_seed(runs: list[Run], metric: str) -> tuple[dict, set]:
    """{seed: (value, run)} of the runs holding the metric, and the fields read."""
    fn = METRICS[metric].fn
    out, sources = {}, set()
    for r in sorted(runs, key=lambda r: str(r.config.get("seed"))):
        v, src = fn(r)
        if v is not None:
            out[r.config.get("seed")] = (float(v), r)
            sources.add(re.sub(r"\b\d+ ", "", src))
    return out, sources


def _seed_key(s):
    return (0, s, "") if isinstance(s, int) else (1, 0, str(s))


def rule_cell4(rule, runs: list[Run], *, claim: str = "", evidence: str = "runs", primary: bool = True) -> Cell4 | None:
    """The v4 cell of ``rule`` over the runs of one (arch, dataset, scale, protocol) group; None
    when a measure of the rule has no run there or no run holds the metric."""
    if any(not any(r.measure == m for r in runs) for m in rule.measures()):
        return None
    c = runs[0].config
    ctx = dict(claim=claim, arch=str(c.get("arch")), dataset=str(c.get("dataset")), scale=str(c.get("scale")),
               protocol=runs[0].protocol_key, evidence=evidence, primary=primary)
    mine = [r for r in runs if r.measure in rule.measures()]
    if rule.metric in rules.SPEED_METRICS:
        bad = [why for ok, why in (speed_applicable(r) for r in mine) if not ok]
        if bad:
            cell = Cell4(claim, rule.label(), rule.kind, rule.metric, ctx["arch"], ctx["dataset"], ctx["scale"],
                         ctx["protocol"], evidence, primary, {"n": 0}, None, delta=rule.delta)
            cell.verdict, cell.reason = NOT_APPLICABLE, bad[0]
            return cell
    pa, src = _per_seed([r for r in mine if r.measure == rule.measures()[0]], rule.metric)
    if not rule.two_sample:
        if not pa:
            return None
        seeds = sorted(pa, key=_seed_key)
        cell = cell_from_values4(rule, [pa[s][0] for s in seeds], **ctx)
        cell.a["seeds"] = seeds
        cell.sources = sorted(src)
        return cell
    pb, src_b = _per_seed([r for r in mine if r.measure == rule.measures()[1]], rule.metric)
    if not pa and not pb:
        return None
    common = sorted(set(pa) & set(pb), key=_seed_key)
    by_construction = all(r.config.get("paired") for r in mine)
    if by_construction:
        matched = common
        how = "paired by construction (event study: same checkpoints, importance sample and probe)"
    else:
        matched = [s for s in common if fingerprints_match(fingerprint(pa[s][1]), fingerprint(pb[s][1]))]
        kinds = sorted({fingerprint(pa[s][1])[0] for s in matched}) if matched else []
        how = f"{' / '.join(kinds) or 'no'} fingerprints match"
    if len(matched) >= rules.MIN_SEEDS:
        left = sorted((set(pa) | set(pb)) - set(matched), key=_seed_key)
        test = (f"paired t ({len(matched)} seeds; {how}"
                + (f"; seed(s) {', '.join(map(str, left))} without a matching partner left out" if left else "") + ")")
        cell = cell_from_values4(rule, [pa[s][0] for s in matched], [pb[s][0] for s in matched], paired=True,
                                 test=test, **ctx)
        cell.a["seeds"] = cell.b["seeds"] = matched
    else:
        sa, sb = sorted(pa, key=_seed_key), sorted(pb, key=_seed_key)
        unmatched = [s for s in common if s not in matched]
        why = (f"fingerprints differ for seed(s) {', '.join(map(str, unmatched))}" if unmatched else
               f"{len(matched)} matching pair(s) < {rules.MIN_SEEDS}")
        cell = cell_from_values4(rule, [pa[s][0] for s in sa], [pb[s][0] for s in sb],
                                 test=f"Welch t ({why})", **ctx)
        cell.a["seeds"], cell.b["seeds"] = sa, sb
    cell.sources = sorted(src | src_b)
    return cell


# ---------------------------------------------------------------- a claim in a cell
@dataclass
class ClaimCell:
    claim: str
    arch: str
    dataset: str
    verdict: str
    detail: str = ""
    rules: dict = field(default_factory=dict)          # rule label -> Cell4 verdict word (or why none)
    p_contra_holm: dict = field(default_factory=dict)  # rule label -> Holm-adjusted over this claim's rules here
    p_equiv_holm: dict = field(default_factory=dict)
    scales: dict = field(default_factory=dict)         # rule label -> scale it was decided at

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def claim_cell(claim_id: str, arch: str, dataset: str, rule_labels: list[str], cells: dict[str, Cell4 | None],
               missing_word: str = "not yet run") -> ClaimCell:
    """``rules.CLAIM_CELL_TEXT``: IUT for confirmation, Holm over this claim's rules in this cell
    for a contradiction and for equivalence. ``cells``: rule label → its primary cell here (or None)."""
    testable = [lab for lab in rule_labels if cells.get(lab) is not None and cells[lab].testable]
    cc = ClaimCell(claim_id, arch, dataset, "inconclusive")
    for lab in rule_labels:
        c = cells.get(lab)
        cc.rules[lab] = missing_word if c is None else c.verdict + (f" ({c.reason})" if c.reason else "")
        if c is not None:
            cc.scales[lab] = c.scale
    if testable:
        adj = holm([cells[lab].p_contra for lab in testable])
        cc.p_contra_holm = dict(zip(testable, adj))
        eq = [lab for lab in testable if cells[lab].p_equiv is not None]
        if eq:
            cc.p_equiv_holm = dict(zip(eq, holm([cells[lab].p_equiv for lab in eq])))
    R = len(rule_labels)
    n_conf = sum(cells.get(lab) is not None and cells[lab].verdict == "confirmed" for lab in rule_labels)
    contra = [lab for lab, p in cc.p_contra_holm.items() if p < rules.ALPHA]
    equiv = [lab for lab, p in cc.p_equiv_holm.items() if p < rules.ALPHA]
    words = [cells[lab].verdict if cells.get(lab) is not None else missing_word for lab in rule_labels]
    pending = [w for w in words if w.startswith("incomplete")]
    if pending:           # stage 2: a planned rule still collects its seeds, so the claim cell is not judged yet
        cc.verdict = pending[0]          # (no interim claim verdict: the plan's cells decide only when complete)
        cc.detail = (f"stage 2: not judged until every planned rule here is complete ({n_conf} of {R} rule(s) "
                     "confirmed so far)") if testable else "stage 2: not judged"
    elif contra:
        cc.verdict, cc.detail = "contradicted", f"Holm over {len(testable)} rule(s): " + ", ".join(contra)
    elif equiv:
        cc.verdict, cc.detail = "equivalent", f"Holm over {len(cc.p_equiv_holm)} rule(s): " + ", ".join(equiv)
    elif n_conf == R:
        cc.verdict, cc.detail = "confirmed", f"all {R} rule(s) confirmed at α (intersection–union)"
    elif testable:
        cc.verdict, cc.detail = "inconclusive", f"{n_conf} of {R} rule(s) confirmed"
    elif all(w == NOT_APPLICABLE for w in words):
        cc.verdict, cc.detail = NOT_APPLICABLE, next(c.reason for c in cells.values() if c is not None)
    elif any(w == "plan made under another rules digest" for w in words):
        cc.verdict = "plan made under another rules digest"
    elif any(w.startswith("not decidable") for w in words):
        cc.verdict = "not decidable on this machine"
    elif all(w in ("not yet run", "not in the plan") for w in words):
        cc.verdict = missing_word if all(w == missing_word for w in words) else "not yet run"
    else:
        cc.verdict = "degenerate" if all(w == "degenerate" for w in words) else "insufficient"
        cc.detail = "; ".join(f"{lab}: {cc.rules[lab]}" for lab in rule_labels)
    return cc


# ---------------------------------------------------------------- a claim under v4
CLASS = {"confirmed": "positive", "contradicted": "negative", "equivalent": "negative", "mixed": "open",
         "inconclusive": "open", "partly confirmed": "open", NOT_APPLICABLE: "missing", "insufficient": "missing",
         "degenerate": "missing", "not yet run": "missing", "not in the plan": "missing", "incomplete": "missing",
         "plan made under another rules digest": "missing", "theory holds": "positive",
         "not decidable on this machine": "missing",
         "theory holds, runs missing": "missing", "evidence missing": "missing", "theory not established": "open",
         "evidence confirmed, theory not established": "open"}


def word_class(label: str) -> str:
    for w in sorted(CLASS, key=len, reverse=True):
        if label.startswith(w):
            return CLASS[w]
    return "missing"


@dataclass
class Claim4:
    claim: Claim
    label: str
    cls: str
    detail: str = ""
    claim_cells: list = field(default_factory=list)    # ClaimCell per (arch, dataset) the claim is about
    cells: list = field(default_factory=list)          # primary Cell4s (decide)
    other: list = field(default_factory=list)          # non-primary Cell4s (shown below, never decide)
    parts: dict = field(default_factory=dict)          # component id -> label

    def as_dict(self) -> dict:
        return {"id": self.claim.id, "verdict": self.label, "class": self.cls, "detail": self.detail,
                "claim_cells": [c.as_dict() for c in self.claim_cells], "cells": [c.as_dict() for c in self.cells],
                "other": [c.as_dict() for c in self.other], "parts": dict(self.parts)}


def _groups(runs: list[Run]) -> dict:
    g = defaultdict(list)
    for r in runs:
        g[(str(r.config.get("arch")), str(r.config.get("dataset")), str(r.config.get("scale")), r.protocol_key)].append(r)
    return g


def _evidence_of(run: Run) -> str:
    return "events" if run.config.get("scale") == EVENT_SCALE else "runs"


def rule_cells4(claim: Claim, runs: list[Run]) -> list[Cell4]:
    """Every v4 cell of every rule of the claim (any scale, any protocol), primary or not."""
    from gftheory.runstore import EVENT_STUDY
    runs = [r for r in runs if ("events" if r.config.get("kind") == EVENT_STUDY else "runs") in claim.evidence
            and r.config.get("arch") in claim.archs and r.config.get("dataset") in claim.datasets]
    out = []
    groups = _groups(runs)
    for rule, primary in v4_rules(claim):
        for key in sorted(groups):
            rs = groups[key]
            ev = _evidence_of(rs[0])
            is_primary = ev == primary and key[2] not in rules.NON_EVIDENCE_SCALES
            cell = rule_cell4(rule, [r for r in rs if r.measure in rule.measures()] or rs, claim=claim.id,
                              evidence=ev, primary=is_primary)
            if cell is not None:
                out.append(cell)
    return out


def _scale_pref(cell: Cell4) -> tuple:
    tested = cell.testable or cell.verdict == NOT_APPLICABLE
    return (0 if tested else 1, rules.scale_rank(cell.scale), -cell.n, cell.protocol)


def choose_primary(cells: list[Cell4]) -> dict:
    """(rule label, arch, dataset) → the deciding cell: on the primary evidence, the highest scale
    with a tested cell (``rules.RUN_SCALES`` order), else the highest with any cell; among
    protocols at one scale the one with the most seeds."""
    best: dict = {}
    for c in cells:
        if not c.primary:
            continue
        k = (c.rule, c.arch, c.dataset)
        if k not in best or _scale_pref(c) < _scale_pref(best[k]):
            best[k] = c
    return best


def headline4(claim: Claim, ccs: list[ClaimCell]) -> tuple[str, str, str]:
    """``rules.HEADLINE_TEXT``: (label, class, detail) from the claim's cells."""
    N = claim.cells_about()
    count = defaultdict(list)
    for cc in ccs:
        count[cc.verdict.split(" (")[0]].append(f"{cc.arch}/{cc.dataset}")
    detail = "; ".join(f"{cc.arch}/{cc.dataset}: {cc.verdict}" + (f" ({cc.detail})" if cc.detail else "") for cc in ccs)
    k_conf, k_con, k_eq = (len(count.get(w, [])) for w in ("confirmed", "contradicted", "equivalent"))
    k_inc = len(count.get("inconclusive", []))
    inc = [w for w in count if w.startswith("incomplete")]
    k_wait = sum(len(count[w]) for w in inc)       # stage-2 cells with data still to come: said first
    wait = f"; incomplete in {k_wait}" if k_wait else ""   # a decided headline never hides cells still to come
    if k_conf and (k_con or k_eq):
        return (f"mixed: confirmed in {k_conf}, contradicted in {k_con}, equivalent in {k_eq} of {N} cells{wait}",
                "open", detail)
    for word, k in (("confirmed", k_conf), ("contradicted", k_con), ("equivalent", k_eq)):
        if k:
            rest = f"; inconclusive in {k_inc}" if k_inc else ""
            return f"{word} in {k} of {N} cells{rest}{wait}", CLASS[word], detail
    if k_inc:
        return f"inconclusive in {k_inc} of {N} cells{wait}", "open", detail
    for word in (NOT_APPLICABLE, "plan made under another rules digest", "not decidable on this machine",
                 "degenerate", "insufficient"):
        if count.get(word):
            label = f"{word} ({len(count[word])} of {N} cells)"
            return (f"incomplete in {k_wait} of {N} cells; " if k_wait else "") + label, "missing", detail
    if inc:
        return f"incomplete in {k_wait} of {N} cells", "missing", detail
    if count.get("not in the plan") and not count.get("not yet run"):
        return "not in the plan", "missing", detail
    return "not yet run", "missing", detail


def evaluate_claim4(claim: Claim, runs: list[Run], missing_word: str = "not yet run") -> Claim4:
    """The claim's own rules under v4 (no components): primary cells → claim cells → headline."""
    cells = rule_cells4(claim, runs)
    best = choose_primary(cells)
    prim = list(best.values())
    labels = [r.label() for r, _ in v4_rules(claim)]
    ccs = []
    for a in claim.archs:
        for d in claim.datasets:
            here = {lab: best.get((lab, a, d)) for lab in labels}
            if not any(here.values()):
                continue
            ccs.append(claim_cell(claim.id, a, d, labels, here, missing_word))
    label, cls, detail = headline4(claim, ccs)
    chosen = {id(c) for c in prim}
    return Claim4(claim, label, cls, detail, ccs, prim, [c for c in cells if id(c) not in chosen])


def combine4(parts: dict[str, tuple[str, str]], theory=()) -> tuple[str, str]:
    """``rules.COMPOSITE_RULE_TEXT_V4``: parts = {name: (label, class)} → (label, class)."""
    th = {k: v for k, v in parts.items() if k in theory}
    ev = {k: v for k, v in parts.items() if k not in theory}
    if any(lab.startswith(("refuted", "contradicted")) for lab, _ in parts.values()):
        return "contradicted", "negative"
    th_ok = all(c == "positive" for _, c in th.values())
    if not ev:
        return ("theory holds", "positive") if th_ok else ("theory not established", "open")
    n_pos = sum(c == "positive" for _, c in ev.values())
    if n_pos == len(ev):
        return ("confirmed", "positive") if th_ok else ("evidence confirmed, theory not established", "open")
    if n_pos:
        return "partly confirmed", "open"
    if all(c == "missing" for _, c in ev.values()):
        if th and th_ok:
            return "theory holds, runs missing", "missing"
        labels = {lab for lab, _ in ev.values()}
        if len(labels) == 1:
            lab = labels.pop()
            return lab, word_class(lab)
        return "evidence missing", "missing"
    # no positive, no contradiction: the empirical parts' own word (equivalent / inconclusive / mixed)
    words = [lab for lab, c in ev.values() if c != "missing"]
    if any(w.startswith("equivalent") for w in words):
        return "equivalent" + (" (a part)" if len(ev) > 1 else ""), "negative"
    return "inconclusive", "open"


def evaluate_claims4(runs: list[Run], live, ids=None, missing_word: str = "not yet run") -> dict[str, Claim4]:
    """Every claim under rules version 4 over ``runs`` (one stage's runs); identity parts from
    ``live`` (``verdicts.identity_verdict``)."""
    from gftheory.claims.verdicts import THEORY_KINDS, identity_verdict
    out: dict[str, Claim4] = {}

    def visit(cid: str) -> Claim4:
        if cid in out:
            return out[cid]
        c = CLAIMS[cid]
        parts: dict[str, tuple[str, str]] = {}
        theory = set()
        own = None
        if c.statements:
            iv = identity_verdict(c.statements, live)
            cls = iv.cls if iv.cls != "open" else "open"
            label = iv.label if iv.cls != "open" else "theory not established (" + iv.label + ")"
            parts["proofs+checks"] = (label, cls)
            theory.add("proofs+checks")
        if c.comparisons:
            own = evaluate_claim4(c, runs, missing_word)
            parts["runs"] = (own.label, own.cls)
        for sub in c.components:
            s = visit(sub)
            parts[sub] = (s.label, s.cls)
            if CLAIMS[sub].kind in THEORY_KINDS:
                theory.add(sub)
        if len(parts) == 1:
            label, cls = next(iter(parts.values()))
        else:
            label, cls = combine4(parts, theory)
        res = own or Claim4(c, label, cls)
        res = dataclasses.replace(res, label=label, cls=cls,
                                  parts={k: v[0] for k, v in parts.items()},
                                  detail=(res.detail if own and len(parts) == 1 else
                                          "; ".join(f"{k}: {v[0]}" for k, v in parts.items())))
        out[cid] = res
        return res

    for cid in (ids or CLAIMS):
        visit(cid)
    return out
