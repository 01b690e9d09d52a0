"""gftheory: verify 'A Gradient Flow Framework For Analyzing Network Pruning' (Lubana & Dick, 2021).

Public API: ``importance``, ``MEASURES``, ``register_measure``, ``Measure``, ``flow_rates``,
``hessian_vector_product``, ``dense_hessian``, ``integrate_gradient_flow``.
"""
__version__ = "0.1.0"

from gftheory.flow import FlowRates, UnitRates, flow_rates
from gftheory.hessian import dense_hessian, hessian_vector_product
from gftheory.importance import importance
from gftheory.integrate import Trajectory, integrate_gradient_flow
from gftheory.measures import MEASURES, PAPER_MEASURES, Measure, WeightQuantities, register_measure
from gftheory.objective import Objective, prunable_weight_names

__all__ = [
    "importance", "MEASURES", "PAPER_MEASURES", "Measure", "WeightQuantities", "register_measure",
    "flow_rates", "FlowRates", "UnitRates", "hessian_vector_product", "dense_hessian",
    "integrate_gradient_flow", "Trajectory", "Objective", "prunable_weight_names", "__version__",
]
