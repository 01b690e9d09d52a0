"""The training loop: SGD steps on L = mean CE(f(x)/T, y), evaluation, precision handling.

One step: zero grads → forward (bf16 autocast when precision is "bf16" — on CUDA and, asked for
explicitly, on CPU; fp32 otherwise; master weights always fp32) → loss = CE(logits/T, y) → backward → SGD(momentum, weight decay)
step → pruner.enforce_masks(model) (masked filters stay exactly zero).
"""
from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def autocast(device: torch.device, precision: str):
    """bf16 autocast on the device's type (cuda or cpu) when precision == "bf16"; a no-op otherwise.
    The same call on both: the CPU path exercises exactly the code the GPU runs."""
    if precision == "bf16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def effective_precision(requested: str, device) -> str:
    """"auto" → "bf16" on CUDA, "fp32" elsewhere (so every CPU run with precision auto keeps its
    fp32 run id); an explicit "bf16" or "fp32" is kept on every device (bf16 autocast on CPU is
    how the CUDA default is exercised without a GPU)."""
    if requested == "auto":
        return "bf16" if torch.device(device).type == "cuda" else "fp32"
    return requested


def make_optimizer(model: nn.Module, lr: float, momentum: float, weight_decay: float):
    """SGD with momentum and (coupled, L2) weight decay on every parameter, as the authors."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def set_lr(optimizer, lr: float) -> None:
    for g in optimizer.param_groups:
        g["lr"] = lr


@dataclass
class Totals:
    """Running sums of sample-weighted loss and correct predictions."""
    loss_sum: float = 0.0
    correct: int = 0
    n: int = 0
    steps: int = 0

    def add(self, loss_mean: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        b = int(y.shape[0])
        self.loss_sum += float(loss_mean.detach()) * b
        self.correct += int((logits.detach().argmax(1) == y).sum())
        self.n += b
        self.steps += 1

    @property
    def loss(self) -> float | None:
        return self.loss_sum / self.n if self.n else None

    @property
    def acc(self) -> float | None:
        return self.correct / self.n if self.n else None


def _loss_logits(logits: torch.Tensor) -> torch.Tensor:
    """Logits in which the loss is computed: bf16/fp16 (autocast) → fp32; fp32 and fp64 as they are."""
    return logits.float() if logits.dtype in (torch.bfloat16, torch.float16) else logits


def train_steps(model: nn.Module, batches, optimizer, *, temperature: float, precision: str,
                device, pruner=None, steps: int | None = None, step_fn=None) -> Totals:
    """Train on ``batches`` (at most ``steps`` of them) in train mode; return loss/acc totals.
    ``step_fn`` (optional) is a compiled forward; default ``model``. The one training step of the
    code base: runs, the event study and ``gftheory bench`` all time and use this function."""
    model.train()
    forward = model if step_fn is None else step_fn
    tot = Totals()
    it = batches if steps is None else itertools.islice(iter(batches), steps)
    for x, y in it:
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            logits = forward(x)
        loss = F.cross_entropy(_loss_logits(logits) / temperature, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss is {float(loss)}; the run diverged")
        loss.backward()
        optimizer.step()
        if pruner is not None:
            pruner.enforce_masks(model)
        tot.add(loss, logits, y)
    return tot


@torch.no_grad()
def evaluate(model: nn.Module, batches, *, temperature: float, precision: str, device) -> Totals:
    """Mean CE(f(x)/T, y) and accuracy in eval mode (the mode is restored afterwards)."""
    was = model.training
    model.eval()
    tot = Totals()
    try:
        for x, y in batches:
            with autocast(device, precision):
                logits = model(x)
            tot.add(F.cross_entropy(logits.float() / temperature, y), logits, y)
    finally:
        model.train(was)
    return tot
