"""empirical.models: exact parameter counts (docs/paper.md §6), shapes, names, widths round trip."""
import pytest
import torch

from empirical.models import (ARCHITECTURES, PAPER_PARAM_COUNTS, build, channel_layout,
                              default_widths, widths_of)

ARCHS = ("vgg13", "mobilenet_v1", "resnet56")


def _independent_count(name: str, nc: int) -> int:
    """Parameter count from the §6 table by hand (no conv bias, affine BN, Linear with bias)."""
    if name == "vgg13":
        c, t = 3, 0
        for v in (64, 64, 128, 128, 256, 256, 512, 512, 512, 512):
            t += c * v * 9 + 2 * v
            c = v
        return t + 512 * nc + nc
    if name == "mobilenet_v1":
        t, c = 3 * 32 * 9 + 64, 32
        for w in (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024):
            t += c * 9 + 2 * c + c * w + 2 * w
            c = w
        return t + 1024 * nc + nc
    t, c = 3 * 16 * 9 + 32, 16
    for w in (16, 32, 64):
        for b in range(9):
            t += c * w * 9 + w * w * 9 + 4 * w + ((c * w + 2 * w) if c != w else 0)
            c = w
    return t + 64 * nc + nc


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("nc", (10, 100))
def test_param_count_matches_authors(name, nc):
    model = build(name, nc)
    n = sum(p.numel() for p in model.parameters())
    assert n == PAPER_PARAM_COUNTS[(name, nc)] == ARCHITECTURES[name].param_counts[nc]
    assert n == _independent_count(name, nc)


@pytest.mark.parametrize("name", ARCHS)
def test_forward_shape_and_names(name):
    torch.manual_seed(0)
    model = build(name, 10).eval()
    y = model(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 10) and torch.isfinite(y).all()
    mods = dict(model.named_modules())
    for e in channel_layout(model):
        assert e.module in mods, e.module
    names = dict(model.named_parameters())
    expected = {"vgg13": "features.0.conv.weight", "mobilenet_v1": "blocks.12.pw.weight",
                "resnet56": "layer3.8.conv2.weight"}[name]
    assert expected in names and "classifier.weight" in names
    assert widths_of(model) == default_widths(name)


@pytest.mark.parametrize("name", ARCHS)
def test_widths_rebuild(name):
    w = {k: max(1, v // 3) for k, v in default_widths(name).items()}
    model = build(name, 7, w)
    assert widths_of(model) == w
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 7)
    again = build(name, 7, widths_of(model))
    again.load_state_dict(model.state_dict())


def test_resnet_graph_is_fixed_by_nominal_widths():
    m = build("resnet56", 10)
    assert m.layer1[0].shortcut is None and m.layer2[0].shortcut is not None
    assert m.layer3[0].shortcut is not None and m.layer2[1].shortcut is None
    assert m.stem.conv.stride == (1, 1) and m.layer2[0].conv1.stride == (2, 2)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown architecture"):
        build("resnet18", 10)
    with pytest.raises(ValueError, match="unknown keys"):
        build("vgg13", 10, {"nope": 3})
    with pytest.raises(ValueError, match="positive int"):
        build("vgg13", 10, {"features.0.conv": 0})
    with pytest.raises(ValueError, match="num_classes"):
        build("vgg13", 0)
