"""Hessian-vector products and, for small models only, the dense Hessian (a test oracle).

``hessian_vector_product`` computes H v by double backpropagation, batch by batch.
``dense_hessian`` builds H = ∇²L row by row (∂(e_iᵀ∇L)/∂θ for every basis vector e_i, via
``torch.autograd.functional.hessian``), a different contraction used to check the former.
Not ``torch.func.hessian``: with BatchNorm in train mode (in-place running-statistics updates)
torch.func's transforms return a wrong, asymmetric Hessian without any error (seen with
torch 2.13; pinned by tests/theory/test_hessian_oracle.py).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gftheory.objective import Objective

DENSE_HESSIAN_MAX_PARAMS = 4000


def hessian_vector_product(model: nn.Module, batches, vector: Tensor, *,
                           temperature: float = 1.0) -> Tensor:
    """H v for the flat vector v (ordered as the parameters with requires_grad)."""
    return Objective(model, batches, temperature).hvp(vector)


def dense_hessian(model: nn.Module, batches, *, temperature: float = 1.0) -> Tensor:
    """H = ∇²L as a D×D tensor (D ≤ DENSE_HESSIAN_MAX_PARAMS)."""
    obj = Objective(model, batches, temperature)
    if obj.spec.size > DENSE_HESSIAN_MAX_PARAMS:
        raise ValueError(f"dense_hessian is a test oracle for small models: the model has "
                         f"{obj.spec.size} parameters (> {DENSE_HESSIAN_MAX_PARAMS}); use "
                         f"hessian_vector_product instead")
    return torch.autograd.functional.hessian(obj.loss, obj.theta())
