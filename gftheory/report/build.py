"""Assemble the report document (see ``document``) and its JSON twin from computed verdicts,
live evidence and stored runs. Nothing here decides a verdict; it only presents what
``gftheory.claims`` computed. Generic over claims, rules, metrics and scales: a new claim, rule
kind, metric or scale shows up without changes here."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from statistics import median

from gftheory.claims import rules
from gftheory.claims.metrics import METRICS, final_acc, layer_fractions
from gftheory.claims.registry import CLAIMS, DEFAULT_SEEDS, runs_needed
from gftheory.claims.runs import ALL_MEASURES, EVENT_SCALE, WITHIN_CELL_KEYS, RunSet
from gftheory.claims.text import cell_effect, fmt, mean_std
from gftheory.claims.verdicts import STAGE2_ONLY_TEXT, ClaimResult, LiveEvidence
from gftheory.claims.missing import distinct_cost, missing_cells
from gftheory.report import costs, plots
from gftheory.seeds import format_seeds

CELL_CLASS = {"confirmed": "positive", "contradicted": "negative", "inconclusive": "open"}


def _v(verdict) -> str:
    return f"[[{verdict.cls}]]{verdict.label}"


def _anchor(cid: str) -> str:
    return f"claim-{cid}"


def _scope_runs(claim, runset: RunSet | None):
    if runset is None:
        return []
    ms = set(claim.measures())
    return [r for r in runset.runs if r.config.get("arch") in claim.archs and r.config.get("dataset") in claim.datasets
            and r.measure in ms]


def _groups(runs):
    g = defaultdict(list)
    for r in runs:
        g[r.protocol_key].append(r)
    return dict(sorted(g.items(), key=lambda kv: (str(kv[1][0].config.get("arch")), str(kv[1][0].config.get("dataset")),
                                                   str(kv[1][0].config.get("scale")))))


def _cells_of(runs) -> dict[str, dict[str, list]]:
    """{cell label: {measure: [runs]}} for runs of one scale (label as the verdict cells name it)."""
    groups = _groups(runs)
    per = defaultdict(list)
    for key, rs in groups.items():
        c = rs[0].config
        per[(c.get("arch"), c.get("dataset"))].append(key)
    out: dict[str, dict[str, list]] = {}
    for key, rs in groups.items():
        c = rs[0].config
        label = f"{c.get('arch')}/{c.get('dataset')}" + (
            f" [protocol {key}]" if len(per[(c.get("arch"), c.get("dataset"))]) > 1 else "")
        by_m = defaultdict(list)
        for r in rs:
            by_m[r.measure].append(r)
        out[label] = dict(by_m)
    return out


class FigureCache:
    """Each figure drawn once per report; a second request returns it as a reference."""

    def __init__(self):
        self._cache: dict = {}
        self._draws: dict = {}             # ident -> the callable that drew it (for ``redraw``)
        self.derivations: dict = {}        # proof id -> claim id where its derivation is shown
        self.configs: dict = {}            # protocol key -> claim id where its config is shown

    def get(self, ident: tuple, draw):
        """(png, filename, first) — ``first`` False when this figure was already placed."""
        if ident not in self._cache:
            png = draw()
            name = f"{ident[0]}-{hashlib.sha1(repr(ident).encode()).hexdigest()[:10]}.png"
            self._cache[ident] = [png, name, False]
            self._draws[ident] = draw
        entry = self._cache[ident]
        first = not entry[2]
        entry[2] = True
        return entry[0], entry[1], first

    def redraw(self, enc) -> dict[str, bytes]:
        """Every figure drawn again at ``enc`` (a ``plots.Encoding``): {filename: png}; the cache
        then holds the new images (names and placement unchanged)."""
        out = {}
        with plots.encoding(enc):
            for ident, entry in self._cache.items():
                if entry[0]:
                    entry[0] = self._draws[ident]()
                    out[entry[1]] = entry[0]
        return out


def _img(figures: FigureCache, ident: tuple, draw, caption: str) -> list:
    png, name, first = figures.get(ident, draw)
    return [("img", caption, png, name, first)] if png else []


def _deriv_anchor(pid) -> str:
    return "deriv-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(pid))


def _identity_blocks(claim, live: LiveEvidence, figures: FigureCache) -> list:
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
            prows.append([str(r.get("id")), {"proved": "[[positive]]", "identity-tested": "[[tested]]"}.get(
                st, "[[negative]]") + str(st),
                          str(r.get("generality", "")), "; ".join(map(str, r.get("assumptions") or [])),
                          fmt(r.get("steps_checked")), fmt(r.get("seconds"), 3)])
            pid = str(r.get("id"))
            if r.get("markdown") and pid in figures.derivations:     # shown once, referenced after
                derivs.append(("p", f"Derivation {pid}: shown under [{figures.derivations[pid]}](#{_deriv_anchor(pid)})."))
            elif r.get("markdown"):
                figures.derivations[pid] = claim.id
                derivs.append(("details", f"derivation {pid} ({st})", [("md", str(r["markdown"]))], _deriv_anchor(pid)))
        if live.proofs is not None and not live.proofs_for(sid):
            prows.append([sid, "[[missing]]no proof", "", "", "", ""])
    if live.proofs is None:
        blocks.append(("p", f"**Proofs:** evidence unavailable: {live.proofs_error}"))
    elif prows:
        blocks.append(("p", "**Proofs** (`proofs.run_proofs`; [how steps are checked](#rule-proof-steps)):"))
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
                rows.append([scale, f"`{label}`", _v(v), v.seeds or "", v.coverage or ""])
    return [("p", "Verdict at every scale (claim, then each rule; [scale rule](#rule-scale); coverage = cells with "
                  "evidence / cells the claim is about):"), ("table", ["scale", "rule", "verdict", "seeds", "coverage"], rows)]


def _cells_blocks(result: ClaimResult) -> list:
    rows = []
    for c in result.cells:
        cls = CELL_CLASS.get(c.verdict, "missing")
        rows.append([f"`{c.rule}`", c.cell, c.scale, mean_std(c.a), mean_std(c.b) if c.b is not None else "(vs 0)",
                     str(c.n), cell_effect(c), fmt(c.delta, 3), fmt(c.mde, 3),
                     f"{fmt(c.p_confirm_holm, 2)} / {fmt(c.p_contra_holm, 2)}",
                     f"[[{cls}]]{c.verdict}" + (f" ({c.reason})" if c.reason else "")])
    sources = sorted({s for c in result.cells for s in c.sources})
    evals = sorted({s for c in result.cells for s in c.eval_data})
    blocks = [("p", "Cells ([cell rule](#rule-cell)):"),
              ("table", ["rule", "cell", "scale", "A: mean ± std (n)", "B: mean ± std (n)", "n",
                         "effect D (claimed direction) [CI95 Welch]", "δ", "MDE (80 % power, Holm α/m)",
                         "Holm p confirm / contra", "cell verdict"], rows)]
    metrics = sorted({m for r in result.claim.comparisons for m in [r.metric]})
    blocks.append(("p", "Metrics: " + "; ".join(f"`{m}` = {METRICS[m].description}" for m in metrics if m in METRICS)
                   + (f". Fields read: {', '.join(sources)}" if sources else "")
                   + (f". Evaluation data: {'; '.join(evals)}" if evals else "") + "."))
    return blocks


def _provenance_blocks(runs, figures: "FigureCache | None" = None, cid: str = "") -> list:
    """Provenance of the claim's runs; each protocol's config is printed once per report (under the
    first claim that shows it) and referenced after (``figures.configs``)."""
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
        seen = getattr(figures, "configs", None)
        if seen is not None and key in seen:
            configs.append(("p", f"config of protocol `{key}`: shown under [{seen[key]}](#{_anchor(seen[key])})."))
            continue
        if seen is not None:
            seen[key] = cid
        configs.append(("code", json.dumps(cfg, indent=1, sort_keys=True, default=str)))
    return [("details", "provenance of the stored runs and their configs",
             [("ul", items), *configs])]


def _widths_table(by_cell: dict) -> list:
    blocks = []
    for cell, by_m in by_cell.items():
        fr = {m: [f for f in (layer_fractions(r) for r in rs) if f] for m, rs in by_m.items()}
        fr = {m: fs for m, fs in fr.items() if fs}
        if not fr:
            continue
        names = [n for n, _ in next(iter(fr.values()))[0]]
        rows = []
        for m, fs in sorted(fr.items()):
            fs = [f for f in fs if len(f) == len(names)]
            rows.append([m, str(len(fs))] + [f"{sum(f[i][1] for f in fs) / len(fs):.2f}" for i in range(len(names))])
        blocks.append(("details", f"per-layer remaining fraction, {cell}",
                       [("p", "layers: " + ", ".join(f"{i}={n}" for i, n in enumerate(names))),
                        ("table", ["measure", "n"] + [str(i) for i in range(len(names))], rows)]))
    return blocks


def _figure_blocks(result: ClaimResult, runset: RunSet | None, figures: FigureCache) -> list:
    """Per scale: what the rules compare (per-seed values), then the claim's views (curves, events,
    widths) — only the measures its rules compare."""
    c = result.claim
    measures = list(c.measures())
    scoped = _scope_runs(c, runset)
    out: list = []
    metrics = list(dict.fromkeys(r.metric for r in c.comparisons))
    for scale in sorted({str(r.config.get("scale")) for r in scoped}, key=rules.scale_rank):
        runs = [r for r in scoped if str(r.config.get("scale")) == scale]
        by_cell = _cells_of(runs)
        ids = tuple(sorted(r.run_id for r in runs))
        panels: dict = {}
        for metric in metrics:
            ms = [m for rule in c.comparisons if rule.metric == metric for m in rule.measures()]
            for cell, by_m in by_cell.items():
                vals = {m: [v for v in (METRICS[metric].fn(r)[0] for r in by_m.get(m, [])) if v is not None]
                        for m in dict.fromkeys(ms)}
                if any(vals.values()):
                    panels[(metric, cell)] = vals
        if panels:
            out += _img(figures, ("compare", scale, tuple(measures), tuple(metrics), ids),
                        lambda panels=panels, t=f"{c.id}, {scale} scale": plots.compare_png(panels, measures, t),
                        f"{c.id}, {scale} scale: the values its rules compare, per cell")
        for kind in c.plots:
            if kind == "curves" and not any(_reads_curves(m, runs) for m in metrics):
                continue      # a final value is compared: the per-seed values above show exactly that
            if kind == "curves":
                out += _img(figures, ("curves", scale, tuple(measures), ids),
                            lambda by_cell=by_cell, scale=scale: plots.curves_png(
                                by_cell, measures, f"{scale} scale: final training after the last pruning round"),
                            f"{scale} scale: train loss and evaluation accuracy after the last pruning round, "
                            f"{', '.join(measures)} (mean, 95 % band over seeds)")
            elif kind == "events":
                out += _img(figures, ("events", scale, tuple(measures), tuple(metrics), ids),
                            lambda by_cell=by_cell, scale=scale: plots.events_png(by_cell, measures, metrics, f"{scale} scale"),
                            f"{scale} scale: {', '.join(f'`{m}`' for m in metrics)} at each pruning event "
                            f"(mean, 95 % band over seeds)")
            elif kind == "widths":
                out += _img(figures, ("widths", scale, tuple(measures), ids),
                            lambda by_cell=by_cell, scale=scale: plots.widths_png(by_cell, measures, f"{scale} scale"),
                            f"{scale} scale: per-layer remaining width, {', '.join(measures)}")
                out += _widths_table(by_cell)
    return out


def _reads_curves(metric: str, runs) -> bool:
    """True when the metric is read from the epoch records (undefined on a run without them)."""
    import dataclasses
    fn = METRICS[metric].fn if metric in METRICS else None
    for r in runs:
        if fn is not None and fn(r)[0] is not None:
            return fn(dataclasses.replace(r, metrics=[m for m in r.metrics if m.get("kind") != "epoch"]))[0] is None
    return False


def _rule_lines(c) -> list[str]:
    """The claim's own rules (one sentence each); the generic rules are linked, not repeated."""
    lines = []
    if c.statements:
        lines.append(f"Theory part: proofs and numeric checks of {', '.join(f'`{s}`' for s in c.statements)} "
                     f"([identity rule](#rule-identity)).")
    for r in c.comparisons:
        lines.append(f"`{r.label()}` ({r.kind}): {r.sentence()}" + (f" ({r.note})" if r.note else ""))
    if len(c.comparisons) > 1:
        lines.append(f"Combined: [{c.combine}](#rule-combine), each scale separately.")
    if c.components or (c.statements and c.comparisons):
        parts = list(c.components) + (["its own rules"] if c.comparisons else [])
        lines.append(f"Composite of {', '.join(f'[{p}](#{_anchor(p)})' if p in _CLAIM_IDS else p for p in parts)}"
                     f"{' and its theory part' if c.statements else ''} ([composite rule](#rule-composite)).")
    return lines


_CLAIM_IDS: set = set()


STAGE2_COMMAND = ("python scripts/campaign.py run stage2-cpu2 stage2-events --root runs --jobs 2   "
                  "# stage 2: every cell of the committed plan results/plans/stage2.json (completed runs skipped)")


def claim_blocks(result: ClaimResult, live: LiveEvidence, runset: RunSet | None, figures: FigureCache,
                 v4: dict | None = None) -> list:
    c = result.claim
    if c.judged_at_stage1 or v4 is None:
        head = [["verdict", _v(result.verdict) + (f" [{result.verdict.seeds}]" if result.verdict.seeds else "")],
                ["why", result.verdict.detail or "—"]]
    else:                               # a rules-v4 claim: its headline is stage 2's, labelled as such
        s2 = v4["stage2"].get(c.id) if v4["plan"] else None
        head = [["verdict", "stage 2 (confirmatory, rules v4): " + (
                    _v4(s2) if v4["plan"] else "[[missing]]no confirmatory plan committed")],
                ["why", STAGE2_ONLY_TEXT + (f"; {s2.detail}" if s2 is not None and s2.detail else "")]]
    b: list = [("h", 3, f"{c.id} — {c.title}", _anchor(c.id)),
               ("table", ["", ""], [["kind", c.kind], ["paper's words", f"“{c.words}” ({c.source})"],
                                    ["formal statement", c.formal], *head])]
    if c.notes:
        b.append(("p", f"Note: {c.notes}"))
    b.append(("p", "**Decision rule** (fixed before any data; [how verdicts are decided](#rules)):"))
    b.append(("ul", _rule_lines(c)))
    if c.statements:
        b.append(("p", f"**Proofs and numeric checks** for {', '.join(f'`{s}`' for s in c.statements)}: "
                       f"{_v(result.identity)}" + (f" — {result.identity.detail}" if result.identity.detail else "")))
        b.extend(_identity_blocks(c, live, figures))
    if result.parts:
        b.append(("table", ["component", "verdict", "why"],
                  [[f"[{k}](#{_anchor(k)})", _v(v), v.detail or "—"] for k, v in result.parts.items()]))
    if v4 is not None:
        b.extend(v4_claim_blocks(c, v4))
    if c.comparisons and not c.judged_at_stage1:
        b.append(("p", f"**Stage 1, rules version 3 (exploratory):** [[missing]]no verdict — {STAGE2_ONLY_TEXT}."))
        b.extend(_figure_blocks(result, runset, figures))
        b.extend(_provenance_blocks(_scope_runs(c, runset), figures, c.id))
    elif c.comparisons:
        b.append(("p", f"**Stage 1, rules version 3 (exploratory) — empirical evidence** ({len(result.cells)} "
                       f"cell(s)): {_v(result.empirical)}"
                       + (f" — {result.empirical.detail}" if result.empirical.detail else "")))
        b.extend(_scale_blocks(result))
        if result.cells:
            b.extend(_cells_blocks(result))
        b.extend(_figure_blocks(result, runset, figures))
        b.extend(_provenance_blocks(_scope_runs(c, runset), figures, c.id))
    b.append(("p", "**Reproduce:**"))
    b.append(("code", "\n".join(reproduce_commands(c, v4)) or "(no command)"))
    return b


def reproduce_commands(c, v4: dict | None = None) -> list[str]:
    """The claim's commands: its proofs and checks; stage 1's runs (seeds 0–2) for a rules-v3 claim;
    and, where the committed plan names a cell of the claim, the stage-2 campaign. A rules-v4 claim
    gets no seeds-0–2 command: stage 1 has no rule for it, so those runs would reproduce nothing."""
    cmds = c.commands()
    if not c.judged_at_stage1:
        cmds = [x for x in cmds if not x.startswith(("gftheory confirm", "gftheory events"))]
    if v4 is not None and v4.get("plan") and v4["stage2"].get(c.id) is not None:
        cmds.append(STAGE2_COMMAND)
    return cmds


# ---------------------------------------------------------------- summary figure
def forest_rows(results: dict) -> list[dict]:
    """One row per empirical claim, cell and scale; a point per rule with an estimate (D/δ)."""
    rows = []
    for cid, r in results.items():
        by = defaultdict(list)
        for cell in r.cells:
            by[(cell.cell, cell.scale)].append(cell)
        for (label, scale), cells in sorted(by.items(), key=lambda kv: (rules.scale_rank(kv[0][1]), kv[0][0])):
            plumbing = " (plumbing)" if scale in rules.NON_EVIDENCE_SCALES else ""
            rows.append(_forest_row(cid, label, f"{scale}{plumbing}", cells))
    return rows


def _forest_row(cid: str, label: str, scale: str, cells) -> dict:
    """One forest row: a point per cell with an estimate, D/δ with its one-sided bounds (a bound
    the rule does not give falls back to the estimate), coloured by the cell's verdict."""
    pts = []
    for c in cells:
        if c.estimate is None:
            continue
        d = c.delta or 1.0
        lo = c.low if c.low is not None else c.estimate
        hi = c.high if c.high is not None else c.estimate
        pts.append({"x": c.estimate / d, "lo": lo / d, "hi": hi / d, "verdict": c.verdict, "rule": c.rule})
    ns = sorted({c.n for c in cells})
    n = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}–{ns[-1]}"
    return {"label": f"{cid} · {label} · {scale} · {n} · {len(pts)} rule(s)", "group": cid, "points": pts}


def forest_rows4(plan_cells) -> list[dict]:
    """Stage 2: one row per claim × cell × scale of the committed plan with a judged rule (a plan cell
    whose seeds are all stored), a point per rule: D/δ with its one-sided 95 % bounds, coloured by the
    rule's v4 verdict; plan order. Incomplete and undecidable plan cells have no point."""
    by: dict = defaultdict(list)
    for pc in plan_cells or []:
        c = pc.cell
        if c is None or c.estimate is None:
            continue
        by[(pc.spec["claim"], f"{c.arch}/{c.dataset}", c.scale)].append(c)
    return [_forest_row(cid, label, scale, cells) for (cid, label, scale), cells in by.items()]


# ---------------------------------------------------------------- what is missing
def _stored_seeds(runset: RunSet | None, arch, dataset, measure, scale) -> int:
    if runset is None:
        return 0
    return len({r.config.get("seed") for r in runset.runs if r.config.get("arch") == arch
                and r.config.get("dataset") == dataset and r.measure == measure and r.config.get("scale") == scale})


def _stored_studies(runset: RunSet | None) -> dict[str, dict[int, float]]:
    """arch → {seed: the study's recorded seconds} over the stored event studies."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for r in (runset.runs if runset is not None else []):
        if r.config.get("scale") == EVENT_SCALE and r.measure == ALL_MEASURES:
            out[r.config.get("arch")][r.config.get("seed")] = float((r.summary or {}).get("seconds") or 0.0)
    return out


def _study_archs(claim) -> list[str]:
    """Architectures whose event studies decide ``claim`` (its own comparisons and its components')."""
    archs: list[str] = []

    def visit(c):
        if c.comparisons and "events" in c.evidence:
            archs.extend(a for a in c.archs if a not in archs)
        for sub in c.components:
            visit(CLAIMS[sub])

    visit(claim)
    return archs


def missing_blocks(results: dict, live: LiveEvidence, runset: RunSet | None,
                   schedules: dict[str, dict] | None = None, cells=None) -> list:
    """Claims without any evidence (``_missing_claims_blocks``), then every cell without evidence
    (``gftheory.claims.missing``: registry × cells × scales, rules version 4); "Every claim has
    evidence." only when neither has a row."""
    if cells is None:
        cells = missing_cells(runset.runs if runset is not None else [], schedules=schedules,
                              run_seconds=costs.run_seconds)
    claims = _missing_claims_blocks(results, live, runset, schedules)
    if not claims and not cells:
        return [("p", "Every claim has evidence in every cell and scale of its primary evidence.")]
    out = claims or [("p", "Every claim has evidence somewhere; the cells below lack it.")]
    return out + missing_cell_blocks(cells)


def missing_cell_blocks(cells) -> list:
    if not cells:
        return [("p", "Every cell of every claim's primary evidence has been tested.")]
    total, priced = distinct_cost(cells)
    grouped: dict = {}
    for m in cells:
        g = grouped.setdefault((m.claim, m.scale, m.why), {"cells": [], "cost": 0.0, "priced": 0, "const": set()})
        g["cells"].append(f"{m.arch}/{m.dataset}")
        if m.cost_seconds is not None:
            g["cost"] += m.cost_seconds
            g["priced"] += 1
        g["const"].add(m.constant)
    rows = [[f"[{cid}](#{_anchor(cid)})", scale, ", ".join(g["cells"]), why,
             (costs.human(g["cost"]) + ("" if g["priced"] == len(g["cells"]) else " + not measured"))
             if g["priced"] else "not measured", "; ".join(sorted(g["const"]))]
            for (cid, scale, why), g in grouped.items()]
    why = defaultdict(int)
    for m in cells:
        for w in m.why.split("; "):
            why[w.split(" (")[0].split(":")[0]] += 1
    return [("p", f"**Every cell without evidence** (registry × cells × scales, rules version 4: each claim's "
                  f"rules on their primary evidence — event studies, or runs at {', '.join(rules.RUN_SCALES)} — for "
                  f"every architecture × dataset it is about): {len(cells)} (claim, cell, scale) row(s); by reason: "
                  + "; ".join(f"{k} {v}" for k, v in sorted(why.items())) + f". Distinct cost of the priced rows "
                  f"(runs shared by claims counted once): {costs.human(total) if priced else 'not measured'} of CPU "
                  f"time; GPU time: not measured. Per cell: report.json `v4.missing`."),
            ("details", f"the {len(cells)} cells without evidence, grouped by claim, scale and reason",
             [("table", ["claim", "scale", "cells", "why", "cost of the missing seeds", "constant used"], rows)])]


def _missing_claims_blocks(results: dict, live: LiveEvidence, runset: RunSet | None,
                           schedules: dict[str, dict] | None = None) -> list:
    """Claims without evidence, what they need and its cost: prune-while-training runs on each
    scale of ``schedules`` (scale → ``costs.schedule(cfg)``; none given: no cost columns) and, for
    claims that event studies decide, the studies still missing (cost: the mean recorded seconds of
    the stored studies of that architecture; not measured where none is stored)."""
    sched = dict(schedules or {})
    scales = list(sched)
    studies = _stored_studies(runset)
    study_cost = {a: sum(v.values()) / len(v) for a, v in studies.items() if v and all(v.values())}
    rows, union, study_union = [], {s: set() for s in scales}, set()
    for cid, r in results.items():
        if r.verdict.cls != "missing" or not r.claim.judged_at_stage1:   # a v4 claim's cells: the v4 table below
            continue
        c = r.claim
        triples = runs_needed(c)
        what, cells = [], []
        if c.statements and (live.proofs is None or live.checks is None):
            what.append("proofs/checks not run: `gftheory report` without `--skip-live`")
        for s in scales:
            todo = []
            for t in triples:
                k = max(0, DEFAULT_SEEDS - _stored_seeds(runset, *t, s))
                todo += [t] * k
                union[s] |= {(t, i) for i in range(k)}
            est = costs.estimate(todo, 1, sched[s])
            unmeasured = (f" + {est['unmeasured_runs']} run(s) on {', '.join(est['unmeasured_archs'])}: not measured"
                          if est["unmeasured_runs"] else "")
            cells.append(f"{len(todo)} run(s): {costs.human(est['cpu_seconds']) if est['measured_runs'] else '—'}"
                         f"{unmeasured}")
        if triples:
            what.append(f"{len(triples)} (architecture, dataset, measure) combination(s) × {DEFAULT_SEEDS} seeds")
        study_todo = {a: [i for i in range(DEFAULT_SEEDS) if i not in studies.get(a, {})] for a in _study_archs(c)}
        study_todo = {a: seeds for a, seeds in study_todo.items() if seeds}
        study_union |= {(a, i) for a, seeds in study_todo.items() for i in seeds}
        if study_todo:
            what.append("event studies: " + ", ".join(f"{a} seed(s) {','.join(map(str, v))}"
                                                       for a, v in study_todo.items()))
        if not what:
            continue
        cmds = ([f"`gftheory confirm {cid} --scale {s} --seeds {format_seeds(range(DEFAULT_SEEDS))}`"
                 for s in scales or ["full"]]
                if triples else [])
        cmds += [f"`gftheory events --arch {a} --seeds {','.join(map(str, v))} --root results/events`"
                 for a, v in study_todo.items()]
        rows.append([f"[{cid}](#{_anchor(cid)})", "; ".join(what), "; ".join(cmds) or "`gftheory report`", *cells,
                     _study_cells(study_todo, study_cost), "not measured"])
    if not rows:
        return []
    totals = []
    for s in scales:
        est = costs.estimate([t for t, _ in union[s]], 1, sched[s])
        totals.append(f"{s} scale: {len(union[s])} distinct run(s), {costs.human(est['cpu_seconds'])} on one CPU "
                      f"thread for the ResNet-56 runs" + (f", {est['unmeasured_runs']} run(s) on "
                                                          f"{', '.join(est['unmeasured_archs'])} not measured"
                                                          if est["unmeasured_runs"] else ""))
    per_run = ("per run: " + "; ".join(f"{s} scale = {sched[s]['formula']} = {sched[s]['steps']:,} SGD steps at "
                                       f"batch {sched[s]['batch']}, {sched[s]['rounds']} pruning events (importance "
                                       f"on {sched[s]['importance']} images, probe before/after on "
                                       f"{sched[s]['probe']})" for s in scales)
               if scales else "per run: no scale schedules given (empirical.config unavailable)")
    return [("p", "Claims without evidence, the runs they need (seeds already stored are subtracted), the command, "
                  "and the estimated cost. Claims share runs, so the per-claim costs overlap; the distinct total is "
                  "below."),
            ("table", ["claim", "missing", "command", *[f"CPU time, {s} scale" for s in scales],
                       "CPU time, event studies", "GPU time"], rows),
            ("ul", totals + [
                f"event studies: {len(study_union)} distinct stud(ies) missing"
                + (f", {_study_cells(_by_arch(study_union), study_cost)}" if study_union else "")
                + "; cost per study: " + ("; ".join(
                    f"{a} {costs.human(v)} (mean recorded seconds of its {len(studies[a])} stored stud(ies), one "
                    f"CPU thread)" for a, v in study_cost.items()) or "not measured (no stored study)"),
                per_run,
                f"measured costs (gftheory/report/costs.py): ResNet-56 SGD step {costs.STEP_SECONDS['resnet56']} s at "
                f"batch 128; probe with θᵀHg {costs.PROBE_SECONDS_PER_IMAGE['resnet56'] * 128:.0f} s per 128 images; "
                f"importance with Hg {costs.SCORE_SECONDS_PER_IMAGE['resnet56']['hg'] * 256:.0f} s, first-order "
                f"{costs.SCORE_SECONDS_PER_IMAGE['resnet56']['grad'] * 256:.1f} s per 256 images — on "
                f"{costs.MEASURED_ON}; other architectures and every GPU: not measured"])]


def _by_arch(pairs) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for a, i in sorted(pairs):
        out[a].append(i)
    return dict(out)


def _study_cells(todo: dict[str, list[int]], cost: dict[str, float]) -> str:
    """'N stud(ies): T' for the measured architectures, + the unmeasured ones named."""
    if not todo:
        return "—"
    measured = {a: len(v) for a, v in todo.items() if a in cost}
    unmeasured = [a for a in todo if a not in cost]
    parts = []
    if measured:
        parts.append(f"{sum(measured.values())} stud(ies): "
                     f"{costs.human(sum(cost[a] * n for a, n in measured.items()))}")
    if unmeasured:
        parts.append(f"{sum(len(todo[a]) for a in unmeasured)} stud(ies) on {', '.join(unmeasured)}: not measured")
    return " + ".join(parts)


def study_costs(runset: RunSet | None) -> dict[str, dict]:
    """The measured cost of the stored event studies, per architecture: the recorded seconds of
    each trajectory data epoch, of each checkpoint's events (every measure's events and the dense
    control's recovery, summed) and of each whole study (its summary's ``seconds``), with the seeds
    and devices (provenance) they come from. Recorded seconds count completed steps only: work lost
    to a killed process is not in them."""
    out: dict[str, dict] = {}
    for r in (runset.runs if runset is not None else []):
        if r.config.get("scale") != EVENT_SCALE or r.measure != ALL_MEASURES:
            continue
        a = out.setdefault(str(r.config.get("arch")), {"seeds": [], "epoch": [], "checkpoint": [], "study": [],
                                                       "devices": []})
        a["seeds"].append(r.config.get("seed"))
        a["epoch"] += [float(m["seconds"]) for m in r.metrics
                       if m.get("kind") == "trajectory_epoch" and m.get("seconds") is not None]
        by_checkpoint: dict = defaultdict(float)
        for m in r.metrics:
            if m.get("kind") == "study_event":
                by_checkpoint[m.get("checkpoint")] += float(m.get("seconds") or 0.0)
        a["checkpoint"] += list(by_checkpoint.values())
        a["study"].append(float((r.summary or {}).get("seconds") or 0.0))
        dev = str((r.provenance or {}).get("device", "?"))
        if dev not in a["devices"]:
            a["devices"].append(dev)
    return dict(sorted(out.items()))


def _minutes(values: list[float]) -> str:
    """'median min (low–high)' of seconds, or 'not recorded'."""
    if not values:
        return "not recorded"
    v = sorted(values)
    med = median(v)
    return f"{med / 60:.1f} min" + (f" ({v[0] / 60:.1f}–{v[-1] / 60:.1f}, n = {len(v)})" if len(v) > 1 else "")


def study_cost_blocks(costs_by_arch: dict[str, dict]) -> list:
    if not costs_by_arch:
        return [("p", "Event-study cost: no event study is stored.")]
    rows = [[a, f"{len(c['seeds'])} (seeds {', '.join(map(str, sorted(c['seeds'])))})", _minutes(c["epoch"]),
             _minutes(c["checkpoint"]), _minutes(c["study"]), ", ".join(c["devices"])]
            for a, c in costs_by_arch.items()]
    return [("p", "Event-study cost, measured: the recorded seconds of every stored study (median, range and count "
                  "over the studies of an architecture). A checkpoint's cost is all its events: every measure's "
                  "`small`, `round1` (probe with θᵀHg, held-out accuracy, recovery steps), `round5` and `profile` "
                  "events and the dense control. Recorded seconds count completed steps only (work lost to a "
                  "killed process is not in them); thread count and machine load are not recorded in a study, so "
                  "compare architectures only across studies run under the same conditions."),
            ("table", ["architecture", "studies", "trajectory, per data epoch", "events at one checkpoint",
                       "whole study", "device"], rows)]


# ---------------------------------------------------------------- document
def _moments(values: list[float]) -> dict:
    """{"mean", "std" (sample, 0 for one value), "n"} of ``values``."""
    n = len(values)
    m = sum(values) / n
    sd = (sum((x - m) ** 2 for x in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return {"mean": m, "std": sd, "n": n}


PAPER_EPOCHS = 160          # the paper's schedule: 80 + 40 + 40 epochs (docs/paper.md §5)
DENSE_MEASURE = "none"      # the dense baseline's measure (empirical.config.DENSE)


def scale_regimes(runset: RunSet | None) -> dict[str, str]:
    """scale → one sentence on what its stored runs are: training length against the paper's
    160 epochs (shorter = an early-training regime) and the dense baseline's measured final
    accuracy per (architecture, dataset) — the ceiling the pruned models are judged under."""
    by_scale: dict[str, list] = defaultdict(list)
    for r in (runset.runs if runset is not None else []):
        if r.config.get("scale") not in (None, EVENT_SCALE) and r.config.get("lr_phases"):
            by_scale[str(r.config["scale"])].append(r)
    out = {}
    for scale in sorted(by_scale, key=rules.scale_rank):
        runs = by_scale[scale]
        lengths = sorted({sum(float(e) for e, _ in r.config["lr_phases"]) for r in runs})
        pruning = sorted({float(r.config.get("rounds", 0)) * float(r.config.get("epochs_per_round", 0)) for r in runs})
        length = "/".join(f"{x:g}" for x in lengths)
        regime = ("the paper's training length" if lengths[0] >= PAPER_EPOCHS else
                  f"**an early-training regime**: its verdicts test the claims after {length} data epochs, not at "
                  f"the paper's {PAPER_EPOCHS}")
        dense = defaultdict(list)
        for r in runs:
            if r.measure == DENSE_MEASURE:
                value = final_acc(r)
                if value is not None:
                    dense[(r.config.get("arch"), r.config.get("dataset"))].append(value[0])
        cells = sorted({(r.config.get("arch"), r.config.get("dataset")) for r in runs if r.measure != DENSE_MEASURE})
        dense_txt = "; ".join(
            f"dense {a}/{d}: " + (f"final accuracy {mean_std(_moments(v))} %" if (v := dense.get((a, d))) else
                                  f"not stored yet (`gftheory run --scale {scale} --arch {a} --dataset {d} "
                                  f"--measure none --target 0`)")
            for a, d in cells)
        out[scale] = (f"{scale} scale: {length} data epoch(s) in all, the pruning rounds during the first "
                      f"{'/'.join(f'{x:g}' for x in pruning)} epoch(s) — {regime}. Beside the pruned models: "
                      f"{dense_txt}.")
    return out


SPREAD_DIR = "spread"   # <results root>/spread/*.json: `gftheory spread --json` tables


def spread_blocks(roots) -> list:
    """The stored importance-sample spread tables (descriptive, beyond the paper: how much each
    measure's ranking depends on its importance sample; no verdict is drawn from them)."""
    files = sorted(f for r in roots for f in (Path(r) / SPREAD_DIR).glob("*.json"))
    out = [("p", "How much each measure's filter ranking depends on the importance sample it is scored on "
                 "(`gftheory spread`; formulas: gftheory/spread.py): for independent samples of n training "
                 "images, Spearman ρ between the samples' global rankings and the Jaccard agreement of the units "
                 "one pruning event would remove (mean and min over sample pairs). ρ = 1 means the sample does not "
                 "matter; a low pruned-set agreement means which filters go is largely decided by the draw. "
                 "Descriptive: no claim of the paper is decided here.")]
    if not files:
        return out + [("p", "None stored yet: `gftheory spread --study <event-study dir> --json "
                            "results/spread/<name>.json`.")]
    for f in files:
        try:
            res = json.loads(f.read_text())
            rows = [[r["measure"], str(r["sample_size"]), fmt(r["rank_corr"]["mean"]), fmt(r["rank_corr"]["min"]),
                     fmt(r["pruned_jaccard"]["mean"]), fmt(r["pruned_jaccard"]["min"]), fmt(r["median_rel_spread"]),
                     f"{r['score_seconds_per_sample']:.1f}"] for r in res["rows"]]
            prov = res.get("provenance", {})
            out += [("p", f"**{res['arch']}**, event study `{res['study']}` (seed {res['study_config'].get('seed')}), "
                          f"checkpoint after {res['checkpoint_epoch']} epoch(s), pruned fraction {res['fraction']:.4f}, "
                          f"{res['config']['repeats']} samples per size; code {prov.get('code_version')}, "
                          f"{prov.get('device')}, {prov.get('time_utc')} (`{f.name}`)"),
                    ("table", ["measure", "n", "ρ mean", "ρ min", "pruned-set J mean", "J min",
                               "median rel. spread", "s / sample (1 thread)"], rows)]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            out.append(("p", f"`{f}`: unreadable ({type(exc).__name__}: {exc})"))
    return out


def figure1_blocks(runset: RunSet | None, figures: "FigureCache") -> list:
    """Figure 1 (ResNet-56, CIFAR-10): every stored protocol's accuracy curves of magnitude and the
    loss-preservation measures with the dense baseline beside them (descriptive; E1/E2 decide)."""
    if runset is None:
        return [("p", "No stored runs.")]
    runs = [r for r in runset.runs if r.config.get("arch") == "resnet56" and r.config.get("dataset") == "cifar10"
            and r.measure in plots.FIGURE1_MEASURES and r.epochs()]
    out = []
    regimes = scale_regimes(runset)
    by_scale: dict = defaultdict(lambda: defaultdict(list))
    for r in runs:
        by_scale[str(r.config.get("scale"))][r.measure].append(r)
    for scale in sorted(by_scale, key=rules.scale_rank):
        bm = by_scale[scale]
        title = f"ResNet-56 / CIFAR-10, {scale} scale"
        if scale in regimes:
            out.append(("p", regimes[scale]))
        out += _img(figures, ("figure1", scale, tuple(sorted(r.run_id for rs in bm.values() for r in rs))),
                    lambda bm=bm, title=title: plots.figure1_png(bm, title),
                    f"Figure 1 view, {scale} scale: train and held-out accuracy per record (the pruning rounds, then "
                    f"the final-training epochs) for " + ", ".join(f"{m} (n={len(v)})" for m, v in bm.items())
                    + "; the dense baseline trains the same schedule and prunes nothing.")
    return out or [("p", "No ResNet-56 / CIFAR-10 runs of magnitude, the loss-preservation measures or the dense "
                         "baseline are stored yet.")]


def build_document(results: dict, live: LiveEvidence, runset: RunSet | None, meta: dict,
                   schedules: dict[str, dict] | None = None, stages=None,
                   figures: FigureCache | None = None) -> tuple[list, dict]:
    """The report's blocks and its JSON data; ``results`` are stage 1's verdicts under rules
    version 3 (``verdicts.evaluate_claims`` over the stage-1 runs); ``stages``
    (``stages.split``; None: every run is stage 1 and no plan is read) adds stage 1 under v4 (a
    description) and stage 2 (the plan's cells); ``schedules`` (scale → ``costs.schedule(cfg)``)
    price the missing runs."""
    _CLAIM_IDS.clear()
    _CLAIM_IDS.update(results)
    v4 = stage_views(runset, live, stages)
    prov = meta.get("provenance", {})
    banner = []
    if runset is not None and runset.planted_in_use:
        n = sum(r.planted for r in runset.runs)
        banner = [("p", f"**[[negative]]PLANTED DATA: {n} of the {len(runset.runs)} runs counted here are synthetic runs "
                        f"with planted values (tests/planted.py). Nothing in this report is evidence about "
                        f"the paper.**")]
    kinds = list(dict.fromkeys(r.claim.kind for r in results.values()))
    toc = [(2, "What was found", "found"), (2, "Summary", "summary"), (2, "Two stages", "stages"),
           (2, "What is missing", "missing"),
           (2, "Figure 1 view", "figure1"),
           (2, "Importance-sample spread", "spread"), (2, "Evidence sources", "sources"),
           (2, "How verdicts are decided", "rules")]
    for k in kinds:
        toc.append((2, f"Claims: {k}", f"kind-{k.replace(' ', '-')}"))
        toc += [(3, cid, _anchor(cid)) for cid, r in results.items() if r.claim.kind == k]
    figures = FigureCache() if figures is None else figures   # the caller's: gftheory.report.fit redraws
    rows = forest_rows(results)
    forest = _img(figures, ("forest", json.dumps(rows, sort_keys=True, default=str)), lambda: plots.forest_png(rows),
                  "Summary of the empirical evidence: every cell's effect D with its 95 % interval in units of δ, "
                  "one row per claim × cell × scale (label: claim · cell · scale · seeds), coloured by the cell's "
                  "Holm-adjusted verdict; right of +δ (dotted) = as claimed") if rows else \
        [("p", "No empirical cell has evidence yet: no forest plot (see [What is missing](#missing)).")]
    rows4 = forest_rows4(v4.get("plan_cells"))
    forest4 = _img(figures, ("forest4", json.dumps(rows4, sort_keys=True, default=str)),
                   lambda: plots.forest_png(rows4, xlabel=plots.FOREST4_XLABEL,
                                            legend_title="rule verdict, stage 2 (rules v4; each claim cell's Holm "
                                                         "step: its claim's table)"),
                   "Stage 2 (confirmatory, rules v4): every judged rule of the committed plan — D with its one-sided "
                   "95 % bounds in units of δ, one row per claim × cell × scale (label: claim · cell · scale · seeds), "
                   "coloured by the rule's verdict; right of +δ (dotted) = as claimed. Plan cells not yet complete have "
                   "no point (the plan's progress: [Two stages](#stages))") if rows4 else \
        ([("p", "Stage 2: no plan cell is complete yet, so no stage-2 forest plot (the plan's progress: "
                "[Two stages](#stages)).")] if v4.get("plan") else [])
    blocks: list = [("h", 1, "gftheory: claims of “A Gradient Flow Framework For Analyzing Network Pruning”", None),
                    *banner,
                    ("p", f"Generated {prov.get('time_utc', '?')} by `{meta.get('command', 'gftheory report')}`; code "
                          f"{prov.get('code_version', '?')}; Python {prov.get('python', '?')}, torch {prov.get('torch', '?')}; "
                          f"device {prov.get('device', '?')}; {prov.get('platform', '')}. Decision rules version "
                          f"{rules.RULES_VERSION}, digest `{rules.rules_digest()}` (gftheory/claims/rules.py)."),
                    ("toc", toc),
                    ("h", 2, "What was found", "found"),
                    *found_blocks(results, v4),
                    ("h", 2, "Summary", "summary"),
                    *forest,
                    *forest4,
                    ("p", "Stage 1 (exploratory) under rules version 3, as it was judged (verdict, seeds, scale, "
                          "coverage); beside it how stage 1 reads under rules version 4 — a description, not a "
                          "confirmation — and stage 2 (confirmatory, the committed plan's cells only). "
                          "[Two stages](#stages)."),
                    ("table", ["claim", "kind", "stage 1 (exploratory, rules v3)", "seeds", "scale", "coverage",
                               "stage 1 under v4 (description)", "stage 2 (confirmatory)", "title"],
                     [[f"[{cid}](#{_anchor(cid)})", r.claim.kind,
                       *([_v(r.verdict), r.verdict.seeds or "", r.verdict.scale or "", r.verdict.coverage or ""]
                         if r.claim.judged_at_stage1 else ["[[missing]]— (a rules-v4 claim: stage 2 only)", "", "", ""]),
                       _v4(v4["stage1"].get(cid)),
                       _v4(v4["stage2"].get(cid)) if v4["plan"] else "[[missing]]no confirmatory plan committed",
                       r.claim.title] for cid, r in results.items()]),
                    ("h", 2, "Two stages", "stages"),
                    *stage_blocks(v4),
                    ("h", 2, "What is missing", "missing"),
                    *missing_blocks(results, live, runset, schedules, v4["missing"])]
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
        src += list(scale_regimes(runset).values())
    study_cost_data = study_costs(runset)
    blocks += [("h", 2, "Figure 1 view", "figure1"), *figure1_blocks(runset, figures),
               ("h", 2, "Importance-sample spread", "spread"), *spread_blocks(runset.roots if runset else []),
               ("h", 2, "Evidence sources", "sources"), ("ul", src), *study_cost_blocks(study_cost_data),
               ("h", 2, "How verdicts are decided", "rules"),
               ("p", f"Rules version {rules.RULES_VERSION}, digest `{rules.rules_digest()}`: any change of a rule "
                     f"changes the digest. Verdict colours: green positive, red-orange negative, orange open, sky blue identity-tested (a proof step only evaluated at random points: evidence, not a failure), grey missing.")]
    for anchor, title, text in (
            ("rule-identity", "Identity and approximation claims", rules.IDENTITY_RULE_TEXT),
            ("rule-proof-steps", "Proof steps", _proof_method_text(live)),
            ("rule-cell", "Cells", rules.CELL_RULE_TEXT + " Minimum meaningful difference δ per metric: " + "; ".join(
                f"`{k}` {v:g}" for k, v in rules.MIN_EFFECT.items()) + "."),
            ("rule-verdict", "Rules", rules.RULE_VERDICT_TEXT),
            ("rule-combine", "Combining a claim's rules", "; ".join(f"**{k}**: {v}" for k, v in rules.COMBINATIONS.items())),
            ("rule-scale", "Scales", rules.SCALE_RULE_TEXT),
            ("rule-composite", "Composite claims", rules.COMPOSITE_RULE_TEXT)):
        blocks += [("h", 4, title, anchor), ("p", text)]
    blocks += [("h", 3, f"Rules version {rules.RULES_VERSION} (stage 2; stage 1 described)", "rules-v4"),
               ("ul", [rules.STAGE_TEXT, rules.PAIRING_TEXT, rules.DECISION_TEXT, rules.CLAIM_CELL_TEXT,
                       rules.INTERVAL_TEXT, rules.PRIMARY_TEXT, rules.NOT_APPLICABLE_TEXT, rules.HEADLINE_TEXT,
                       rules.COMPOSITE_RULE_TEXT_V4,
                       "Minimum meaningful difference δ of the version-4 metrics: " + "; ".join(
                           f"`{k}` {v:.4g}" for k, v in rules.MIN_EFFECT_V4.items())
                       + "; every other metric keeps its version-3 δ."]),
               ("p", "**Words.** Every verdict word the report prints:"),
               ("table", ["word", "meaning"], [[f"**{k}**", v] for k, v in rules.WORDS.items()])]
    for k in kinds:
        blocks.append(("h", 2, f"Claims: {k}", f"kind-{k.replace(' ', '-')}"))
        for cid, r in results.items():
            if r.claim.kind == k:
                blocks += claim_blocks(r, live, runset, figures, v4)
    data = {"meta": {**meta, "rules_version": rules.RULES_VERSION, "rules_digest": rules.rules_digest(),
                     "stage1_rules_version": rules.RULES_VERSION_V3, "stage1_rules_digest": rules.rules_digest_v3(),
                     "planted_in_use": bool(runset is not None and runset.planted_in_use)},
            "summary": [{"id": cid, "verdict": r.verdict.label, "class": r.verdict.cls,
                         "seeds": r.verdict.seeds, "scale": r.verdict.scale,
                         "coverage": r.verdict.coverage} for cid, r in results.items()],
            "forest": rows, "forest_stage2": rows4,
            "v4": {"stage1": {k: v.as_dict() for k, v in v4["stage1"].items()},
                   "stage2": {k: v.as_dict() for k, v in v4["stage2"].items()},
                   "plan": None if v4["plan"] is None else {"path": v4["plan"].path,
                                                            "rules_digest": v4["plan"].rules_digest,
                                                            "digest_matches": v4["plan"].digest_matches},
                   "plan_cells": [pc.as_dict() for pc in v4["plan_cells"]],
                   "progress": None if v4.get("progress") is None else v4["progress"].as_dict(),
                   "beyond_plan": v4["beyond"],
                   "missing": [m.as_dict() for m in v4["missing"]]},
            "event_study_costs": study_cost_data,
            "claims": [r.as_dict() for r in results.values()],
            "live": {"checks": live.checks, "proofs": live.proofs, "checks_error": live.checks_error,
                     "proofs_error": live.proofs_error, "seconds": live.seconds},
            "runs": None if runset is None else {"roots": runset.roots, "completed": [str(r.path) for r in runset.runs],
                                                 "incomplete": runset.incomplete, "unreadable": runset.unreadable,
                                                 "planted_set_aside": [str(r.path) for r in runset.planted]}}
    return blocks, data


def _proof_method_text(live: LiveEvidence) -> str:
    from gftheory.symbolic.equality import numeric_test_text
    return ("proof steps: 'symbolic' (sympy cancels lhs − rhs exactly) or 'numeric identity test' (" + numeric_test_text()
            + "); a proof is 'proved' only if every step is symbolic, else 'identity-tested'")


# ---------------------------------------------------------------- rules version 4: the two stages
PAPER_CLAIMS = (("i", "Ai"), ("ii", "Aii"), ("iii", "Aiii"))   # the abstract's three claims, in its order


def found_blocks(results: dict, v4: dict) -> list:
    """The paper's three claims answered first, one line each, in the words the verdicts computed:
    stage 1 (exploratory: its rules-v3 verdict with scale and seeds, and how it reads under v4) and
    stage 2 (confirmatory: the committed plan's cells, or that none is committed)."""
    items = []
    for num, cid in PAPER_CLAIMS:
        r = results.get(cid)
        if r is None:
            continue
        v = r.verdict
        where = ", ".join(x for x in (f"{v.scale} scale" if v.scale and f"{v.scale} scale" not in v.label else "",
                                      v.seeds or "", f"coverage {v.coverage}" if v.coverage else "") if x)
        if not v4["plan"]:
            s2 = "[[missing]]no confirmatory plan committed"
        elif v4["stage2"].get(cid) is None and r.claim.components:     # a composite: its parts' stage 2
            s2 = "; ".join(f"{c} {_v4(v4['stage2'].get(c))}" for c in r.claim.components)
        else:
            s2 = _v4(v4["stage2"].get(cid))
        items.append(f"**({num}) {r.claim.title}** — “{r.claim.words}” ([{cid}](#{_anchor(cid)}), from {', '.join(r.claim.components)}) — "
                     f"stage 1, exploratory: {_v(v)}{f' ({where})' if where else ''}; under rules v4, as a "
                     f"description: {_v4(v4['stage1'].get(cid))}; stage 2, confirmatory: {s2}.")
    if not items:
        return [("p", "The paper's three claims are not in this report's selection.")]
    return [("p", "The abstract's three claims, each with what the stored evidence says now (verdicts computed by "
                  "the registered rules, never typed; stage 1 is exploratory, so its words describe, they do not "
                  "confirm). Every claim, the theory included: [Summary](#summary)."), ("ul", items)]


def _v4(res) -> str:
    if res is None:
        return "[[missing]]not in the plan"
    return f"[[{res.cls}]]{res.label}"


def stage_views(runset: RunSet | None, live: LiveEvidence, stages=None) -> dict:
    """Stage 1 under v4 (description), stage 2 (the plan's cells) and the missing cells."""
    from gftheory.claims.decide import evaluate_claims4
    from gftheory.claims.stages import evaluate_stage2, split
    runs = runset.runs if runset is not None else []
    if stages is None:
        stages = split(runs, None)
    from gftheory.claims.progress import stage2_progress
    pcs, s2 = evaluate_stage2(stages)
    s1 = evaluate_claims4(stages.stage1, live)
    progress = stage2_progress(stages.plan, stages.stage2) if stages.plan is not None else None
    return {"stage1": s1, "stage2": s2, "plan": stages.plan, "plan_cells": pcs, "progress": progress,
            "beyond": sorted(f"{r.config.get('arch')}/{r.config.get('dataset')} {r.config.get('scale')} {r.measure} "
                             f"seed {r.config.get('seed')}" for r in stages.beyond),
            "missing": missing_cells(stages.stage1 + stages.stage2), "n1": len(stages.stage1),
            "n2": len(stages.stage2)}


def stage_blocks(v4: dict) -> list:
    from gftheory.claims.stages import PLAN_PATH
    out = [("p", rules.STAGE_TEXT),
           ("ul", [f"**Stage 1 (exploratory)**: {v4['n1']} stored run(s) (event-study measures count one each); "
                   f"judged under rules version {rules.RULES_VERSION_V3} (digest `{rules.rules_digest_v3()}`) as "
                   f"before, and described under version {rules.RULES_VERSION} (digest `{rules.rules_digest()}`).",
                   f"**Stage 2 (confirmatory)**: {v4['n2']} run(s) named by the plan."])]
    plan = v4["plan"]
    if plan is None:
        return out + [("p", f"No confirmatory plan committed (`results/{PLAN_PATH}` absent): no stage-2 section. "
                            f"`gftheory plan` writes it from stage 1's measured variance; commit it before the first "
                            f"stage-2 run.")]
    out.append(("p", f"Plan `{plan.path}`: rules version {plan.rules_version}, digest `{plan.rules_digest}` — "
                     + ("[[positive]]matches the current rules." if plan.digest_matches else
                        f"[[negative]]plan made under another rules digest (current `{rules.rules_digest()}`): its "
                        f"cells are not judged.")))
    out += progress_blocks(v4.get("progress"))
    rows, not_run = [], {}
    for pc in v4["plan_cells"]:
        sp, c = pc.spec, pc.cell
        if sp.get("status") != "planned" and not any(pc.stored.values()) and not pc.extra:
            g = not_run.setdefault((sp["claim"], str(sp["scale"]), str(sp.get("status"))), {"rules": 0, "cells": {},
                                                                                        "cost": 0.0})
            g["rules"] += 1
            g["cells"][f"{sp['arch']}/{sp['dataset']}"] = None
            g["cost"] += float(sp.get("cost_hours") or 0.0)
            continue
        stored = "; ".join(f"{m}: {len(s)}" for m, s in pc.stored.items())
        rows.append([f"[{sp['claim']}](#{_anchor(sp['claim'])})", f"`{sp['rule']}`", f"{sp['arch']}/{sp['dataset']}",
                     str(sp["scale"]), f"{sp['n']} (seeds {_seed_range(sp['seeds'])})", stored,
                     c.test if c else "—", _interval4(c), fmt(c.mde, 3) if c else "—",
                     f"[[{_cls4(pc.verdict)}]]{pc.verdict}", fmt(sp.get("cost_hours"), 3),
                     "; ".join(pc.extra[:5]) + (" (ignored)" if pc.extra else "")])
    out.append(("table", ["claim", "rule", "cell", "scale", "planned n", "stored (planned seeds)", "test",
                          "D [one-sided 95 % bounds]", "MDE", "verdict", "cost (h)", "seeds beyond the plan"], rows))
    if not_run:
        n = sum(g["rules"] for g in not_run.values())
        out.append(("p", f"The {n} rule × cell(s) the plan does not run, per claim, scale and the plan's status "
                         f"(each one's reason and cost: the `reason` and `cost_hours` of its cell in `{plan.path}`; "
                         f"\"cost\" sums what each would need):"))
        out.append(("table", ["claim", "scale", "status", "rule × cells", "cells", "cost (h)"],
                    [[f"[{cl}](#{_anchor(cl)})", sc, st, str(g["rules"]), ", ".join(g["cells"]),
                      fmt(g["cost"], 3) if g["cost"] else "—"]
                     for (cl, sc, st), g in sorted(not_run.items(), key=lambda kv: (kv[0][0], rules.scale_rank(kv[0][1]),
                                                                                     kv[0][2]))]))
    if v4["beyond"]:
        out.append(("p", f"[[negative]]{len(v4['beyond'])} stored run(s) with seeds reserved for the plan that it "
                         f"does not name — ignored: " + "; ".join(v4["beyond"][:20])))
    return out


def progress_blocks(progress) -> list:
    """The plan's progress (gftheory.claims.progress): units planned and stored, their recorded cost
    against the plan's estimate, the rest at the measured rate; counts and seconds only."""
    if progress is None:
        return []
    from gftheory.claims.progress import hours

    rows = []
    for kind, ln, rest in progress.rows():
        name = {"block": f"**{ln.arch}/{ln.dataset} {ln.scale}**", "measure": ln.measure, "all": "**all**"}[kind]
        rows.append([name, f"{ln.stored} of {ln.planned}", fmt(hours(ln.measured_s), 3),
                     fmt(hours(ln.estimate_stored_s), 3), "—" if ln.ratio is None else f"{ln.ratio:.2f}×",
                     fmt(hours(rest), 3), fmt(hours(rest, progress.parallel), 3)
                     + (f" (+{ln.unpriced} unpriced)" if ln.unpriced and kind != "all" else "")])
    return [("p", "**Progress of the plan** (counts and recorded seconds only; no outcome is read, and the plan's n "
                  "stays fixed whatever this says). A unit is one process: a prune-while-training run, or one event "
                  "study (every measure at once). *Measured* = the stored units' recorded seconds (one single-thread "
                  "process, the other core busy with the campaign's second one; work lost to a killed process is not "
                  "in them); *plan* = the plan's own estimate of the same units (`costs_seconds`; an arm priced as its "
                  "measure's run); *rest* = the plan's estimate of the missing units × the row's measured ratio (the "
                  f"plan's estimate where none is stored); wall-hours = process-hours / {progress.parallel}. "
                  "`gftheory plan --progress` prints the same table with the missing units."),
            ("table", ["block / measure", "stored", "measured (process-h)", "plan, same units (process-h)",
                       "measured / plan", "rest (process-h)", "rest (wall-h)"], rows)]


def _seed_range(seeds) -> str:
    seeds = sorted(seeds)
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _cls4(word: str) -> str:
    from gftheory.claims.decide import word_class
    return word_class(word)


def _interval4(c) -> str:
    if c is None or c.estimate is None:
        return "—"
    if c.low is None:
        return fmt(c.estimate)
    return f"{fmt(c.estimate)} [{fmt(c.low)}, {fmt(c.high)}]"


def _short_test(test: str) -> str:
    if test.startswith("paired t"):
        kind = "by construction" if "by construction" in test else ("fallback fp" if "fallback" in test else "recorded fp")
        return f"paired ({kind}{', seeds left out' if 'left out' in test else ''})"
    if test.startswith("Welch"):
        return "Welch (" + test[test.find("(") + 1:].rstrip(")")[:40] + ")" if "(" in test else "Welch"
    return test.replace(" t", "") or "—"


def _cell4_rows(cells, holm_by: dict | None = None) -> list:
    rows = []
    for c in cells:
        h = (holm_by or {}).get((c.rule, c.arch, c.dataset))
        p = f"{fmt(c.p_confirm, 2)}/{fmt(c.p_contra, 2)}" + (f"/{fmt(c.p_equiv, 2)}" if c.p_equiv is not None else "")
        rows.append([f"`{c.rule}`", f"{c.arch}/{c.dataset}", c.scale, _short_test(c.test), str(c.n), _interval4(c),
                     fmt(c.delta, 3), fmt(c.mde, 3), p + (f" (Holm {h})" if h else ""),
                     f"[[{_cls4(c.verdict)}]]{c.verdict}" + (f" ({c.reason})" if c.reason else "")])
    return rows


CELL4_HEADER = ["rule", "cell", "scale", "test", "n", "D [one-sided 95 % bounds]", "δ", "MDE (nct)",
                "p confirm/contra/TOST (Holm contra: claim's rules here)", "verdict"]


def _rule_entry(c) -> str:
    if c is None:
        return "—"
    return (f"[[{_cls4(c.verdict)}]]{c.verdict} ({c.scale}; {_short_test(c.test)}; n={c.n}; D {_interval4(c)}; "
            f"MDE {fmt(c.mde, 3)})" if c.testable else f"[[{_cls4(c.verdict)}]]{c.verdict} ({c.scale})")


def v4_claim_blocks(claim, v4: dict) -> list:
    """Stage 2 (if planned) then stage 1 under v4 (a description), for one claim: the claim in each
    cell, each rule's deciding cell (scale, test, D with its one-sided 95 % bounds, MDE); the other
    evidence counted below it (every rule × cell, primary or not, is in report.json ``v4``)."""
    out = []
    for stage, title in (("stage2", "Stage 2, rules version 4 (confirmatory)"),
                         ("stage1", "Stage 1 under rules version 4 (a description, not a confirmation)")):
        res = v4[stage].get(claim.id)
        if stage == "stage2" and v4["plan"] is None:
            continue
        if res is None:
            out.append(("p", f"**{title}:** [[missing]]not in the plan"))
            continue
        out.append(("p", f"**{title}:** {_v4(res)}" + (f" — {res.detail}" if res.detail and not res.claim_cells else "")))
        if res.claim_cells:
            prim = {(c.rule, c.arch, c.dataset): c for c in res.cells}
            planned = ({(pc.spec.get("rule"), pc.spec.get("arch"), pc.spec.get("dataset", "cifar10")): pc
                        for pc in v4.get("plan_cells") or [] if pc.spec.get("claim") == claim.id}
                       if stage == "stage2" else {})
            rows = []
            for cc in res.claim_cells:
                rows.append([f"**{cc.arch}/{cc.dataset}**", f"[[{_cls4(cc.verdict)}]]{cc.verdict}", cc.detail or "—"])
                for lab in cc.rules:
                    h = cc.p_contra_holm.get(lab)
                    cell, pc = prim.get((lab, cc.arch, cc.dataset)), planned.get((lab, cc.arch, cc.dataset))
                    if cell is not None or stage != "stage2":
                        entry = _rule_entry(cell)
                    else:                       # stage 2, no judged cell: what the plan says of this rule here
                        entry = f"[[missing]]{pc.verdict if pc is not None else 'not in the plan'}"
                    rows.append(["", f"`{lab}`", entry + (f"; Holm p contra {fmt(h, 2)}" if h is not None and h < 1 else "")])
            out.append(("table", ["cell", "claim / rule (primary evidence)", "verdict: why, or scale; test; n; "
                                  "D [one-sided 95 % bounds]; MDE"], rows))
        if res.other:
            count = defaultdict(int)
            for c in res.other:
                count[(c.scale, c.verdict)] += 1
            out.append(("p", "Other evidence (not primary: shown, never decides): " + "; ".join(
                f"{scale} {word} {k}" for (scale, word), k in sorted(count.items())) + " rule × cell(s)."))
    return out
