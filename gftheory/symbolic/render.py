"""Markdown + LaTeX rendering of a checked derivation (one section per proof)."""
from __future__ import annotations


def render_markdown(proof, result, steps) -> str:
    """Claim, assumptions, then each step as ``$$lhs = rhs$$`` with the check that verified it."""
    head = "Negative control" if result.kind == "negative_control" else "Proof"
    lines = [f"### {head} {result.id}: {result.statement}", "",
             f"**Status:** {result.status} · **steps checked:** {result.steps_checked} · "
             f"**generality:** {result.generality or '—'} · {result.seconds:.2f} s", "",
             f"**Method:** {result.method or 'symbolic'}", ""]
    if result.assumptions:
        lines.append("**Assumptions.**")
        lines += [f"- {a}" for a in result.assumptions]
        lines.append("")
    section = None
    k = 0
    for s in steps:
        if s.section != section:
            section = s.section
            if section:
                lines += [f"#### {section}", ""]
        k += 1
        rel = {"nonzero": r"\neq", "nonpositive": r"\le", "nonnegative": r"\ge"}.get(s.kind, "=")
        mark = "✓" if s.ok else ("✗ refuted" if s.refuted else "✗ undecided")
        lines.append(f"{k}. {s.why}")
        lines.append("")
        lines.append(f"$${s.lhs_tex} {rel} {s.rhs_tex}$$")
        lines.append("")
        check = f"   *check ({getattr(s, 'method_kind', 'symbolic')}):* {s.method} {mark}"
        if s.witness and (s.kind == "nonzero" or not s.ok):
            check += f" — {s.witness}"
        lines.append(check)
        lines.append("")
    body = "\n".join(lines)
    if "_{" in body and ("L_{" in body or "F_{" in body or "sigma_{" in body):
        lines.append(r"*Notation:* $L_{\alpha}$ (likewise $F_{\alpha}$, $\sigma_{\alpha}$) is the partial "
                     r"derivative $\partial^{\alpha}$ of the undefined smooth function, multi-index "
                     r"$\alpha$ over its arguments.")
        lines.append("")
    if result.error:
        lines += ["```", result.error.strip(), "```", ""]
    return "\n".join(lines)
