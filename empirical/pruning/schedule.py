"""The per-round pruning schedule of the authors' code (docs/paper.md §5), without truncation drift.

Round k = 1..n removes the fraction r_k = p / (k·p + n(1−p)) of the units *remaining* before it,
so the remaining fraction after round k is ρ_k = n(1−p) / (k·p + n(1−p)) and ρ_n = 1 − p exactly.

The authors' ResNet code truncates a running integer target every round and drifts (75 % over
25 rounds ends near 82 %, docs/paper.md §7.4). Here the *cumulative* number of pruned units after round
k is computed afresh from the original unit count U₀ in exact rational arithmetic,

    C_k = round(U₀ · (1 − ρ_k))      (round half up),

and round k prunes C_k − (units already pruned); so C_n = round(U₀·p) whatever happened before.
"""
from __future__ import annotations

from fractions import Fraction


def exact_fraction(x: float, name: str = "value") -> Fraction:
    """``x`` as the exact decimal it was written as (0.75 → 3/4, 0.05 → 1/20)."""
    try:
        return Fraction(repr(float(x)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {x!r}") from exc


def check_schedule(target: float, rounds: int) -> None:
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise ValueError(f"rounds must be a positive int, got {rounds!r}; fix: e.g. rounds=25")
    if not 0.0 <= float(target) < 1.0:
        raise ValueError(f"target must be a fraction in [0, 1), got {target!r}; fix: e.g. target=0.75")


def round_ratio(k: int, target: float, rounds: int) -> Fraction:
    """r_k = p / (k·p + n(1−p)): the fraction of the remaining units pruned in round k."""
    check_schedule(target, rounds)
    if not 1 <= k <= rounds:
        raise ValueError(f"round k must be in 1..{rounds}, got {k}")
    p, n = exact_fraction(target, "target"), rounds
    den = k * p + n * (1 - p)
    return p / den if den else Fraction(1)


def remaining_fraction(k: int, target: float, rounds: int) -> Fraction:
    """ρ_k = Π_{j≤k} (1 − r_j) = n(1−p) / (k·p + n(1−p)); ρ_0 = 1, ρ_n = 1 − p."""
    check_schedule(target, rounds)
    if not 0 <= k <= rounds:
        raise ValueError(f"round k must be in 0..{rounds}, got {k}")
    p, n = exact_fraction(target, "target"), rounds
    den = k * p + n * (1 - p)
    return n * (1 - p) / den if den else Fraction(1)


def cumulative_pruned(k: int, total_units: int, target: float, rounds: int) -> int:
    """C_k = round(U₀·(1 − ρ_k)), half up: units pruned in all after round k."""
    x = total_units * (1 - remaining_fraction(k, target, rounds))
    return int((x + Fraction(1, 2)).__floor__())


def target_counts(total_units: int, target: float, rounds: int) -> list[int]:
    """[C_1 − C_0, …, C_n − C_{n−1}]: units pruned per round if the floor never binds."""
    c = [cumulative_pruned(k, total_units, target, rounds) for k in range(rounds + 1)]
    return [b - a for a, b in zip(c, c[1:])]
