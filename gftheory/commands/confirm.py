"""``gftheory confirm CLAIM``: run exactly the runs the claim needs (stored complete runs are
reused, interrupted ones resumed), then print its verdict.

Runs = (architecture, dataset, measure) triples of the claim and its components
(``registry.runs_needed``) × ``--seeds`` (the syntax every command shares, gftheory.seeds: ``0-2`` =
``0,1,2`` = ``0 1 2``; default 0-2), each ``RunConfig.preset(scale, ...)``. The old ``--seeds N``
(one bare integer: the count 0..N−1) is still read, with a deprecation note on stderr.

Where runs go: new runs are written under ``--root`` (default ``runs/``), never into the committed
``results/`` unless it is named there (``--root results``). ``--results`` (default ``results/``) is
only read: a complete run stored anywhere under it with the same run id is reused, not rerun. The
verdict reads both. Statements
(proofs + numeric checks) of the claim are run live (``gftheory.claims.live``). ``empirical`` is
imported only here, lazily (a command may use any layer below it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gftheory.claims.registry import ARCHS, CLAIMS, DATASETS, DEFAULT_SEEDS, get_claim, runs_needed
from gftheory.claims.runs import load_runs
from gftheory.claims.text import claim_text
from gftheory.claims.verdicts import evaluate_claims
from gftheory.errors import UsageError
from gftheory.seeds import format_seeds, legacy_count, parse_seeds

DEFAULT_RESULTS = Path("results")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("claim", help=f"claim id ({', '.join(CLAIMS)})")
    parser.add_argument("--arch", nargs="+", choices=ARCHS, help="restrict to these architectures")
    parser.add_argument("--dataset", nargs="+", choices=DATASETS, help="restrict to these datasets")
    parser.add_argument("--seeds", nargs="+", default=None,
                        help=f"seeds: a list and/or inclusive ranges, e.g. 0,1,2 or 0 1 2 or 0-2 (default "
                             f"0-{DEFAULT_SEEDS - 1}; the rule needs ≥ 3); a single integer N alone is the old "
                             f"count 0..N-1 (deprecated: write 0-(N-1))")
    parser.add_argument("--scale", default="full", help="run scale: full, short, cpu, cpu2 or smoke "
                        "(empirical.config.SCALES; default full)")
    parser.add_argument("--allow-planted", action="store_true",
                        help="count synthetic runs with planted values (demonstrations only)")
    parser.add_argument("--root", type=Path, default=Path("runs"),
                        help="run store the new runs are written into (default runs/); the committed results/ "
                             "only when named: --root results")
    parser.add_argument("--results", type=Path, default=None,
                        help="stored runs, only read: a complete run found there is reused, not rerun "
                             "(default results/ when it exists)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (run_grid)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    parser.add_argument("--data-dir", default=None, help="directory holding cifar-10-batches-py/ etc.")
    parser.add_argument("--profile", choices=("ci", "thorough"), default="ci", help="numeric-check profile")
    parser.add_argument("--dry-run", action="store_true", help="print the runs it would need and stop")


def plan(claim, archs=None, datasets=None, seeds=DEFAULT_SEEDS) -> list[dict]:
    """The run specifications (arch, dataset, measure, seed) the claim needs; ``seeds`` a list of
    seeds (an int N: seeds 0..N−1)."""
    if isinstance(seeds, int):
        seeds = range(seeds)
    triples = runs_needed(claim)
    if archs:
        triples = [t for t in triples if t[0] in archs]
    if datasets:
        triples = [t for t in triples if t[1] in datasets]
    return [{"arch": a, "dataset": d, "measure": m, "seed": s} for a, d, m in triples for s in seeds]


def _run_fields(spec: dict) -> dict:
    """RunConfig fields of a run specification: a layer-matched arm "grasp@magnitude"
    (``rules.ARM_SEP``) is measure grasp with quota_from magnitude."""
    from gftheory.claims.rules import ARM_SEP
    measure, _, quota = spec["measure"].partition(ARM_SEP)
    return {**spec, "measure": measure, **({"quota_from": quota} if quota else {})}


def _run_command(spec: dict, scale: str, root: Path) -> str:
    f = _run_fields(spec)
    quota = f" --quota-from {f['quota_from']}" if "quota_from" in f else ""
    return (f"gftheory run --arch {f['arch']} --dataset {f['dataset']} --measure {f['measure']}{quota} "
            f"--seed {f['seed']} --scale {scale} --root {root}")


def _statement_ids(claim) -> list[str]:
    ids: list[str] = []

    def visit(c):
        ids.extend(s for s in c.statements if s not in ids)
        for sub in c.components:
            visit(CLAIMS[sub])

    visit(claim)
    return ids


def _seeds(values) -> list[int]:
    """``--seeds`` as a list (gftheory.seeds); one bare integer N is the old count 0..N−1, read
    with a deprecation note on stderr."""
    if values is None:
        return list(range(DEFAULT_SEEDS))
    count = legacy_count(values)
    if count is None or count < 0:
        return parse_seeds(values)                   # a negative one is named as negative there
    if count < 1:
        raise UsageError(f"--seeds {count}: a count of seeds must be positive; fix: give the seeds, e.g. "
                         f"--seeds 0-{DEFAULT_SEEDS - 1} (the rule needs ≥ 3)")
    print(f"[confirm] note: --seeds {count} read as the old count (seeds 0..{count - 1}); this form is "
          f"deprecated: write --seeds 0-{count - 1}, the syntax sweep and events share (one seed S: --seeds S-S)",
          file=sys.stderr)
    return list(range(count))


def _stored_complete(results: Path | None) -> dict[str, Path]:
    """run id → directory of every complete run under ``results`` (read only; side experiments
    excluded, as load_runs does)."""
    from gftheory import runstore
    from gftheory.claims.runs import SIDE_DIR
    if results is None or not results.is_dir():
        return {}
    out: dict[str, Path] = {}
    for d in runstore.run_dirs(results):
        if SIDE_DIR not in d.relative_to(results).parts[:-1] and runstore.is_complete(d):
            out.setdefault(d.name, d)
    return out


def _show(path: Path) -> str:
    return f"{str(path).rstrip('/')}/"


def run(args) -> int:
    claim = get_claim(args.claim)
    seeds = _seeds(args.seeds)
    results = args.results
    if results is not None and not results.is_dir():
        raise UsageError(f"--results {results} is not a directory; fix: give the folder of stored runs to "
                         f"reuse (e.g. --results results) or leave --results out")
    if results is None and DEFAULT_RESULTS.is_dir():
        results = DEFAULT_RESULTS
    root = Path(args.root)
    try:
        from empirical.config import SCALES
    except ImportError:
        SCALES = None
    if SCALES is not None and args.scale not in SCALES:
        raise UsageError(f"unknown scale {args.scale!r}; fix: use one of {', '.join(SCALES)}")
    specs = plan(claim, args.arch, args.dataset, seeds)
    if (args.arch or args.dataset) and runs_needed(claim) and not specs:
        raise UsageError(f"claim {claim.id} needs none of the requested architectures/datasets; fix: choose "
                         f"from {sorted({t[0] for t in runs_needed(claim)})} × {sorted({t[1] for t in runs_needed(claim)})}")
    todo, reused, done = list(specs), {}, []
    configs = []
    if specs:
        try:
            from empirical.config import RunConfig
            from empirical.runner import check_root, effective_config, resolve_device
        except ImportError as exc:
            if not args.dry_run:
                raise UsageError(f"the empirical package is unavailable ({exc}); fix: run from a full source tree "
                                 f"with empirical/ (gftheory run/sweep)") from None
        else:
            from gftheory import runstore
            dev = resolve_device(args.device)
            stored = _stored_complete(results)
            todo = []
            for s in specs:
                cfg = RunConfig.preset(args.scale, **_run_fields(s))
                rid = effective_config(cfg, dev).run_id()
                if runstore.is_complete(root / rid):
                    done.append(rid)
                elif rid in stored:
                    reused[rid] = stored[rid]
                else:
                    todo.append(s)
                    configs.append(cfg)
            if todo and not args.dry_run:
                check_root(root)                      # unwritable / under a file → exit 2 before any work
    where = f"{len(todo)} to run into {_show(root)}" + (f" ({len(done)} complete there already)" if done else "")
    if results is not None:
        where += f", {len(reused)} stored in {_show(results)} (reused, read only)"
    print(f"[confirm] {claim.id}: {len(specs)} run(s) at scale {args.scale}, seeds {format_seeds(seeds)}: {where}",
          file=sys.stderr)
    if args.dry_run:
        for s in todo:
            print(_run_command(s, args.scale, root))
        return 0
    if configs:
        try:
            from empirical.sweep import run_grid
        except ImportError:
            run_grid = None
        if run_grid is not None:
            run_grid(configs, root, jobs=args.jobs, device=args.device, data_dir=args.data_dir)
        else:
            from empirical import runner
            for i, cfg in enumerate(configs, 1):
                print(f"[confirm] run {i}/{len(configs)}: {cfg.arch} {cfg.dataset} {cfg.measure} seed {cfg.seed}",
                      file=sys.stderr)
                runner.ensure_run(cfg, root, device=args.device, data_dir=args.data_dir)
    from gftheory.claims.live import collect_live
    ids = _statement_ids(claim)
    live = collect_live(args.profile, ids=ids or None, checks=bool(ids), proofs=bool(ids))
    roots = list(dict.fromkeys(p for p in (root, results) if p is not None and p.is_dir()))
    runset = load_runs(roots, must_exist=False, allow_planted=args.allow_planted) if specs else None
    if runset is not None and runset.planted_in_use:
        print("PLANTED DATA: synthetic runs with planted values are counted; this verdict is not evidence")
    results_ = evaluate_claims(runset, live, ids=[claim.id])
    stage2 = stage2_text(claim, runset, roots)
    if stage2 is not None:
        print("rules version 3 (stage 1's rules) applied to these runs — a description; the confirmatory "
              "verdict of the runs a plan names is STAGE 2, below:")
    for cid, r in results_.items():
        if cid != claim.id:
            print(f"{cid}: {r.verdict.label}")
    print(claim_text(results_[claim.id]))
    if stage2 is not None:
        print(stage2)
    return 0


def stage2_text(claim, runset, roots) -> str | None:
    """The claim's stage-2 verdict (rules v4, the committed plan under ``roots``) over the loaded runs,
    when any of them has a seed reserved for plans (3–99); None when none has (stage 1 only)."""
    from gftheory.claims.stages import CONFIRMATORY_SEEDS, evaluate_stage2, load_plan, split
    if runset is None or not any(r.config.get("seed") in CONFIRMATORY_SEEDS for r in runset.runs):
        return None
    plan = load_plan(roots)
    if plan is None:
        return ("STAGE 2: these runs use seeds reserved for a plan (3–99), but no plan is committed under "
                f"{', '.join(map(str, roots))} (plans/stage2.json): not judged")
    _, verdicts = evaluate_stage2(split(runset.runs, plan))
    res = verdicts.get(claim.id)
    if res is None:
        return f"STAGE 2 (plan {plan.path}): the plan names no cell of {claim.id}: not judged"
    lines = [f"STAGE 2 (confirmatory, rules v4, plan {plan.path}, digest {plan.rules_digest}): {res.label}"]
    prim = {(c.rule, c.arch, c.dataset): c for c in res.cells}
    for cc in res.claim_cells:
        lines.append(f"  {cc.arch}/{cc.dataset}: {cc.verdict}" + (f" — {cc.detail}" if cc.detail else ""))
        for lab, word in cc.rules.items():
            c = prim.get((lab, cc.arch, cc.dataset))
            if c is not None and c.estimate is not None:
                word = (f"{c.verdict} ({c.scale}; {c.test}; n={c.n}; D {c.estimate:.4g}"
                        + (f" [{c.low:.4g}, {c.high:.4g}] one-sided 95 % bounds" if c.low is not None else "")
                        + (f"; MDE {c.mde:.3g}" if c.mde is not None else "") + ")")
            lines.append(f"    {lab}: {word}")
    return "\n".join(lines)
