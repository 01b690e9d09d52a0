"""``gftheory report [--out DIR] [--results DIR ...] [--profile ci|thorough] [--skip-live]``

Runs the proofs and the numeric checks live, reads stored runs (no GPU, no data needed),
computes every claim's verdict and writes ``report.md`` (+ ``plots/``), one self-contained
``report.html`` (each plot once, as base64 PNG; maths as MathML) and ``report.json`` into DIR atomically (a temporary
directory renamed into place). Prints the claim × verdict table and the time taken.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gftheory.claims.runs import load_runs
from gftheory.claims.text import summary_table
from gftheory.claims.verdicts import LiveEvidence, evaluate_claims
from gftheory.errors import UsageError
from gftheory.provenance import REPO_ROOT, provenance


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="report", help="output directory (default report/)")
    parser.add_argument("--results", action="append", default=None, metavar="DIR",
                        help="run store(s) to read (repeatable; default results/)")
    parser.add_argument("--profile", choices=("ci", "thorough"), default=None,
                        help="numeric-check profile (default: $GFTHEORY_PROFILE or ci)")
    parser.add_argument("--skip-live", action="store_true",
                        help="do not run proofs and checks (quick iteration; identity claims show 'evidence unavailable')")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 2, nothing written) when a run under --results cannot be read; by default "
                             "each is named on the terminal and in the report, and left out")
    parser.add_argument("--allow-planted", action="store_true",
                        help="count synthetic runs with planted values (demonstrations only: the report then "
                             "carries a PLANTED DATA banner); by default they are set aside")


def _default_results() -> list[Path]:
    for cand in (Path("results"), REPO_ROOT / "results"):
        if cand.is_dir():
            return [cand]
    return []


def scale_schedules(scales=("cpu", "full")) -> dict[str, dict]:
    """scale → the run schedule of its ``empirical.config`` preset (``costs.schedule``), which
    prices the report's missing runs; {} where the empirical package is unavailable."""
    from gftheory.report import costs
    try:
        from empirical.config import RunConfig
    except ImportError:
        return {}
    out = {}
    for scale in scales:
        try:
            out[scale] = costs.schedule(RunConfig.preset(scale))
        except Exception:  # noqa: BLE001 - a scale the presets do not know is left out
            continue
    return out


def run(args) -> int:
    from gftheory.profiles import profile_name
    from gftheory.claims.live import collect_live
    from gftheory.report.build import FigureCache, build_document
    from gftheory.report.document import write_atomically
    from gftheory.report import plots
    from gftheory.report.fit import fit_page

    t0 = time.perf_counter()
    try:
        profile = profile_name(args.profile)
    except ValueError as exc:
        raise UsageError(f"{exc}") from None
    from gftheory.atomic import check_output_dir
    out = check_output_dir("--out", args.out)           # before any work: exit 2, nothing written
    roots = [Path(r) for r in args.results] if args.results else _default_results()
    runset = load_runs(roots, must_exist=True,           # bad --results → UsageError (exit 2)
                       allow_planted=getattr(args, "allow_planted", False))
    quiet = args.quiet
    if runset.unreadable and args.strict:
        raise UsageError(f"{len(runset.unreadable)} run(s) under --results cannot be read (--strict): "
                         + "; ".join(runset.unreadable) + "; fix: repair or remove them, or drop --strict")
    for bad in runset.unreadable:                        # named even with --quiet: a run left out of the evidence
        print(f"[report] UNREADABLE run, left out: {bad}", file=sys.stderr, flush=True)
    if not quiet:
        print(f"[report] {len(runset.runs)} completed run(s) under {', '.join(map(str, roots)) or '(none)'}"
              + (f"; {len(runset.planted)} planted (synthetic) run(s) set aside" if runset.planted else "")
              + ("; PLANTED runs counted (--allow-planted)" if runset.planted_in_use else ""),
              file=sys.stderr, flush=True)
    if args.skip_live:
        live = LiveEvidence(checks_error="skipped (--skip-live)", proofs_error="skipped (--skip-live)")
    else:
        live = collect_live(profile, quiet=quiet)
    import dataclasses
    from gftheory.claims.stages import load_plan, split
    plan = load_plan(roots)                              # malformed plan → UsageError (exit 2)
    stages = split(runset.runs, plan)
    stage1 = dataclasses.replace(runset, runs=stages.stage1)
    results = evaluate_claims(stage1, live)              # stage 1: rules version 3, as judged
    meta = {"provenance": provenance("cpu"), "profile": profile, "skip_live": bool(args.skip_live),
            "command": "gftheory report " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 and sys.argv[1] == "report"
            else "gftheory report", "results_roots": [str(r) for r in roots],
            "seconds_live": live.seconds}
    figures = FigureCache()
    blocks, data = build_document(results, live, runset, meta, scale_schedules(), stages=stages, figures=figures)
    data["meta"]["seconds_total"] = round(time.perf_counter() - t0, 2)
    files = fit_page(blocks, data, figures)              # report.html within its 2 MB budget
    write_atomically(out, files)
    if runset.planted_in_use:
        print("PLANTED DATA: this report counts synthetic runs with planted values; it is not evidence")
    print(summary_table(results, {k: v["verdict"] for k, v in data["v4"]["stage1"].items()}))
    if plan is None:
        print("stage 2: no confirmatory plan committed")
    else:
        print(f"stage 2: plan {plan.path}, digest {plan.rules_digest}"
              + ("" if plan.digest_matches else " — plan made under another rules digest"))
        for cid, v in data["v4"]["stage2"].items():
            print(f"  {cid}: {v['verdict']}")
    fig = data["meta"]["figures"]
    if fig["encoding"] != plots.FULL.label():
        print(f"report.html: figures at {fig['encoding']} to stay within {fig['budget_bytes'] / 1e6:.2f} MB "
              f"({fig['html_bytes_full_quality'] / 1e6:.2f} MB at full quality, now {fig['html_bytes'] / 1e6:.2f} MB"
              + ("" if fig["fits"] else "; STILL OVER BUDGET: the text alone is too large") + ")")
    print(f"\nwrote {out}/report.md, {out}/report.html (+ derivations.html), {out}/report.json "
          f"({len(files) - 3} plot(s)) in {time.perf_counter() - t0:.1f} s "
          f"(live: {', '.join(f'{k} {v:.1f} s' for k, v in live.seconds.items()) or 'skipped'})")
    return 0
