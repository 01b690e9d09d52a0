"""Where a cpu-scale run's time goes, measured side by side in one process (issue 12).

Times, on one torch thread with the run's settings (ResNet-56 by default, channels_last, fp32):
one SGD step at the run's batch size; one probe (L, θᵀg, ‖g‖², θᵀHg on probe_size images, eval
mode, the runner's ``probe_quantities``); one importance pass per measure on importance_samples
images (``gftheory.importance``, the runner's temperature); one held-out evaluation of
holdout_size images. Then it multiplies by the counts of the scale's schedule (steps, 2 probes and
1 scoring pass per round, one evaluation per record) and prints each part's share of a run.
Absolute seconds depend on the machine and its load; the shares are ratios of timings taken
back to back in one process.

    OMP_NUM_THREADS=1 python scripts/cpu_scale_costs.py [--scale cpu] [--arch resnet56] [--repeats 2]
"""
from __future__ import annotations

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main() -> int:
    from empirical.config import RunConfig
    from empirical.models import build
    from empirical.probe import probe_quantities
    from gftheory import importance

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--arch", default="resnet56")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--measures", default="magnitude,loss_preservation_elementwise,grasp,"
                                          "gradient_norm_preservation")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    base = RunConfig.preset(args.scale)
    model = build(args.arch, 10).to(memory_format=torch.channels_last)

    def images(n):
        return torch.randn(n, 3, 32, 32).contiguous(memory_format=torch.channels_last)

    xb, yb = images(base.batch_size), torch.randint(0, 10, (base.batch_size,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=base.momentum,
                          weight_decay=base.weight_decay)

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb) / base.temperature, yb).backward()
        opt.step()

    probe = (images(base.probe_size), torch.randint(0, 10, (base.probe_size,)))
    val_x = images(base.holdout_size)

    def evaluate():
        model.eval()
        with torch.no_grad():
            for i in range(0, len(val_x), 500):
                model(val_x[i:i + 500])

    imp = [(images(base.batch_size), torch.randint(0, 10, (base.batch_size,)))
           for _ in range(math.ceil(base.importance_samples / base.batch_size))]
    t = {"step": timed(step, args.repeats),
         "probe": timed(lambda: probe_quantities(model, probe, temperature=base.temperature), args.repeats),
         "eval": timed(evaluate, 1)}
    for m in args.measures.split(","):
        temp = RunConfig.preset(args.scale, measure=m).effective_importance_temperature
        model.eval()
        t["score:" + m] = timed(lambda: importance(model, m, imp, unit="filter", temperature=temp), 1)
    per_epoch = math.ceil((50_000 - base.holdout_size) / base.batch_size)
    round_steps = round(base.epochs_per_round * per_epoch)
    post_epochs = sum(e for e, _ in base.post_prune_schedule())
    steps = base.rounds * round_steps + post_epochs * per_epoch
    records = base.rounds + post_epochs
    out = {"arch": args.arch, "scale": args.scale, "seconds": {k: round(v, 3) for k, v in t.items()},
           "counts": {"steps": steps, "probes": 2 * base.rounds, "scorings": base.rounds,
                      "evaluations": records},
           "shares": {}}
    for m in args.measures.split(","):
        parts = {"training steps": steps * t["step"], "probes": 2 * base.rounds * t["probe"],
                 "scoring": base.rounds * t["score:" + m], "held-out evaluation": records * t["eval"]}
        total = sum(parts.values())
        out["shares"][m] = {k: round(v / total, 3) for k, v in parts.items()}
        out["shares"][m]["scoring + probes"] = round((parts["probes"] + parts["scoring"]) / total, 3)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
