"""``gftheory assess MEASURE --arch ...``, the empirical part (empirical.assess_events), end to end
on synthetic data through the command line:

- a measure defined here, given by ``module:Class`` and by an entry point of the group
  ``gftheory.measures`` (a .dist-info on sys.path, as tests/theory/test_external_measures.py
  does), on a small registered network: every field there, finite, labelled synthetic in every
  output; every measure removes the same number of units, the number the schedule's first round
  says; and the recorded first-order prediction −θ_Sᵀg, θ_SᵀHθ_S and the actual ΔL equal the same
  quantities recomputed here in float64 from the kept checkpoint with plain autograd;
- a network outside the registry, defined here (a residual add, a depthwise convolution and a
  concatenation, BatchNorm after the convs), through Torch-Pruning's coupled groups: the coupled
  channels are removed together, and the recorded loss after the removal equals the loss of the
  network Torch-Pruning itself prunes physically at the same channels;
- bad input exits 2 with one line before any work.
Sizes are tiny (probe 32 images, a few SGD steps): the numbers show the machinery, nothing more."""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirical.architectures import ARCHITECTURES, build
from empirical.assess_events import BASELINES, SYNTHETIC, finite_numbers
from gftheory import external
from gftheory.cli import main
from gftheory.measures import Measure

sys.path.insert(0, str(Path(__file__).parent))
from conftest import fake_distribution  # noqa: E402
from test_architectures import ToyCNN  # noqa: E402

pytestmark = pytest.mark.usefixtures("single_thread")

SMALL = ["--train-steps", "6", "--probe-size", "32", "--importance-samples", "32", "--val-size", "40",
         "--batch-size", "16", "--probe-chunk", "16", "--quiet"]


class TaylorSquaredEmp(Measure):
    """(θ_pᵀg)² per unit, defined here, outside the package."""
    name, formula, needs = "taylor_sq_emp", "(θ_pᵀg)²", frozenset({"grad"})

    def parameter_scores(self, q):
        return q.theta * q.grad

    def filter_scores(self, q):
        return (q.theta * q.grad).reshape(q.theta.shape[0], -1).sum(1).pow(2)


SPEC = f"{__name__}:TaylorSquaredEmp"


class AssessToy(ToyCNN):
    """tests/empirical/test_architectures.py's two-conv toy network, registered under its own name."""
    name = "assess_toy"


@pytest.fixture
def toy():
    ARCHITECTURES.register(AssessToy)
    try:
        yield "assess_toy"
    finally:
        ARCHITECTURES.unregister("assess_toy")


@pytest.fixture
def entry_point(tmp_path, monkeypatch):
    """An installed distribution declaring the entry point taylor_sq_emp."""
    fake_distribution(tmp_path, monkeypatch, "taylor_sq_emp", SPEC)
    yield "taylor_sq_emp"
    external.refresh_entry_points()


def _run(argv, capsys):
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _common_checks(out_dir, arg, stdout):
    data = json.loads((out_dir / "assess.json").read_text())
    page = (out_dir / "assess.html").read_text()
    e = data["empirical"]
    assert e["measures"] == [arg, *BASELINES]
    assert e["synthetic"] is True and e["evidence"] is False and e["label"].startswith(SYNTHETIC)
    assert finite_numbers(e), "a number of the empirical part is not finite"
    for m, r in e["records"].items():
        for k in ("dloss", "dgrad_norm_sq", "first_order", "second_order", "first_order_weights",
                  "pred_dgrad_norm_sq", "score_seconds", "cost_ratio_to_magnitude", "val_acc_after"):
            assert isinstance(r[k], float), (m, k)
        assert set(r["widths_after"]) == {g["name"] for g in e["groups"]}
        assert sum(r["widths_after"].values()) == e["units_total"] - r["units_removed"], m
        assert all(r["widths_after"][g["name"]] >= g["floor"] for g in e["groups"]), m
        assert sum(len(v) for v in r["removed"].values()) == r["units_removed"]
    # the same number of units for every measure: the schedule's first round, round(U·3/28) half up
    counts = {m: r["units_removed"] for m, r in e["records"].items()}
    u = e["units_total"]
    assert set(counts.values()) == {(u * 3 * 2 + 28) // 56} == {e["units_to_remove"]}, counts
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert SYNTHETIC in page and "data:image/png;base64," in page and arg in page
    lines = [s for s in stdout.splitlines() if s.startswith("[")]
    assert lines and all(s.startswith(f"[{SYNTHETIC}]") for s in lines), stdout
    return data, e


def _loss_and_grad(model, x, y, temperature):
    params = dict(model.named_parameters())
    loss = F.cross_entropy(model(x) / temperature, y)
    return loss, dict(zip(params, torch.autograd.grad(loss, list(params.values()), create_graph=True)))


@pytest.mark.parametrize("how", ["module:Class", "entry point"])
def test_assess_empirical_end_to_end_on_synthetic_data(how, toy, entry_point, tmp_path, capsys):
    arg = SPEC if how == "module:Class" else entry_point
    out = tmp_path / "out"
    rc, stdout, err = _run(["assess", arg, "--cases", "1", "--arch", toy, "--data", "synthetic", "--out", str(out),
                            "--keep-checkpoint", *SMALL], capsys)
    assert rc == 0, err
    data, e = _common_checks(out, arg, stdout)
    assert data["relations"]["T1"][arg]["networks"] == 1            # the theory part is on the same page
    assert e["checkpoint"]["kind"] == "short trajectory" and e["checkpoint"]["steps"] == 6

    # recomputed here in float64 from the kept checkpoint, plain autograd on the model's own parameters
    kept = torch.load(out / "assess_checkpoint.pt", weights_only=False)
    model = build(toy, 10)
    model.load_state_dict(kept["model"])
    model = model.double().eval()
    x, y, t = kept["probe_x"].double(), kept["probe_y"], kept["temperature"]
    loss0, g = _loss_and_grad(model, x, y, t)
    loss0 = loss0.detach()
    p = dict(model.named_parameters())
    for m in ("loss_preservation", arg):
        r = e["records"][m]
        assert kept["removed"][m] == r["removed"]
        w_sel = {n: torch.zeros_like(v) for n, v in p.items()}
        for grp, idx in r["removed"].items():      # physical groups conv1 / conv2, BatchNorm bn1 / bn2
            w_sel[f"{grp}.weight"][idx] = 1
        c_sel = {n: v.clone() for n, v in w_sel.items()}
        for grp, idx in r["removed"].items():
            bn = "bn" + grp[-1]
            c_sel[f"{bn}.weight"][idx] = 1
            c_sel[f"{bn}.bias"][idx] = 1
        for sel, key, quad in ((w_sel, "first_order_weights", "theta_hess_theta_weights"),
                               (c_sel, "first_order", "theta_hess_theta_channel")):
            th_s = {n: (sel[n] * p[n]).detach() for n in p}
            first = -sum(float((th_s[n] * g[n].detach()).sum()) for n in p)
            scale = sum(float((th_s[n] * g[n].detach()).abs().sum()) for n in p)
            # float32 (the command) against float64 (here): 1e-4 of Σ|θ_i g_i| over S
            assert abs(r[key] - first) <= 1e-4 * scale + 1e-10, (m, key, r[key], first)
            gv = sum((g[n] * th_s[n]).sum() for n in p)
            hv = torch.autograd.grad(gv, list(p.values()), retain_graph=True)
            quad64 = sum(float((th_s[n] * h).sum()) for n, h in zip(p, hv))
            assert abs(r["pred"][quad] - quad64) <= 1e-3 * abs(quad64) + 1e-8, (m, quad, r["pred"][quad], quad64)
        # the actual ΔL: the network without the removed channels, here θ − θ_channel in float64
        cut = copy.deepcopy(model)
        with torch.no_grad():
            for n, v in cut.named_parameters():
                v.mul_(1 - c_sel[n])
            loss1 = F.cross_entropy(cut(x) / t, y)
        assert abs(r["dloss"] - float(loss1 - loss0)) <= 1e-5 * (1 + float(loss0)), (m, r["dloss"], float(loss1 - loss0))


def test_assess_a_stored_checkpoint(toy, tmp_path, capsys):
    """--checkpoint auto finds a stored event study of the network under --runs-root (config.json and
    checkpoint_e<E>.pt, as gftheory events writes them) when the data are real CIFAR-layout files;
    the checkpoint assessed is that one, and given as a file it gives the same numbers."""
    from gftheory import runstore
    from test_cli_empirical import write_cifar10
    data = write_cifar10(tmp_path / "data")
    torch.manual_seed(7)
    stored = build(toy, 10)
    with torch.no_grad():
        for v in stored.parameters():
            v.add_(0.1 * torch.randn_like(v))
    study = tmp_path / "runs" / "ev-0123456789abc"
    runstore.write_config(study, {"run_id": study.name, "kind": "event_study", "config": {
        "kind": "event_study", "arch": toy, "dataset": "cifar10", "seed": 0, "checkpoints": [2], "temperature": 5.0}})
    runstore.save_checkpoint(study / runstore.study_checkpoint(2), {"epoch": 2, "model": stored.state_dict()})
    base = ["assess", "magnitude", "--no-theory", "--arch", toy, "--data-dir", str(data), "--keep-checkpoint", *SMALL]
    rc, stdout, err = _run([*base, "--runs-root", str(tmp_path / "runs"), "--out", str(tmp_path / "a")], capsys)
    assert rc == 0, err
    e = json.loads((tmp_path / "a" / "assess.json").read_text())["empirical"]
    assert e["checkpoint"]["kind"] == "stored event-study checkpoint" and e["checkpoint"]["study"] == study.name
    assert e["synthetic"] is False and SYNTHETIC not in (tmp_path / "a" / "assess.html").read_text()
    kept = torch.load(tmp_path / "a" / "assess_checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(kept[k], v) for k, v in stored.state_dict().items())
    rc, stdout, err = _run([*base, "--checkpoint", str(study / "checkpoint_e2.pt"), "--out", str(tmp_path / "b")], capsys)
    assert rc == 0, err
    f = json.loads((tmp_path / "b" / "assess.json").read_text())["empirical"]
    assert f["checkpoint"]["kind"] == "given checkpoint"
    assert {m: r["dloss"] for m, r in f["records"].items()} == {m: r["dloss"] for m, r in e["records"].items()}


# -- a network outside the registry, through Torch-Pruning ---------------------------------------

class ResDwCat(nn.Module):
    """A residual add (stem + res), a depthwise conv after it (coupled to both), a concatenation of
    two 1×1 branches, BatchNorm after every conv."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem, self.bn0 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.res, self.bn1 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.dw, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8)
        self.b1, self.bn3 = nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4)
        self.b2, self.bn4 = nn.Conv2d(8, 6, 1, bias=False), nn.BatchNorm2d(6)
        self.mix, self.bn5 = nn.Conv2d(10, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12)
        self.head = nn.Linear(12, num_classes)

    def forward(self, x):
        s = F.relu(self.bn0(self.stem(x)))
        s = F.relu(s + self.bn1(self.res(s)))
        s = F.relu(self.bn2(self.dw(s)))
        c = torch.cat([F.relu(self.bn3(self.b1(s))), F.relu(self.bn4(self.b2(s)))], dim=1)
        return self.head(F.relu(self.bn5(self.mix(F.max_pool2d(c, 4)))).mean((2, 3)))


def res_dw_cat(num_classes: int = 10):
    return ResDwCat(num_classes)


def test_assess_a_network_outside_the_registry(tmp_path, capsys):
    from conftest import optional_module
    tp = optional_module("torch_pruning", "prune")
    out = tmp_path / "out"
    arch = f"{__name__}:res_dw_cat"
    rc, stdout, err = _run(["assess", "loss_preservation_elementwise", "--no-theory", "--arch", arch, "--data",
                            "synthetic", "--out", str(out), "--keep-checkpoint", *SMALL], capsys)
    assert rc == 0, err
    data, e = _common_checks(out, "loss_preservation_elementwise", stdout)
    assert data["theory"].startswith("skipped")
    groups = {frozenset(g["members"]): g for g in e["groups"]}
    # the residual add couples stem and res, the depthwise conv follows them; the branches of the
    # concatenation stay separate; the classifier is no unit
    assert set(groups) == {frozenset({"stem", "res", "dw"}), frozenset({"b1"}), frozenset({"b2"}),
                           frozenset({"mix"})}
    assert {k: g["original"] for k, g in groups.items()} == {frozenset({"stem", "res", "dw"}): 8,
                                                            frozenset({"b1"}): 4, frozenset({"b2"}): 6,
                                                            frozenset({"mix"}): 12}
    assert e["units_total"] == 30 and e["units_to_remove"] == 3

    kept = torch.load(out / "assess_checkpoint.pt", weights_only=False)
    x, y, t = kept["probe_x"], kept["probe_y"], kept["temperature"]
    for m, r in e["records"].items():
        # Torch-Pruning removes the same channels physically; its network's probe loss is the
        # recorded loss after the event (float32 both: summation order only)
        model = res_dw_cat(10)
        model.load_state_dict(kept["model"])
        model.eval()
        dg = tp.DependencyGraph().build_dependency(model, example_inputs=x[:1])
        mods = dict(model.named_modules())
        for root, idx in r["removed"].items():
            fn = dg.get_pruner_of_module(mods[root]).prune_out_channels
            dg.get_pruning_group(mods[root], fn, idxs=list(idx)).prune()
        widths = {g["name"]: mods[g["name"]].out_channels for g in e["groups"]}
        assert widths == r["widths_after"], m
        with torch.no_grad():
            loss = float(F.cross_entropy(model(x) / t, y))
        assert abs(loss - r["loss_after"]) <= 1e-5 * (1 + loss), (m, loss, r["loss_after"])


def kwargs_factory(**kwargs):
    """A factory in the style of torchvision's model builders (keyword arguments only)."""
    return ResDwCat(**kwargs)


def test_a_kwargs_factory_gets_the_number_of_classes():
    from empirical.external_net import load_network
    assert load_network(f"{__name__}:kwargs_factory", num_classes=7).head.out_features == 7
    assert load_network(f"{__name__}:res_dw_cat", num_classes=3).head.out_features == 3


# -- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, problem", [
    (["--arch", "alexnet_nowhere"], "is not a registered network"),
    (["--arch", "no_such_net_module_q:f"], "cannot import module"),
    (["--arch", "vgg13", "--data-dir", "{tmp}/nothing-here"], "no cifar10 data"),
    (["--arch", "vgg13", "--data", "synthetic", "--data-dir", "{tmp}"], "both given"),
    (["--arch", "vgg13", "--data", "synthetic", "--checkpoint", "{tmp}/missing.pt"], "does not exist"),
    (["--arch", "vgg13", "--data", "synthetic", "--probe-size", "0"], "--probe-size 0"),
    (["--arch", "vgg13", "--data", "synthetic", "--fraction", "1.5"], "--fraction 1.5"),
    (["--data", "synthetic"], "give --arch too"),
])
def test_assess_empirical_bad_input_exits_2_with_one_line(extra, problem, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["assess", "magnitude", "--out", str(out), *[a.replace("{tmp}", str(tmp_path)) for a in extra]]
    rc, stdout, err = _run(argv, capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0] and "fix:" in lines[0], err
    assert not out.exists()


def test_assess_unwritable_out_exits_2_before_work(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    rc, stdout, err = _run(["assess", "magnitude", "--arch", "vgg13", "--data", "synthetic",
                            "--out", str(blocker / "sub")], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--out" in err and "fix:" in err, err


def test_help_lists_the_empirical_flags(capsys):
    with pytest.raises(SystemExit) as info:
        main(["assess", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--arch", "--data-dir", "--data ", "--checkpoint", "--train-steps", "--probe-size",
                 "--importance-samples", "--fraction", "--keep-checkpoint", "--no-theory"):
        assert flag in text, flag
