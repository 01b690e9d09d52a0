"""Machine-checked derivations, one module per statement of gftheory.statements.STATEMENTS.

Every module of this package exports ``PROOF``, a ``gftheory.symbolic.proof.Proof`` whose ``id``
is the statement it proves; the modules are discovered (``pkgutil``), not listed by hand, so a
new proof is a new module and nothing else. ``PROOFS`` maps statement id → Proof in the order of
STATEMENTS (loaded on first use); ``run_proofs(ids=None, progress=None, jobs=1)`` runs them
(``gftheory prove``), with the machinery of ``gftheory.symbolic``.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=None)
def discover() -> tuple[tuple[str, object], ...]:
    """(module name, its PROOF) for every module of this package, by module name."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not hasattr(module, "PROOF"):
            raise ImportError(f"proofs/{info.name}.py exports no PROOF; fix: define PROOF = Proof(...)")
        found.append((info.name, module.PROOF))
    return tuple(found)


@lru_cache(maxsize=None)
def _proofs() -> dict:
    from gftheory.statements import STATEMENTS
    by_id: dict = {}
    for name, proof in discover():
        if proof.id in by_id:
            raise ImportError(f"statement {proof.id} is proved by two modules ({by_id[proof.id][0]}, {name}); "
                              "fix: keep one")
        by_id[proof.id] = (name, proof)
    order = [s for s in STATEMENTS if s in by_id] + sorted(s for s in by_id if s not in STATEMENTS)
    return {s: by_id[s][1] for s in order}


def __getattr__(name: str):
    if name == "PROOFS":
        return _proofs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _run_one(pid: str):
    return _proofs()[pid].run()


def run_proofs(ids=None, progress: Callable | None = None, jobs: int = 1) -> list:
    """Run the proofs with the given statement ids (all by default), in STATEMENTS order.
    ``progress(index, total, id)`` is called as they go; ``jobs`` > 1 runs them in that many
    worker processes."""
    from gftheory.symbolic import run_table
    return run_table(_proofs(), ids, progress, jobs, _run_one)


__all__ = ["PROOFS", "discover", "run_proofs"]
