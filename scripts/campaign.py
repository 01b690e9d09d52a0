"""Run a named evidence campaign (a fixed, ordered grid of prune-while-training runs) and collect
each completed run into results/ as soon as it finishes.

    python scripts/campaign.py run resnet56-cpu --root /work/runs --jobs 2 --data-dir DATA
    python scripts/campaign.py collect --root /work/runs --dest results/cpu [--commit]
    python scripts/campaign.py list resnet56-cpu

``run`` is `gftheory sweep` over the campaign's configs (completed runs skipped, killed runs
resumed, one torch thread per run on CPU). ``collect`` copies config.json, metrics.jsonl and
summary.json (never checkpoints) of every *completed* run under --root into --dest/<run_id>/, and
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

from empirical import store  # noqa: E402
from empirical.config import RunConfig  # noqa: E402

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


CAMPAIGNS = {
    "resnet56-cpu": lambda: cpu_grid("resnet56"),
    "mobilenet_v1-cpu": lambda: cpu_grid("mobilenet_v1"),
}


def collect(root: Path, dest: Path, commit: bool) -> list[Path]:
    """Copy every completed run's evidence files under ``root`` to ``dest``; return the new ones."""
    new = []
    for summary in sorted(root.glob(f"*/{store.SUMMARY}")):
        run = summary.parent
        if not store.is_complete(run):
            continue
        target = dest / run.name
        if (target / store.SUMMARY).exists():
            continue
        tmp = dest / f".{run.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in (store.CONFIG, store.METRICS, store.SUMMARY):
            shutil.copy2(run / name, tmp / name)
        tmp.rename(target)  # the folder appears whole or not at all
        new.append(target)
        if commit:
            s = store.read_json(target / store.SUMMARY)
            c = s["config"]
            msg = (f"results: {c['arch']} {c['dataset']} {c['measure']} seed {c['seed']} ({c['scale']} scale), "
                   f"final val_acc {s['final']['val_acc']:.4f}, {s['seconds'] / 60:.1f} min")
            rel = target.relative_to(REPO)
            subprocess.run(["git", "add", str(rel)], cwd=REPO, check=True)
            subprocess.run(["git", "commit", "-q", "-m", msg, "--", str(rel)], cwd=REPO, check=True)
        print(f"collected {target}", flush=True)
    return new


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("name", choices=sorted(CAMPAIGNS))
    r.add_argument("--root", type=Path, default=Path("runs"))
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--data-dir", type=Path, default=None)
    r.add_argument("--device", default="cpu")
    c = sub.add_parser("collect")
    c.add_argument("--root", type=Path, default=Path("runs"))
    c.add_argument("--dest", type=Path, default=REPO / "results" / "cpu")
    c.add_argument("--commit", action="store_true")
    ls = sub.add_parser("list")
    ls.add_argument("name", choices=sorted(CAMPAIGNS))
    args = p.parse_args(argv)
    if args.cmd == "list":
        for cfg in CAMPAIGNS[args.name]():
            print(cfg.run_id(), cfg.arch, cfg.measure, cfg.seed, cfg.scale)
        return 0
    if args.cmd == "collect":
        collect(args.root, args.dest.resolve(), args.commit)
        return 0
    from empirical.sweep import run_grid
    paths = run_grid(CAMPAIGNS[args.name](), args.root, jobs=args.jobs, device=args.device,
                     data_dir=args.data_dir)
    return 0 if all(store.is_complete(q) for q in paths) else 1


if __name__ == "__main__":
    sys.exit(main())
