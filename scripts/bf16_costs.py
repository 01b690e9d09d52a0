"""bf16 autocast against fp32 training on this CPU, side by side in one process (issue: bf16 on
CPUs that have it). For each network: seconds per training step at batch 128 (SGD + momentum +
weight decay, T = 5, channels_last, the runner's own ``train_steps``), fp32 and bf16 repeats
interleaved (fp32, bf16, fp32, bf16, ...), one torch thread, after warm-up steps. The event
study's trajectory is the same training step (``empirical.events`` trains with ``train_steps``),
so its ratio is this ratio; a whole cpu-scale run's ratio is measured on the runs themselves
(scripts/bf16_equivalence.py, wall seconds of both sides with two runs sharing the cores).

    python scripts/bf16_costs.py --json results/timing/bf16_step_costs.json [--steps 4 --repeats 3]

A benchmark, never a verdict input. Absolute seconds depend on the load of the machine: the
ratios are what the decision reads.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from empirical.architectures import build  # noqa: E402
from empirical.train import make_optimizer, train_steps  # noqa: E402
from gftheory.provenance import cpu_features, provenance  # noqa: E402


def time_steps(model, batches, precision: str) -> float:
    opt = make_optimizer(model, 0.1, 0.9, 1e-4)
    t0 = time.perf_counter()
    train_steps(model, batches, opt, temperature=5.0, precision=precision, device=torch.device("cpu"))
    return (time.perf_counter() - t0) / len(batches)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--archs", default="resnet56,mobilenet_v1,vgg13")
    p.add_argument("--steps", type=int, default=4, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    if a.steps < 1 or a.repeats < 1 or a.batch < 1:
        print("error: --steps, --repeats and --batch must be ≥ 1; fix: give positive counts", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    out = {"what": "seconds per training step, batch %d, one thread, fp32 and bf16 autocast interleaved" % a.batch,
           "cpu_features": cpu_features(), "provenance": provenance("cpu"), "archs": {}}
    g = torch.Generator().manual_seed(100)
    for arch in a.archs.split(","):
        x = torch.randn(a.batch, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (a.batch,), generator=g)
        batches = [(x, y)] * a.steps
        times = {"fp32": [], "bf16": []}
        models = {}
        for prec in times:
            torch.manual_seed(100)
            models[prec] = build(arch, 10).to(memory_format=torch.channels_last)
            time_steps(models[prec], [(x, y)] * a.warmup, prec)
        for _ in range(a.repeats):
            for prec in times:
                times[prec].append(time_steps(models[prec], batches, prec))
        med = {k: statistics.median(v) for k, v in times.items()}
        out["archs"][arch] = {"fp32_s_per_step": times["fp32"], "bf16_s_per_step": times["bf16"],
                              "median_fp32": med["fp32"], "median_bf16": med["bf16"],
                              "speedup_bf16": med["fp32"] / med["bf16"]}
        print(f"{arch:14s} fp32 {med['fp32']:.3f} s/step  bf16 {med['bf16']:.3f} s/step  "
              f"ratio fp32/bf16 {med['fp32'] / med['bf16']:.2f}", flush=True)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
