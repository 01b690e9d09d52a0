"""The mathematical statements of the paper (docs/paper.md §2–3) and beyond, by id.

One table shared by the numeric checks (``gftheory check``), the symbolic proofs
(``gftheory prove``) and the claim registry, so that evidence is joined by id.
Notation: dθ/dt = −g (− λθ with weight decay λ), g = ∇L, H = ∇²L, θ_p a unit's weights.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    id: str
    formula: str
    kind: str          # identity | approximation | beyond_paper
    source: str        # where in docs/paper.md


STATEMENTS: dict[str, Statement] = {s.id: s for s in [
    Statement("F1", "d‖θ‖²/dt = −2θᵀg", "identity", "docs/paper.md §2 F1"),
    Statement("F1_unit", "d‖θ_p‖²/dt = −2θ_pᵀg", "identity", "docs/paper.md §2 F1 (per unit)"),
    Statement("F1_wd", "with dθ/dt = −g − λθ: d‖θ‖²/dt = −2θᵀg − 2λ‖θ‖²", "identity",
              "docs/paper.md §2 F1 (weight decay)"),
    Statement("F2", "dL/dt = −‖g‖² ≤ 0", "identity", "docs/paper.md §2 F2"),
    Statement("F3", "d‖g‖²/dt = −2gᵀHg", "identity", "docs/paper.md §2 F3"),
    Statement("F4", "d²‖θ‖²/dt² = 2‖g‖² + 2θᵀHg", "identity", "docs/paper.md §2 F4"),
    Statement("F4_unit", "d²‖θ_p‖²/dt² = 2‖g_p‖² + 2θ_pᵀ(Hg)_p", "identity",
              "docs/paper.md §2 F4 (per unit)"),
    Statement("F5", "d(θ_pᵀg)/dt = −‖g_p‖² − θ_pᵀ(Hg)_p", "identity", "docs/paper.md §2 F5"),
    Statement("T0", "L(0) = L(θ) − θᵀg + ½θᵀHθ + O(‖θ‖³), so d‖θ‖²/dt ≈ 2(L(0) − L(θ))",
              "approximation", "docs/paper.md §2 T0"),
    Statement("T1", "L(θ − θ_p) − L(θ) = −θ_pᵀg + O(‖θ_p‖²)", "approximation", "docs/paper.md §2 T1"),
    Statement("T2", "‖g(θ − θ_p)‖² − ‖g(θ)‖² = −2θ_pᵀHg + O(‖θ_p‖²)", "approximation",
              "docs/paper.md §2 T2"),
    Statement("O2", "|θ_pᵀg| = ½|d‖θ_p‖²/dt| (loss preservation is half the norm rate)",
              "identity", "docs/paper.md §3 Observation 2"),
    Statement("MASK", "∂L/∂c at c = 1 equals θ ⊙ ∂L/∂θ for a multiplicative mask c", "identity",
              "docs/neighbours.md item 3 (SNIP/mask convention)"),
    Statement("ELEMENTWISE_BOUND", "Σ_i|θ_i g_i| ≥ |θ_pᵀg|", "identity", "docs/paper.md §4"),
    Statement("GRASP_SIGN", "the unit with the lowest grasp score θ_pᵀ(Hg)_p is the one whose "
              "removal raises ‖g‖² the most (small units)", "approximation", "docs/paper.md §4"),
    Statement("SCALE_INVARIANT_RANKING", "rankings are invariant to positive rescaling of the loss",
              "identity", "docs/neighbours.md item 3"),
    Statement("BN_SCALE", "a filter followed by train-mode BatchNorm is scale-invariant: "
              "θ_pᵀg_p = 0 and d‖θ_p‖²/dt = 0", "beyond_paper", "beyond the paper"),
    Statement("BALANCE", "bias-free ReLU nets: d/dt(‖w_in,j‖² − ‖w_out,j‖²) = 0 for each hidden "
              "unit j", "beyond_paper", "beyond the paper (Du et al. 2018)"),
]}
