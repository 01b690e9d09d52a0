"""Each registered measure against its formula (docs/paper.md §4), per parameter and per filter,
on random weight quantities; registry behaviour; the elementwise bound on raw numbers."""
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from gftheory.measures import MEASURES, PAPER_MEASURES, Measure, MeasureRegistry, WeightQuantities

pytestmark = pytest.mark.usefixtures("single_thread")


@st.composite
def weight_quantities(draw):
    shape = draw(st.sampled_from([(1, 1), (3, 4), (5, 2), (2, 3, 3, 3), (4, 1, 2, 2)]))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2 ** 31 - 1)))
    r = lambda: torch.randn(shape, generator=gen, dtype=torch.float64)  # noqa: E731
    return WeightQuantities("w", r(), grad=r(), hvp=r(), grad_sq=r().abs(), synflow=r().abs())


def _per_unit(x):
    return [x[j].reshape(-1) for j in range(x.shape[0])]


def reference_filter_scores(name, q):
    """Loops over units, written from the formulas of docs/paper.md §4."""
    out = []
    for th, g, hg, gsq in zip(_per_unit(q.theta), _per_unit(q.grad), _per_unit(q.hvp),
                              _per_unit(q.grad_sq)):
        out.append({
            "magnitude": torch.sqrt(sum(t * t for t in th)),
            "l1": sum(abs(t) for t in th),
            "loss_preservation": abs(sum(t * gi for t, gi in zip(th, g))),
            "loss_preservation_elementwise": sum(abs(t * gi) for t, gi in zip(th, g)),
            "biased_loss_preservation": sum(t * t * abs(gi) for t, gi in zip(th, g)),
            "grasp": sum(t * h for t, h in zip(th, hg)),
            "gradient_norm_preservation": abs(sum(t * h for t, h in zip(th, hg))),
            "fisher": sum(t * t * s for t, s in zip(th, gsq)),
        }[name])
    return torch.stack(out)


REFERENCE_PARAMETER = {
    "magnitude": lambda q: q.theta.abs(), "l1": lambda q: q.theta.abs(),
    "loss_preservation": lambda q: (q.theta * q.grad).abs(),
    "loss_preservation_elementwise": lambda q: (q.theta * q.grad).abs(),
    "biased_loss_preservation": lambda q: q.theta ** 2 * q.grad.abs(),
    "grasp": lambda q: q.theta * q.hvp,
    "gradient_norm_preservation": lambda q: (q.theta * q.hvp).abs(),
    "fisher": lambda q: q.theta ** 2 * q.grad_sq,
}


@given(weight_quantities())
def test_every_formula_measure_matches_its_formula(q):
    for name, ref in REFERENCE_PARAMETER.items():
        m = MEASURES[name]
        torch.testing.assert_close(m.filter_scores(q), reference_filter_scores(name, q),
                                   rtol=1e-12, atol=1e-12, msg=name)
        torch.testing.assert_close(m.parameter_scores(q), ref(q), rtol=1e-12, atol=1e-12, msg=name)


@given(weight_quantities())
def test_elementwise_bound_and_equality_when_signs_agree(q):
    lp, lpe = MEASURES["loss_preservation"], MEASURES["loss_preservation_elementwise"]
    assert torch.all(lpe.filter_scores(q) >= lp.filter_scores(q) - 1e-12)
    same = WeightQuantities("w", q.theta.abs(), grad=q.grad.abs())
    torch.testing.assert_close(lpe.filter_scores(same), lp.filter_scores(same), rtol=1e-12, atol=0)


@given(weight_quantities(), st.floats(1e-3, 1e3))
def test_scores_are_positively_homogeneous_in_the_loss_scale(q, a):
    """αL: g → αg, Hg → α²Hg, E[g²] → α²E[g²]; every data measure scales by a power of α."""
    qa = WeightQuantities("w", q.theta, grad=a * q.grad, hvp=a * a * q.hvp, grad_sq=a * a * q.grad_sq)
    power = {"loss_preservation": 1, "loss_preservation_elementwise": 1, "biased_loss_preservation": 1,
             "grasp": 2, "gradient_norm_preservation": 2, "fisher": 2}
    for name, k in power.items():
        m = MEASURES[name]
        torch.testing.assert_close(m.filter_scores(qa), a ** k * m.filter_scores(q), rtol=1e-10,
                                   atol=1e-300)


def test_registry_contents_and_errors():
    assert set(PAPER_MEASURES) <= set(MEASURES)
    assert {"random", "synflow", "fisher", "l1"} <= set(MEASURES)
    reg = MeasureRegistry()

    class Mine(Measure):
        name, formula = "mine", "|θ|³"

        def parameter_scores(self, q):
            return q.theta.abs() ** 3

    reg.register(Mine)
    assert reg.resolve("mine").formula == "|θ|³"
    with pytest.raises(ValueError, match="already registered"):
        reg.register(Mine)

    class Bad(Measure):
        name, needs = "bad", frozenset({"third_derivative"})
    with pytest.raises(ValueError, match="unknown quantities"):
        reg.register(Bad)
    with pytest.raises(KeyError, match="unknown measure"):
        reg.resolve("nope")

    class Frozen(Measure):
        name, importance_temperature = "frozen", 0.0
    with pytest.raises(ValueError, match="importance_temperature"):
        reg.register(Frozen)
