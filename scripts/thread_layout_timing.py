"""Two single-thread processes or one process with two threads? Throughput side by side (issue 11).

    python scripts/thread_layout_timing.py [--arch resnet56] [--steps 12] [--reps 2] [--json OUT]

The unit of work is the code base's one training step (``empirical.train.train_steps``: SGD,
momentum 0.9, weight decay 1e-4, T = 5, batch 128, channels_last, fp32) on fixed random CIFAR-shaped
batches. Two layouts alternate ``--reps`` times in one invocation:

- ``1 process × 2 threads``: one worker process with ``torch.set_num_threads(2)`` runs ``2 × steps``;
- ``2 processes × 1 thread``: two worker processes with one thread each run ``steps`` each, at once.

Each worker builds its model and batches and runs 2 warm-up steps before its clock starts, so
start-up is not timed. Throughput = steps done / wall seconds of the slowest worker. Prints each
layout's steps per second and the ratio (2 × 1) / (1 × 2); above 1 means two single-thread
processes use the cores better. Meaningful only on an otherwise idle machine with ≥ 2 cores:
stop background jobs first (the script prints the load average it saw).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _worker(arch: str, threads: int, steps: int, start, out) -> None:
    import torch
    torch.set_num_threads(threads)
    from empirical.architectures import build
    from empirical.train import make_optimizer, train_steps
    torch.manual_seed(0)
    model = build(arch, 10, None).to(memory_format=torch.channels_last)
    opt = make_optimizer(model, 0.1, 0.9, 1e-4)
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(128, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last),
                torch.randint(0, 10, (128,), generator=g)) for _ in range(2)]
    kw = dict(temperature=5.0, precision="fp32", device=torch.device("cpu"))
    train_steps(model, batches, opt, **kw)                     # warm-up, untimed
    start.wait()
    t0 = time.perf_counter()
    for i in range(steps):
        train_steps(model, [batches[i % 2]], opt, **kw)
    out.put(time.perf_counter() - t0)


def layout(arch: str, processes: int, threads: int, steps: int) -> dict:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(processes + 1), ctx.Queue()
    per = steps * 2 // processes
    procs = [ctx.Process(target=_worker, args=(arch, threads, per, start, out)) for _ in range(processes)]
    for p in procs:
        p.start()
    start.wait()                                 # every worker is built and warm
    walls = [out.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"worker failed with exit code {p.exitcode}")
    return {"processes": processes, "threads": threads, "steps": per * processes, "wall_s": max(walls),
            "steps_per_s": per * processes / max(walls)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet56", choices=["vgg13", "mobilenet_v1", "resnet56"])
    ap.add_argument("--steps", type=int, default=12, help="steps per thread (≥ 1)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.steps < 1 or a.reps < 1:
        ap.error("--steps and --reps must be ≥ 1; fix: pass positive integers")
    if (os.cpu_count() or 1) < 2:
        ap.error("needs ≥ 2 cores; this machine has fewer")
    load = os.getloadavg()[0]
    rows = []
    for rep in range(a.reps):
        for procs, threads in ((1, 2), (2, 1)):
            r = {"rep": rep, **layout(a.arch, procs, threads, a.steps)}
            rows.append(r)
            print(f"rep {rep}: {procs} process(es) × {threads} thread(s): {r['steps']} steps in "
                  f"{r['wall_s']:.1f} s = {r['steps_per_s']:.3f} steps/s", flush=True)
    one = statistics.median(r["steps_per_s"] for r in rows if r["processes"] == 1)
    two = statistics.median(r["steps_per_s"] for r in rows if r["processes"] == 2)
    print(f"{a.arch}, batch 128: throughput ratio (2 processes × 1 thread) / (1 process × 2 threads) = "
          f"{two / one:.2f} (medians over {a.reps} rep(s); load average before: {load:.2f})")
    if a.json:
        from gftheory.atomic import atomic_write_text
        from gftheory.provenance import provenance
        atomic_write_text(a.json, json.dumps({"arch": a.arch, "rows": rows, "ratio": two / one, "load_before": load,
                                              "provenance": provenance("cpu")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
