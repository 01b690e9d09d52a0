"""What missing evidence would cost: the project's own measured per-step costs, in one place, and
the number of steps, probes and scoring passes each scale's run makes (``schedule(cfg)`` of a run
configuration: the ``gftheory report`` command passes the ``empirical.config`` presets in, since
the report sits below ``empirical`` in the layering, tests/project/test_layering.py).

Provenance of every constant: measured on the project's shared 2-core CPU machine (x86-64,
torch 2.13 CPU build, one torch thread, machine loaded by a background campaign), recorded in
docs/protocol.md ("Why these numbers") and the closing note of issue 12 (ResNet-56 batch-128 SGD
step 1.29 s channels_last vs 1.69 s contiguous, side by side in one process). Other
architectures and any GPU: not measured — the report says so instead of guessing.
"""
from __future__ import annotations

import math

MEASURED_ON = ("the project's 2-core CPU machine, one torch thread, loaded (torch 2.13 CPU); "
               "docs/protocol.md 'Why these numbers', issue 12 closing note")
# seconds, CPU, one thread, ResNet-56
STEP_SECONDS = {"resnet56": 1.3}                  # one SGD step at batch 128 (channels_last)
PROBE_SECONDS_PER_IMAGE = {"resnet56": 16 / 128}  # probe with θᵀHg (before and after each event)
SCORE_SECONDS_PER_IMAGE = {"resnet56": {"hg": 17 / 256, "grad": 3.3 / 256}}   # importance pass
GPU_STEP_SECONDS: dict = {}                       # none measured (no GPU lent so far)
CIFAR_TRAIN = 50_000


def schedule(cfg) -> dict:
    """Steps, pruning events and sample sizes of one run of ``cfg`` (an ``empirical.config.RunConfig``
    or anything with its fields: scale, max_train_samples, holdout_size, batch_size,
    epochs_per_round, rounds, post_prune_schedule(), probe_size, importance_samples)."""
    train = cfg.max_train_samples or (CIFAR_TRAIN - cfg.holdout_size)
    per_epoch = math.ceil(train / cfg.batch_size)
    round_steps = round(cfg.epochs_per_round * per_epoch)
    post = sum(e for e, _ in cfg.post_prune_schedule())
    return {"scale": cfg.scale, "steps": cfg.rounds * round_steps + post * per_epoch, "rounds": cfg.rounds,
            "batch": cfg.batch_size, "probe": cfg.probe_size, "importance": cfg.importance_samples,
            "formula": f"{cfg.rounds} rounds × {round_steps} steps + {post} epochs × {per_epoch} steps"}


def _needs_hg(measure: str) -> bool:
    """Whether the measure's importance needs Hessian-gradient products (GraSP, gradient norm)."""
    from gftheory.measures import MEASURES
    return measure in MEASURES and "hvp" in MEASURES[measure].needs


def run_seconds(arch: str, measure: str, sched: dict | None) -> float | None:
    """Estimated CPU seconds (one thread) of one run on schedule ``sched`` (``schedule(cfg)``), or
    None where nothing was measured."""
    if sched is None or arch not in STEP_SECONDS:
        return None
    step = STEP_SECONDS[arch] * sched["batch"] / 128
    score = SCORE_SECONDS_PER_IMAGE[arch]["hg" if _needs_hg(measure) else "grad"] * sched["importance"]
    probe = 2 * PROBE_SECONDS_PER_IMAGE[arch] * sched["probe"]
    return sched["steps"] * step + sched["rounds"] * (score + probe)


def human(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def estimate(triples: list[tuple[str, str, str]], seeds: int, sched: dict | None) -> dict:
    """Total over ``triples`` (arch, dataset, measure) × seeds on schedule ``sched``: measured part,
    unmeasured runs."""
    total, unmeasured = 0.0, []
    for arch, _ds, m in triples:
        s = run_seconds(arch, m, sched)
        if s is None:
            unmeasured.append(arch)
        else:
            total += s * seeds
    return {"cpu_seconds": total, "measured_runs": (len(triples) - len(unmeasured)) * seeds,
            "unmeasured_runs": len(unmeasured) * seeds, "unmeasured_archs": sorted(set(unmeasured)),
            "gpu": "not measured"}
