"""F2: dL/dt = −‖g‖² ≤ 0."""
from gftheory.symbolic.flow import GradientFlow, dot
from gftheory.symbolic.levels import all_levels
from gftheory.symbolic.proof import Proof


def derive(d):
    for m in all_levels():
        d.section(m.level, m)
        flow = GradientFlow(m.params, m.grad)
        d.equal(flow.time_derivative(m.loss), -dot(m.grad, m.grad),
                r"Flow substitution: $\frac{d}{dt}L(\theta(t)) = \sum_i \partial_i L\,\dot\theta_i$ "
                r"with $\dot\theta_i = -\partial_i L$.",
                lhs_tex=r"\frac{dL}{dt}", rhs_tex=r"-\|g\|^2", numeric_ok=True)
        d.nonpositive(-dot(m.grad, m.grad), r"$-\|g\|^2 = -\sum_i g_i^2 \le 0$ for real $g$.",
                      tex=r"-\|g\|^2")


PROOF = Proof("F2", "dL/dt = −‖g‖² ≤ 0",
              ["L continuously differentiable, real-valued", "gradient flow dθ/dt = −∇L(θ)"],
              derive)
