"""The claim registry and the verdict rules (``gftheory claims``, ``gftheory confirm``).

``CLAIMS`` (id → Claim), ``evaluate_claims(runset, live)`` → {id: ClaimResult}, the rules in
``gftheory.claims.rules``, run reading in ``gftheory.claims.runs``, live proofs and checks in
``gftheory.claims.live``. The names load on first use (PEP 562): the registry alone imports no
numpy or scipy, so ``gftheory claims`` stays fast.
"""
from gftheory.lazy import lazy_exports

_API = {
    "CLAIMS": "gftheory.claims.registry", "REQUIRED_IDS": "gftheory.claims.registry",
    "Claim": "gftheory.claims.registry", "get_claim": "gftheory.claims.registry",
    "runs_needed": "gftheory.claims.registry",
    "RunSet": "gftheory.claims.runs", "load_runs": "gftheory.claims.runs",
    "ClaimResult": "gftheory.claims.verdicts", "LiveEvidence": "gftheory.claims.verdicts",
    "Verdict": "gftheory.claims.verdicts", "evaluate_claims": "gftheory.claims.verdicts",
}

__all__ = ["CLAIMS", "REQUIRED_IDS", "Claim", "get_claim", "runs_needed", "RunSet", "load_runs",
           "ClaimResult", "LiveEvidence", "Verdict", "evaluate_claims"]


__getattr__, __dir__ = lazy_exports(__name__, _API, __all__)
