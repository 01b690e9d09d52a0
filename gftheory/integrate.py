"""Integrate gradient flow dθ/dt = −g(θ) − λθ for small float64 models with scipy.

``integrate_gradient_flow`` returns a ``Trajectory`` whose dense output θ(t) can be
differentiated numerically in t — the independent route to checking F1–F5.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch import nn

from gftheory.objective import Objective

INTEGRATE_MAX_PARAMS = 20000


@dataclass
class Trajectory:
    objective: Objective
    t: np.ndarray          # evaluation times
    theta: np.ndarray      # θ(t) at those times, shape (len(t), D)
    solution: object       # scipy OdeSolution: θ at any t in [0, t_final]
    weight_decay: float
    nfev: int

    def at(self, t: float) -> np.ndarray:
        return np.asarray(self.solution(t))

    def theta_tensor(self, t: float) -> torch.Tensor:
        return torch.as_tensor(self.at(t), dtype=self.objective.dtype, device=self.objective.device)


def integrate_gradient_flow(model: nn.Module, batches, t_final: float, *, temperature: float = 1.0,
                            weight_decay: float = 0.0, t_eval=None, rtol: float = 1e-11,
                            atol: float = 1e-13, method: str = "DOP853") -> Trajectory:
    """Solve dθ/dt = −g − λθ from the model's current θ over [0, t_final] (the model is not
    modified). Needs a float64 model with at most INTEGRATE_MAX_PARAMS parameters."""
    obj = Objective(model, batches, temperature)
    if obj.dtype != torch.float64:
        raise TypeError(f"integrate_gradient_flow needs a float64 model (got {obj.dtype}); call "
                        f"model.double() and pass float64 inputs")
    if obj.spec.size > INTEGRATE_MAX_PARAMS:
        raise ValueError(f"the model has {obj.spec.size} parameters; integration is meant for small "
                         f"models (≤ {INTEGRATE_MAX_PARAMS})")
    if not t_final > 0:
        raise ValueError(f"t_final must be > 0, got {t_final}")
    lam = float(weight_decay)

    def rhs(_t, y):
        th = torch.as_tensor(y, dtype=torch.float64, device=obj.device)
        return (-(obj.grad(th) + lam * th)).cpu().numpy()

    y0 = obj.theta().cpu().numpy()
    sol = solve_ivp(rhs, (0.0, float(t_final)), y0, method=method, rtol=rtol, atol=atol,
                    t_eval=t_eval, dense_output=True)
    if not sol.success:
        raise RuntimeError(f"gradient-flow integration failed: {sol.message}")
    return Trajectory(objective=obj, t=sol.t, theta=sol.y.T.copy(), solution=sol.sol,
                      weight_decay=lam, nfev=int(sol.nfev))
