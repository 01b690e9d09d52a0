"""The worked example of docs/assess.md, examples/snip_measure: its pyproject declares the entry point
the docs install (``snip`` in the group ``gftheory.measures``, named after its measure); the measure,
loaded from its ``module:Class`` as an entry point is, scores exactly as the built-in
loss_preservation_elementwise (both Σ_i |θ_i g_i|, computed by different classes); its ``resnet18``
has the size of torchvision's ResNet-18 (11,689,512 parameters with 1,000 classes, 11,181,642 with 10)."""
import sys
import tomllib
from pathlib import Path

import pytest
import torch

from gftheory import external
from gftheory.checks.generators import ProblemSpec, build_problem
from gftheory.importance import importance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "snip_measure"
pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    sys.modules.pop("snip_measure", None)


def test_the_example_declares_its_entry_point():
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["entry-points"][external.ENTRY_POINT_GROUP] == {"snip": "snip_measure:Snip"}
    assert "gftheory" in meta["project"]["dependencies"]


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_the_example_measure_is_sigma_abs_theta_g(example, arch):
    snip = external.load_measure("snip_measure:Snip")
    assert snip.name == "snip" and snip.needs == frozenset({"grad"})
    p = build_problem(ProblemSpec(arch=arch, depth=2, width=5, activation="tanh", batch_sizes=(6, 5), seed=101))
    a = importance(p.model, snip, p.batches, temperature=p.temperature)
    b = importance(p.model, "loss_preservation_elementwise", p.batches, temperature=p.temperature)
    assert set(a) == set(b)
    for n in a:
        torch.testing.assert_close(a[n], b[n], rtol=0, atol=0)


def test_the_example_network_has_torchvisions_resnet18_size(example):
    from snip_measure import resnet18
    assert sum(p.numel() for p in resnet18(1000).parameters()) == 11_689_512
    assert sum(p.numel() for p in resnet18(10).parameters()) == 11_181_642
    assert resnet18(10)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
