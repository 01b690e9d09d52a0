"""Machine-checked symbolic derivations of the paper's identities (``gftheory prove``).

``run_proofs(ids=None, progress=None) -> list[ProofResult]`` runs the proofs of ``PROOFS``
(statement id → Proof, defined one module per statement in the top-level ``proofs`` package);
``run_negative_controls()`` runs ``NEGATIVE_CONTROLS``, wrong statements that must come out
"refuted". Helpers: ``networks`` (generic smooth L, two-layer networks), ``flow`` (the flow
substitution dθ/dt = −∇L), ``series`` (ε-expansions), ``proof`` (Proof/Step), ``render``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from gftheory.symbolic.negative_controls import NEGATIVE_CONTROLS
from gftheory.symbolic.proof import Derivation, Proof, ProofResult, Step


class _LazyProofs(Mapping):
    """statement id → Proof, imported from the ``proofs`` package on first use."""

    def _load(self) -> dict:
        from proofs import PROOFS as loaded
        return loaded

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())


PROOFS: Mapping[str, Proof] = _LazyProofs()


def _run(table: Mapping[str, Proof], ids, progress: Callable | None) -> list[ProofResult]:
    ids = list(table) if ids is None else list(ids)
    unknown = [i for i in ids if i not in table]
    if unknown:
        raise KeyError(f"unknown proof id(s) {unknown}; known: {', '.join(table)}")
    out = []
    for k, pid in enumerate(ids):
        if progress:
            progress(k, len(ids), pid)
        out.append(table[pid].run())
    return out


def run_proofs(ids=None, progress: Callable | None = None) -> list[ProofResult]:
    """Run the proofs with the given statement ids (all by default), in registry order.
    ``progress(index, total, id)`` is called before each."""
    return _run(PROOFS, ids, progress)


def run_negative_controls(ids=None, progress: Callable | None = None) -> list[ProofResult]:
    """Run the negative controls; each result's status must be "refuted"."""
    return _run(NEGATIVE_CONTROLS, ids, progress)


__all__ = ["run_proofs", "run_negative_controls", "ProofResult", "PROOFS", "NEGATIVE_CONTROLS",
           "Proof", "Step", "Derivation"]
