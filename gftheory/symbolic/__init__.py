"""Machine-checked symbolic derivations of the paper's identities (``gftheory prove``).

``run_table(table, ids, progress, jobs, run_one)`` runs a table of proofs (id → Proof), in this
process or in worker processes; the paper's proofs live one module per statement in the
``proofs`` package above this one (``proofs.PROOFS``, ``proofs.run_proofs``).
``run_negative_controls()`` runs ``NEGATIVE_CONTROLS``, wrong statements that must come out
"refuted". Helpers: ``networks`` (generic smooth L, two-layer networks), ``flow`` (the flow
substitution dθ/dt = −∇L), ``series`` (ε-expansions), ``proof`` (Proof/Step), ``render``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from gftheory.symbolic.negative_controls import NEGATIVE_CONTROLS
from gftheory.symbolic.proof import Derivation, Proof, ProofResult, Step


def _run_negative_control(pid: str) -> ProofResult:
    return NEGATIVE_CONTROLS[pid].run()


def run_table(table: Mapping[str, Proof], ids, progress: Callable | None, jobs: int,
              run_one: Callable[[str], ProofResult]) -> list[ProofResult]:
    """Run the proofs of ``table`` with the given ids (all by default), in table order.
    ``progress(index, total, id)`` is called as they go; ``jobs`` > 1 runs them in that many
    worker processes, each calling ``run_one(id)`` (a module-level function, so it pickles)."""
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
        futures = {pool.submit(run_one, pid): pid for pid in ids}
        for k, fut in enumerate(as_completed(futures)):
            done[futures[fut]] = fut.result()
            if progress:
                progress(k, len(ids), futures[fut])
    return [done[pid] for pid in ids]


def run_negative_controls(ids=None, progress: Callable | None = None,
                          jobs: int = 1) -> list[ProofResult]:
    """Run the negative controls; each result's status must be "refuted"."""
    return run_table(NEGATIVE_CONTROLS, ids, progress, jobs, _run_negative_control)


__all__ = ["run_table", "run_negative_controls", "ProofResult", "NEGATIVE_CONTROLS", "Proof", "Step",
           "Derivation"]
