"""What a stage-2 (``cpu2``) run costs, part by part, measured side by side with a stage-1 (``cpu``)
run in one process on the same machine (issue 25: "cost first, then runs").

For each architecture and training precision (fp32, bf16), alternating the protocols
(cpu, cpu2, cpu, cpu2, ...): a *partial run* with the real runner (``empirical.runner.Run``, real
CIFAR-10, seed 100, the dense network of round 1): the first ``--rounds`` pruning rounds (14 SGD
steps, probe, train-mode probe loss, scoring, pruning, probe, round validation — on 1,000 held-out
images in cpu2, on all 5,000 in cpu) and then ``--post-steps`` steps of the first post-pruning
epoch and its validation on all 5,000. Every part is timed by wrapping the runner's own functions.
The partial run uses magnitude (its scoring is free), so its parts do not depend on the measure;
the scoring of every measure is then timed on the same dense network and the same round-1
importance batches: eval mode on the protocol's sample (256 | 2,560 images) and, for cpu2, the
train-mode rescoring of the rank-agreement check (rounds 1, 5, 25). GraSP and
gradient-norm preservation (Hessian-vector products) are timed on 256 images only and scaled ×10
for 2,560 (measured linear in the sample size, docs/protocol.md, "The cpu scale").

Headline (``cpu2``: seconds per whole run, at the plan's precision fp32): the stage-1 runs' median
recorded seconds for that architecture and measure × the cpu2/cpu ratio of the two estimates below
(same invocation, same load); where stage 1 has no run of the measure, the cpu2 estimate ÷ the
median over measures of (cpu estimate ÷ recorded median) — the machine's load factor. The
absolute model estimates are kept under ``cpu2_by_precision`` / ``cpu_estimate_by_precision``.

Extrapolation to a whole run (``--rounds`` rounds measured, 25 + 3 epochs estimated): each part's
per-use cost on the dense network × its number of uses in the schedule (25 rounds × 14 steps,
3 × 352 post-pruning steps, 2 probes and 2 train-mode losses per round, one scoring per round, the
agreement rescoring at rounds 1, 5, 25, one validation per record) × the network's relative FLOPs
at that point of the run, F(k) / F(0), taken from the committed stage-1 runs of the same measure
(median over their seeds; results/cpu). The estimate of a stage-1 run is checked against the
median recorded seconds of the stage-1 runs (the load factor), and the cpu2 estimate is given both
as a ratio to the cpu estimate of the same invocation (what counts) and to stage 1's recorded
median.

    python scripts/stage2_costs.py --data-dir DATA [--archs resnet56,mobilenet_v1] [--rounds 1]
        [--post-steps 20] [--out results/timing/stage2_costs.json]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

STEPS_PER_EPOCH = 352  # 45,000 / 128
MEASURES = ("magnitude", "loss_preservation", "loss_preservation_elementwise", "random", "grasp",
            "gradient_norm_preservation")
HVP_MEASURES = ("grasp", "gradient_norm_preservation")
SEED = 100


class Timers:
    def __init__(self):
        self.t: dict[str, list[float]] = {}

    def wrap(self, name, fn):
        def inner(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.t.setdefault(name, []).append(time.perf_counter() - t0)
        return inner


def partial_run(scale: str, arch: str, precision: str, data_dir, rounds: int, post_steps: int) -> dict:
    """Per-use seconds of each part of a ``scale`` run's first ``rounds`` rounds and
    ``post_steps`` steps of its first post-pruning epoch (dense network, magnitude)."""
    import empirical.runner as R
    from empirical.config import RunConfig
    cfg = R.effective_config(RunConfig.preset(scale, arch=arch, measure="magnitude", seed=SEED,
                                              precision=precision), "cpu")
    splits = R.prepare_data(cfg, data_dir)
    tm = Timers()
    saved = {n: getattr(R, n) for n in ("train_steps", "probe_quantities")}
    saved_run = {n: getattr(R.Run, n) for n in ("_eval", "_train_mode_loss", "save")}
    steps_log = []

    def train_steps(*a, steps=None, **kw):
        n = post_steps if steps is None else steps
        t0 = time.perf_counter()
        tot = saved["train_steps"](*a, steps=n, **kw)
        steps_log.append((n, time.perf_counter() - t0))
        return tot

    def _eval(self, split):
        t0 = time.perf_counter()
        out = saved_run["_eval"](self, split)
        if split != "test":
            tm.t.setdefault("eval:" + split, []).append(time.perf_counter() - t0)
        return out

    R.train_steps = train_steps
    R.probe_quantities = tm.wrap("probe", saved["probe_quantities"])
    R.Run._eval = _eval
    R.Run._train_mode_loss = lambda self: tm.wrap("train_mode_loss", saved_run["_train_mode_loss"])(self)
    R.Run.save = lambda self, *a: None  # no checkpoints in a timing run
    try:
        with tempfile.TemporaryDirectory() as d:
            run = R.Run(cfg, Path(d) / "run", splits, torch.device("cpu"), progress=False)
            (Path(d) / "run").mkdir()
            run.records = cfg.records()[:rounds] + [("train", 1, cfg.lr_phases[0][1])]
            t0 = time.perf_counter()
            run.execute()
            wall = time.perf_counter() - t0
    finally:
        for n, f in saved.items():
            setattr(R, n, f)
        for n, f in saved_run.items():
            setattr(R.Run, n, f)
    round_steps = [(n, s) for n, s in steps_log[:rounds]]
    per_step_round = sum(s for _, s in round_steps) / sum(n for n, _ in round_steps)
    n_post, s_post = steps_log[rounds]
    out = {"step_dense": per_step_round, "step_after_round_%d" % rounds: s_post / n_post,
           "probe": statistics.mean(tm.t["probe"]), "train_mode_loss": statistics.mean(tm.t["train_mode_loss"]),
           "eval_round": statistics.mean(tm.t.get("eval:val_subset", tm.t["eval:val"][:rounds])),
           "eval_full": tm.t["eval:val"][-1], "round_val_images": cfg.round_val_size or cfg.holdout_size,
           "partial_wall": wall, "steps_timed": sum(n for n, _ in steps_log)}
    return out


def scoring_costs(arch: str, data_dir, measures) -> dict:
    """Seconds of one scoring pass per measure on the dense network with round 1's batches:
    eval mode at 256 and 2,560 images (HVP measures: 256 only), train mode at 2,560."""
    import empirical.runner as R
    from empirical.config import RunConfig
    from gftheory.importance import importance
    from gftheory.measures import MEASURES
    from gftheory.state import preserved_modes
    out = {}
    splits = None
    for m in measures:
        row = {}
        for scale in ("cpu", "cpu2"):
            cfg = R.effective_config(RunConfig.preset(scale, arch=arch, measure=m, seed=SEED), "cpu")
            if m in HVP_MEASURES and scale == "cpu2":
                continue
            splits = splits or R.prepare_data(cfg, data_dir)
            run = R.Run(cfg, Path(tempfile.gettempdir()) / "unused", splits, torch.device("cpu"), progress=False)
            torch.manual_seed(SEED)
            run.model = run._build_model()
            batches = run.importance_batches(1)
            modes = ("eval", "train") if scale == "cpu2" and MEASURES[m].needs - {"generator"} else ("eval",)
            row[f"{scale}_images"] = sum(int(t.shape[0]) for _, t in batches)
            for mode in modes:
                with preserved_modes(run.model):
                    run.model.train(mode == "train")
                    t0 = time.perf_counter()
                    importance(run.model, MEASURES[m], batches, unit="filter",
                               temperature=cfg.effective_importance_temperature, seed=1)
                    row[scale + ("_train" if mode == "train" else "")] = time.perf_counter() - t0
        if m in HVP_MEASURES:   # 2,560 images: linear extrapolation from the cpu sample
            row["cpu2_images"] = 2560
            row["cpu2"] = row["cpu2_train"] = row["cpu"] * 2560 / row["cpu_images"]
            row["cpu2_extrapolated_from_cpu"] = True
        out[m] = row
        print(f"  scoring {arch} {m}: {row}", file=sys.stderr, flush=True)
    return out


def flops_profiles(arch: str) -> dict:
    """{measure: [F(0)/F(0), F(1)/F(0), ..., F(25)/F(0)]}: median over the committed stage-1 runs
    of the relative effective FLOPs after each round; plus their recorded seconds."""
    from empirical.architectures import build
    from empirical.flops import count_flops
    f0 = count_flops(build(arch, 10))
    prof, secs = {}, {}
    for p in glob.glob(str(REPO / "results" / "cpu" / "*" / "summary.json")):
        s = json.loads(Path(p).read_text())
        c = s["config"]
        if c["arch"] != arch or c.get("precision") != "fp32":
            continue
        secs.setdefault(c["measure"], []).append(s["seconds"])
        ev = [json.loads(line) for line in (Path(p).parent / "metrics.jsonl").read_text().splitlines() if line.strip()]
        fl = [e["flops"] for e in sorted((e for e in ev if e.get("kind") == "prune_event"), key=lambda e: e["round"])]
        prof.setdefault(c["measure"], []).append([1.0] + [f / f0 for f in fl])
    med = {m: [statistics.median(col) for col in zip(*rows)] for m, rows in prof.items()}
    return {"profiles": med, "recorded_seconds": secs, "dense_flops": f0}


def estimate(parts: dict, score: dict | None, prof: list[float], scale: str, measure: str) -> dict:
    """Whole-run seconds per part (see module docstring)."""
    from empirical.config import RunConfig
    cfg = RunConfig.preset(scale)
    n, steps = cfg.rounds, round(cfg.epochs_per_round * STEPS_PER_EPOCH)
    post = sum(e for e, _ in cfg.post_prune_schedule())
    dense = measure == "none"
    r = [1.0] * (n + 1) if dense else prof
    cfg_val = cfg.round_val_size or cfg.holdout_size
    out = {"training": steps * parts["step_dense"] * sum(r[:n]) + post * STEPS_PER_EPOCH * parts["step_dense"] * r[n],
           "validation": parts["eval_per_image"] * (cfg_val * sum(r[1:n + 1]) + post * cfg.holdout_size * r[n]),
           "probes": 0.0, "scoring": 0.0, "agreement": 0.0}
    if not dense:
        out["probes"] = (parts["probe"] + parts["train_mode_loss"]) * (sum(r[:n]) + sum(r[1:n + 1])) \
            if scale == "cpu2" else parts["probe"] * (sum(r[:n]) + sum(r[1:n + 1]))
        out["scoring"] = score[scale] * sum(r[:n])
        if scale == "cpu2" and "cpu2_train" in score:
            from empirical.runner import AGREEMENT_ROUNDS
            out["agreement"] = score["cpu2_train"] * sum(r[k - 1] for k in AGREEMENT_ROUNDS if k <= n)
    out["total"] = sum(out.values())
    return out


def headline(result: dict, prec: str = "fp32") -> dict:
    """{arch: {measure: seconds}} (see module docstring, "Headline")."""
    out = {}
    for arch, ratios in result["ratios"][prec].items():
        loads = [r["cpu_estimate_over_recorded_median"] for r in ratios.values()
                 if r["cpu_estimate_over_recorded_median"]]
        load = statistics.median(loads)
        row = {}
        for m, r in ratios.items():
            if r["recorded_median_seconds"]:
                row[m] = round(r["recorded_median_seconds"] * r["cpu2_over_cpu_same_invocation"], 1)
            else:
                row[m] = round(result["cpu2_by_precision"][prec][arch][m]["total"] / load, 1)
        out[arch] = row
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=os.environ.get("GFTHEORY_DATA"))
    ap.add_argument("--archs", default="resnet56,mobilenet_v1")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--post-steps", type=int, default=20)
    ap.add_argument("--measures", default=",".join(MEASURES))
    ap.add_argument("--out", type=Path, default=REPO / "results" / "timing" / "stage2_costs.json")
    ap.add_argument("--recompute", action="store_true",
                    help="recompute the headline of an existing --out file (no measurement)")
    args = ap.parse_args(argv)
    if args.recompute:
        result = json.loads(args.out.read_text())
        result["cpu2"] = headline(result, result.get("precision_of_cpu2", "fp32"))
        args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(json.dumps(result["cpu2"], indent=1))
        return 0
    from empirical.runner import fix_threads
    fix_threads(1)  # one thread, as every cpu-scale run
    measures = [m for m in args.measures.split(",") if m]
    t_start = time.time()
    result = {"cpu2": {}, "cpu2_by_precision": {}, "cpu_estimate_by_precision": {}, "events": {}, "parts": {},
              "ratios": {}, "source": "", "precision_of_cpu2": "fp32"}
    for arch in [a for a in args.archs.split(",") if a]:
        prof = flops_profiles(arch)
        parts = {}
        for prec in args.precisions.split(","):
            for scale in ("cpu", "cpu2"):               # alternated, same process, same load
                print(f"partial run {arch} {scale} {prec}", file=sys.stderr, flush=True)
                parts[f"{scale}/{prec}"] = partial_run(scale, arch, prec, args.data_dir, args.rounds, args.post_steps)
                print(f"  {parts[f'{scale}/{prec}']}", file=sys.stderr, flush=True)
        score = scoring_costs(arch, args.data_dir, measures)
        result["parts"][arch] = {"per_use_seconds": parts, "scoring_seconds": score,
                                 "relative_flops": prof["profiles"]}
        for prec in args.precisions.split(","):
            a, b = parts[f"cpu/{prec}"], parts[f"cpu2/{prec}"]
            # the parts both protocols run with the same code and sizes are pooled over the two
            # partial runs (the load of this machine moves between them); they differ in the
            # validation images per round, the scoring sample and the agreement rescoring
            pooled = {"step_dense": (a["step_dense"] + b["step_dense"]) / 2, "probe": (a["probe"] + b["probe"]) / 2,
                      "train_mode_loss": (a["train_mode_loss"] + b["train_mode_loss"]) / 2,
                      "eval_per_image": (a["eval_round"] * args.rounds + a["eval_full"] + b["eval_round"] * args.rounds
                                         + b["eval_full"]) / (args.rounds * (a["round_val_images"]
                                                                             + b["round_val_images"]) + 2 * 5000)}
            result["parts"][arch].setdefault("pooled_per_use_seconds", {})[prec] = pooled
            cpu2, cpu, ratio = {}, {}, {}
            for m in measures + ["none"]:
                p = prof["profiles"].get(m) or prof["profiles"].get("magnitude")
                e2 = estimate(pooled, score.get(m), p, "cpu2", m)
                e1 = estimate(pooled, score.get(m), p, "cpu", m)
                cpu2[m], cpu[m] = e2, e1
                rec = prof["recorded_seconds"].get(m)
                ratio[m] = {"cpu2_over_cpu_same_invocation": e2["total"] / e1["total"],
                            "cpu_estimate_over_recorded_median": (e1["total"] / statistics.median(rec)) if rec else None,
                            "cpu2_estimate_over_recorded_median": (e2["total"] / statistics.median(rec)) if rec else None,
                            "recorded_median_seconds": statistics.median(rec) if rec else None,
                            "recorded_runs": len(rec or [])}
            result["cpu2_by_precision"].setdefault(prec, {})[arch] = cpu2
            result["cpu_estimate_by_precision"].setdefault(prec, {})[arch] = cpu
            result["ratios"].setdefault(prec, {})[arch] = ratio
        precs = args.precisions.split(",")
        result["precision_of_cpu2"] = "fp32" if "fp32" in precs else precs[0]
        result["cpu2"] = headline(result, result["precision_of_cpu2"])
    import platform
    from gftheory.provenance import cpu_features, code_version
    load = os.getloadavg()
    result["source"] = (f"python scripts/stage2_costs.py --archs {args.archs} --precisions {args.precisions} "
                        f"--rounds {args.rounds} --post-steps {args.post_steps}; one torch thread; seed {SEED}; "
                        f"measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime(t_start))} UTC in "
                        f"{(time.time() - t_start) / 60:.1f} min on {platform.processor() or platform.machine()} "
                        f"({os.cpu_count()} cores) while two campaign processes trained on both cores (load "
                        f"average {load[0]:.1f} at the end): absolute seconds are inflated by that load; the "
                        f"cpu2/cpu ratios of the same invocation are what counts. 'cpu2' = whole-run seconds at fp32: "
                        f"stage 1's median recorded seconds x the cpu2/cpu ratio of this invocation (no stage-1 run: "
                        f"estimate / load factor); the estimates (cpu2_by_precision, cpu_estimate_by_precision) are "
                        f"extrapolated from the partial runs by the schedule's step / probe / scoring / validation "
                        f"counts and the stage-1 runs' relative-FLOPs profile per measure (module docstring)")
    result["provenance"] = {"cpu_features": cpu_features(), "code_version": code_version(),
                            "torch": torch.__version__}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    tmp.replace(args.out)
    print(json.dumps({"cpu2": result["cpu2"], "ratios": result["ratios"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
