"""``gftheory plan``: the stage-2 (confirmatory) plan from the stage-1 evidence
(``gftheory.claims.plan``): for every rule × cell the seeds needed for 80 % power at the rule's
level, their cost on this machine, the cells a budget buys and their fresh seeds; prints the table
and writes the plan file atomically. Every input is checked before any work: a bad path or budget
is a usage error (exit 2) and nothing is written."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from gftheory.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from gftheory.claims.plan import DEFAULT_BUDGET_HOURS
    parser.add_argument("--results", default="results", help="stage-1 run store (default results/: cpu runs and "
                        "event studies at any depth)")
    parser.add_argument("--budget-hours", type=float, default=DEFAULT_BUDGET_HOURS,
                        help=f"wall hours of two-core compute stage 2 may use (default {DEFAULT_BUDGET_HOURS:g})")
    parser.add_argument("--costs", default=None, help="costs JSON (default <results>/timing/stage2_costs.json if "
                        "present, else stage-1 recorded seconds, flagged as not measured for stage 2)")
    parser.add_argument("--out", default=None, help="plan file to write (default <results>/plans/stage2.json)")
    parser.add_argument("--force", action="store_true", help="replace an existing plan file at --out (a committed "
                        "plan must not change once stage 2 has started)")
    parser.add_argument("--confirm-only", action="store_true", help="plan for confirmations only (a rule whose "
                        "stage-1 effect does not exceed its confirm threshold reads 'not decidable')")
    parser.add_argument("--json", action="store_true", help="print the plan JSON instead of the table")
    parser.add_argument("--progress", action="store_true", help="write nothing: print the committed plan's progress "
                        "(<results>/plans/stage2.json, or --out): units planned and stored, their recorded cost "
                        "against the plan's estimate, and the rest at the measured rate; reads no outcome")


def _check_out(out: Path, force: bool) -> None:
    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a directory; fix: give a file path, e.g. --out {out / 'stage2.json'}")
    if out.exists() and not force:
        raise UsageError(f"plan file {str(out)!r} already exists; a committed plan must not change after stage 2 "
                         f"starts; fix: write elsewhere with --out FILE, or replace it on purpose with --force")
    from gftheory.atomic import check_output_file
    check_output_file("--out", out)      # a read-only place, a path under a file: exit 2 before any work


def run(args) -> int:
    from gftheory.atomic import atomic_write_json
    from gftheory.claims import plan as P
    from gftheory.claims.runs import load_runs

    # ---- every input checked before any work
    results = Path(args.results)
    if not results.is_dir():
        raise UsageError(f"results directory {str(results)!r} does not exist or is not a directory; fix: pass "
                         f"--results DIR pointing at the stage-1 run store, e.g. --results results")
    if args.progress:
        from gftheory.claims.plan import DEFAULT_BUDGET_HOURS
        ignored = [flag for flag, on in (("--force", args.force), ("--confirm-only", args.confirm_only),
                                         ("--costs", args.costs is not None),
                                         ("--budget-hours", args.budget_hours != DEFAULT_BUDGET_HOURS)) if on]
        if ignored:
            raise UsageError(f"--progress reads the committed plan and writes nothing, so {', '.join(ignored)} would "
                             f"have no effect; fix: drop {', '.join(ignored)}, or drop --progress to make a plan")
        return _progress(results, Path(args.out) if args.out else None, args.json)
    b = args.budget_hours
    if b is None or not math.isfinite(b) or b <= 0:
        raise UsageError(f"--budget-hours {b} is not a positive number of hours; fix: give e.g. --budget-hours 20")
    costs_path = Path(args.costs) if args.costs else results / P.COSTS_FILE
    costs_obj = None
    if args.costs or costs_path.is_file():
        costs_obj = P.read_costs(costs_path)
    out = Path(args.out) if args.out else results / "plans" / "stage2.json"
    _check_out(out, args.force)

    runset = load_runs([results])
    if not runset.runs:
        raise UsageError(f"no completed stage-1 runs under {str(results)!r}; fix: pass --results DIR holding the "
                         f"stage-1 cpu runs and event studies")
    plans_dir = results / "plans"
    others = [p for p in sorted(plans_dir.glob("*.json")) if p.resolve() != out.resolve()] if plans_dir.is_dir() else []
    plan = P.make_plan(runset, budget_hours=b, costs_obj=costs_obj,
                       costs_path=str(costs_path) if costs_obj is not None else None,
                       plan_files=others, confirm_only=args.confirm_only)
    atomic_write_json(out, plan, ensure_ascii=False)
    if args.json:
        print(json.dumps(plan, indent=2, ensure_ascii=False))
    else:
        print(P.table(plan))
        print(f"\nwrote {out} (plan digest {plan['plan_digest']})")
    return 0


def _progress(results: Path, plan_file: Path | None, as_json: bool) -> int:
    """``--progress``: the committed plan's progress over the runs stored under ``results``."""
    from gftheory.claims.progress import parts_table, recorded_parts, stage2_progress, table
    from gftheory.claims.runs import load_runs
    from gftheory.claims.stages import PLAN_PATH, load_plan
    if plan_file is not None:
        if not plan_file.is_file():
            raise UsageError(f"plan file {str(plan_file)!r} does not exist; fix: give --out the committed plan, "
                             f"e.g. --out {results / PLAN_PATH}")
        roots = [plan_file.parent.parent] if plan_file.name == PLAN_PATH.name else []
        if not roots or (roots[0] / PLAN_PATH).resolve() != plan_file.resolve():
            raise UsageError(f"--out {str(plan_file)!r} is not a <results>/{PLAN_PATH} file; fix: give the "
                             f"committed plan's path, e.g. --out {results / PLAN_PATH}")
        plan = load_plan(roots)
    else:
        plan = load_plan([results])
    if plan is None:
        raise UsageError(f"no plan at {str(results / PLAN_PATH)!r}; fix: pass --results DIR holding "
                         f"{PLAN_PATH}, or write one with `gftheory plan`")
    runset = load_runs([results], must_exist=False)
    p = stage2_progress(plan, runset.runs)
    parts = recorded_parts(runset.runs)
    note = (f"{len(runset.planted)} planted (synthetic) run(s) set aside, not counted" if runset.planted else "")
    if as_json:
        print(json.dumps({**p.as_dict(), "planted_set_aside": len(runset.planted), "recorded_parts": parts},
                         indent=2))
    else:
        print(f"plan {plan.path} (rules digest {plan.rules_digest}); runs under {results}"
              + (f"; {note}" if note else ""))
        print(table(p))
        if parts:
            print("\nrecorded cost per part, stage 1 (cpu) beside stage 2 (cpu2):")
            print(parts_table(parts))
    return 0
