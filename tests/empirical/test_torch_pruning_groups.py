"""Torch-Pruning's dependency graph (the optional extra `prune`) as an independent check of the
hand-written unit groups of the registered networks, and as the source of coupled unit groups for a
network outside the registry (empirical.external_net). Skipped when torch-pruning is not installed."""
import pytest
import torch
from torch import nn

from conftest import optional_module  # noqa: E402

optional_module("torch_pruning", "prune")

from empirical.architectures import build, channel_layout, default_widths  # noqa: E402
from empirical.external_net import coupled_groups, group_scores, hand_coupled_sets, load_network  # noqa: E402
from empirical.pruning.units import unit_groups  # noqa: E402
from gftheory.errors import UsageError  # noqa: E402
from gftheory.importance import importance  # noqa: E402

X = torch.zeros(1, 3, 32, 32)


def _tp(arch):
    return {g.members: g.channels for g in coupled_groups(build(arch, 10), X)}


@pytest.mark.parametrize("arch", ["vgg13", "mobilenet_v1"])
def test_torch_pruning_finds_exactly_the_hand_written_groups(arch):
    """vgg13: one group per conv; mobilenet_v1: each pointwise conv with the depthwise conv that
    follows it (and the stem with the first depthwise) — the same coupled sets, the same widths."""
    tp = _tp(arch)
    hand = hand_coupled_sets(arch)
    assert set(tp) == set(hand.values())
    widths = default_widths(arch)
    assert {hand[g.name]: widths[g.space] for g in unit_groups(arch)} == tp


def test_resnet56_coupled_units_and_the_one_stated_difference():
    """Hand-written (coupled_residual): 27 block-internal groups (1,008 channels), the stage-2 and
    stage-3 streams (32 + 64 channels, each coupling its 9 conv2s and the projection shortcut) and
    the 9 stage-1 conv2s as mask groups of 16 (144 units): 1,248 units. Torch-Pruning couples the
    same 29 sets and one more: the stage-1 stream (the stem and the 9 stage-1 conv2s, 16 channels),
    which the protocol never removes — the stem is not a unit (docs/paper.md §6) — so the stage-1
    conv2 filters are masked one by one instead: 1,008 + 96 + 16 = 1,120 Torch-Pruning channels."""
    tp = _tp("resnet56")
    hand = hand_coupled_sets("resnet56")
    groups = unit_groups("resnet56", coupled_residual=True)
    widths = default_widths("resnet56")
    outs = {e.module: e for e in channel_layout("resnet56")}
    units = sum(widths[g.space] if g.kind == "physical" else 16 for g in groups)
    assert units == 1248
    stage1 = frozenset({"stem.conv", *(f"layer1.{b}.conv2" for b in range(9))})
    masks = {s for s in hand.values() if len(s) == 1 and next(iter(s)).endswith("conv2")}
    assert masks == {frozenset({f"layer1.{b}.conv2"}) for b in range(9)}
    assert set(tp) == (set(hand.values()) - masks) | {stage1}
    assert tp[stage1] == 16 and sum(tp.values()) == 1120
    assert tp[hand["layer2"]] == 32 and len(hand["layer2"]) == 10 and "layer2.0.shortcut.conv" in hand["layer2"]
    assert all(outs[m].kind == "conv" for s in tp for m in s)


class SmallNet(nn.Module):
    """A residual add, a depthwise conv and a concatenation."""

    def __init__(self, num_classes: int = 5):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.res = nn.Conv2d(8, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Conv2d(8, 6, 1)
        self.mix = nn.Conv2d(10, 12, 3, padding=1)
        self.head = nn.Linear(12, num_classes)

    def forward(self, x):
        s = torch.relu(self.stem(x))
        s = torch.relu(s + self.res(s))                 # residual add: stem and res coupled
        s = torch.relu(self.dw(s))                      # depthwise: follows its producer
        c = torch.cat([self.b1(s), self.b2(s)], dim=1)  # concatenation: b1, b2 map index ranges
        return self.head(torch.relu(self.mix(c)).mean((2, 3)))


def small_net(num_classes: int = 5):
    return SmallNet(num_classes)


def test_groups_of_a_network_outside_the_registry(monkeypatch):
    model = load_network(f"{__name__}:small_net", num_classes=5)
    groups = coupled_groups(model, torch.zeros(1, 3, 8, 8))
    got = {g.members: g.channels for g in groups}
    assert got == {frozenset({"stem", "res", "dw"}): 8, frozenset({"b1"}): 4, frozenset({"b2"}): 6,
                   frozenset({"mix"}): 12}
    # a ranking over coupled units: a group's score is the sum of its members' filter scores
    model = model.double()
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(100))
    y = torch.arange(6) % 5
    s = importance(model, "loss_preservation_elementwise", [(x, y)])
    gs = group_scores(groups, s)
    root = next(g.root for g in groups if "res" in g.members)
    torch.testing.assert_close(gs[root], s["stem.weight"] + s["res.weight"] + s["dw.weight"])
    assert {k: v.shape[0] for k, v in gs.items()} == {g.root: g.channels for g in groups}


@pytest.mark.parametrize("spec, problem", [("nosuch_net_mod:f", "cannot import module"),
                                           (f"{__name__}:X_NOT_CALLABLE", "is not callable"),
                                           (f"{__name__}:not_a_module", "not a torch.nn.Module")])
def test_bad_network_spec(spec, problem):
    with pytest.raises(UsageError, match=problem):
        load_network(spec)


X_NOT_CALLABLE = 3


def not_a_module(num_classes=10):
    return [num_classes]
