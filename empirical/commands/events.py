"""``gftheory events``: the pruning-event study (``empirical.events``) for one or several seeds.

Every EventConfig field is a flag (defaults: docs/protocol.md, "The event study"; ``--edition 2``,
the default, adds the second edition's records, ``--edition 1`` runs the first study); ``--seeds 0,1,2``
(= ``0 1 2`` = ``0-2``, the syntax every command shares: gftheory.seeds) runs several studies.
Complete studies are skipped, interrupted ones resume; prints each study's directory (``--dry-run``:
the studies and their events, and stops).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from empirical.events import EventConfig, ensure_study
from gftheory import runstore
from gftheory.seeds import parse_seeds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("event study (defaults: docs/protocol.md, 'The event study')")
    for f in dataclasses.fields(EventConfig):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            g.add_argument(flag, dest=f.name, default=None, action=argparse.BooleanOptionalAction)
        elif f.name == "measures":
            g.add_argument(flag, dest=f.name, default=None,
                           help="comma-separated (default: edition 1 every measure, edition 2 "
                                "magnitude, the loss-preservation family, grasp, gradient_norm_preservation, random)")
        elif isinstance(f.default, tuple):
            g.add_argument(flag, dest=f.name, default=None, help=f"comma-separated (default {','.join(map(str, f.default))})")
        elif f.name == "max_train_samples":
            g.add_argument(flag, dest=f.name, default=None, type=int)
        else:
            g.add_argument(flag, dest=f.name, default=None, type=type(f.default), help=f"default {f.default!r}")
    g.add_argument("--seeds", nargs="+", default=None,
                   help="several studies, one per seed: a list and/or inclusive ranges, e.g. 0,1,2 or "
                        "0 1 2 or 0-2 (instead of --seed)")
    x = parser.add_argument_group("execution")
    x.add_argument("--root", type=Path, default=Path("runs"))
    x.add_argument("--device", default="cpu")
    x.add_argument("--data-dir", type=Path, default=None)
    x.add_argument("--jobs", type=int, default=1,
                   help="studies at once with --seeds, each in its own process fixing its own thread count "
                        "(default 1: one after another in this process)")
    x.add_argument("--quiet", action="store_true")
    x.add_argument("--dry-run", action="store_true", help="print the studies (id, seed, events per checkpoint) and stop")


def configs_from_args(args: argparse.Namespace) -> list[EventConfig]:
    """The studies the flags name (one per seed)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(EventConfig)
             if getattr(args, f.name, None) is not None}
    seeds = [given.pop("seed", 0)] if args.seeds is None else parse_seeds(args.seeds)
    return [EventConfig(**{**given, "seed": s}) for s in seeds]


def run(args: argparse.Namespace) -> int:
    cfgs = configs_from_args(args)
    if args.jobs < 1:
        from gftheory.errors import UsageError
        raise UsageError(f"--jobs {args.jobs} is not ≥ 1; fix: give --jobs 1 or more")
    if not args.dry_run:
        from gftheory.atomic import check_output_dir
        check_output_dir("--root", args.root)                # before any data loads: exit 2, nothing written
    if args.dry_run:
        for cfg in cfgs:
            state = "complete" if runstore.is_complete(Path(args.root) / cfg.run_id()) else "to run"
            print(f"{cfg.run_id()}  {cfg.arch}/{cfg.dataset} seed {cfg.seed}: checkpoints {list(cfg.checkpoints)}, "
                  f"{len(cfg.events_per_checkpoint())} events each — {state}")
        return 0
    if args.jobs > 1 and len(cfgs) > 1:
        from empirical.sweep import run_studies
        paths = run_studies(cfgs, args.root, jobs=args.jobs, device=args.device, data_dir=args.data_dir,
                            progress=not args.quiet)
        for p in paths:
            print(p)
        return 0 if all(runstore.is_complete(p) for p in paths) else 1
    for cfg in cfgs:
        print(ensure_study(cfg, args.root, device=args.device, data_dir=args.data_dir, progress=not args.quiet))
    return 0
