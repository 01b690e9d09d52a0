"""``gftheory prove [ID ...] [--json FILE] [--markdown DIR] [--negative-controls]``.

Runs the symbolic proofs of the ``proofs`` package (and ``gftheory.symbolic``'s negative controls), prints a table (id, statement, generality, steps, status, seconds),
optionally writes {"provenance", "results"} as JSON (atomically) and one Markdown file per
proof. Exit 1 if any proof is neither "proved" (every step symbolic) nor "identity-tested" (some
steps accepted only by the numeric identity test), or any negative control is not "refuted"."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from gftheory.atomic import atomic_write_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID",
                        help="statement ids to prove (default: all); see gftheory.statements")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument("--markdown", metavar="DIR",
                        help="write each derivation as DIR/<ID>.md (Markdown + LaTeX)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes (default: min(2, CPUs)); 1 runs in this process")
    parser.add_argument("--negative-controls", action="store_true",
                        help="also run the negative controls (wrong statements that must be refuted)")


_atomic_write = atomic_write_text


def format_table(results) -> str:
    rows = [("id", "statement", "generality reached", "steps", "status", "seconds")]
    for r in results:
        st = r.statement if len(r.statement) <= 48 else r.statement[:47] + "…"
        rows.append((r.id, st, r.generality, str(r.steps_checked), r.status, f"{r.seconds:.2f}"))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return "\n".join(lines)


def run(args) -> int:
    from gftheory.errors import UsageError
    from gftheory.provenance import provenance
    from gftheory.symbolic import NEGATIVE_CONTROLS, run_negative_controls
    from proofs import PROOFS, run_proofs

    known = list(PROOFS)
    unknown = [i for i in args.ids if i not in PROOFS and i not in NEGATIVE_CONTROLS]
    if unknown:
        raise UsageError(f"unknown proof id(s) {', '.join(unknown)}; fix: choose from "
                         f"{', '.join(known)} (negative controls: {', '.join(NEGATIVE_CONTROLS)})")
    from gftheory.atomic import check_output_dir, check_output_file
    if args.markdown:
        check_output_dir("--markdown", args.markdown)   # before any work: exit 2, nothing written
    if args.json:
        check_output_file("--json", args.json)
    proof_ids = [i for i in args.ids if i in PROOFS] if args.ids else None
    nc_ids = [i for i in args.ids if i in NEGATIVE_CONTROLS]

    if args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs} is not a positive integer; fix: give --jobs 1 or more")

    def progress(k, total, pid):
        verb = "proving" if args.jobs <= 1 else "done"
        print(f"[{k + 1}/{total}] {verb} {pid}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    results = run_proofs(proof_ids, progress, args.jobs) if (proof_ids is None or proof_ids) else []
    controls = []
    if args.negative_controls or nc_ids:
        controls = run_negative_controls(nc_ids or None, progress, args.jobs)
    total = time.perf_counter() - t0
    print(format_table(results + controls))
    from gftheory.symbolic.equality import numeric_test_text
    print(f"proved = every step symbolic; identity-tested = some steps only by the numeric identity test: "
          f"{numeric_test_text()}")
    print(f"total {total:.1f} s", file=sys.stderr)
    if args.json:
        payload = {"provenance": {**provenance("cpu"), "command": "gftheory prove",
                                  "ids": args.ids, "seconds": round(total, 3)},
                   "results": [r.as_dict() for r in results],
                   "negative_controls": [r.as_dict() for r in controls]}
        _atomic_write(Path(args.json), json.dumps(payload, indent=1, ensure_ascii=False))
    if args.markdown:
        for r in results + controls:
            _atomic_write(Path(args.markdown) / f"{r.id}.md", r.markdown)
    bad = [r.id for r in results if r.status not in ("proved", "identity-tested")] + \
          [r.id for r in controls if r.status != "refuted"]
    if bad:
        print(f"not as expected: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0
