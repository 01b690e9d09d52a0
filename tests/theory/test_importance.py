"""``importance`` against an independent, straightforward implementation written here:
plain ``loss.backward()`` on deep copies, a dense Hessian for Hg, explicit per-batch
gradients for fisher, a hand-written synflow, per-unit loops; and the guarantee that the
model is left untouched (parameters, buffers incl. BN running stats, .grad, modes)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

from gftheory import MEASURES, importance
from gftheory.checks.numerics import rel_err
from strategies import WITH_RELU, problems

pytestmark = pytest.mark.usefixtures("single_thread")
TOL = 1e-9


def ref_loss(model, batches, T):
    n = sum(int(y.shape[0]) for _, y in batches)
    return sum(F.cross_entropy(model(x) / T, y, reduction="sum") for x, y in batches) / n


def ref_quantities(problem):
    """g, Hg, E_b[g_b²] (sample-weighted), synflow saliency — by hand, on deep copies."""
    T, batches = problem.temperature, problem.batches
    m = copy.deepcopy(problem.model)
    ref_loss(m, batches, T).backward()
    names = [n for n, p in m.named_parameters() if p.requires_grad]
    grad = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
    # Hg from the dense Hessian of the loss as a function of the flat parameters
    base = copy.deepcopy(problem.model)
    shapes = [p.shape for _, p in base.named_parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for _, p in base.named_parameters()])

    def loss_of(flat):
        state, k = {}, 0
        for n, s in zip(names, shapes):
            state[n] = flat[k:k + s.numel()].view(s)
            k += s.numel()
        state.update({n: b.clone() for n, b in base.named_buffers()})
        tot = sum(F.cross_entropy(functional_call(base, state, (x,)) / T, y, reduction="sum")
                  for x, y in batches)
        return tot / sum(int(y.shape[0]) for _, y in batches)

    H = torch.autograd.functional.hessian(loss_of, flat0)
    gflat = torch.cat([grad[n].reshape(-1) for n in names])
    hg_flat, hg, k = H @ gflat, {}, 0
    for n, s in zip(names, shapes):
        hg[n] = hg_flat[k:k + s.numel()].view(s)
        k += s.numel()
    # fisher: each batch's own mean-loss gradient, squared, weighted by n_b / N
    N = sum(int(y.shape[0]) for _, y in batches)
    gsq = {n: torch.zeros_like(p) for n, p in problem.model.named_parameters()}
    for x, y in batches:
        mb = copy.deepcopy(problem.model)
        F.cross_entropy(mb(x) / T, y).backward()
        for n, p in mb.named_parameters():
            gsq[n] += (y.shape[0] / N) * p.grad ** 2
    # synflow: |θ|, |buffers|, eval mode, input of ones, R = sum of outputs
    ms = copy.deepcopy(problem.model).eval()
    with torch.no_grad():
        for p in ms.parameters():
            p.abs_()
        for b in ms.buffers():
            if b.is_floating_point():
                b.abs_()
    ms(torch.ones((1, *batches[0][0].shape[1:]), dtype=torch.float64)).sum().backward()
    syn = {n: (p.grad * p).abs().detach() for n, p in ms.named_parameters()}
    return grad, hg, gsq, syn


def ref_scores(name, theta, g, hg, gsq, syn):
    """One score per unit, by a loop over units."""
    out = []
    for j in range(theta.shape[0]):
        th, gg, hh, ss, sy = (x[j].reshape(-1) for x in (theta, g, hg, gsq, syn))
        out.append({
            "magnitude": th.pow(2).sum().sqrt(), "l1": th.abs().sum(),
            "loss_preservation": (th * gg).sum().abs(),
            "loss_preservation_elementwise": (th * gg).abs().sum(),
            "biased_loss_preservation": (th.pow(2) * gg.abs()).sum(),
            "grasp": (th * hh).sum(), "gradient_norm_preservation": (th * hh).sum().abs(),
            "fisher": (th.pow(2) * ss).sum(), "synflow": sy.sum(),
        }[name])
    return torch.stack(out)


@given(problems(max_params=150, activations=WITH_RELU))
def test_importance_matches_an_independent_reference(problem):
    g, hg, gsq, syn = ref_quantities(problem)
    params = dict(problem.model.named_parameters())
    for name in MEASURES:
        if name == "random":
            continue
        got = importance(problem.model, name, problem.batches, temperature=problem.temperature)
        got_p = importance(problem.model, name, problem.batches, unit="parameter",
                           temperature=problem.temperature)
        assert set(got) == set(problem.prunable)
        for w in problem.prunable:
            want = ref_scores(name, params[w].detach(), g[w], hg[w], gsq[w], syn[w])
            err = rel_err(got[w], want, 1e-12)
            assert err <= TOL, f"{name} {w}: rel err {err:.2e} on {problem.spec.describe()}"
            assert got_p[w].shape == params[w].shape
            if name not in ("magnitude", "loss_preservation", "gradient_norm_preservation"):
                # additive measures: the filter score is the per-unit sum of parameter scores
                err = rel_err(got_p[w].reshape(got_p[w].shape[0], -1).sum(1), got[w], 1e-12)
                assert err <= TOL, f"{name} {w}: filter ≠ Σ parameter scores"


def _snapshot(model):
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            [m.training for m in model.modules()])


@given(problems(max_params=200, activations=WITH_RELU, batchnorm=(True,)),
       st.lists(st.booleans(), min_size=12, max_size=12))
def test_importance_leaves_the_model_untouched(problem, modes):
    model = problem.model
    for m, train in zip(model.modules(), modes):
        m.train(train)
    # BN forward passes on the model itself (not a copy), so that the running statistics the
    # measures see are real — some means negative, variances ≠ 1 — then the random modes again
    with torch.no_grad():
        model.train()
        for _ in range(3):
            model(problem.batches[0][0])
    for m, train in zip(model.modules(), modes):
        m.train(train)
    bn = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():               # and make sure both signs occur (every other mean < 0)
        for m in bn:
            m.running_mean[::2] -= 1 + m.running_mean.abs().max()
    assert bn and all(not torch.equal(m.running_var, torch.ones_like(m.running_var)) for m in bn)
    assert any((m.running_mean < 0).any() for m in bn)
    state, flags = _snapshot(model)
    for name in MEASURES:
        importance(model, name, problem.batches, temperature=problem.temperature, seed=3)
        importance(model, name, problem.batches, unit="parameter", temperature=problem.temperature)
        now, now_flags = _snapshot(model)
        assert now_flags == flags, f"{name} changed train/eval modes"
        for k in state:
            assert torch.equal(state[k], now[k]), f"{name} changed {k}"
        assert all(p.grad is None for p in model.parameters()), f"{name} wrote .grad"


def test_random_is_seeded_and_shaped():
    from gftheory.checks.generators import ProblemSpec, build_problem
    p = build_problem(ProblemSpec(arch="cnn", depth=2, width=3, seed=1))
    a = importance(p.model, "random", p.batches, seed=1)
    b = importance(p.model, "random", p.batches, seed=1)
    c = importance(p.model, "random", p.batches, seed=2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    assert all(a[k].shape == (dict(p.model.named_parameters())[k].shape[0],) for k in a)


def test_bad_input_is_rejected_with_a_fix():
    from gftheory.checks.generators import ProblemSpec, build_problem
    p = build_problem(ProblemSpec(seed=1))
    with pytest.raises(ValueError, match="unit must be one of"):
        importance(p.model, "magnitude", p.batches, unit="layer")
    with pytest.raises(KeyError, match="register your own"):
        importance(p.model, "nonsense", p.batches)
    with pytest.raises(ValueError, match="no nn.Conv2d or nn.Linear"):
        importance(nn.Sequential(nn.Tanh()), "magnitude", p.batches)
