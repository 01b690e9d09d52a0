"""The Proof/Step machinery: every step is an equality (or a non-vanishing) that sympy checks.

A proof module builds a ``Proof`` whose ``derive(d)`` calls ``d.equal(lhs, rhs, why)`` and
``d.nonzero(expr, why)`` on a ``Derivation``; each call is checked at once (see
``gftheory.symbolic.equality``) and recorded with its LaTeX and the check that verified it.
Each step records its method: "symbolic" (sympy decides it exactly: expand/cancel/simplify,
assumptions, or a witness value for a non-vanishing) or "numeric" (the numeric identity test of
``equality.decide_zero`` at seeded random points: evidence, not proof).
Status: "proved" (every step holds and every step is symbolic), "identity-tested" (every step
holds, some only by the numeric identity test), "refuted" (a step's lhs − rhs has a certified non-zero
value), "failed" (a step could not be decided), "error" (an exception).
"""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import sympy as sp

from gftheory.symbolic.equality import _small, decide_zero, witness_nonzero

LATEX_MAX_OPS = 60   # larger expressions are shown by their label only


@dataclass
class Step:
    why: str
    lhs_tex: str
    rhs_tex: str
    ok: bool
    method: str
    refuted: bool = False
    witness: str = ""
    kind: str = "equal"        # equal | nonzero
    section: str = ""
    method_kind: str = "symbolic"   # symbolic | numeric


def _tex(expr, label: str | None, label_first: bool = True) -> str:
    """LaTeX of one side: its label, and the computed expression when it is small enough to
    show (``label = expr`` on the left, ``expr = label`` on the right of a step)."""
    if label is not None and (not isinstance(expr, sp.Basic) or not _small(expr, LATEX_MAX_OPS)):
        return label
    if isinstance(expr, sp.Basic) and not _small(expr, 4 * LATEX_MAX_OPS):
        return r"\text{[expression too large to show]}"
    try:
        body = sp.latex(expr)
    except Exception:  # pragma: no cover - sympy printing edge cases
        return label or str(expr)
    if label is None or label == body:
        return body
    return f"{label} = {body}" if label_first else f"{body} = {label}"


class Derivation:
    """Collects the checked steps of one proof."""

    def __init__(self):
        self.steps: list[Step] = []
        self.section_name = ""
        self.levels: list[str] = []

    def section(self, title: str, level=None) -> None:
        """Start a section; ``level`` (a generic loss, a network, or a str) is reported in the
        'generality' column when every step of the section holds."""
        self.section_name = title
        self.levels.append((level if level is not None else title, len(self.steps)))

    def generality(self) -> str:
        """Summary of the levels whose steps all held, e.g. 'generic smooth L, n=1..6; …';
        levels that needed a numeric identity test are listed apart, as not proved."""
        sym = self._generality(numeric=False)
        num = self._generality(numeric=True)
        if num:
            return (sym + "; " if sym else "") + f"identity-tested only (numeric, not proved): {num}"
        return sym

    def _generality(self, numeric: bool) -> str:
        ns, nets, other, groups = [], [], [], {}
        bounds = [k for _, k in self.levels[1:]] + [len(self.steps)]
        for (level, start), end in zip(self.levels, bounds):
            if not all(s.ok for s in self.steps[start:end]) or start == end:
                continue
            if any(s.method_kind == "numeric" for s in self.steps[start:end]) != numeric:
                continue
            n = getattr(level, "n", None)
            if isinstance(level, tuple) and level and level[0] == "generic":
                groups.setdefault(level[1], []).append(level[2])
            elif n is not None and hasattr(level, "name"):
                ns.append(n)
            elif hasattr(level, "loss_name"):
                nets.append(level)
            else:
                other.append(str(getattr(level, "level", level)))
        parts = []
        if ns:
            parts.append(f"generic smooth L, {_n_range(ns)}")
        for label, vals in groups.items():
            parts.append(f"{label}, {_n_range(vals)}")
        if nets:
            acts = sorted({("BN+" if n.batchnorm else "") + n.activation for n in nets})
            losses = sorted({n.loss_name.upper() for n in nets})
            sizes = sorted({len(n.params) for n in nets})
            parts.append(f"2-layer {'/'.join(acts)} nets ({'/'.join(map(str, sizes))} weights), "
                         f"{' and '.join(losses)}")
        parts += list(dict.fromkeys(other))
        return "; ".join(parts)

    def equal(self, lhs, rhs, why: str, *, lhs_tex: str | None = None, rhs_tex: str | None = None,
              numeric_ok: bool = False) -> bool:
        chk = decide_zero(sp.sympify(lhs) - sp.sympify(rhs), numeric_ok=numeric_ok)
        self.steps.append(Step(why, _tex(lhs, lhs_tex), _tex(rhs, rhs_tex, False), chk.ok, chk.method,
                               chk.refuted, chk.witness, "equal", self.section_name,
                               "numeric" if chk.numeric else "symbolic"))
        return chk.ok

    def zero(self, expr, why: str, *, tex: str | None = None, numeric_ok: bool = False) -> bool:
        return self.equal(expr, 0, why, lhs_tex=tex, numeric_ok=numeric_ok)

    def nonpositive(self, expr, why: str, *, tex: str | None = None) -> bool:
        """A step asserting ``expr`` ≤ 0 for all real arguments, decided by sympy's assumption
        system (``is_nonpositive``) on the canonical form (undefined functions are real)."""
        from gftheory.symbolic.equality import canonical_derivatives
        verdict = canonical_derivatives(sp.sympify(expr)).is_nonpositive
        ok = verdict is True
        self.steps.append(Step(why, _tex(expr, tex), "0", ok,
                               "sympy assumptions: is_nonpositive is True" if ok
                               else f"sympy assumptions: is_nonpositive is {verdict}",
                               verdict is False, "", "nonpositive", self.section_name))
        return ok

    def nonnegative(self, expr, why: str, *, tex: str | None = None) -> bool:
        """A step asserting ``expr`` ≥ 0 for all admissible symbol values: every |·| is rewritten
        as a Piecewise and folded; each branch must be nonnegative by sympy's assumption system
        (a branch is checked without its condition, which only makes the test stricter)."""
        e = sp.piecewise_fold(sp.sympify(expr).rewrite(sp.Piecewise))
        branches = [b for b, _ in e.args] if isinstance(e, sp.Piecewise) else [e]
        verdicts = [sp.expand(b).is_nonnegative for b in branches]
        ok = all(v is True for v in verdicts)
        method = (f"sympy assumptions: all {len(branches)} Piecewise branch(es) is_nonnegative is True" if ok
                  else f"sympy assumptions: branch verdicts {verdicts}")
        refuted, witness = False, ""
        if not ok:        # look for a certified negative value (exact rationals)
            from gftheory.symbolic.equality import random_point
            for seed in range(8):
                pt = random_point(sp.sympify(expr).free_symbols, 2000 + seed)
                val = sp.sympify(expr).xreplace(pt)
                if val.is_number and val < 0:
                    refuted, witness = True, f"value {val} at " + ", ".join(f"{k}={v}" for k, v in pt.items())
                    break
        self.steps.append(Step(why, _tex(expr, tex), "0", ok, method, refuted, witness, "nonnegative",
                               self.section_name))
        return ok

    def nonzero(self, expr, why: str, *, tex: str | None = None) -> bool:
        """A step asserting ``expr`` is not identically zero, certified by a witness value."""
        ok, wit = witness_nonzero(sp.sympify(expr))
        self.steps.append(Step(why, _tex(expr, tex), "0", ok,
                               "witness value ≠ 0 (exact rationals, 50-digit evalf)" if ok
                               else "no non-zero witness found", False, wit, "nonzero",
                               self.section_name))
        return ok


def _n_range(ns) -> str:
    ns = sorted(set(ns))
    if len(ns) > 2 and ns == list(range(ns[0], ns[-1] + 1)):
        return f"n={ns[0]}..{ns[-1]}"
    return "n=" + ",".join(map(str, ns))


@dataclass
class ProofResult:
    id: str
    statement: str
    assumptions: list[str]
    generality: str
    steps_checked: int
    status: str            # proved | refuted | failed | error
    seconds: float
    markdown: str
    kind: str = "proof"    # proof | negative_control
    error: str = ""
    steps: list[dict] = field(default_factory=list, repr=False)
    method: str = ""       # "symbolic (every step)" or "numeric identity test in k of n steps …"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Proof:
    id: str
    statement: str
    assumptions: list[str]
    derive: Callable[[Derivation], None]
    kind: str = "proof"
    generality_hint: str = ""

    def run(self) -> ProofResult:
        from gftheory.symbolic.render import render_markdown
        d = Derivation()
        t0 = time.perf_counter()
        error = ""
        try:
            self.derive(d)
        except Exception:  # recorded as status "error", never swallowed silently
            error = traceback.format_exc(limit=6)
        secs = time.perf_counter() - t0
        if error:
            status = "error"
        elif not d.steps:
            status, error = "failed", "the derivation checked no step"
        elif all(s.ok for s in d.steps):
            status = "identity-tested" if any(s.method_kind == "numeric" for s in d.steps) else "proved"
        elif any((not s.ok) and s.refuted for s in d.steps):
            status = "refuted"
        else:
            status = "failed"
        generality = d.generality() or self.generality_hint
        from gftheory.symbolic.equality import numeric_test_text
        k = sum(s.method_kind == "numeric" for s in d.steps)
        method = (f"numeric identity test in {k} of {len(d.steps)} steps ({numeric_test_text()}); the other "
                  f"steps symbolic" if k else "symbolic (every step)")
        res = ProofResult(self.id, self.statement, list(self.assumptions), generality,
                          len(d.steps), status, round(secs, 3), "", self.kind, error,
                          [asdict(s) for s in d.steps], method)
        res.markdown = render_markdown(self, res, d.steps)
        return res
