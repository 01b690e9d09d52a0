"""Hypothesis strategies over generated problems (gftheory.checks.generators).

``problem_specs(...)`` draws a ProblemSpec — MLP or small CNN, depth 1–4, width 1–8,
activation, BatchNorm (before/after the activation), bias, parameter scale, temperature,
batch sizes, seed — and shrinks the width (then depth) until the model has ≤ max_params
parameters, so no example is rejected. ``problems(...)`` builds it.
"""
from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from gftheory.checks import RULES
from gftheory.checks.generators import (ARCHS, BN_POSITIONS, SMOOTH_ACTIVATIONS, ProblemSpec,
                                        build_problem)

WITH_RELU = SMOOTH_ACTIVATIONS + ("relu",)


@st.composite
def problem_specs(draw, *, archs=ARCHS, activations=SMOOTH_ACTIVATIONS, batchnorm=(False, True),
                  bn_positions=BN_POSITIONS, bias=(True, False), max_params: int = 600,
                  **fixed) -> ProblemSpec:
    kw = dict(
        arch=draw(st.sampled_from(tuple(archs))),
        depth=draw(st.integers(1, 4)),
        width=draw(st.integers(1, 8)),
        activation=draw(st.sampled_from(tuple(activations))),
        batchnorm=draw(st.sampled_from(tuple(batchnorm))),
        bn_position=draw(st.sampled_from(tuple(bn_positions))),
        bias=draw(st.sampled_from(tuple(bias))),
        scale=draw(st.floats(0.5, 2.0)),
        temperature=draw(st.floats(0.5, 5.0)),
        n_classes=draw(st.integers(2, 4)),
        in_features=draw(st.integers(2, 5)),
        image_size=draw(st.integers(2, 3)),
        batch_sizes=tuple(draw(st.lists(st.integers(3, 8), min_size=1, max_size=3))),
        seed=draw(st.integers(0, 2 ** 31 - 1)),
    )
    kw.update(fixed)
    spec = ProblemSpec(**kw)
    while spec.num_params > max_params and spec.width > 1:
        spec = replace(spec, width=spec.width - 1)
    while spec.num_params > max_params and spec.depth > 1:
        spec = replace(spec, depth=spec.depth - 1)
    if spec.num_params > max_params and spec.arch == "cnn":
        spec = replace(spec, image_size=2)
    return spec


def problems(**kw):
    """Strategy of built problems (see problem_specs for the keyword arguments)."""
    return problem_specs(**kw).map(build_problem)


weight_decays = st.floats(0.01, 1.0)
loss_scales = st.floats(1e-3, 1e3)


def assert_within_rules(observations, *, ids=frozenset(), methods=frozenset()) -> None:
    """Every observation meets its (id, method) rule in gftheory.checks.RULES, and the given ids
    and methods were all observed (so a check that produced nothing cannot pass)."""
    seen_ids, seen_methods = set(), set()
    for o in observations:
        rule = RULES[(o.id, o.method)]
        assert o.value <= rule.tol, f"{o.id} ({o.method}): {o.value:.3e} > {rule.tol} on {o.case}"
        seen_ids.add(o.id)
        seen_methods.add(o.method)
    assert set(ids) <= seen_ids, f"ids not observed: {set(ids) - seen_ids}"
    assert set(methods) <= seen_methods, f"methods not observed: {set(methods) - seen_methods}"
