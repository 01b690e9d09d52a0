"""Deciding whether a sympy expression is identically zero, and exhibiting that it is not.

``canonical_derivatives`` renames every partial derivative of an undefined function
(``Derivative``/``Subs`` forms alike) to one applied function per multi-index α,
∂^α L(p) ↦ L_{α}(p); this needs L to be C^k (Schwarz: mixed partials commute).
``decide_zero`` then proves zero-ness by ``expand`` (transcendental atoms of concrete
networks frozen to independent symbols first, which is sound: an identity in independent
symbols holds for any of their values) — a *symbolic* step — or, only where the caller allows
it, *tests* it numerically: NUMERIC_POINTS seeded random rational points with magnitudes spread
over 10^±2 (``test_point``), each side term by term in EVAL_DIGITS-digit arithmetic, passing
when |lhs − rhs| ≤ REL_TOL · max(1, Σ|terms|) at every point. A numeric test is not a proof
and its step says so (``ZeroCheck.numeric``).
``witness_nonzero`` exhibits a value ≠ 0: undefined functions replaced by a random
polynomial with rational coefficients, free symbols by random rationals.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp
from sympy.core.function import AppliedUndef

EVAL_DIGITS = 50
NUMERIC_POINTS = 12
POINT_RANGE = (-2.0, 2.0)       # log10 of the magnitudes of the test points' coordinates
REL_TOL = sp.Float("1e-30")
ZERO_BELOW = REL_TOL
NONZERO_ABOVE = sp.Float("1e-20")

_CANON: dict[str, tuple[str, tuple[int, ...]]] = {}   # canonical name -> (base name, α)


def derivative_function(base: str, alpha: tuple[int, ...]):
    """The undefined function standing for ∂^α base (base itself when α = 0)."""
    if not any(alpha):
        return sp.Function(base, real=True)
    name = f"{base}_{{{','.join(map(str, alpha))}}}"
    _CANON[name] = (base, tuple(alpha))
    return sp.Function(name, real=True)


def base_and_alpha(func_name: str, nargs: int) -> tuple[str, tuple[int, ...]]:
    return _CANON.get(func_name, (func_name, (0,) * nargs))


def _canon_applied(inner, mapping) -> sp.Expr:
    if isinstance(inner, sp.Derivative):
        f = inner.expr
        if not isinstance(f, AppliedUndef):
            return None
        base, alpha0 = base_and_alpha(f.func.__name__, len(f.args))
        alpha = list(alpha0)
        for v, k in inner.variable_count:
            pos = [i for i, a in enumerate(f.args) if a == v]
            if len(pos) != 1:
                raise ValueError(f"cannot canonicalise derivative in {v} of {f}")
            alpha[pos[0]] += int(k)
        args = [canonical_derivatives(a.xreplace(mapping)) for a in f.args]
        return derivative_function(base, tuple(alpha))(*args)
    if isinstance(inner, AppliedUndef):
        base, alpha = base_and_alpha(inner.func.__name__, len(inner.args))
        args = [canonical_derivatives(a.xreplace(mapping)) for a in inner.args]
        return derivative_function(base, alpha)(*args)
    return None


def canonical_derivatives(expr):
    """Rewrite Derivative/Subs of undefined functions as L_{α}(point) (see module doc)."""
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    if isinstance(expr, sp.Subs):
        out = _canon_applied(expr.expr, dict(zip(expr.variables, expr.point)))
        if out is not None:
            return out
        return canonical_derivatives(expr.doit())
    if isinstance(expr, sp.Derivative):
        out = _canon_applied(expr, {})
        if out is not None:
            return out
        return canonical_derivatives(expr.doit())
    new = [canonical_derivatives(a) for a in expr.args]
    if all(a is b for a, b in zip(new, expr.args)):
        return expr
    return expr.func(*new)


TRANSCENDENTAL = (sp.exp, sp.log, sp.tanh, sp.sqrt)


def freeze_transcendentals(expr):
    """Replace each tanh/exp/log atom and each non-integer power by an independent symbol."""
    atoms = set(expr.atoms(sp.exp, sp.log, sp.tanh))
    atoms |= {p for p in expr.atoms(sp.Pow) if not p.exp.is_Integer}
    if not atoms:
        return expr, False
    mapping = {a: sp.Dummy("a") for a in sorted(atoms, key=sp.count_ops, reverse=True)}
    return expr.xreplace(mapping), True


@dataclass
class ZeroCheck:
    ok: bool
    method: str
    refuted: bool = False   # a certified non-zero value was found
    witness: str = ""
    numeric: bool = False   # accepted by the numeric identity test, not by a symbolic proof


def numeric_test_text() -> str:
    return (f"{NUMERIC_POINTS} seeded random rational points, coordinates of magnitude 10^{POINT_RANGE[0]:+g}.."
            f"10^{POINT_RANGE[1]:+g} with random signs (positive symbols > 0), {EVAL_DIGITS}-digit arithmetic, "
            f"pass if |lhs − rhs| ≤ {sp.N(REL_TOL, 2)}·max(1, Σ|terms|) at every point")


def _has_undefined(expr) -> bool:
    return bool(expr.atoms(AppliedUndef))


def _random_rational(rng: random.Random, positive: bool) -> sp.Rational:
    q = rng.randint(5, 23)
    p = rng.randint(1, 2 * q) if positive else rng.randint(-q, q)
    if positive:
        p = max(p, q // 3)
    return sp.Rational(p, q)


def test_point(symbols, seed: int) -> dict:
    """A seeded rational point for the numeric identity test: magnitudes log-uniform over
    10^POINT_RANGE, random signs (positive symbols > 0)."""
    rng = random.Random(7919 * seed + 1)
    out = {}
    for s in sorted(symbols, key=lambda s: s.name if hasattr(s, "name") else str(s)):
        q = rng.randint(1, 97)
        p = max(1, round(10 ** rng.uniform(*POINT_RANGE) * q))
        sign = 1 if (s.is_positive or rng.random() < 0.5) else -1
        out[s] = sp.Rational(sign * p, q)
    return out


def _terms_function(expr):
    """A function of a point returning (value, Σ|term values|) of expr in EVAL_DIGITS-digit
    mpmath arithmetic, term by term (lambdify once, evaluate at many points)."""
    import mpmath
    terms = list(expr.args) if isinstance(expr, sp.Add) else [expr]
    syms = sorted(expr.free_symbols, key=lambda s: s.name if hasattr(s, "name") else str(s))
    from sympy.printing.pycode import MpmathPrinter
    printer = MpmathPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                             "user_functions": {}, "order": "none"})
    fn = sp.lambdify(syms, terms, modules="mpmath", printer=printer, docstring_limit=0, cse=True)

    def at(pt):
        with mpmath.workdps(EVAL_DIGITS):
            vals = fn(*[mpmath.mpf(int(pt[s].p)) / int(pt[s].q) for s in syms])
            total = mpmath.fsum(vals)
            size = mpmath.fsum(abs(v) for v in vals)
            if isinstance(total, mpmath.mpc) or isinstance(size, mpmath.mpc):
                return None, None
            return sp.Float(total, EVAL_DIGITS), sp.Float(size, EVAL_DIGITS)
    return at


def random_point(symbols, seed: int) -> dict:
    rng = random.Random(seed)
    return {s: _random_rational(rng, bool(s.is_positive)) for s in
            sorted(symbols, key=lambda s: s.name if hasattr(s, "name") else str(s))}


@lru_cache(maxsize=None)
def _witness_poly(base: str, nargs: int, seed: int):
    """A polynomial of degree 4 with random rational coefficients in nargs variables."""
    rng = random.Random(hash((base, nargs, seed)) & 0xFFFF)
    ys = sp.symbols(f"y0:{nargs}", real=True)
    terms = []
    for deg in range(0, 5):
        for mono in sp.itermonomials(ys, deg, deg) if ys else [sp.Integer(1)]:
            terms.append(sp.Rational(rng.randint(-9, 9) or 1, rng.randint(1, 7)) * mono)
    return ys, sp.Add(*terms)


def substitute_witness_functions(expr, seed: int = 0):
    """Replace every undefined function (and its canonical derivatives) by a random polynomial."""
    expr = canonical_derivatives(expr)
    repl = {}
    for f in expr.atoms(AppliedUndef):
        base, alpha = base_and_alpha(f.func.__name__, len(f.args))
        ys, poly = _witness_poly(base, len(f.args), seed)
        d = poly
        for y, k in zip(ys, alpha):
            if k:
                d = sp.diff(d, y, k)
        repl[f] = d.xreplace(dict(zip(ys, f.args)))
    return expr.xreplace(repl)


def evaluate_at(expr, seed: int):
    """expr at a random rational point (positive symbols > 0), to EVAL_DIGITS digits: exact
    substitution then evalf for small expressions, 50-digit mpmath (lambdify) for large ones."""
    pt = random_point(expr.free_symbols, seed)
    if _small(expr):
        return expr.xreplace(pt).evalf(EVAL_DIGITS), pt
    val = expr.xreplace({k: sp.Float(v, EVAL_DIGITS + 10) for k, v in pt.items()})
    return val.evalf(EVAL_DIGITS), pt


def _small(expr, limit: int = 300) -> bool:
    """True when the expression tree has fewer than ``limit`` nodes (cheap early exit)."""
    for k, _ in enumerate(sp.preorder_traversal(expr)):
        if k >= limit:
            return False
    return True


def _instantiate_sums(expr):
    """Indexed sums over a symbolic n (and unit size k ≤ n): take n = 3, k = 2 and expand."""
    if not expr.has(sp.Sum):
        return expr, ""
    ints = sorted((s for s in expr.free_symbols if s.is_integer), key=lambda s: s.name)
    sizes = {s: (2 if s.name == "k" else 3) for s in ints}
    return expr.xreplace(sizes).doit(), f" (instance {', '.join(f'{k}={v}' for k, v in sizes.items())})"


def witness_nonzero(expr, tries: int = 4) -> tuple[bool, str]:
    """Find a point (and polynomial stand-ins for undefined functions) where expr ≠ 0."""
    expr, inst = _instantiate_sums(expr)
    for seed in range(tries):
        e = substitute_witness_functions(expr, seed) if _has_undefined(expr) else expr
        e = e.doit() if e.has(sp.Derivative, sp.Subs) else e
        val, pt = evaluate_at(e, 1000 + seed)
        if val.is_number and abs(val) > NONZERO_ABOVE:
            where = ", ".join(f"{k}={v}" for k, v in list(pt.items())[:6])
            more = " …" if len(pt) > 6 else ""
            fn = " (undefined functions replaced by random rational polynomials)" \
                if _has_undefined(expr) else ""
            return True, f"value {sp.N(val, 8)} at {where}{more}{fn}{inst}"
    return False, "no non-zero value found"


def decide_zero(expr, *, numeric_ok: bool = False, points: int | None = None,
                expand_limit: int = 3000) -> ZeroCheck:
    """Is ``expr`` identically zero?  See module docstring for the methods, in order."""
    c = canonical_derivatives(sp.sympify(expr))
    if c == 0:
        return ZeroCheck(True, "sympy: lhs − rhs cancels to 0 on construction")
    frozen, did_freeze = freeze_transcendentals(c) if _small(c, expand_limit) else (c, True)
    if _small(frozen, expand_limit):
        e = sp.expand(frozen)
        if e == 0:
            how = ("sympy: expand(lhs − rhs) = 0 with tanh/exp/log/√ atoms as independent symbols"
                   if did_freeze else "sympy: expand(lhs − rhs) = 0")
            return ZeroCheck(True, how)
        if not did_freeze and not _has_undefined(c):
            # a polynomial/rational expression: cancel decides it exactly
            if sp.cancel(sp.together(e)) == 0:
                return ZeroCheck(True, "sympy: cancel(together(lhs − rhs)) = 0")
    if _has_undefined(c):
        e = sp.simplify(c)
        if e == 0:
            return ZeroCheck(True, "sympy: simplify(lhs − rhs) = 0")
        nz, wit = witness_nonzero(c)
        return ZeroCheck(False, "sympy could not reduce lhs − rhs to 0", refuted=nz, witness=wit)
    if numeric_ok:
        points = NUMERIC_POINTS if points is None else points
        worst = sp.Float(0)
        at = _terms_function(c)
        for seed in range(points):
            val, size = at(test_point(c.free_symbols, seed))
            if val is None:
                break
            bound = REL_TOL * max(sp.Float(1), size)
            worst = max(worst, abs(val) / max(sp.Float(1), size))
            if abs(val) > bound:
                nz, wit = witness_nonzero(c)
                return ZeroCheck(False, "numeric identity test failed", refuted=nz, witness=wit)
        else:
            return ZeroCheck(True, f"numeric identity test, not a symbolic proof: {points} seeded points, "
                                   f"{EVAL_DIGITS} digits, max |lhs − rhs|/max(1, Σ|terms|) = {sp.N(worst, 3)} "
                                   f"≤ {sp.N(REL_TOL, 2)}", numeric=True)
    nz, wit = witness_nonzero(c)
    return ZeroCheck(False, "sympy could not reduce lhs − rhs to 0", refuted=nz, witness=wit)
