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


def ci(d: dict | None) -> str:
    if not d:
        return "—"
    return f"{fmt(d['estimate'])} [{fmt(d['low'])}, {fmt(d['high'])}]"


def summary_table(results) -> str:
    """claim × verdict, fixed-width text."""
    rows = [("claim", "kind", "verdict", "seeds", "title")]
    for r in results.values():
        rows.append((r.claim.id, r.claim.kind, r.verdict.label, r.verdict.seeds or "", r.claim.title))
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(row[j].ljust(w[j]) for j in range(4)) + "  " + row[4])
        if i == 0:
            lines.append("  ".join("-" * w[j] for j in range(4)) + "  " + "-" * 5)
    return "\n".join(lines)


def claim_text(result) -> str:
    """One claim: statement, rule, cells and verdict."""
    c = result.claim
    out = [f"{c.id} — {c.title} [{c.kind}]", f"  paper: {c.words}", f"  formal: {c.formal}"]
    for line in c.rule_text():
        out.append(f"  rule: {line}")
    if result.identity:
        out.append(f"  proofs+checks: {result.identity.label}" +
                   (f" ({result.identity.detail})" if result.identity.detail else ""))
    for k, v in result.parts.items():
        out.append(f"  component {k}: {v.label}")
    if result.cells:
        out.append("  cells (A, B: mean ± std (n); D = claimed-direction difference, CI95 Welch / bootstrap):")
        for cell in result.cells:
            b = f"  B {mean_std(cell.b)}" if cell.b is not None else ""
            out.append(f"    {cell.comparison} | {cell.cell} {cell.scale}{'' if cell.counted else ' (not counted)'}"
                       f" | A {mean_std(cell.a)}{b} | D {ci(cell.interval)} boot {ci(cell.bootstrap)}"
                       f" | {cell.verdict}")
    out.append(f"  VERDICT: {result.verdict.label}" + (f" [{result.verdict.seeds}]" if result.verdict.seeds else "")
               + (f" — {result.verdict.detail}" if result.verdict.detail else ""))
    if result.verdict.cls == "missing":
        for cmd in c.commands():
            out.append(f"  reproduce: {cmd}")
    return "\n".join(out)
