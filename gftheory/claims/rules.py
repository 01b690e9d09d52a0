"""Decision rules, fixed before any data: data classes whose ``text()`` is printed in the report.

Empirical cell rule (two-sample ``Comparison``: A ``direction`` than B on metric M, margin δ):
  per (architecture, dataset, protocol) cell with n ≥ MIN_SEEDS seeds per measure, let
  D = mean(A) − mean(B) (negated when "lower" is claimed, so D > 0 is the claimed direction);
  CI95 of D by Welch t (seeded bootstrap shown as a cross-check, never decisive);
  CI entirely > +δ → confirmed; entirely < −δ → contradicted; otherwise inconclusive;
  n < MIN_SEEDS → insufficient.
``OneSample``: the same with D = mean(M of A) against the reference value 0.
Claim rule over the cells of its comparisons at the largest scale present (full > short > smoke):
  confirmed if ≥ 2/3 of the decided cells (n ≥ MIN_SEEDS) are confirmed and none contradicted;
  contradicted if more than half are contradicted; otherwise mixed (both signs present) or
  inconclusive; no decided cell → insufficient; no cell → not yet run.
"""
from __future__ import annotations

from dataclasses import dataclass

MIN_SEEDS = 3
CONFIRM_FRACTION = 2 / 3
CONTRADICT_FRACTION = 1 / 2


@dataclass(frozen=True)
class Comparison:
    """Claim: measure ``a`` has a ``direction`` ("higher"/"lower") value of ``metric`` than ``b``."""
    a: str
    b: str
    metric: str
    direction: str = "higher"
    delta: float = 0.0
    note: str = ""

    def measures(self) -> tuple[str, ...]:
        return (self.a, self.b)

    def text(self) -> str:
        return (f"{self.a} {self.direction} {self.metric} than {self.b}: per cell with n ≥ {MIN_SEEDS} seeds "
                f"each, CI95 (Welch t) of {'mean(A) − mean(B)' if self.direction == 'higher' else 'mean(B) − mean(A)'} "
                f"entirely > +{self.delta:g} → confirmed, entirely < −{self.delta:g} → contradicted, "
                f"else inconclusive; n < {MIN_SEEDS} → insufficient")

    def label(self) -> str:
        op = ">" if self.direction == "higher" else "<"
        return f"{self.metric}: {self.a} {op} {self.b}"


@dataclass(frozen=True)
class OneSample:
    """Claim: ``metric`` of measure ``a`` is ``direction`` than 0 (e.g. GraSP raises ‖g‖²)."""
    a: str
    metric: str
    direction: str = "higher"
    delta: float = 0.0
    note: str = ""

    def measures(self) -> tuple[str, ...]:
        return (self.a,)

    def text(self) -> str:
        sign = "" if self.direction == "higher" else "−"
        return (f"{self.metric} of {self.a} {self.direction} than 0: per cell with n ≥ {MIN_SEEDS} seeds, "
                f"CI95 (t) of {sign}mean entirely > +{self.delta:g} → confirmed, entirely < −{self.delta:g} "
                f"→ contradicted, else inconclusive; n < {MIN_SEEDS} → insufficient")

    def label(self) -> str:
        op = ">" if self.direction == "higher" else "<"
        return f"{self.metric}({self.a}) {op} 0"


CLAIM_RULE_TEXT = (f"claim: over the cells at the largest scale present (full > short > smoke), confirmed if "
                   f"≥ 2/3 of the cells with n ≥ {MIN_SEEDS} are confirmed and none contradicted; contradicted "
                   f"if more than half are contradicted; else mixed (both signs) or inconclusive; no cell with "
                   f"n ≥ {MIN_SEEDS} → insufficient; no cell → not yet run")

IDENTITY_RULE_TEXT = ("identity/approximation: refuted if any numeric check of its statements fails; "
                      "'proved and checked' if every statement with a proof is proved and every check passes; "
                      "'checked (no proof)' / 'proved (not checked)' when one kind of evidence is absent; "
                      "'disputed (proof refutes a step)' if a proof certifies a derivation step false while checks pass; "
                      "'proof failed' if a proof step stays undecided; 'evidence unavailable' if neither ran")

COMPOSITE_RULE_TEXT = ("composite: contradicted if any part is refuted or contradicted; confirmed if every part "
                       "is positive (proved/checked or confirmed); partly confirmed if some part is positive and "
                       "the rest open; otherwise not yet run (every part not yet run), evidence missing (every part "
                       "without evidence) or open")
