"""A physically pruned network equals the masked original (eval mode, float64, atol 1e-6).

The reference masks the original network with forward hooks that zero the pruned channels'
*activations* where this test (independently of ``channel_layout``) knows they are produced:
VGG ConvReLUBN output; MobileNet block output and the next block's depthwise BN output;
ResNet bn1 output (conv1 units), bn2 / shortcut.bn outputs (residual-stream units)."""
import warnings

import pytest
import torch
from hypothesis import given, strategies as st

from empirical.models import build, default_widths
from empirical.pruning import StructuredPruner


def _randomise_bn(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(0.2 * torch.randn(n, generator=gen, dtype=m.running_mean.dtype))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen, dtype=m.running_var.dtype))
                m.weight.copy_(0.5 + torch.rand(n, generator=gen, dtype=m.weight.dtype))
                m.bias.copy_(0.2 * torch.randn(n, generator=gen, dtype=m.bias.dtype))


def _zero_hook(idx):
    def hook(mod, inp, out):
        out = out.clone()
        out[:, idx] = 0
        return out
    return hook


def _mask_sites(arch, group):
    """Modules whose outputs carry the channels of ``group`` (test's own knowledge)."""
    if arch == "vgg13":                                   # features.<i>.conv
        return [group.rsplit(".", 1)[0]]
    if arch == "mobilenet_v1":
        if group == "stem.conv":
            return ["stem", "blocks.0.dw_bn"]
        j = int(group.split(".")[1])
        return [f"blocks.{j}"] + ([f"blocks.{j + 1}.dw_bn"] if j < 12 else [])
    if group.endswith(".conv1"):
        return [group[:-len("conv1")] + "bn1"]
    if group.endswith(".conv2"):
        return [group[:-len("conv2")] + "bn2"]
    if group.endswith("shortcut.conv"):
        return [group[:-len("conv")] + "bn"]
    s = int(group[len("layer"):])                         # coupled stream layer<s>
    return [f"layer{s}.{b}.bn2" for b in range(9)] + [f"layer{s}.0.shortcut.bn"]


@pytest.mark.parametrize("arch,coupled,target,rounds", [
    ("vgg13", False, 0.8, 3), ("mobilenet_v1", False, 0.8, 3),
    ("resnet56", False, 0.8, 3), ("resnet56", True, 0.8, 3)])
def test_physically_pruned_equals_masked_original(arch, coupled, target, rounds):
    """Real-size networks, batch 2."""
    check_equivalence(arch, coupled, target, rounds, divisor=1, seed=7)


@given(arch=st.sampled_from(["vgg13", "mobilenet_v1", "resnet56"]), coupled=st.booleans(),
       target=st.floats(0.3, 0.9), rounds=st.integers(1, 3), divisor=st.sampled_from([4, 8]),
       seed=st.integers(0, 2**16))
def test_equivalence_on_narrow_variants(arch, coupled, target, rounds, divisor, seed):
    """Width-scaled variants (every channel space divided by ``divisor``), varied schedules."""
    check_equivalence(arch, coupled and arch == "resnet56", target, rounds, divisor, seed)


def check_equivalence(arch, coupled, target, rounds, divisor, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    widths = {k: max(1, v // divisor) for k, v in default_widths(arch).items()}
    original = build(arch, 10, widths).double()
    _randomise_bn(original, gen)
    original.eval()
    x = torch.randn(2, 3, 32, 32, generator=gen, dtype=torch.float64)

    pruner = StructuredPruner(original, arch, target=target, rounds=rounds, coupled_residual=coupled)
    model = original
    for k in range(1, rounds + 1):
        scores = {n: torch.rand(w.shape[0], generator=gen, dtype=torch.float64)
                  for n, w in model.named_parameters() if w.dim() > 1}
        if coupled:   # a stream channel's score is a sum of 9-10 filter scores: make it compete
            scores = {n: s / 10 if ("conv2" in n or "shortcut" in n) else s for n, s in scores.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # narrow nets can hit every floor
            model, rep = pruner.prune_round(model, scores, k)
        assert rep.target_met or all(len(a) == pruner.floors[g] for g, a in pruner.alive.items())
        assert rep.target_met or divisor > 1
    assert model is not original and not model.training
    assert rep.widths_after != rep.widths_before or rounds == 1 or divisor > 1

    if coupled and divisor == 1:
        assert len(pruner.alive["layer2"]) < 32 and len(pruner.alive["layer3"]) < 64
    elif arch == "resnet56" and divisor == 1:
        assert len(pruner.alive["layer3.0.shortcut.conv"]) < 64
    mods = dict(original.named_modules())
    hooks = []
    for name, alive in pruner.alive.items():
        dead = sorted(set(range(pruner.original[name])) - set(alive))
        if dead:
            for site in _mask_sites(arch, name):
                hooks.append(mods[site].register_forward_hook(_zero_hook(torch.tensor(dead))))
    try:
        with torch.no_grad():
            y_masked = original(x)
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        y_pruned = model(x)
        y_unmasked = original(x)
    torch.testing.assert_close(y_pruned, y_masked, rtol=1e-9, atol=1e-6)
    # the comparison can fail: pruning did change the function
    if divisor == 1:
        assert (y_unmasked - y_masked).abs().max() > 1e-4
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in original.parameters())
