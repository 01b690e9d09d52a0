"""``gftheory assess MEASURE [--cases N] [--seed S] [--out DIR] [--profile ci|thorough]``.

Places one importance measure — a registered name, ``module:Class`` or an entry point of the group
``gftheory.measures`` — in the gradient-flow picture on generated float64 networks, beside
magnitude, loss_preservation and grasp (``gftheory.assess``), prints the summary and writes
``assess.json`` and ``assess.html`` (one self-contained page) to ``--out``. Bad input (an unknown
or unloadable measure, a class that is not a Measure, needs outside the engine's quantities,
--cases < 1, a reserved seed) exits 2 before any work. See docs/assess.md.
"""
from __future__ import annotations

import sys

from gftheory.errors import UsageError
from gftheory.profiles import PROFILES, profile_name

CASES = {"ci": 12, "thorough": 150}
RESERVED_SEEDS = range(3, 100)       # the study's seeds


def add_arguments(parser) -> None:
    parser.add_argument("measure", help="a measure name, 'package.module:Class', or an installed entry point "
                                        "of the group gftheory.measures")
    parser.add_argument("--cases", type=int, default=None,
                        help="generated networks per statement (default: 12 for the ci profile, 150 thorough)")
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES),
                        help="ci (default) or thorough; default from GFTHEORY_PROFILE")
    parser.add_argument("--seed", type=int, default=100, help="seed of the network generator (0–2 or ≥ 100; "
                                                              "default 100)")
    parser.add_argument("--out", default="assess", help="directory for assess.json and assess.html "
                                                        "(default ./assess)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args) -> int:
    from gftheory.measures import MEASURES
    problem = MEASURES.problem(args.measure)
    if problem is not None:
        raise UsageError(problem)
    try:
        prof = profile_name(args.profile)
    except ValueError as exc:
        raise UsageError(f"{exc}; fix: --profile ci or thorough") from exc
    cases = CASES[prof] if args.cases is None else args.cases
    if cases < 1:
        raise UsageError(f"--cases {cases} is not a positive number of networks; fix: give --cases 1 or more")
    if args.seed < 0 or args.seed in RESERVED_SEEDS:
        raise UsageError(f"--seed {args.seed} is reserved for the study's runs (3–99) or negative; fix: use "
                         f"0, 1, 2 or ≥ 100")
    from gftheory.atomic import check_output_dir
    out = check_output_dir("--out", args.out)           # before any work: exit 2, nothing written

    from gftheory.assess import assess, summary_lines, write
    progress = None if args.quiet else (lambda s: print(f"[assess] {s}", file=sys.stderr, flush=True))
    a = assess(args.measure, cases=cases, seed=args.seed, progress=progress)
    j, h = write(a, out)
    print("\n".join(summary_lines(a)))
    print(f"wrote {j} and {h}")
    return 0
