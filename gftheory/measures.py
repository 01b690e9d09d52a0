"""Pruning importance measures: one small class per measure, in a registry.

Notation (docs/paper.md §1, §4): θ_p is the weight slice of unit p (one output channel of a
conv layer, one output neuron of a linear layer), g = ∇L, Hg the Hessian-gradient product,
E_b[g²] the sample-weighted mean over batches of each batch's squared mean-loss gradient.
The lowest scores are pruned first. Every measure gives a score per parameter (shaped like
the weight) and a score per filter (one per output unit).

Importing this module loads no torch (the scores are tensor methods; ``Random`` imports torch when
it draws), so the measures' facts — names, ``in_paper``, ``importance_temperature`` — are readable
by light code such as the claim registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gftheory.registry import Registry

if TYPE_CHECKING:
    import torch
    from torch import Tensor

QUANTITIES = frozenset({"grad", "hvp", "grad_sq", "synflow", "generator"})


@dataclass
class WeightQuantities:
    """What a measure may read for one weight tensor W (shape (out, ...)).

    theta: W itself; grad: g restricted to W; hvp: (Hg) restricted to W; grad_sq: E_b[g_b²];
    synflow: the SynFlow saliency |θ| ⊙ ∂R/∂|θ|; generator: a seeded torch.Generator.
    Fields a measure does not declare in ``needs`` are None.
    """
    name: str
    theta: Tensor
    grad: Tensor | None = None
    hvp: Tensor | None = None
    grad_sq: Tensor | None = None
    synflow: Tensor | None = None
    generator: torch.Generator | None = None


def rows(x: Tensor) -> Tensor:
    """View a weight-shaped tensor as (units, parameters per unit)."""
    return x.reshape(x.shape[0], -1)


class Measure:
    """Base class. Subclasses set ``name``, ``needs``, ``formula`` and ``parameter_scores``;
    ``filter_scores`` defaults to the per-unit sum of the parameter scores.

    Facts a measure owns (class attributes):
    ``importance_temperature`` — the temperature T_imp at which its importance (g, Hg, E_b[g²])
    is computed by default, L = CE(f(x)/T_imp, y); None means "the training temperature T" (a run's
    ``--importance-temperature`` overrides either). The authors' code uses 200 for GraSP and 1 for
    gradient-norm preservation (docs/paper.md §4).
    ``in_paper`` — one of the paper's six measures (``PAPER_MEASURES``, in registry order).
    """
    name: str = ""
    needs: frozenset[str] = frozenset()
    formula: str = ""
    data_free: bool = False
    importance_temperature: float | None = None
    in_paper: bool = False

    def parameter_scores(self, q: WeightQuantities) -> Tensor:
        raise NotImplementedError

    def filter_scores(self, q: WeightQuantities) -> Tensor:
        return rows(self.parameter_scores(q)).sum(dim=1)

    def temperature_for(self, training_temperature: float) -> float:
        """The default importance temperature: the measure's own, else ``training_temperature``."""
        t = self.importance_temperature
        return float(training_temperature if t is None else t)

    def __repr__(self) -> str:
        return f"<measure {self.name}: {self.formula}>"


class Magnitude(Measure):
    name, formula = "magnitude", "‖θ_p‖₂"
    in_paper = True

    def parameter_scores(self, q):
        return q.theta.abs()

    def filter_scores(self, q):
        return rows(q.theta).norm(dim=1)


class L1(Measure):
    name, formula = "l1", "‖θ_p‖₁ = Σ_i |θ_i|"

    def parameter_scores(self, q):
        return q.theta.abs()


class LossPreservation(Measure):
    name, formula, needs = "loss_preservation", "|θ_pᵀg| (paper Eq. 3)", frozenset({"grad"})
    in_paper = True

    def parameter_scores(self, q):
        return (q.theta * q.grad).abs()

    def filter_scores(self, q):
        return rows(q.theta * q.grad).sum(dim=1).abs()


class LossPreservationElementwise(Measure):
    name, formula, needs = ("loss_preservation_elementwise",
                            "Σ_i |θ_i g_i| (authors' code, `loss_based`)", frozenset({"grad"}))
    in_paper = True

    def parameter_scores(self, q):
        return (q.theta * q.grad).abs()


class BiasedLossPreservation(Measure):
    name, formula, needs = "biased_loss_preservation", "Σ_i θ_i² |g_i|", frozenset({"grad"})
    in_paper = True

    def parameter_scores(self, q):
        return q.theta.pow(2) * q.grad.abs()


class GraSP(Measure):
    name, formula, needs = "grasp", "θ_pᵀ(Hg)_p, signed", frozenset({"hvp"})
    importance_temperature, in_paper = 200.0, True    # the authors' GraSP temperature

    def parameter_scores(self, q):
        return q.theta * q.hvp


class GradientNormPreservation(Measure):
    name, formula, needs = "gradient_norm_preservation", "|θ_pᵀ(Hg)_p|", frozenset({"hvp"})
    importance_temperature, in_paper = 1.0, True      # the authors' code

    def parameter_scores(self, q):
        return (q.theta * q.hvp).abs()

    def filter_scores(self, q):
        return rows(q.theta * q.hvp).sum(dim=1).abs()


class Fisher(Measure):
    name, formula, needs = "fisher", "Σ_i θ_i² · E_b[g_i²]", frozenset({"grad_sq"})

    def parameter_scores(self, q):
        return q.theta.pow(2) * q.grad_sq


class Random(Measure):
    name, formula, needs = "random", "U(0, 1), seeded", frozenset({"generator"})
    data_free = True

    def parameter_scores(self, q):
        import torch
        return torch.rand(q.theta.shape, generator=q.generator, dtype=torch.float64).to(q.theta)

    def filter_scores(self, q):
        import torch
        return torch.rand(q.theta.shape[0], generator=q.generator,
                          dtype=torch.float64).to(q.theta)


class SynFlow(Measure):
    name, needs = "synflow", frozenset({"synflow"})
    formula = "Σ_i |θ_i ∂R/∂θ_i|, R = 1ᵀ f(1; |θ|) (Tanaka et al. 2020), eval mode"
    data_free = True

    def parameter_scores(self, q):
        return q.synflow


class MeasureRegistry(Registry):
    """name → Measure. Iterating gives the names; ``register`` adds a user's measure."""
    item_type = Measure
    kind = "measure"

    def validate(self, inst: Measure) -> None:
        t = inst.importance_temperature
        if t is not None and not (isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0):
            raise ValueError(f"measure {inst.name!r}: importance_temperature must be None (the training "
                             f"temperature) or a positive number, got {t!r}")
        unknown = set(inst.needs) - QUANTITIES
        if unknown:
            raise ValueError(f"measure {inst.name!r} needs unknown quantities {sorted(unknown)}; "
                             f"choose from {sorted(QUANTITIES)}")

    def __init__(self):
        super().__init__()
        self._external: dict[str, Measure] = {}   # module:Class spec / entry-point name -> instance

    def __getitem__(self, name: str) -> Measure:
        """A registered measure, else a ``module:Class`` spec or an entry point of the group
        ``gftheory.measures`` (loaded on first use and cached; see ``gftheory.external``).
        Iterating still gives the registered names only, so listings of "every measure" do not
        change when a package declares one. Raises ``MeasureLoadError`` (a KeyError and a
        UsageError) naming the problem and the fix."""
        if isinstance(name, str) and name in self._items:
            return self._items[name]
        if isinstance(name, str) and name in self._external:
            return self._external[name]
        from gftheory import external
        if external.is_spec(name):
            inst = external.load_measure(name)
        else:
            inst = external.load_entry_point(name) if isinstance(name, str) and name else None
            if inst is None:
                raise external.MeasureLoadError(
                    f"unknown measure {name!r}; fix: use one of {', '.join(self.available())}, a "
                    f"'module:Class' measure, or register your own with gftheory.register_measure")
        self._external[name] = inst
        return inst

    def available(self) -> list[str]:
        """The registered names and the names of the installed ``gftheory.measures`` entry points
        (read from package metadata; nothing is imported)."""
        from gftheory.external import entry_points
        return list(self._items) + [n for n in entry_points() if n not in self._items]

    def problem(self, name) -> str | None:
        """None if ``name`` resolves to a measure, else the message saying why not and the fix."""
        try:
            self[name]
        except KeyError as exc:
            return str(exc)
        return None

    def resolve(self, measure) -> Measure:
        if isinstance(measure, Measure):
            return measure
        return self[measure]


MEASURES = MeasureRegistry()
for _cls in (Magnitude, L1, LossPreservation, LossPreservationElementwise, BiasedLossPreservation,
             GraSP, GradientNormPreservation, Fisher, Random, SynFlow):
    MEASURES.register(_cls)

# the paper's measures, in registry order (magnitude, loss_preservation, loss_preservation_elementwise,
# biased_loss_preservation, grasp, gradient_norm_preservation)
PAPER_MEASURES = tuple(n for n, m in MEASURES.items() if m.in_paper)


def register_measure(measure, *, overwrite: bool = False):
    """Add a measure to ``gftheory.MEASURES`` (a Measure subclass or instance)."""
    return MEASURES.register(measure, overwrite=overwrite)
