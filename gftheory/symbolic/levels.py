"""The levels of generality every proof runs through (kept small enough for ≤ 60 s on 2 cores)."""
from __future__ import annotations

from gftheory.symbolic.networks import CONCRETE_NETWORKS, generic_smooth_loss, two_layer_network

GENERIC_N = tuple(range(1, 7))        # generic smooth L with n = 1..6 parameters
GENERIC_N_HEAVY = tuple(range(1, 6))  # n = 1..5 for second-order statements (F3, F4, F5, T2)
SAMPLES = {"mse": 2, "ce": 1}
# second-order statements: every activation and both losses, the cheaper combinations
HEAVY_NETWORKS = (("tanh", "mse"), ("tanh", "ce"), ("softplus", "mse"), ("poly", "mse"))


def generic_losses(ns=GENERIC_N):
    return [generic_smooth_loss(n) for n in ns]


def concrete_networks(pairs=CONCRETE_NETWORKS):
    """Two-layer networks for each (activation, loss) in ``pairs``: MSE — 6 weights (2-2-1),
    2 symbolic samples and targets; CE — 8 weights (2-2-2), 1 symbolic sample, symbolic T."""
    return [two_layer_network(a, l, samples=SAMPLES[l]) for a, l in pairs]


def all_levels(heavy: bool = False):
    """Generic losses then concrete networks (the reduced sets when ``heavy``)."""
    if heavy:
        return generic_losses(GENERIC_N_HEAVY) + concrete_networks(HEAVY_NETWORKS)
    return generic_losses(GENERIC_N) + concrete_networks()


def units_of(m) -> list[list[int]]:
    """Units p to check: for a generic L the first ⌈n/2⌉ coordinates (and, for n ≥ 2, the last
    coordinate alone); for a network every row of W₁ and W₂."""
    if hasattr(m, "units") and m.units:
        return [u for rows in m.units.values() for u in rows]
    k = (m.n + 1) // 2
    out = [list(range(k))]
    if m.n >= 2:
        out.append([m.n - 1])
    return out


def is_network(m) -> bool:
    return hasattr(m, "loss_name")

GENERAL_N = "general n (symbolic n, indexed sums)"
GENERAL_N_CHAIN = "general n (symbolic n, indexed sums; chain rule dg_i/dt = Σ_j H_ij dθ_j/dt as a rule)"
