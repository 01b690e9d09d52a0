"""Plain-text rendering of claim verdicts (stdout of ``gftheory confirm`` / ``claims`` / ``report``)."""
from __future__ import annotations


def fmt(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def mean_std(d: dict | None) -> str:
    if not d or not d.get("n"):
        return "— (n=0)"
    return f"{fmt(d['mean'])} ± {fmt(d['std'], 2)} (n={d['n']})"


def cell_effect(cell) -> str:
    """D [CI95] for a cell (D in the claimed direction), or why there is none."""
    if cell.estimate is None:
        return "—"
    return f"{fmt(cell.estimate)} [{fmt(cell.low)}, {fmt(cell.high)}]"


def cell_line(cell) -> str:
    b = f"  B {mean_std(cell.b)}" if cell.b is not None else ""
    p = (f" | p Holm {fmt(cell.p_confirm_holm, 2)} / {fmt(cell.p_contra_holm, 2)}"
         if cell.p_confirm_holm is not None else "")
    mde = f" | MDE {fmt(cell.mde, 3)}" if cell.mde is not None else ""
    why = f" ({cell.reason})" if cell.reason else ""
    return (f"{cell.rule} | {cell.cell} {cell.scale} | A {mean_std(cell.a)}{b} | D {cell_effect(cell)}"
            f" δ {fmt(cell.delta, 3)}{mde}{p} | {cell.verdict}{why}")


def summary_table(results, v4: dict | None = None) -> str:
    """claim × verdict, fixed-width text; with ``v4`` (claim id → label) the last column is stage 1
    under rules version 4 (a description) instead of the title."""
    rows = [("claim", "kind", "verdict", "seeds", "coverage", "stage 1 under v4 (description)" if v4 else "title")]
    for r in results.values():
        if not r.claim.judged_at_stage1:     # no v3 rule: stage 2 decides it (printed below it)
            rows.append((r.claim.id, r.claim.kind, "— (rules v4 claim: stage 2 only)", "", "",
                         (v4 or {}).get(r.claim.id, "—") if v4 else r.claim.title))
            continue
        rows.append((r.claim.id, r.claim.kind, r.verdict.label, r.verdict.seeds or "", r.verdict.coverage or "",
                     (v4 or {}).get(r.claim.id, "—") if v4 else r.claim.title))
    w = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(row[j].ljust(w[j]) for j in range(5)) + "  " + row[5])
        if i == 0:
            lines.append("  ".join("-" * w[j] for j in range(5)) + "  " + "-" * 5)
    return "\n".join(lines)


def claim_text(result) -> str:
    """One claim: statement, rules (one sentence each), per-scale and per-rule verdicts, cells."""
    c = result.claim
    out = [f"{c.id} — {c.title} [{c.kind}]", f"  paper: {c.words}", f"  formal: {c.formal}"]
    for line in c.rule_text():
        out.append(f"  rule: {line}")
    if result.identity:
        out.append(f"  proofs+checks: {result.identity.label}" +
                   (f" ({result.identity.detail})" if result.identity.detail else ""))
    for k, v in result.parts.items():
        out.append(f"  component {k}: {v.label}")
    for scale, sr in result.scales.items():
        out.append(f"  {scale} scale: {sr.verdict.label}")
        for rule, v in sr.rules.items():
            out.append(f"    rule {rule}: {v.label}" + (f" [{v.seeds}]" if v.seeds else ""))
    if result.cells:
        out.append("  cells (A, B: mean ± std (n); D = claimed-direction difference [CI95 Welch, unadjusted]; δ minimum "
                   "meaningful difference; MDE minimum detectable D at 80 % power at the family's strictest Holm level; Holm-adjusted p confirm / contradict):")
        for cell in result.cells:
            out.append("    " + cell_line(cell))
    out.append(f"  VERDICT: {result.verdict.label}" + (f" [{result.verdict.seeds}]" if result.verdict.seeds else "")
               + (f" — {result.verdict.detail}" if result.verdict.detail else ""))
    if result.verdict.cls == "missing":
        for cmd in c.commands():
            out.append(f"  reproduce: {cmd}")
    return "\n".join(out)
