"""``gftheory spread``: how stable each measure's filter ranking is across importance samples, on a
checkpoint of an event study (``empirical.spread``; formulas: ``gftheory.spread``).

Prints the table and, with ``--json F``, writes it (atomically) with provenance.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from empirical.spread import SpreadConfig, format_table, measure_spread


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("what to measure")
    g.add_argument("--study", required=True, type=Path,
                   help="an event-study directory made by `gftheory events` (it holds checkpoint_e<E>.pt)")
    defaults = {f.name: f.default for f in dataclasses.fields(SpreadConfig)}
    g.add_argument("--checkpoint", type=int, default=defaults["checkpoint"], help="the study's checkpoint epoch")
    g.add_argument("--sizes", default=",".join(map(str, defaults["sizes"])), help="importance-sample sizes")
    g.add_argument("--repeats", type=int, default=defaults["repeats"], help="independent samples per size")
    g.add_argument("--measures", default=",".join(defaults["measures"]))
    g.add_argument("--fraction", type=float, default=None,
                   help="pruned fraction for the pruned-set agreement (default: the study's round-1 ratio)")
    x = parser.add_argument_group("execution")
    x.add_argument("--data-dir", type=Path, default=None)
    x.add_argument("--device", default="cpu")
    x.add_argument("--json", type=Path, default=None, help="write the result here (with provenance)")
    x.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from gftheory.atomic import atomic_write_json
    cfg = SpreadConfig(study=str(args.study), checkpoint=args.checkpoint, sizes=args.sizes, repeats=args.repeats,
                       measures=args.measures, fraction=args.fraction)
    if args.json is not None and not Path(args.json).parent.is_dir():
        from empirical.config import ConfigError
        raise ConfigError(f"--json: the folder {Path(args.json).parent} does not exist; fix: create it first")
    if args.json is not None:
        from gftheory.atomic import check_output_file
        check_output_file("--json", args.json)              # before any work: exit 2, nothing written
    result = measure_spread(cfg, data_dir=args.data_dir, device=args.device, progress=not args.quiet)
    print(format_table(result))
    if args.json is not None:
        atomic_write_json(args.json, result)
    return 0
