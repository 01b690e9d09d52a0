"""Live evidence for the verdicts: the proofs (``proofs.run_proofs``) and the numeric checks
(``gftheory.checks.run_checks``), run now, as a ``LiveEvidence``.

Either source may be missing or raise: the error is recorded and the affected claims say
"evidence unavailable: <error>" instead of the caller crashing (``gftheory report``,
``gftheory confirm``).
"""
from __future__ import annotations

import inspect
import os
import sys
import time

from gftheory.claims.verdicts import LiveEvidence


def _progress(*args, **kwargs) -> None:
    msg = " ".join(str(a) for a in args)
    if kwargs:
        msg += " " + " ".join(f"{k}={v}" for k, v in kwargs.items())
    print(f"  {msg}", file=sys.stderr, flush=True)


def _runner(name: str):
    """The function that produces one live source (imported now: it may be missing)."""
    if name == "proofs":
        from proofs import run_proofs
        return run_proofs
    from gftheory.checks import run_checks
    return run_checks


def _call(fn, quiet: bool, **kwargs):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    if "jobs" in params:     # run_proofs: worker processes, as `gftheory prove` does by default
        kwargs["jobs"] = min(2, os.cpu_count() or 1)
    return list(fn(progress=None if quiet else _progress, **kwargs))


def collect_live(profile: str = "ci", ids=None, *, checks: bool = True, proofs: bool = True,
                 quiet: bool = False) -> LiveEvidence:
    """Run the proofs and the numeric checks now (restricted to ``ids`` if given)."""
    ev = LiveEvidence()
    for name, source, kwargs, wanted in (
            ("proofs", "proofs.run_proofs", {"ids": ids}, proofs),
            ("checks", "gftheory.checks.run_checks", {"profile": profile, "ids": ids}, checks)):
        if not wanted:
            setattr(ev, f"{name}_error", "skipped (--skip-live)")
            continue
        t0 = time.perf_counter()
        if not quiet:
            print(f"[report] running {name} ({source}) ...", file=sys.stderr, flush=True)
        try:
            rows = _call(_runner(name), quiet, **kwargs)
            setattr(ev, name, LiveEvidence.from_results(**{name: rows}).__dict__[name])
        except Exception as exc:  # noqa: BLE001 - any failure becomes "evidence unavailable"
            setattr(ev, f"{name}_error", f"{type(exc).__name__}: {exc}")
            if not quiet:
                print(f"[report] {name} unavailable: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        ev.seconds[name] = round(time.perf_counter() - t0, 2)
    return ev
