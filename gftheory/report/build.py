"""Assemble the report document (see ``document``) and its JSON twin from computed verdicts,
live evidence and stored runs. Nothing here decides a verdict; it only presents them."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from gftheory.claims import rules
from gftheory.claims.metrics import METRICS, layer_fractions
from gftheory.claims.runs import WITHIN_CELL_KEYS, RunSet
from gftheory.claims.text import cell_effect, fmt, mean_std
from gftheory.claims.verdicts import ClaimResult, LiveEvidence
from gftheory.report.plots import PLOTTERS


def _v(verdict) -> str:
    return f"[[{verdict.cls}]]{verdict.label}"


def _anchor(cid: str) -> str:
    return f"claim-{cid}"


def _scope_runs(claim, runset: RunSet | None, all_measures: bool = False):
    if runset is None:
        return []
    ms = set(claim.measures())
    return [r for r in runset.runs if r.config.get("arch") in claim.archs and r.config.get("dataset") in claim.datasets
            and (all_measures or r.measure in ms)]


def _groups(runs):
    g = defaultdict(list)
    for r in runs:
        g[r.protocol_key].append(r)
    return dict(sorted(g.items(), key=lambda kv: (str(kv[1][0].config.get("arch")), str(kv[1][0].config.get("dataset")),
                                                   str(kv[1][0].config.get("scale")))))


class FigureCache:
    """Figures drawn once per report run (not across runs)."""

    def __init__(self):
        self._cache: dict = {}

    def get(self, kind: str, key: str, by_measure: dict, title: str):
        ident = (kind, key, tuple(sorted((m, tuple(sorted(r.run_id for r in rs))) for m, rs in by_measure.items())))
        if ident not in self._cache:
            png = PLOTTERS[kind](by_measure, title)
            name = f"{kind}-{key}-{hashlib.sha1(repr(ident).encode()).hexdigest()[:8]}.png"
            self._cache[ident] = (png, name)
        return self._cache[ident]


def _identity_blocks(claim, live: LiveEvidence) -> list:
    blocks: list = []
    rows = []
    for sid in claim.statements:
        for r in live.checks_for(sid):
            rows.append([str(r.get("id")), str(r.get("method", "")), fmt(r.get("cases")), fmt(r.get("worst_rel_error")),
                         fmt(r.get("fitted_order")), fmt(r.get("tolerance")),
                         "[[positive]]pass" if r.get("passed") else "[[negative]]FAIL", fmt(r.get("seconds"), 3)])
        if live.checks is not None and not live.checks_for(sid):
            rows.append([sid, "—", "", "", "", "", "[[missing]]no check", ""])
    if live.checks is None:
        blocks.append(("p", f"**Numeric checks:** evidence unavailable: {live.checks_error}"))
    elif rows:
        blocks.append(("p", "**Numeric checks** (`gftheory.checks.run_checks`):"))
        blocks.append(("table", ["check", "method", "cases", "worst rel. error", "fitted order", "tolerance",
                                 "result", "seconds"], rows))
    prows, derivs = [], []
    for sid in claim.statements:
        for r in live.proofs_for(sid):
            st = r.get("status")
            prows.append([str(r.get("id")), ("[[positive]]" if st == "proved" else "[[negative]]") + str(st),
                          str(r.get("generality", "")), "; ".join(map(str, r.get("assumptions") or [])),
                          fmt(r.get("steps_checked")), fmt(r.get("seconds"), 3)])
            if r.get("markdown"):
                derivs.append(("details", f"derivation {r.get('id')} ({st})", [("md", str(r["markdown"]))]))
        if live.proofs is not None and not live.proofs_for(sid):
            prows.append([sid, "[[missing]]no proof", "", "", "", ""])
    if live.proofs is None:
        blocks.append(("p", f"**Proofs:** evidence unavailable: {live.proofs_error}"))
    elif prows:
        blocks.append(("p", "**Proofs** (`gftheory.symbolic.run_proofs`):"))
        blocks.append(("table", ["proof", "status", "generality", "assumptions", "steps checked", "seconds"], prows))
        blocks.extend(derivs)
    return blocks


def _scale_blocks(result: ClaimResult) -> list:
    """Every scale's verdict, and each rule's verdict at that scale (nothing hidden)."""
    if not result.scales:
        return []
    rows = []
    for scale, sr in result.scales.items():
        rows.append([f"**{scale}**", "(claim)", _v(sr.verdict), sr.verdict.seeds or "", sr.verdict.coverage or ""])
        if len(sr.rules) > 1:
            for label, v in sr.rules.items():
                rows.append([scale, label, _v(v), v.seeds or "", v.coverage or ""])
    return [("p", "Verdict at every scale (claim, then each rule; coverage = cells with evidence / cells the claim "
                  "is about):"), ("table", ["scale", "rule", "verdict", "seeds", "coverage"], rows)]


def _cells_blocks(result: ClaimResult) -> list:
    rows = []
    for c in result.cells:
        cls = {"confirmed": "positive", "contradicted": "negative", "inconclusive": "open"}.get(c.verdict, "missing")
        rows.append([c.rule, c.cell, c.scale, mean_std(c.a), mean_std(c.b) if c.b is not None else "(vs 0)",
                     str(c.n), cell_effect(c), fmt(c.delta, 3), fmt(c.mde, 3),
                     f"{fmt(c.p_confirm_holm, 2)} / {fmt(c.p_contra_holm, 2)}",
                     f"[[{cls}]]{c.verdict}" + (f" ({c.reason})" if c.reason else "")])
    sources = sorted({s for c in result.cells for s in c.sources})
    evals = sorted({s for c in result.cells for s in c.eval_data})
    blocks = [("table", ["rule", "cell", "scale", "A: mean ± std (n)", "B: mean ± std (n)", "n",
                         "effect D (claimed direction) [CI95 Welch]", "δ", "MDE (80 % power, Holm α/m)", "Holm p confirm / contra",
                         "cell verdict"], rows)]
    metrics = sorted({c.rule.split(":")[0].split("(")[0] for c in result.cells})
    blocks.append(("p", "Metrics: " + "; ".join(f"`{m}` = {METRICS[m].description}" for m in metrics if m in METRICS)
                   + (f". Fields read: {', '.join(sources)}" if sources else "")
                   + (f". Evaluation data: {'; '.join(evals)}" if evals else "") + "."))
    return blocks


def _provenance_blocks(runs) -> list:
    if not runs:
        return []
    prov = [r.provenance or (r.summary or {}).get("provenance") or {} for r in runs]
    versions = sorted({str(p.get("code_version")) for p in prov if p.get("code_version")})
    devices = sorted({str(p.get("device")) for p in prov if p.get("device")})
    times = sorted(str(p.get("time_utc")) for p in prov if p.get("time_utc"))
    devs = sorted({str(d) for r in runs for d in r.deviations})
    items = [f"{len(runs)} completed run(s) from {', '.join(sorted({str(r.path.parent) for r in runs}))}",
             f"code version(s): {', '.join(versions) or 'not recorded'}",
             f"device(s): {', '.join(devices) or 'not recorded'}",
             f"dates (UTC): {times[0]} … {times[-1]}" if times else "dates: not recorded"]
    if devs:
        items.append("deviations from the paper's protocol: " + "; ".join(devs))
    configs = []
    for key, rs in _groups(runs).items():
        cfg = {k: v for k, v in sorted(rs[0].config.items()) if k not in WITHIN_CELL_KEYS}
        configs.append(("p", f"protocol `{key}` — measures {', '.join(sorted({r.measure for r in rs}))}; "
                             f"seeds {', '.join(sorted({str(r.config.get('seed')) for r in rs}))}"))
        configs.append(("code", json.dumps(cfg, indent=1, sort_keys=True, default=str)))
    return [("p", "**Provenance of the stored runs:**"), ("ul", items),
            ("details", "configs (all fields except measure and seed)", configs)]


def _widths_table(runs) -> list:
    blocks = []
    for key, rs in _groups(runs).items():
        by_m = defaultdict(list)
        for r in rs:
            f = layer_fractions(r)
            if f:
                by_m[r.measure].append(f)
        if not by_m:
            continue
        names = [n for n, _ in next(iter(by_m.values()))[0]]
        rows = []
        for m, fs in sorted(by_m.items()):
            fs = [f for f in fs if len(f) == len(names)]
            rows.append([m, str(len(fs))] + [f"{sum(f[i][1] for f in fs) / len(fs):.2f}" for i in range(len(names))])
        c = rs[0].config
        blocks.append(("details", f"per-layer remaining fraction, {c.get('arch')}/{c.get('dataset')} ({c.get('scale')})",
                       [("p", "layers: " + ", ".join(f"{i}={n}" for i, n in enumerate(names))),
                        ("table", ["measure", "n"] + [str(i) for i in range(len(names))], rows)]))
    return blocks


def _proof_method_text(live: LiveEvidence) -> str:
    from gftheory.symbolic.equality import numeric_test_text
    return ("proof steps: 'symbolic' (sympy cancels lhs − rhs exactly) or 'numeric identity test' (" + numeric_test_text()
            + "); a proof is 'proved' only if every step is symbolic, else 'identity-tested'")


def claim_blocks(result: ClaimResult, live: LiveEvidence, runset: RunSet | None, figures: FigureCache) -> list:
    c = result.claim
    b: list = [("h", 2, f"{c.id} — {c.title}", _anchor(c.id)),
               ("table", ["", ""], [["kind", c.kind], ["paper's words", f"“{c.words}” ({c.source})"],
                                    ["formal statement", c.formal],
                                    ["verdict", _v(result.verdict) + (f" [{result.verdict.seeds}]" if result.verdict.seeds else "")],
                                    ["why", result.verdict.detail or "—"]])]
    if c.notes:
        b.append(("p", f"Note: {c.notes}"))
    b.append(("p", "**Decision rule** (fixed before any data):"))
    b.append(("ul", c.rule_text()))
    if c.statements:
        b.append(("p", f"**Proofs and numeric checks** for {', '.join(f'`{s}`' for s in c.statements)}: "
                       f"{result.identity.label}" + (f" — {result.identity.detail}" if result.identity.detail else "")))
        b.extend(_identity_blocks(c, live))
    if result.parts:
        b.append(("table", ["component", "verdict", "why"],
                  [[f"[{k}](#{_anchor(k)})", _v(v), v.detail or "—"] for k, v in result.parts.items()]))
    if c.comparisons:
        b.append(("p", f"**Empirical evidence** ({len(result.cells)} cell(s)): {result.empirical.label}"
                       + (f" — {result.empirical.detail}" if result.empirical.detail else "")))
        b.extend(_scale_blocks(result))
        if result.cells:
            b.extend(_cells_blocks(result))
        scoped = _scope_runs(c, runset, all_measures=True)   # one figure per cell, every measure
        for kind in c.plots:
            for key, rs in _groups(scoped).items():
                by_m = defaultdict(list)
                for r in rs:
                    by_m[r.measure].append(r)
                cfg = rs[0].config
                title = f"{cfg.get('arch')}/{cfg.get('dataset')} ({cfg.get('scale')}, protocol {key})"
                png, name = figures.get(kind, key, dict(sorted(by_m.items())), title)
                if png:
                    b.append(("img", f"{title}: {kind}", png, name))
        if "widths" in c.plots:
            b.extend(_widths_table(scoped))
        b.extend(_provenance_blocks(_scope_runs(c, runset)))
    b.append(("p", "**Reproduce:**"))
    b.append(("code", "\n".join(c.commands()) or "(no command)"))
    return b


def build_document(results: dict, live: LiveEvidence, runset: RunSet | None, meta: dict) -> tuple[list, dict]:
    prov = meta.get("provenance", {})
    banner = []
    if runset is not None and runset.planted_in_use:
        n = sum(r.planted for r in runset.runs)
        banner = [("p", f"**[[negative]]PLANTED DATA: {n} of the {len(runset.runs)} runs counted here are synthetic runs "
                        f"with planted values (gftheory.claims.synthetic). Nothing in this report is evidence about "
                        f"the paper.**")]
    blocks: list = [("h", 1, "gftheory: claims of “A Gradient Flow Framework For Analyzing Network Pruning”", None),
                    *banner,
                    ("p", f"Generated {prov.get('time_utc', '?')} by `{meta.get('command', 'gftheory report')}`; code "
                          f"{prov.get('code_version', '?')}; Python {prov.get('python', '?')}, torch {prov.get('torch', '?')}; "
                          f"device {prov.get('device', '?')}; {prov.get('platform', '')}. Decision rules version "
                          f"{rules.RULES_VERSION}, digest `{rules.rules_digest()}` (gftheory/claims/rules.py)."),
                    ("h", 2, "Summary", "summary"),
                    ("table", ["claim", "kind", "verdict", "seeds", "coverage", "title"],
                     [[f"[{cid}](#{_anchor(cid)})", r.claim.kind, _v(r.verdict), r.verdict.seeds or "",
                       r.verdict.coverage or "", r.claim.title] for cid, r in results.items()])]
    src = ["proofs: " + (f"{len(live.proofs)} result(s) in {live.seconds.get('proofs', 0):.1f} s (run live)"
                          if live.proofs is not None else f"evidence unavailable: {live.proofs_error}"),
           f"numeric checks (profile {meta.get('profile')}): " +
           (f"{len(live.checks)} result(s) in {live.seconds.get('checks', 0):.1f} s (run live)"
            if live.checks is not None else f"evidence unavailable: {live.checks_error}")]
    if runset is not None:
        src.append(f"stored runs: {len(runset.runs)} completed run(s) under {', '.join(runset.roots)}"
                   + (f"; {runset.incomplete} incomplete run(s) ignored" if runset.incomplete else "")
                   + (f"; {len(runset.unreadable)} unreadable: {'; '.join(runset.unreadable[:5])}" if runset.unreadable else "")
                   + (f"; {len(runset.planted)} planted (synthetic) run(s) set aside, not counted" if runset.planted else ""))
    blocks += [("h", 2, "Evidence sources", "sources"), ("ul", src),
               ("h", 2, "How verdicts are decided", "rules"),
               ("ul", [f"rules version {rules.RULES_VERSION}, digest `{rules.rules_digest()}`: any change of a rule "
                       f"changes the digest", rules.IDENTITY_RULE_TEXT, rules.CELL_RULE_TEXT, rules.RULE_VERDICT_TEXT,
                       "claim: " + "; ".join(f"{k}: {v}" for k, v in rules.COMBINATIONS.items()),
                       rules.SCALE_RULE_TEXT, rules.COMPOSITE_RULE_TEXT,
                       "minimum meaningful difference δ per metric: " + "; ".join(
                           f"{k} {v:g}" for k, v in rules.MIN_EFFECT.items()),
                       _proof_method_text(live),
                       "verdict colours: green positive, red negative, yellow open, grey missing"])]
    figures = FigureCache()
    for cid, r in results.items():
        blocks += claim_blocks(r, live, runset, figures)
    data = {"meta": {**meta, "rules_version": rules.RULES_VERSION, "rules_digest": rules.rules_digest(),
                     "planted_in_use": bool(runset is not None and runset.planted_in_use)}, "summary": [{"id": cid, "verdict": r.verdict.label, "class": r.verdict.cls,
                                       "seeds": r.verdict.seeds, "scale": r.verdict.scale,
                                       "coverage": r.verdict.coverage} for cid, r in results.items()],
            "claims": [r.as_dict() for r in results.values()],
            "live": {"checks": live.checks, "proofs": live.proofs, "checks_error": live.checks_error,
                     "proofs_error": live.proofs_error, "seconds": live.seconds},
            "runs": None if runset is None else {"roots": runset.roots, "completed": [str(r.path) for r in runset.runs],
                                                 "incomplete": runset.incomplete, "unreadable": runset.unreadable,
                                                 "planted_set_aside": [str(r.path) for r in runset.planted]}}
    return blocks, data
