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


def _run_one(args) -> ProofResult:
    table, pid = args
    return (PROOFS if table == "proofs" else NEGATIVE_CONTROLS)[pid].run()


def _run(name: str, table: Mapping[str, Proof], ids, progress: Callable | None,
         jobs: int) -> list[ProofResult]:
    ids = list(table) if ids is None else list(ids)
    unknown = [i for i in ids if i not in table]
    if unknown:
        raise KeyError(f"unknown proof id(s) {unknown}; known: {', '.join(table)}")
    if jobs <= 1 or len(ids) <= 1:
        out = []
        for k, pid in enumerate(ids):
            if progress:
                progress(k, len(ids), pid)
            out.append(table[pid].run())
        return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    done: dict[str, ProofResult] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {pool.submit(_run_one, (name, pid)): pid for pid in ids}
        for k, fut in enumerate(as_completed(futures)):
            done[futures[fut]] = fut.result()
            if progress:
                progress(k, len(ids), futures[fut])
    return [done[pid] for pid in ids]


def run_proofs(ids=None, progress: Callable | None = None, jobs: int = 1) -> list[ProofResult]:
    """Run the proofs with the given statement ids (all by default), in registry order.
    ``progress(index, total, id)`` is called as they go; ``jobs`` > 1 runs them in that many
    worker processes."""
    return _run("proofs", PROOFS, ids, progress, jobs)


def run_negative_controls(ids=None, progress: Callable | None = None,
                          jobs: int = 1) -> list[ProofResult]:
    """Run the negative controls; each result's status must be "refuted"."""
    return _run("negative_controls", NEGATIVE_CONTROLS, ids, progress, jobs)


__all__ = ["run_proofs", "run_negative_controls", "ProofResult", "PROOFS", "NEGATIVE_CONTROLS",
           "Proof", "Step", "Derivation"]
