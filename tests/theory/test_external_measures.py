"""Measures from outside the package (gftheory.external): ``module:Class`` and the entry-point group
``gftheory.measures``, wherever ``MEASURES`` / ``importance`` take a name; the engine computes
what a measure declares in ``needs`` and nothing more; bad input fails with a message that names the
problem and the fix (a UsageError: exit 2 on the command line)."""
import textwrap

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from conftest import fake_distribution
from gftheory import external
from gftheory.errors import UsageError
from gftheory.importance import importance
from gftheory.measures import MEASURES, QUANTITIES, Measure, rows
from tests.strategies import problems

pytestmark = pytest.mark.usefixtures("single_thread")


class SnipTest(Measure):
    """SNIP's connection sensitivity summed per unit: Σ_i |θ_i g_i| (defined here, outside the package)."""
    name, formula, needs = "snip_test", "Σ_i |θ_i g_i|", frozenset({"grad"})

    def parameter_scores(self, q):
        return (q.theta * q.grad).abs()


SPEC = f"{__name__}:SnipTest"


def _reference_snip(problem) -> dict[str, torch.Tensor]:
    """Σ_i |θ_i g_i| per unit, g from one backward pass of the mean loss over all samples, taken on
    the model's own parameters (not through gftheory.objective)."""
    model = problem.model
    names = problem.prunable
    params = dict(model.named_parameters())
    state = {n: b.clone() for n, b in model.named_buffers()}
    total, loss = sum(int(y.shape[0]) for _, y in problem.batches), 0.0
    for x, y in problem.batches:
        out = torch.func.functional_call(model, {**params, **state}, (x,))
        loss = loss + nn.functional.cross_entropy(out / problem.temperature, y, reduction="sum")
    grads = torch.autograd.grad(loss / total, [params[n] for n in names])
    return {n: rows(params[n].detach() * g).abs().sum(1) for n, g in zip(names, grads)}


@given(problems(batchnorm=(False,)))
def test_module_class_measure_scores_match_an_independent_gradient(problem):
    scores = importance(problem.model, SPEC, problem.batches, temperature=problem.temperature)
    ref = _reference_snip(problem)
    assert set(scores) == set(ref)
    for n in ref:   # float64: the two gradients differ by summation order only
        torch.testing.assert_close(scores[n], ref[n], rtol=1e-9, atol=1e-12)


def test_spec_resolves_everywhere_a_name_does():
    m = MEASURES.resolve(SPEC)
    assert isinstance(m, SnipTest) and m.name == "snip_test"
    assert MEASURES[SPEC] is m and SPEC in MEASURES and MEASURES.problem(SPEC) is None
    assert SPEC not in list(MEASURES)            # "every measure" listings are unchanged
    assert "snip_test" not in MEASURES           # a class name is not a measure name by itself


@pytest.fixture
def forget_entry_points():
    yield
    external.refresh_entry_points()


def test_entry_point_measure_is_found_by_its_name(tmp_path, monkeypatch, forget_entry_points):
    fake_distribution(tmp_path, monkeypatch, "snip_test", SPEC)
    assert "snip_test" in MEASURES.available()
    m = MEASURES.resolve("snip_test")
    assert isinstance(m, SnipTest)
    assert "snip_test" in MEASURES and "snip_test" not in list(MEASURES)


def test_entry_point_name_must_be_the_measure_name(tmp_path, monkeypatch, forget_entry_points):
    fake_distribution(tmp_path, monkeypatch, "other", SPEC)
    with pytest.raises(external.MeasureLoadError, match="name the entry point after the measure"):
        MEASURES.resolve("other")


def _module(tmp_path, monkeypatch, source: str) -> str:
    name = f"extmod_{abs(hash(source)) % 10 ** 8}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(MEASURES, "_external", {})
    return name


BAD = {
    "form": ("bad-module:Cls", "", "is not of the form"),
    "module": ("nosuch_pkg_xyz:Measure", "", "cannot import module 'nosuch_pkg_xyz'"),
    "attribute": (":Missing", "from gftheory.measures import Measure\n", "has no attribute 'Missing'"),
    "not a measure": (":NotOne", "class NotOne:\n    pass\n", "is not a gftheory Measure"),
    "needs outside": (":Greedy", "from gftheory.measures import Measure\nclass Greedy(Measure):\n"
                      "    name, needs = 'greedy', frozenset({'grad', 'hessian'})\n"
                      "    def parameter_scores(self, q):\n        return q.theta\n", "outside the quantities"),
    "needs a string": (":Str", "from gftheory.measures import Measure\nclass Str(Measure):\n"
                       "    name, needs = 'str', 'grad'\n    def parameter_scores(self, q):\n"
                       "        return q.theta\n", "needs must be a set of names"),
    "no scores": (":Empty", "from gftheory.measures import Measure\nclass Empty(Measure):\n    name = 'e'\n",
                  "does not define parameter_scores"),
    "no name": (":Anon", "from gftheory.measures import Measure\nclass Anon(Measure):\n"
                "    def parameter_scores(self, q):\n        return q.theta\n", "has no name"),
    "import fails": (":X", "raise RuntimeError('boom')\n", "raised RuntimeError: boom"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_external_measure_names_the_problem_and_the_fix(case, tmp_path, monkeypatch):
    attr, source, problem = BAD[case]
    spec = attr if not attr.startswith(":") else _module(tmp_path, monkeypatch, source) + attr
    with pytest.raises(external.MeasureLoadError) as info:
        MEASURES.resolve(spec)
    msg = str(info.value)
    assert problem in msg and "fix:" in msg, msg
    assert isinstance(info.value, UsageError) and isinstance(info.value, KeyError)
    assert spec not in MEASURES and MEASURES.problem(spec) == msg


def test_unknown_plain_name_still_a_key_error():
    with pytest.raises(KeyError, match="unknown measure 'nope'.*register your own"):
        MEASURES.resolve("nope")


# -- the engine computes what a measure needs and nothing more ---------------------------------

class Recorder(Measure):
    """Records which quantities the engine handed it (not None)."""
    name = "recorder"

    def __init__(self, needs=frozenset()):
        self.needs = frozenset(needs)
        self.seen: set[str] = set()

    def parameter_scores(self, q):
        self.seen |= {k for k in QUANTITIES if getattr(q, k) is not None}
        return q.theta.abs()


@given(problems(max_params=300), st.sets(st.sampled_from(sorted(QUANTITIES))))
def test_engine_computes_only_what_a_measure_needs(problem, needs):
    """Counted, not assumed: forward passes of the model (a forward pre-hook), calls of
    torch.autograd.grad (all of them, and those building a graph for double backpropagation), and
    the quantities the measure is handed. With B batches the engine makes B·[grad or hvp] + B·[hvp]
    + B·[grad_sq] + [synflow] forward passes, B·[grad or hvp] + 2B·[hvp] + B·[grad_sq] + [synflow]
    gradient calls, B·[hvp] of them with create_graph; a measure needing none of
    grad/hvp/grad_sq/synflow runs no forward and no backward pass."""
    m = Recorder(needs)
    fwd, calls = [0], []
    real_grad = torch.autograd.grad

    def counting_grad(*a, **kw):
        calls.append(bool(kw.get("create_graph")))
        return real_grad(*a, **kw)

    h = problem.model.register_forward_pre_hook(lambda *_: fwd.__setitem__(0, fwd[0] + 1))
    try:
        torch.autograd.grad = counting_grad
        importance(problem.model, m, problem.batches, temperature=problem.temperature)
    finally:
        torch.autograd.grad = real_grad
        h.remove()
    B = len(problem.batches)
    g, hv, gs, sf = (int(bool({"grad", "hvp"} & needs)), int("hvp" in needs), int("grad_sq" in needs),
                     int("synflow" in needs))
    assert m.seen == set(needs)
    assert fwd[0] == B * (g + hv + gs) + sf
    assert len(calls) == B * (g + 2 * hv + gs) + sf
    assert sum(calls) == B * hv
