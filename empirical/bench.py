"""``gftheory bench``: our training pipeline against a reference-style one, side by side in one
process, plus the time of each importance measure's scoring.

A *training step* is one SGD step (momentum 0.9, weight decay 1e-4) on L = CE(f(x)/T, y) with
T = 5 (docs/paper.md §5), taken by the runner's own step function ``empirical.train.train_steps``
(autocast, the non-finite-loss guard and, for a registered network, the pruner's
``enforce_masks`` after every step — what a run actually executes). Pipelines timed, per
architecture:

- ``reference``: fp32 model, per-sample CPU augmentation in a ``Dataset`` through a
  ``DataLoader`` with 2 workers, each batch copied to the device (the authors' arrangement);
- ``ours``: uint8 dataset on the device, crop/flip/normalise on the device (``DeviceLoader``),
  channels_last and bf16 autocast on CUDA (fp32, contiguous on CPU unless asked);
- ``ours+compile[:mode]``: the same with ``torch.compile(model, mode=...)`` as the step's forward
  (``train_steps(step_fn=...)``, as ``--compile`` in a run; CUDA default).

Each repeat is one "epoch": a fresh iterator, ``warmup`` untimed steps (worker start-up,
compilation, cuDNN autotuning), then ``max_batches`` timed steps; repeats of all pipelines are
interleaved. The reference's workers prefetch up to 2 batches each during the warm-up, which
favours the reference when few steps are timed (use ≥ 50 on a GPU). ``input_only`` times the
two input pipelines without a model. GPU time is taken with CUDA events after a synchronize. Speed-ups are ratios of mean
seconds per step measured in the same run. Scoring time is ``gftheory.importance`` (unit filter,
eval mode) on ``score_batches`` augmented training batches, at each measure's importance
temperature (``Measure.importance_temperature``, else T), as in a run.
"""
from __future__ import annotations

import copy
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

from empirical import train
from empirical.config import RunConfig
from empirical.pipeline import DeviceLoader
from empirical.reference_pipeline import reference_loader

TRAIN_TEMPERATURE = RunConfig.temperature      # the protocol's T (5)
FULL_EPOCH_SAMPLES = 50_000


def make_optimizer(model: nn.Module, lr: float = RunConfig.lr_phases[0][1], momentum: float = RunConfig.momentum,
                   weight_decay: float = RunConfig.weight_decay) -> torch.optim.Optimizer:
    """The runner's optimiser at the paper's values: SGD(lr 0.1, momentum 0.9, weight decay 1e-4)."""
    return train.make_optimizer(model, lr, momentum, weight_decay)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, *,
               temperature: float = TRAIN_TEMPERATURE, precision: str = "fp32", pruner=None) -> float:
    """One step θ ← SGD(θ, ∇_θ mean CE(f(x; θ)/T, y)) by the runner's ``train.train_steps``;
    returns the loss before the step."""
    return train.train_steps(model, [(x, y)], optimizer, temperature=temperature, precision=precision,
                             device=x.device, pruner=pruner).loss


def pruner_for(model: nn.Module):
    """The runner's pruner for a network built by ``empirical.architectures.build`` (paper
    protocol: target 0.75 over 25 rounds, floor 0.05), whose ``enforce_masks`` a run calls after
    every step; None for any other model."""
    from empirical.architectures import ARCHITECTURES
    from empirical.pruning import StructuredPruner
    arch = getattr(model, "arch", None)
    if arch not in ARCHITECTURES:
        return None
    cfg = RunConfig.preset("full", arch=arch)
    return StructuredPruner(model, arch, target=cfg.target, rounds=cfg.rounds,
                            floor_fraction=cfg.floor_fraction, coupled_residual=cfg.coupled_residual)


class Stopwatch:
    """Wall time of a region; on CUDA between two events recorded after a synchronize (so time
    the GPU spends idle waiting for input is counted)."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            self._start, self._end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            self._start.record()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.cuda:
            self._end.record()
            self._end.synchronize()
            self.seconds = self._start.elapsed_time(self._end) / 1000.0
        else:
            self.seconds = time.perf_counter() - self._t0
        return False


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


@dataclass
class Pipeline:
    """One way of training: a model, its optimiser, and a source of device batches per epoch."""
    name: str
    description: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    epoch_batches: Callable[[int], Iterator[tuple[Tensor, Tensor]]]
    precision: str                   # "fp32" | "bf16" (train.autocast)
    device: torch.device
    step_fn: Callable | None = None  # compiled forward (train_steps(step_fn=...)), else the model
    pruner: object | None = None     # masks enforced after every step, as in a run
    times: list[float] = field(default_factory=list)
    warmup_seconds: list[float] = field(default_factory=list)
    error: str | None = None

    def run_epoch(self, epoch: int, warmup: int, steps: int) -> None:
        it = self._on_device(self.epoch_batches(epoch))
        t0 = time.perf_counter()
        self._train(it, warmup)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.warmup_seconds.append(time.perf_counter() - t0)
        with Stopwatch(self.device) as sw:
            self._train(it, steps)
        self.times.append(sw.seconds / steps)
        it.close()  # stops DataLoader workers

    def _on_device(self, batches):
        for x, y in batches:
            if x.device != self.device:
                x, y = x.to(self.device), y.to(self.device)
            yield x, y

    def _train(self, it, steps: int) -> None:
        """``steps`` SGD steps by the runner's step function, from the shared iterator ``it``."""
        if steps:
            done = train.train_steps(self.model, it, self.optimizer, temperature=TRAIN_TEMPERATURE,
                                     precision=self.precision, device=self.device, pruner=self.pruner,
                                     steps=steps, step_fn=self.step_fn).steps
            if done != steps:
                raise RuntimeError(f"{self.name}: the input ran out after {done} of {steps} steps")


def _subset(images: Tensor, labels: Tensor, n: int) -> tuple[Tensor, Tensor]:
    if images.shape[0] >= n:
        return images[:n], labels[:n]
    reps = math.ceil(n / images.shape[0])
    return images.repeat(reps, 1, 1, 1)[:n], labels.repeat(reps)[:n]


def build_pipelines(base: nn.Module, images: Tensor, labels: Tensor, *, device: torch.device,
                    batch_size: int, workers: int, seed: int, channels_last: bool,
                    precision: str, compile_modes: list[str]) -> list[Pipeline]:
    out = []
    ref_model = copy.deepcopy(base).to(device)
    ref = reference_loader(images, labels, batch_size=batch_size, train=True, num_workers=workers,
                           seed=seed)
    desc = f"fp32, per-sample CPU augmentation, DataLoader({workers} workers)"
    out.append(Pipeline("reference", desc, ref_model, make_optimizer(ref_model),
                        lambda epoch: iter(ref), "fp32", device, pruner=pruner_for(ref_model)))
    loader = DeviceLoader(images, labels, batch_size=batch_size, train=True, seed=seed, device=device,
                          drop_last=True, channels_last=channels_last)

    def ours_batches(epoch):
        loader.set_epoch(epoch)
        return iter(loader)

    prec = "bf16 autocast" if precision == "bf16" else "fp32"
    layout = "channels_last" if channels_last else "contiguous"
    for mode in [None] + list(compile_modes):
        m = copy.deepcopy(base).to(device)
        if channels_last:
            m = m.to(memory_format=torch.channels_last)
        opt = make_optimizer(m)
        name = "ours" if mode is None else f"ours+compile:{mode}"
        d = f"uint8 on device, device augmentation, {layout}, {prec}"
        step_fn = None
        if mode is not None:
            d += f", torch.compile(mode={mode!r})"
            step_fn = torch.compile(m, mode=mode)
        out.append(Pipeline(name, d, m, opt, ours_batches, precision, device, step_fn=step_fn,
                            pruner=pruner_for(m)))
    return out


def input_times(images: Tensor, labels: Tensor, *, device: torch.device, batch_size: int, workers: int,
                seed: int, channels_last: bool, warmup: int, steps: int, repeats: int) -> dict:
    """Seconds per batch of the input pipelines alone (no model): batches produced and on the device."""
    ref = reference_loader(images, labels, batch_size=batch_size, train=True, num_workers=workers, seed=seed)
    ours = DeviceLoader(images, labels, batch_size=batch_size, train=True, seed=seed, device=device,
                        drop_last=True, channels_last=channels_last)
    times = {"reference": [], "ours": []}
    for r in range(repeats):
        for name in times:
            if name == "ours":
                ours.set_epoch(r)
            it = iter(ref if name == "reference" else ours)
            for _ in range(warmup):
                next(it)[0].to(device)
            with Stopwatch(device) as sw:
                for _ in range(steps):
                    x = next(it)[0].to(device)
                    x.view(-1)[:1].sum()  # touch it on the device
            times[name].append(sw.seconds / steps)
            del it
    out = {}
    for name, t in times.items():
        mean, std = mean_std(t)
        out[name] = {"seconds_per_batch_mean": mean, "seconds_per_batch_std": std, "seconds_per_batch": t}
    out["ours"]["speedup_vs_reference"] = out["reference"]["seconds_per_batch_mean"] / out["ours"]["seconds_per_batch_mean"]
    return out


def score_times(model: nn.Module, measures: list[str], batches: list[tuple[Tensor, Tensor]], *,
                repeats: int, warmup: bool, device: torch.device, progress=None) -> dict:
    """Seconds per ``gftheory.importance`` call (unit filter, eval mode) for each measure."""
    from gftheory.importance import importance
    from gftheory.measures import MEASURES
    model.eval()
    out = {}
    n = sum(int(b[1].shape[0]) for b in batches)
    for name in measures:
        temp = MEASURES[name].temperature_for(TRAIN_TEMPERATURE)  # the measure's own, as in a run
        if warmup:
            importance(model, name, batches[:1], unit="filter", temperature=temp)
        times = []
        for _ in range(repeats):
            with Stopwatch(device) as sw:
                importance(model, name, batches, unit="filter", temperature=temp)
            times.append(sw.seconds)
        mean, std = mean_std(times)
        out[name] = {"seconds_mean": mean, "seconds_std": std, "seconds": times, "samples": n,
                     "batches": len(batches), "temperature": temp}
        if progress:
            progress(f"  score {name}: {mean:.3f} ± {std:.3f} s")
    model.train()
    return out


def run_bench(*, archs: list[str], build_model: Callable[[str, int], nn.Module], images: Tensor,
              labels: Tensor, num_classes: int, data_description: str, device=None,
              max_batches: int = 3, warmup: int = 1, repeats: int = 3, batch_size: int = 128,
              measures: list[str] | None = None, score_batches: int = 1, score_batch_size: int | None = None,
              score_repeats: int | None = None,
              workers: int = 2, channels_last: bool | None = None, precision: str = "auto",
              compile_modes: list[str] | None = None, seed: int = 0, progress: bool = True) -> dict:
    """Time every pipeline on every architecture; return the JSON-ready result (with provenance)."""
    from gftheory.provenance import provenance
    device = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    if channels_last is None:
        channels_last = cuda
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32 (as a run), got {precision!r}")
    precision = train.effective_precision(precision, device)
    compile_modes = list(compile_modes) if compile_modes is not None else (["default"] if cuda else [])
    measures = list(measures) if measures is not None else []
    score_repeats = repeats if score_repeats is None else score_repeats
    score_batch_size = batch_size if score_batch_size is None else score_batch_size
    if cuda:
        torch.backends.cudnn.benchmark = True
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)

    n_needed = (warmup + max_batches) * batch_size
    sub_x, sub_y = _subset(images, labels, max(n_needed, score_batches * score_batch_size))
    steps_per_epoch = math.ceil(FULL_EPOCH_SAMPLES / batch_size)
    config = {"archs": archs, "device": str(device), "max_batches": max_batches, "warmup": warmup,
              "repeats": repeats, "batch_size": batch_size, "measures": measures,
              "score_batches": score_batches, "score_batch_size": score_batch_size,
              "score_repeats": score_repeats, "workers": workers,
              "channels_last": channels_last, "precision": precision, "compile_modes": compile_modes,
              "seed": seed, "train_temperature": TRAIN_TEMPERATURE, "data": data_description,
              "samples_used": int(sub_x.shape[0]), "cudnn_benchmark": bool(cuda),
              "tf32_conv": bool(torch.backends.cudnn.allow_tf32) if cuda else None}
    say(f"bench input pipelines alone (no model): {repeats} repeats × ({warmup} warm-up + {max_batches} "
        f"timed batches)")
    inputs = input_times(sub_x[:n_needed], sub_y[:n_needed], device=device, batch_size=batch_size,
                         workers=workers, seed=seed, channels_last=channels_last, warmup=warmup,
                         steps=max_batches, repeats=repeats)
    results = []
    for arch in archs:
        torch.manual_seed(seed)
        base = build_model(arch, num_classes)
        n_params = sum(p.numel() for p in base.parameters())
        say(f"bench {arch} ({n_params:,} parameters) on {device}: {repeats} repeats × "
            f"({warmup} warm-up + {max_batches} timed steps), batch {batch_size}")
        pipes = build_pipelines(base, sub_x, sub_y, device=device, batch_size=batch_size,
                                workers=workers, seed=seed, channels_last=channels_last,
                                precision=precision, compile_modes=compile_modes)
        for r in range(repeats):
            for p in pipes:
                if p.error:
                    continue
                try:
                    p.run_epoch(r, warmup, max_batches)
                except Exception as exc:  # noqa: BLE001 - a compile backend may be unavailable
                    if p.name == "reference" or p.name == "ours":
                        raise
                    p.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                    say(f"  {p.name}: failed ({p.error}); left out")
                    continue
                say(f"  repeat {r + 1}/{repeats} {p.name}: {p.times[-1] * 1e3:.1f} ms/step")
        ref_mean, ref_std = mean_std(pipes[0].times)
        entry = {"arch": arch, "params": n_params, "steps_per_epoch": steps_per_epoch, "pipelines": {}}
        for p in pipes:
            if p.error:
                entry["pipelines"][p.name] = {"description": p.description, "error": p.error}
                continue
            mean, std = mean_std(p.times)
            ratio = ref_mean / mean
            rel = math.hypot(ref_std / ref_mean, std / mean)
            entry["pipelines"][p.name] = {
                "description": p.description, "seconds_per_step_mean": mean, "seconds_per_step_std": std,
                "seconds_per_step": p.times, "warmup_seconds": p.warmup_seconds,
                "epoch_seconds_est": mean * steps_per_epoch,
                "speedup_vs_reference": ratio, "speedup_std": ratio * rel}
        if measures:
            score_model = copy.deepcopy(base).to(device)
            k = score_batches * score_batch_size
            gen_loader = DeviceLoader(sub_x[:k], sub_y[:k], batch_size=score_batch_size, train=True,
                                      seed=seed + 1, device=device)
            batches = list(gen_loader)
            say(f"  scoring: importance on {score_batches} × {score_batch_size} augmented samples, eval mode")
            entry["scoring"] = score_times(score_model, measures, batches, repeats=score_repeats,
                                           warmup=cuda, device=device, progress=say)
        results.append(entry)
        del pipes
    return {"kind": "bench", "config": config, "input_only": inputs, "results": results,
            "provenance": provenance(device)}


def format_table(result: dict) -> str:
    cfg = result["config"]
    lines = [f"gftheory bench — {result['provenance']['device']}, torch {result['provenance']['torch']}, "
             f"batch {cfg['batch_size']}, {cfg['repeats']} repeats × {cfg['max_batches']} timed steps "
             f"(+{cfg['warmup']} warm-up), data: {cfg['data']}",
             f"{'arch':<14}{'pipeline':<26}{'ms/step (mean ± std)':>22}{'epoch est. (s)':>16}"
             f"{'speed-up vs reference':>24}"]
    inp = result.get("input_only")
    if inp:
        for name, p in inp.items():
            sp = f"{p['speedup_vs_reference']:.1f}×" if "speedup_vs_reference" in p else "1.0×"
            ms = f"{p['seconds_per_batch_mean'] * 1e3:.2f} ± {p['seconds_per_batch_std'] * 1e3:.2f}"
            lines.append(f"{'input only':<14}{name:<26}{ms:>22}{'':>16}{sp:>24}")
    for e in result["results"]:
        for name, p in e["pipelines"].items():
            if "error" in p:
                lines.append(f"{e['arch']:<14}{name:<26}  failed: {p['error']}")
                continue
            ms = f"{p['seconds_per_step_mean'] * 1e3:.1f} ± {p['seconds_per_step_std'] * 1e3:.1f}"
            sp = f"{p['speedup_vs_reference']:.2f}× ± {p['speedup_std']:.2f}"
            lines.append(f"{e['arch']:<14}{name:<26}{ms:>22}{p['epoch_seconds_est']:>16.1f}{sp:>24}")
        lines.append(f"{'':<14}(epoch estimate = mean s/step × {e['steps_per_epoch']} steps)")
        for name, s in e.get("scoring", {}).items():
            lines.append(f"{e['arch']:<14}score {name:<32}{s['seconds_mean']:>8.3f} ± {s['seconds_std']:.3f} s"
                         f"   ({s['samples']} samples, T={s['temperature']:g})")
    return "\n".join(lines)


__all__ = ["train_step", "make_optimizer", "pruner_for", "Stopwatch", "run_bench", "score_times", "format_table",
           "TRAIN_TEMPERATURE"]
