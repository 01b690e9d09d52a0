"""Run a named evidence campaign (a fixed, ordered grid of prune-while-training runs) and collect
each completed run into results/ as soon as it finishes.

    python scripts/campaign.py run resnet56-cpu --root /work/runs --jobs 2 --data-dir DATA
    python scripts/campaign.py run resnet56-cpu mobilenet_v1-cpu ...   (one after another)
    python scripts/campaign.py collect --root /work/runs --dest results [--commit]
    python scripts/campaign.py list resnet56-cpu

``run`` is `gftheory sweep` over the campaign's configs (completed runs skipped, killed runs
resumed, one torch thread per run on CPU). ``collect`` copies config.json, metrics.jsonl and
summary.json (never checkpoints) of every *completed* run under --root into --dest/<scale>/<run_id>/
(event studies: --dest/events/<id>/, with events.jsonl), and
with --commit makes one git commit per newly collected run (only those paths). The order of a
campaign is its priority: the comparisons the paper's headline claims need come first.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from empirical.config import RunConfig  # noqa: E402
from gftheory import runstore  # noqa: E402

# measure pairs in priority order: E1/E2 (Figure 1), E5, E7 + the paper's Eq. 3, E3 + dense baseline
CPU_PAIRS = (("magnitude", "loss_preservation_elementwise"), ("grasp", "gradient_norm_preservation"),
             ("random", "loss_preservation"), ("biased_loss_preservation", "none"))
SEEDS = (0, 1, 2)


def cpu_grid(arch: str) -> list[RunConfig]:
    out = []
    for pair in CPU_PAIRS:
        for seed in SEEDS:
            for m in pair:
                extra = {"target": 0.0} if m == "none" else {}
                out.append(RunConfig.preset("cpu", arch=arch, dataset="cifar10", measure=m, seed=seed, **extra))
    return out


def event_grid(arch: str):
    from empirical.events import EventConfig
    return [EventConfig(arch=arch, dataset="cifar10", seed=s) for s in SEEDS]


def stage1_completion() -> list[RunConfig]:
    """Stage 1's missing MobileNet-V1 cells at the stage-1 cpu scale, exactly as stage 1 ran them
    (seeds 0–2 only — never new seeds): the dense baseline (seeds 0, 1, 2) and
    biased_loss_preservation seeds 1 and 2 (seed 0 is on main)."""
    out = [RunConfig.preset("cpu", arch="mobilenet_v1", dataset="cifar10", measure="none", seed=s, target=0.0)
           for s in SEEDS]
    out += [RunConfig.preset("cpu", arch="mobilenet_v1", dataset="cifar10", measure="biased_loss_preservation",
                             seed=s) for s in (1, 2)]
    return out


def bf16_equivalence() -> list[RunConfig]:
    """The bf16 side of the pre-registered bf16/fp32 equivalence check
    (results/plans/bf16-equivalence.json): its pairs' bf16 configs, in the registered order
    (the fp32 side is stage 1's runs)."""
    import json
    reg = json.loads((REPO / "results" / "plans" / "bf16-equivalence.json").read_text())
    out = []
    for p in reg["pairs"]:
        extra = {"target": 0.0} if p["measure"] == "none" else {}
        cfg = RunConfig.preset("cpu", arch=p["arch"], dataset="cifar10", measure=p["measure"], seed=p["seed"],
                               precision="bf16", **extra)
        if cfg.run_id() != p["bf16_run"]:
            raise SystemExit(f"bf16-equivalence: {cfg.run_id()} is not the registered {p['bf16_run']}; the "
                             "protocol changed since the registration")
        out.append(cfg)
    return out


CAMPAIGNS = {
    "mobilenet_v1-stage1-completion": stage1_completion,
    "bf16-equivalence": bf16_equivalence,
    "resnet56-cpu": lambda: cpu_grid("resnet56"),
    "mobilenet_v1-cpu": lambda: cpu_grid("mobilenet_v1"),
    "resnet56-events": lambda: event_grid("resnet56"),
    "mobilenet_v1-events": lambda: event_grid("mobilenet_v1"),
    "vgg13-events": lambda: event_grid("vgg13"),
}

SIDE = "side"   # results/side/<experiment>/<run_id>: side experiments, never claim evidence


def destination(meta: dict) -> str:
    """The results/ sub-folder of a completed run: events/ for event studies; side/bf16-equivalence/
    for the bf16 side of the registered equivalence check (cpu-scale configs in bf16: not stage-1
    evidence, which is fp32); else the run's scale."""
    c = meta["config"]
    if runstore.is_event_study(meta):
        return "events"
    if c.get("scale") == "cpu" and c.get("precision") == "bf16":
        return f"{SIDE}/bf16-equivalence"
    return c["scale"]


def collect(root: Path, dest: Path, commit: bool) -> list[Path]:
    """Copy every completed run's evidence files under ``root`` to ``dest``; return the new ones."""
    new = []
    for run in runstore.run_dirs(root, nested=False):
        if not runstore.is_complete(run):
            continue
        meta = runstore.read_config(run)
        sub = destination(meta)
        target = dest / sub / run.name
        if (target / runstore.SUMMARY).exists():
            if commit and not _tracked(target):   # copied earlier, but its commit failed (index lock)
                _commit(target)
            continue
        tmp = dest / sub / f".{run.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in runstore.EVIDENCE:
            if (run / name).exists():
                shutil.copy2(run / name, tmp / name)
        tmp.rename(target)  # the folder appears whole or not at all
        new.append(target)
        if commit:
            _commit(target)
        print(f"collected {target}", flush=True)
    return new


def _tracked(target: Path) -> bool:
    out = subprocess.run(["git", "ls-files", "--", str(target.relative_to(REPO))], cwd=REPO,
                         capture_output=True, text=True)
    return bool(out.stdout.strip())


def _commit(target: Path) -> None:
    """One commit for one collected run (only its paths); retried while another git holds the index."""
    import time
    s = runstore.read_summary(target)
    c = s["config"]
    if runstore.is_event_study(s):
        msg = (f"results: event study {c['arch']} {c['dataset']} seed {c['seed']}, "
               f"{s['events']} events, {s['seconds'] / 60:.1f} min")
    else:
        msg = (f"results: {c['arch']} {c['dataset']} {c['measure']} seed {c['seed']} ({c['scale']} "
               f"scale), final val_acc {s['final']['val_acc']:.4f}, {s['seconds'] / 60:.1f} min")
    rel = target.relative_to(REPO)
    for attempt in range(10):
        add = subprocess.run(["git", "add", str(rel)], cwd=REPO)
        if add.returncode == 0 and subprocess.run(
                ["git", "commit", "-q", "-m", msg, "--", str(rel)], cwd=REPO).returncode == 0:
            return
        time.sleep(5 + 5 * attempt)
    print(f"could not commit {rel}; the next collect retries", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("name", nargs="+", choices=sorted(CAMPAIGNS),
                   help="one or more campaigns, run one after another in the order given")
    r.add_argument("--root", type=Path, default=Path("runs"))
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--data-dir", type=Path, default=None)
    r.add_argument("--device", default="cpu")
    c = sub.add_parser("collect")
    c.add_argument("--root", type=Path, default=Path("runs"))
    c.add_argument("--dest", type=Path, default=REPO / "results",
                   help="runs go to DEST/<scale>/<id>, event studies to DEST/events/<id>")
    c.add_argument("--commit", action="store_true")
    ls = sub.add_parser("list")
    ls.add_argument("name", choices=sorted(CAMPAIGNS))
    args = p.parse_args(argv)
    if args.cmd == "list":
        for cfg in CAMPAIGNS[args.name]():
            print(cfg.run_id(), cfg.arch, getattr(cfg, "measure", "events"), cfg.seed, getattr(cfg, "scale", ""))
        return 0
    if args.cmd == "collect":
        collect(args.root, args.dest.resolve(), args.commit)
        return 0
    ok = True
    for name in args.name:          # campaigns in the order given: no idle cores between them
        print(f"campaign {name}: starting", file=sys.stderr, flush=True)
        ok = run_campaign(name, args) and ok
    return 0 if ok else 1


def run_campaign(name: str, args) -> bool:
    """Run one campaign to the end; whether every run / study of it is complete."""
    configs = CAMPAIGNS[name]()
    if name.endswith("-events"):
        from empirical.events import ensure_study
        ok = True
        for cfg in configs:        # one study after another (one process; --jobs does not apply)
            try:
                ensure_study(cfg, args.root, device=args.device, data_dir=args.data_dir)
            except Exception as exc:  # noqa: BLE001 - one failed study must not stop the others
                ok = False
                print(f"[{cfg.run_id()}] failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return ok
    from empirical.sweep import run_grid
    paths = run_grid(configs, args.root, jobs=args.jobs, device=args.device,
                     data_dir=args.data_dir)
    return all(runstore.is_complete(q) for q in paths)

if __name__ == "__main__":
    sys.exit(main())
