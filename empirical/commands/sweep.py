"""``gftheory sweep``: architectures × datasets × measures × seeds, several runs at once.

Every RunConfig flag applies to all runs of the grid; --archs/--datasets/--measures/--seeds take
space- or comma-separated lists. Completed runs are skipped; interrupted ones resume.
Prints one run directory per line; exit 1 if a run failed.
"""
from __future__ import annotations

import argparse

from empirical.commands.run import add_execution_arguments
from empirical.config import ConfigError, add_config_arguments, config_from_args


def _split(values) -> list[str]:
    return [v for item in values for v in item.split(",") if v]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("grid")
    g.add_argument("--archs", nargs="+", default=["resnet56"], help="e.g. vgg13 mobilenet_v1 resnet56")
    g.add_argument("--datasets", nargs="+", default=["cifar10"], help="cifar10 and/or cifar100")
    g.add_argument("--measures", nargs="+", default=["magnitude", "loss_preservation_elementwise"],
                   help="importance measures")
    g.add_argument("--seeds", nargs="+", default=["0"], help="seeds, e.g. 0 1 2")
    g.add_argument("--jobs", type=int, default=1, help="runs at once on the device (default 1)")
    add_config_arguments(parser)
    add_execution_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from empirical import store
    from empirical.sweep import run_grid
    try:
        seeds = [int(s) for s in _split(args.seeds)]
    except ValueError:
        raise ConfigError(f"--seeds {args.seeds!r}: not integers; fix: give e.g. --seeds 0 1 2") from None
    for name in ("arch", "dataset", "measure", "seed"):
        if getattr(args, name, None) is not None:
            raise ConfigError(f"--{name} is not used by sweep; fix: use --{name}s (a list)")
    configs = [config_from_args(args, arch=a, dataset=d, measure=m, seed=s)
               for a in _split(args.archs) for d in _split(args.datasets)
               for m in _split(args.measures) for s in seeds]
    paths = run_grid(configs, args.root, jobs=args.jobs, device=args.device, data_dir=args.data_dir,
                     progress=not args.quiet)
    for p in paths:
        print(p)
    return 0 if all(store.is_complete(p) for p in paths) else 1
