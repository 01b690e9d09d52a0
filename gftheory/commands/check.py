"""``gftheory check [--profile ci|thorough] [--ids ID,...] [--seed N] [--json FILE]``.

Runs every identity / approximation check on generated problems outside pytest, prints a
table (claim id, method, cases, worst relative error or fitted order, decision rule,
verdict) and exits 1 if any check fails. ``--json`` writes {"profile", "provenance",
"results"} atomically (temp file + os.replace).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from gftheory.atomic import atomic_write_json
from gftheory.profiles import PROFILES
from gftheory.statements import STATEMENTS


def add_arguments(parser) -> None:
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES),
                        help="ci (default, ≤ 60 s) or thorough (10× the cases); default from "
                             "GFTHEORY_PROFILE, else ci")
    parser.add_argument("--ids", default=None,
                        help=f"comma-separated statement ids (default: all of {', '.join(STATEMENTS)})")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the problem generator (default: fixed for ci, fresh for thorough)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def format_table(results) -> str:
    from gftheory.checks.identities import FLOOR_DENSE, FLOOR_TRAJECTORY
    head = ("id", "method", "cases", "worst rel err", "fitted order", "decision rule", "verdict")
    rows = [head]
    for r in results:
        verdict = "info" if r.details.get("informational") else ("PASS" if r.passed else "FAIL")
        rows.append((r.id, r.method, str(r.cases), _fmt(r.worst_rel_error), _fmt(r.fitted_order),
                     r.tolerance, verdict))
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"rel err = max|a−b| / max(max|a|, max|b|, floor); floor {FLOOR_TRAJECTORY:g} "
                 f"(trajectory-fd), {FLOOR_DENSE:g} (exact routes). 'violation' checks report their "
                 f"violation measure in the rel-err column. Decision rules are fixed in "
                 f"gftheory/checks/runner.py (RULES) before any data.")
    return "\n".join(lines)


def run(args) -> int:
    from gftheory.errors import UsageError
    from gftheory.profiles import profile_name
    try:
        profile = profile_name(args.profile)
    except ValueError as exc:
        raise UsageError(f"{exc}; fix: set GFTHEORY_PROFILE to ci or thorough") from None
    ids = None
    if args.ids:
        ids = [i.strip() for i in args.ids.split(",") if i.strip()]
        unknown = [i for i in ids if i not in STATEMENTS]
        if unknown:
            raise UsageError(f"unknown statement id(s) {', '.join(unknown)}; fix: choose from "
                             f"{', '.join(STATEMENTS)}")
    json_path = None
    if args.json:
        json_path = Path(args.json)
        if not json_path.parent.is_dir():
            raise UsageError(f"--json {args.json}: directory {json_path.parent} does not exist; "
                             f"fix: create it or give another path")
        from gftheory.atomic import check_output_file
        check_output_file("--json", json_path)
    from gftheory.checks.runner import run_checks
    from gftheory.provenance import provenance
    t0 = time.perf_counter()
    results = run_checks(profile=profile, ids=ids, seed=args.seed,
                         progress=lambda line: print(f"[check] {line}", file=sys.stderr, flush=True))
    elapsed = time.perf_counter() - t0
    print(f"gftheory check — profile {profile}, {len(results)} checks, {elapsed:.1f}s")
    print(format_table(results))
    failed = [f"{r.id}/{r.method}" for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed"
          + (f": {', '.join(failed)}" if failed else ""))
    if json_path is not None:
        seed = results[0].details.get("seed") if results else args.seed
        atomic_write_json(json_path, {"profile": profile, "seed": seed, "seconds": round(elapsed, 3),
                                      "provenance": provenance("cpu"),
                                      "results": [r.as_dict() for r in results]}, default=str)
        print(f"wrote {json_path}", file=sys.stderr)
    return 1 if failed else 0
