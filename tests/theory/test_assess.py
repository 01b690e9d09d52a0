"""``gftheory assess`` (gftheory.assess): its quantities against independent computations on
generated float64 networks, the identities its relations must show for the paper's measures, the
invariances measured for real (loss scaling through autograd, BatchNorm rescaling that keeps the
function), and the command end to end with a measure defined here (by module:Class and by entry
point), bad input exiting 2 before any work."""
import json
import random

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conftest import fake_distribution  # noqa: E402
from test_external_measures import forget_entry_points  # noqa: F401,E402 (fixture)
from gftheory import external
from gftheory.assess import (REFERENCES, bn_rescaled, filter_scores, references, rho,
                             summarize_invariance, summarize_relation)
from gftheory.checks.generators import build_problem
from gftheory.cli import main
from gftheory.importance import importance
from gftheory.measures import MEASURES, Measure
from tests.strategies import loss_scales, problems

pytestmark = pytest.mark.usefixtures("single_thread")


class TaylorSquared(Measure):
    """A first-order Taylor score squared per unit, (θ_pᵀg)² (defined here, outside the package)."""
    name, formula, needs = "taylor_sq_test", "(θ_pᵀg)²", frozenset({"grad"})

    def parameter_scores(self, q):
        return (q.theta * q.grad)

    def filter_scores(self, q):
        return (q.theta * q.grad).reshape(q.theta.shape[0], -1).sum(1).pow(2)


SPEC = f"{__name__}:TaylorSquared"
MEASURE_NAMES = ("magnitude", "loss_preservation", "loss_preservation_elementwise", "grasp", "fisher",
                 "random", "synflow", SPEC)


def _flat(scores, names):
    return np.concatenate([scores[n].numpy().reshape(-1) for n in names])


@given(problems(max_params=400), st.sampled_from(MEASURE_NAMES))
def test_assess_quantities_equal_the_engines(problem, name):
    """filter_scores (its own objective, loss scale 1) and gftheory.importance give the same scores."""
    m = MEASURES.resolve(name)
    a = filter_scores(problem, m, seed=7)
    b = importance(problem.model, m, problem.batches, temperature=problem.temperature, seed=7)
    for n in problem.hidden_weights:
        torch.testing.assert_close(a[n], b[n], rtol=1e-12, atol=1e-15)


@given(problems(batchnorm=(False,), max_params=400, depth=2, width=4))
def test_relations_show_the_papers_identities(problem):
    """Through different code paths: loss_preservation ranks exactly like T1 (|θ_pᵀg|) and like the
    flow rate |d‖θ_p‖²/dt| of gftheory.flow (O2); magnitude like ‖θ_p‖² (F1); grasp exactly against
    T2 (−2θ_pᵀ(Hg)_p). ρ is a rank statistic: equality to 1 within 1e-12, or undefined on a
    constant side."""
    ref = references(problem)
    names = problem.hidden_weights
    s = {k: _flat(importance(problem.model, k, problem.batches, temperature=problem.temperature), names)
         for k in ("loss_preservation", "magnitude", "grasp")}
    for meas, key, want in (("loss_preservation", "T1", 1), ("loss_preservation", "F1_rate", 1),
                            ("magnitude", "F1_norm", 1), ("grasp", "T2", -1)):
        r = rho(s[meas], ref[key])
        assert r is None or abs(r - want) < 1e-12, (meas, key, r)
    assert len(ref["T1_exact"]) == len(ref["T1"]) == sum(problem.model.get_parameter(n).shape[0] for n in names)


def test_exact_references_converge_to_first_order():
    """T1/T2 exact vs first order: removing a unit scaled by ε changes L by −εθ_pᵀg + O(ε²) — the
    exact references are evaluated, not copied from the first-order terms."""
    p = build_problem(_spec())
    with torch.no_grad():
        for n in p.hidden_weights:
            p.model.get_parameter(n).mul_(1e-4)
    ref = references(p)
    np.testing.assert_allclose(ref["T1_exact"], ref["T1"], rtol=1e-2, atol=1e-14)
    np.testing.assert_allclose(ref["T2_exact"], ref["T2"], rtol=5e-2, atol=1e-12)


def _spec(**kw):
    from gftheory.checks.generators import ProblemSpec
    base = dict(arch="mlp", depth=2, width=5, activation="tanh", batch_sizes=(6, 5), seed=100)
    return ProblemSpec(**{**base, **kw})


@given(problems(max_params=400), loss_scales)
def test_loss_scaling_is_computed_not_assumed(problem, c):
    """At loss c·L the engine's quantities scale as they must: magnitude c⁰, loss_preservation c¹,
    grasp c² (each through autograd on the scaled loss)."""
    for name, k in (("magnitude", 0), ("loss_preservation", 1), ("grasp", 2)):
        m = MEASURES[name]
        a, b = filter_scores(problem, m), filter_scores(problem, m, loss_scale=c)
        for n in problem.hidden_weights:
            torch.testing.assert_close(b[n], a[n] * c ** k, rtol=1e-9, atol=1e-300)


@given(st.integers(0, 2 ** 31 - 1), st.integers(1, 3), st.integers(2, 6), st.sampled_from(["mlp", "cnn"]))
def test_bn_rescaling_keeps_the_function_and_moves_magnitude(seed, depth, width, arch):
    """BatchNorm rescaling: the loss is unchanged (≤ 1e-9 relative; ε = 1e-12); Σ_i|θ_i g_i| is
    exactly invariant per unit (θ → cθ, g → g/c), magnitude scales by c_p."""
    p = build_problem(_spec(arch=arch, depth=depth, width=width, batchnorm=True, bias=False, bn_eps=1e-12,
                            image_size=2, seed=seed))
    q, dl = bn_rescaled(p, random.Random(seed))
    assert dl < 1e-9
    e0, e1 = (filter_scores(x, MEASURES["loss_preservation_elementwise"]) for x in (p, q))
    m0, m1 = (filter_scores(x, MEASURES["magnitude"]) for x in (p, q))
    for n in p.bn_followed:
        torch.testing.assert_close(e1[n], e0[n], rtol=1e-6, atol=1e-12)
        c = m1[n] / m0[n]
        assert float(c.min()) >= 0.25 - 1e-12 and float(c.max()) <= 4 + 1e-12


def test_summaries_state_their_thresholds():
    assert summarize_relation([0.95, 0.99, 1.0])["verdict"] == "tracks"
    assert summarize_relation([-0.95, -0.99, -1.0])["verdict"] == "tracks inversely"
    assert summarize_relation([0.1, -0.2, 0.05, None])["verdict"] == "unrelated"
    assert summarize_relation([0.1, -0.2, 0.05, None])["undefined"] == 1
    assert summarize_relation([0.5, 0.95, 0.7])["verdict"] == "partly"
    assert summarize_invariance([1.0, 1.0])["verdict"] == "invariant"
    assert summarize_invariance([1.0, 0.999])["verdict"] == "not invariant"
    assert rho([1, 1, 1], [1, 2, 3]) is None and rho([1, 2], [1, 2]) is None


# -- the command ----------------------------------------------------------------------------------

def _fake_entry_point(tmp_path, monkeypatch, name, value):
    fake_distribution(tmp_path, monkeypatch, name, value)


@pytest.mark.parametrize("how", ["module:Class", "entry point"])
def test_assess_end_to_end(how, tmp_path, monkeypatch, capsys, forget_entry_points):
    if how == "entry point":
        _fake_entry_point(tmp_path, monkeypatch, "taylor_sq_test", SPEC)
    arg = SPEC if how == "module:Class" else "taylor_sq_test"
    out = tmp_path / "out"
    assert main(["assess", arg, "--cases", "2", "--out", str(out), "--quiet"]) == 0
    data = json.loads((out / "assess.json").read_text())
    page = (out / "assess.html").read_text()
    assert data["measure"] == arg and data["measures"] == [arg, "magnitude", "loss_preservation", "grasp"]
    for k in REFERENCES:
        assert set(data["relations"][k]) == set(data["measures"])
        assert data["relations"][k][arg]["networks"] == 2
    # (θ_pᵀg)² is a monotone function of |θ_pᵀg|: it tracks T1 and the flow rate exactly, like loss_preservation
    assert data["relations"]["T1"][arg]["verdict"] == "tracks"
    assert data["relations"]["F1_rate"][arg]["min_rho"] > 1 - 1e-12
    assert data["invariances"]["B5"][arg]["verdict"] == "invariant"
    assert data["cost_seconds_per_scoring"][arg] > 0
    assert page.startswith("<!DOCTYPE html>") and "taylor_sq_test" in page and "<script" not in page
    assert "tracks" in capsys.readouterr().out


@pytest.mark.parametrize("argv, problem", [
    (["nosuch_module_q:Thing"], "cannot import module"),
    (["gftheory.measures:QUANTITIES"], "is not a gftheory Measure"),
    (["not_a_measure_name"], "unknown measure"),
    ([SPEC, "--cases", "0"], "--cases 0"),
    ([SPEC, "--seed", "42"], "reserved"),
])
def test_assess_bad_input_exits_2_before_work(argv, problem, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["assess", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert problem in err and "fix:" in err, err
    assert not out.exists()


def test_assess_rejects_needs_outside_the_engine(tmp_path, monkeypatch, capsys):
    (tmp_path / "greedy_mod.py").write_text(
        "from gftheory.measures import Measure\nclass G(Measure):\n    name, needs = 'g', frozenset({'hessian'})\n"
        "    def parameter_scores(self, q):\n        return q.theta\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["assess", "greedy_mod:G", "--out", str(tmp_path / "o")]) == 2
    assert "outside the quantities" in capsys.readouterr().err
