"""gftheory: verify 'A Gradient Flow Framework For Analyzing Network Pruning' (Lubana & Dick, 2021).

Public API: ``importance``, ``MEASURES``, ``register_measure``, ``Measure``, ``flow_rates``,
``hessian_vector_product``, ``dense_hessian``, ``integrate_gradient_flow``, ``importance_spread``.

The names are loaded on first use (PEP 562), so ``import gftheory`` (and every light command,
e.g. ``gftheory claims``) imports neither torch nor scipy; ``from gftheory import importance``
works as before.
"""
from gftheory.lazy import lazy_exports
import sys
import types

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "FlowRates": "gftheory.flow", "UnitRates": "gftheory.flow", "flow_rates": "gftheory.flow",
    "dense_hessian": "gftheory.hessian", "hessian_vector_product": "gftheory.hessian",
    "importance": "gftheory.importance",
    "Trajectory": "gftheory.integrate", "integrate_gradient_flow": "gftheory.integrate",
    "MEASURES": "gftheory.measures", "PAPER_MEASURES": "gftheory.measures", "Measure": "gftheory.measures",
    "WeightQuantities": "gftheory.measures", "register_measure": "gftheory.measures",
    "Objective": "gftheory.objective", "prunable_weight_names": "gftheory.objective",
    "importance_spread": "gftheory.spread", "ranking_spread": "gftheory.spread",
}

__all__ = [
    "importance", "MEASURES", "PAPER_MEASURES", "Measure", "WeightQuantities", "register_measure",
    "flow_rates", "FlowRates", "UnitRates", "hessian_vector_product", "dense_hessian",
    "integrate_gradient_flow", "Trajectory", "Objective", "prunable_weight_names", "importance_spread",
    "ranking_spread", "__version__",
]


__getattr__, __dir__ = lazy_exports(__name__, _API, __all__)


class _Package(types.ModuleType):
    """``gftheory.importance`` is both a submodule and the public function it defines. Importing
    the submodule binds it as an attribute of the package; the package keeps the function there
    instead (as the eager ``from gftheory.importance import importance`` used to), so that
    ``from gftheory import importance`` is the function whatever was imported first."""

    def __setattr__(self, name, value):
        if (isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{name}"
                and _API.get(name) == value.__name__):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
