"""The claim registry and the verdict rules (``gftheory claims``, ``gftheory confirm``).

``CLAIMS`` (id → Claim), ``evaluate_claims(runset, live)`` → {id: ClaimResult}, the rules in
``gftheory.claims.rules``, run reading in ``gftheory.claims.runs``.
"""
from gftheory.claims.registry import CLAIMS, REQUIRED_IDS, Claim, get_claim, runs_needed
from gftheory.claims.runs import RunSet, load_runs
from gftheory.claims.verdicts import ClaimResult, LiveEvidence, Verdict, evaluate_claims

__all__ = ["CLAIMS", "REQUIRED_IDS", "Claim", "get_claim", "runs_needed", "RunSet", "load_runs",
           "ClaimResult", "LiveEvidence", "Verdict", "evaluate_claims"]
