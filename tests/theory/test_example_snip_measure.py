"""The worked example of docs/assess.md, examples/snip_measure: its pyproject declares the entry point
the docs install (``snip`` in the group ``gftheory.measures``, named after its measure); the measure,
loaded from its ``module:Class`` as an entry point is, scores exactly as the built-in
loss_preservation_elementwise (both Σ_i |θ_i g_i|, computed by different classes); its ``resnet18``
is torchvision's ResNet-18: 11,689,512 parameters with 1,000 classes, 11,181,642 with 10, the same
state_dict names and shapes in the same order (digest and values below read off
torchvision.models.resnet18 0.29.1, which this suite cannot install), and under torch.manual_seed(0)
the same initial weights."""
import hashlib
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


TORCHVISION_RESNET18_LAYOUT = "218c6b59e649870e7357977d9f606c712a96b55ebf6bb70b072b7e9de2391303"


def test_the_example_network_is_torchvisions_resnet18(example):
    """sha256 of [(name, shape)] of torchvision's resnet18(num_classes=10).state_dict() (122 entries), and
    three weights it draws after torch.manual_seed(0), read off torchvision 0.29.1."""
    from snip_measure import resnet18
    torch.manual_seed(0)
    sd = resnet18(10).state_dict()
    layout = repr([(k, tuple(v.shape)) for k, v in sd.items()]).encode()
    assert len(sd) == 122 and hashlib.sha256(layout).hexdigest() == TORCHVISION_RESNET18_LAYOUT
    assert abs(float(sd["conv1.weight"].sum()) - -0.6737563014030457) < 1e-4
    assert float(sd["layer4.1.conv2.weight"][0, 0, 0, 0]) == pytest.approx(0.010853493586182594, rel=1e-6)
    assert float(sd["fc.weight"][3, 7]) == pytest.approx(-0.00020255775598343462, rel=1e-6)
