"""Cross-layer check: the symbolic quantities, lambdified, equal the numeric layer's torch
computations (gftheory.Objective, flow_rates, importance) at random float64 points."""
import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

from gftheory import Objective, flow_rates, importance
from gftheory.symbolic.flow import dot
from gftheory.symbolic.networks import two_layer_network


class Poly(nn.Module):
    def forward(self, z):
        return z + z ** 2 / 2


TORCH_ACT = {"tanh": nn.Tanh, "softplus": nn.Softplus, "poly": Poly}


def torch_twin(m, weights):
    d_in, hidden, d_out = m.w1.shape[1], m.w1.shape[0], m.w2.shape[0]
    model = nn.Sequential(nn.Linear(d_in, hidden, bias=False), TORCH_ACT[m.activation](),
                          nn.Linear(hidden, d_out, bias=False)).double()
    with torch.no_grad():
        flat = torch.tensor(weights, dtype=torch.float64)
        model[0].weight.copy_(flat[:hidden * d_in].view(hidden, d_in))
        model[2].weight.copy_(flat[hidden * d_in:].view(d_out, hidden))
    return model


@pytest.fixture(scope="module", params=[("tanh", 2), ("softplus", 1), ("poly", 1)])
def case(request):
    act, samples = request.param   # 2 samples for tanh: checks the mean over samples
    m = two_layer_network(act, "ce", samples=samples)
    syms = list(m.params) + list(m.inputs) + [m.temperature]
    fns = {k: sp.lambdify(syms, e, "numpy") for k, e in {
        "loss": m.loss, "theta_dot_grad": dot(m.params, m.grad),
        "grad_norm_sq": dot(m.grad, m.grad), "theta_dot_hvp": dot(m.params, m.hessian_grad),
        "grad_dot_hvp": dot(m.grad, m.hessian_grad)}.items()}
    units = {name: [(sp.lambdify(syms, dot([m.params[i] for i in u], [m.grad[i] for i in u])),
                     sp.lambdify(syms, dot([m.params[i] for i in u], [m.hessian_grad[i] for i in u])))
                    for u in rows] for name, rows in m.units.items()}
    return m, fns, units


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_symbolic_equals_torch(case, seed):
    m, fns, units = case
    rng = np.random.default_rng(seed)
    w = rng.normal(size=len(m.params))
    x = rng.normal(size=m.inputs.shape)
    T = float(rng.uniform(0.5, 3.0))
    args = [*w, *x.reshape(-1), T]
    model = torch_twin(m, w)
    batch = (torch.tensor(x), torch.tensor(m.targets))
    obj = Objective(model, batch, T)
    loss, _ = obj.loss_and_grad()
    assert loss == pytest.approx(float(fns["loss"](*args)), rel=1e-10, abs=1e-12)
    r = flow_rates(model, batch, temperature=T, per_unit=True)
    tg, gg = fns["theta_dot_grad"](*args), fns["grad_norm_sq"](*args)
    thg, ghg = fns["theta_dot_hvp"](*args), fns["grad_dot_hvp"](*args)
    tol = dict(rel=1e-9, abs=1e-11)
    assert r.norm_sq_rate == pytest.approx(-2 * tg, **tol)            # F1
    assert r.loss_rate == pytest.approx(-gg, **tol)                   # F2
    assert r.grad_norm_sq_rate == pytest.approx(-2 * ghg, **tol)      # F3
    assert r.norm_sq_accel == pytest.approx(2 * gg + 2 * thg, **tol)  # F4
    lp = importance(model, "loss_preservation", batch, temperature=T)
    gr = importance(model, "grasp", batch, temperature=T)
    for name, tname in (("w1", "0.weight"), ("w2", "2.weight")):
        for k, (f_tg, f_thg) in enumerate(units[name]):
            u_tg, u_thg = float(f_tg(*args)), float(f_thg(*args))
            assert float(r.units[tname].theta_dot_grad[k]) == pytest.approx(u_tg, **tol)
            assert float(r.units[tname].theta_dot_hvp[k]) == pytest.approx(u_thg, **tol)
            assert float(lp[tname][k]) == pytest.approx(abs(u_tg), **tol)   # O2 score
            assert float(gr[tname][k]) == pytest.approx(u_thg, **tol)


def test_mse_loss_matches_torch():
    m = two_layer_network("tanh", "mse")
    rng = np.random.default_rng(5)
    w, x, y = rng.normal(size=6), rng.normal(size=(2, 2)), rng.normal(size=(2, 1))
    syms = list(m.params) + list(m.inputs) + list(m.targets)
    f = sp.lambdify(syms, [m.loss, *m.grad], "numpy")
    vals = f(*w, *x.reshape(-1), *y.reshape(-1))
    model = torch_twin(m, w)
    params = list(model.parameters())
    out = torch.nn.functional.mse_loss(model(torch.tensor(x)), torch.tensor(y))
    grads = torch.autograd.grad(out, params)
    assert float(out.detach()) == pytest.approx(float(vals[0]), rel=1e-12)
    flat = torch.cat([g.reshape(-1) for g in grads]).numpy()
    np.testing.assert_allclose(flat, np.array(vals[1:], dtype=float), rtol=1e-10, atol=1e-12)
