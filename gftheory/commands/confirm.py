"""``gftheory confirm CLAIM``: run exactly the runs the claim needs (stored complete runs are
reused, interrupted ones resumed), then print its verdict.

Runs = (architecture, dataset, measure) triples of the claim and its components
(``registry.runs_needed``) × seeds 0..N−1, each ``RunConfig.preset(scale, ...)``. Statements
(proofs + numeric checks) of the claim are run live (``gftheory.claims.live``). ``empirical`` is
imported only here, lazily (a command may use any layer below it).
"""
from __future__ import annotations

import argparse
import sys

from gftheory.claims.registry import ARCHS, CLAIMS, DATASETS, DEFAULT_SEEDS, get_claim, runs_needed
from gftheory.claims.runs import load_runs
from gftheory.claims.text import claim_text
from gftheory.claims.verdicts import evaluate_claims
from gftheory.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("claim", help=f"claim id ({', '.join(CLAIMS)})")
    parser.add_argument("--arch", nargs="+", choices=ARCHS, help="restrict to these architectures")
    parser.add_argument("--dataset", nargs="+", choices=DATASETS, help="restrict to these datasets")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds 0..N-1 (default 3; the rule needs ≥ 3)")
    parser.add_argument("--scale", default="full", help="run scale: full, short, cpu, cpu2 or smoke "
                        "(empirical.config.SCALES; default full)")
    parser.add_argument("--allow-planted", action="store_true",
                        help="count synthetic runs with planted values (demonstrations only)")
    parser.add_argument("--results", default="results", help="run store to reuse and write into (default results/)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (run_grid)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    parser.add_argument("--data-dir", default=None, help="directory holding cifar-10-batches-py/ etc.")
    parser.add_argument("--profile", choices=("ci", "thorough"), default="ci", help="numeric-check profile")
    parser.add_argument("--dry-run", action="store_true", help="print the runs it would need and stop")


def plan(claim, archs=None, datasets=None, seeds: int = DEFAULT_SEEDS) -> list[dict]:
    """The run specifications (arch, dataset, measure, seed) the claim needs."""
    triples = runs_needed(claim)
    if archs:
        triples = [t for t in triples if t[0] in archs]
    if datasets:
        triples = [t for t in triples if t[1] in datasets]
    return [{"arch": a, "dataset": d, "measure": m, "seed": s} for a, d, m in triples for s in range(seeds)]


def _statement_ids(claim) -> list[str]:
    ids: list[str] = []

    def visit(c):
        ids.extend(s for s in c.statements if s not in ids)
        for sub in c.components:
            visit(CLAIMS[sub])

    visit(claim)
    return ids


def run(args) -> int:
    claim = get_claim(args.claim)
    if args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds} is not positive; fix: give --seeds 3 or more")
    try:
        from empirical.config import SCALES
    except ImportError:
        SCALES = None
    if SCALES is not None and args.scale not in SCALES:
        raise UsageError(f"unknown scale {args.scale!r}; fix: use one of {', '.join(SCALES)}")
    specs = plan(claim, args.arch, args.dataset, args.seeds)
    if (args.arch or args.dataset) and runs_needed(claim) and not specs:
        raise UsageError(f"claim {claim.id} needs none of the requested architectures/datasets; fix: choose "
                         f"from {sorted({t[0] for t in runs_needed(claim)})} × {sorted({t[1] for t in runs_needed(claim)})}")
    print(f"[confirm] {claim.id}: {len(specs)} run(s) at scale {args.scale} into {args.results}/", file=sys.stderr)
    if args.dry_run:
        for s in specs:
            print(f"gftheory run --arch {s['arch']} --dataset {s['dataset']} --measure {s['measure']} "
                  f"--seed {s['seed']} --scale {args.scale}")
        return 0
    if specs:
        try:
            from empirical.config import RunConfig
            from empirical import runner
        except ImportError as exc:
            raise UsageError(f"the empirical package is unavailable ({exc}); fix: run from a full source tree "
                             f"with empirical/ (gftheory run/sweep)") from None
        configs = [RunConfig.preset(args.scale, **s) for s in specs]
        try:
            from empirical.sweep import run_grid
        except ImportError:
            run_grid = None
        if run_grid is not None:
            run_grid(configs, args.results, jobs=args.jobs, device=args.device, data_dir=args.data_dir)
        else:
            for i, cfg in enumerate(configs, 1):
                print(f"[confirm] run {i}/{len(configs)}: {cfg.arch} {cfg.dataset} {cfg.measure} seed {cfg.seed}",
                      file=sys.stderr)
                runner.ensure_run(cfg, args.results, device=args.device, data_dir=args.data_dir)
    from gftheory.claims.live import collect_live
    ids = _statement_ids(claim)
    live = collect_live(args.profile, ids=ids or None, checks=bool(ids), proofs=bool(ids))
    runset = load_runs([args.results], must_exist=bool(specs), allow_planted=args.allow_planted) if specs else None
    if runset is not None and runset.planted_in_use:
        print("PLANTED DATA: synthetic runs with planted values are counted; this verdict is not evidence")
    results = evaluate_claims(runset, live, ids=[claim.id])
    for cid, r in results.items():
        if cid != claim.id:
            print(f"{cid}: {r.verdict.label}")
    print(claim_text(results[claim.id]))
    return 0
