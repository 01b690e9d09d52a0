"""What missing evidence would cost: the project's own measured per-step costs, in one place, and
the number of steps, probes and scoring passes each scale's run makes (``empirical.config``
presets, imported lazily: the theory package never imports ``empirical`` at import time).

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


def schedule(scale: str) -> dict | None:
    """Steps, pruning events and sample sizes of one run at ``scale`` (None if unknown)."""
    try:
        from empirical.config import RunConfig
        cfg = RunConfig.preset(scale)
    except Exception:  # noqa: BLE001 - empirical missing or unknown scale
        return None
    train = cfg.max_train_samples or (CIFAR_TRAIN - cfg.holdout_size)
    per_epoch = math.ceil(train / cfg.batch_size)
    round_steps = round(cfg.epochs_per_round * per_epoch)
    post = sum(e for e, _ in cfg.post_prune_schedule())
    return {"scale": scale, "steps": cfg.rounds * round_steps + post * per_epoch, "rounds": cfg.rounds,
            "batch": cfg.batch_size, "probe": cfg.probe_size, "importance": cfg.importance_samples,
            "formula": f"{cfg.rounds} rounds × {round_steps} steps + {post} epochs × {per_epoch} steps"}


def _needs_hg(measure: str) -> bool:
    """Whether the measure's importance needs Hessian-gradient products (GraSP, gradient norm)."""
    from gftheory.measures import MEASURES
    return measure in MEASURES and "hvp" in MEASURES[measure].needs


def run_seconds(arch: str, measure: str, scale: str) -> float | None:
    """Estimated CPU seconds (one thread) of one run, or None where nothing was measured."""
    s = schedule(scale)
    if s is None or arch not in STEP_SECONDS:
        return None
    step = STEP_SECONDS[arch] * s["batch"] / 128
    score = SCORE_SECONDS_PER_IMAGE[arch]["hg" if _needs_hg(measure) else "grad"] * s["importance"]
    probe = 2 * PROBE_SECONDS_PER_IMAGE[arch] * s["probe"]
    return s["steps"] * step + s["rounds"] * (score + probe)


def human(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def estimate(triples: list[tuple[str, str, str]], seeds: int, scale: str) -> dict:
    """Total over ``triples`` (arch, dataset, measure) × seeds: measured part, unmeasured runs."""
    total, unmeasured = 0.0, []
    for arch, _ds, m in triples:
        s = run_seconds(arch, m, scale)
        if s is None:
            unmeasured.append(arch)
        else:
            total += s * seeds
    return {"cpu_seconds": total, "measured_runs": (len(triples) - len(unmeasured)) * seeds,
            "unmeasured_runs": len(unmeasured) * seeds, "unmeasured_archs": sorted(set(unmeasured)),
            "gpu": "not measured"}
