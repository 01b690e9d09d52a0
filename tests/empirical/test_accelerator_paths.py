"""The CUDA code paths, exercised on the CPU as far as torch allows (issue 16): bf16 autocast on CPU
(finite loss, fp32 master weights), precision resolution that keeps every CPU run id, the uint8
input pipeline's draws independent of the device (run on the ``meta`` device: the same code as on
CUDA, no CPU-only branch), channels_last through a training step."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirical.config import RunConfig
from empirical.pipeline import DeviceLoader, PAPER_MEAN, PAPER_STD, gather_crops, normalize
from empirical.runner import effective_config
from empirical.train import autocast, effective_precision, make_optimizer, train_steps


pytestmark = pytest.mark.usefixtures("single_thread")   # tests/conftest.py


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


# -- precision resolution ---------------------------------------------------------------------
def test_auto_precision_on_cpu_stays_fp32_and_keeps_the_campaigns_run_ids():
    cfg = RunConfig.preset("cpu", arch="resnet56", dataset="cifar10", measure="magnitude", seed=0)
    eff = effective_config(cfg, "cpu")
    assert eff.precision == "fp32"
    # the id the background CPU campaign stores its first run under (computed before this change)
    assert eff.run_id() == "7f14b86de730e30f"
    assert effective_precision("auto", "cuda") == "bf16"
    assert effective_precision("fp32", "cuda") == "fp32"


def test_explicit_bf16_is_kept_on_cpu_and_is_a_different_run():
    cfg = RunConfig.preset("smoke", precision="bf16")
    assert effective_precision("bf16", "cpu") == "bf16"
    assert effective_config(cfg, "cpu").precision == "bf16"
    assert effective_config(cfg, "cpu").run_id() != effective_config(cfg.replace(precision="auto"), "cpu").run_id()
    assert any("CPU included" in d for d in effective_config(cfg, "cpu").deviations())


def test_autocast_is_the_same_call_on_cpu_and_cuda(monkeypatch):
    seen = []
    monkeypatch.setattr(torch, "autocast", lambda **kw: seen.append(kw) or torch.no_grad())
    for dev in ("cpu", "cuda", torch.device("cuda:0")):
        autocast(dev, "bf16")
    autocast("cpu", "fp32")
    assert seen == [{"device_type": "cpu", "dtype": torch.bfloat16},
                    {"device_type": "cuda", "dtype": torch.bfloat16},
                    {"device_type": "cuda", "dtype": torch.bfloat16}]


# -- bf16 autocast training on CPU --------------------------------------------------------------
@pytest.mark.parametrize("channels_last", [False, True])
def test_bf16_autocast_training_steps_on_cpu(channels_last):
    net = small_net()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)) for _ in range(4)]
    if channels_last:
        batches = [(x.contiguous(memory_format=torch.channels_last), y) for x, y in batches]
    with autocast("cpu", "bf16"):
        assert net(batches[0][0]).dtype == torch.bfloat16      # autocast is really on
    before = [p.detach().clone() for p in net.parameters()]
    opt = make_optimizer(net, 0.1, 0.9, 1e-4)
    tot = train_steps(net, batches, opt, temperature=5.0, precision="bf16", device="cpu")
    assert tot.steps == 4 and tot.loss is not None and torch.isfinite(torch.tensor(tot.loss))
    for p, b in zip(net.parameters(), before):
        assert p.dtype == torch.float32                        # master weights stay fp32
        assert p.grad is None or p.grad.dtype == torch.float32
        assert torch.isfinite(p).all()
    assert any(not torch.equal(p, b) for p, b in zip(net.parameters(), before))
    assert all(s["momentum_buffer"].dtype == torch.float32 for s in opt.state.values())
    # the bf16 forward agrees with fp32 to bf16 accuracy (not bit-equal: it is really bf16)
    x = batches[0][0]
    net.eval()
    with torch.no_grad():
        ref = net(x)
        with autocast("cpu", "bf16"):
            low = net(x).float()
    rel = ((low - ref).norm() / ref.norm()).item()
    assert 0 < rel < 3e-2


def test_bf16_smoke_run_on_cpu_end_to_end(tmp_path):
    """The runner with --precision bf16 on CPU: every record finite, config says bf16."""
    from gftheory import runstore
    from gftheory.cli import main
    from test_cli_empirical import TINY, write_cifar10
    data = write_cifar10(tmp_path / "data", per_batch=40, test=0)
    root = tmp_path / "runs"
    assert main(["run", *TINY, "--max-train-samples", "96", "--holdout-size", "40", "--lr-phases", "2:0.1",
                 "--arch", "vgg13", "--measure", "magnitude", "--precision", "bf16", "--root", str(root),
                 "--data-dir", str(data), "--device", "cpu"]) == 0
    (d,) = runstore.run_dirs(root, nested=False)
    meta = runstore.read_config(d)
    assert meta["config"]["precision"] == "bf16"
    epochs = [m for m in runstore.read_metrics(d) if m["kind"] == "epoch"]
    assert len(epochs) == 3 and all(m["train_loss"] is not None for m in epochs)
    assert runstore.read_summary(d)["complete"] is True


# -- the uint8 pipeline is device-agnostic ------------------------------------------------------
def test_loader_draws_do_not_depend_on_the_device_and_the_meta_device_runs_the_same_code():
    """Every random draw comes from a CPU generator seeded by (seed, epoch) and is copied to the
    device; the batch itself is one device-side gather. On the ``meta`` device (no CPU kernels,
    like CUDA) the loader runs the same code and yields batches of the same shape, dtype and
    strides as on the CPU, so CPU batches are what CUDA serves."""
    g = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (37, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.arange(37) % 10
    kw = dict(batch_size=8, train=True, seed=5, channels_last=True)
    cpu = DeviceLoader(images, labels, device="cpu", **kw)
    meta = DeviceLoader(images, labels, device="meta", **kw)
    for e in (0, 3):
        for a, b in zip(cpu.epoch_draws(e), meta.epoch_draws(e)):
            assert a.device.type == "cpu" and torch.equal(a, b)
    cpu_batches, meta_batches = list(cpu), list(meta)
    assert len(cpu_batches) == len(meta_batches) == 5
    for (xc, yc), (xm, ym) in zip(cpu_batches, meta_batches):
        assert xm.device.type == "meta" and ym.device.type == "meta"
        assert xc.shape == xm.shape and xc.dtype == xm.dtype == torch.float32
        assert xc.stride() == xm.stride() and xc.is_contiguous(memory_format=torch.channels_last)
        assert yc.shape == ym.shape and ym.dtype == torch.int64
    # the CPU batch is the reference transform of the draws the device loader copied over
    perm, offsets, flips = cpu.epoch_draws(0)
    padded = F.pad(images, (4, 4, 4, 4))
    mean = torch.tensor(PAPER_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(PAPER_STD).reshape(1, 3, 1, 1)
    want = normalize(gather_crops(padded, perm[:8], offsets[:8], flips[:8], 32), mean, std)
    assert torch.equal(cpu_batches[0][0], want) and torch.equal(cpu_batches[0][1], labels[perm[:8]])
