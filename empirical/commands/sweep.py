"""``gftheory sweep``: architectures × datasets × measures × seeds, several runs at once.

Every RunConfig flag applies to all runs of the grid; --archs/--datasets/--measures/--seeds take
space- or comma-separated lists (--seeds also inclusive ranges, 0-2: gftheory.seeds, the syntax every
command shares). Completed runs are skipped; interrupted ones resume.
Prints one run directory per line; exit 1 if a run failed.

``--backend local`` (default): a process pool on this machine (``--jobs``). ``--backend ray``: one
Ray task per run on a local Ray instance or a cluster (``--address``), scheduled by
``--cpus-per-run`` / ``--gpus-per-run``; see empirical.ray_backend.
"""
from __future__ import annotations

import argparse

from empirical.commands.run import add_execution_arguments
from empirical.config import ConfigError, add_config_arguments, config_from_args
from gftheory.seeds import parse_seeds


def _split(values) -> list[str]:
    return [v for item in values for v in item.split(",") if v]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("grid")
    g.add_argument("--archs", nargs="+", default=["resnet56"], help="e.g. vgg13 mobilenet_v1 resnet56")
    g.add_argument("--datasets", nargs="+", default=["cifar10"], help="cifar10 and/or cifar100")
    g.add_argument("--measures", nargs="+", default=["magnitude", "loss_preservation_elementwise"],
                   help="importance measures")
    g.add_argument("--seeds", nargs="+", default=["0"],
                   help="seeds: a list and/or inclusive ranges, e.g. 0,1,2 or 0 1 2 or 0-2 (default 0)")
    g.add_argument("--jobs", type=int, default=None,
                   help="runs at once on the device (default 1; --backend local only)")
    b = parser.add_argument_group("backend")
    b.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: a process pool on this machine (default); ray: one Ray task per run "
                        "(needs pip install -e .[ray])")
    b.add_argument("--address", default=None,
                   help="Ray cluster to join: HOST:PORT of `ray start --head`, ray://HOST:PORT or auto "
                        "(default: $RAY_ADDRESS, else a local Ray instance)")
    b.add_argument("--gpus-per-run", type=float, default=None,
                   help="GPUs per run under Ray, a fraction lets runs share a GPU, e.g. 0.25 (default 0: CPU)")
    b.add_argument("--cpus-per-run", type=int, default=None,
                   help="CPUs per run under Ray = its torch threads (default 1)")
    b.add_argument("--max-retries", type=int, default=None,
                   help="Ray retries of a run whose worker died; it resumes from its checkpoint (default 3)")
    add_config_arguments(parser)
    add_execution_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from empirical.sweep import run_grid
    from gftheory import runstore
    seeds = parse_seeds(args.seeds)                       # exit 2 before any work, naming the bad item
    for name in ("arch", "dataset", "measure", "seed"):
        if getattr(args, name, None) is not None:
            raise ConfigError(f"--{name} is not used by sweep; fix: use --{name}s (a list)")
    configs = [config_from_args(args, arch=a, dataset=d, measure=m, seed=s)
               for a in _split(args.archs) for d in _split(args.datasets)
               for m in _split(args.measures) for s in seeds]
    ray_flags = {"--address": args.address, "--gpus-per-run": args.gpus_per_run,
                 "--cpus-per-run": args.cpus_per_run, "--max-retries": args.max_retries}
    if args.backend == "local":
        given = [k for k, v in ray_flags.items() if v is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} only apply to --backend ray; fix: add --backend ray "
                              "or drop them")
        paths = run_grid(configs, args.root, jobs=1 if args.jobs is None else args.jobs, device=args.device,
                         data_dir=args.data_dir, progress=not args.quiet)
    else:
        if args.jobs is not None:
            raise ConfigError("--jobs applies to --backend local; with --backend ray the runs at once "
                              "follow --cpus-per-run / --gpus-per-run; fix: drop --jobs")
        from empirical.ray_backend import DEFAULT_MAX_RETRIES, run_grid_ray
        paths = run_grid_ray(configs, args.root, address=args.address,
                             gpus_per_run=args.gpus_per_run or 0.0,
                             cpus_per_run=1 if args.cpus_per_run is None else args.cpus_per_run,
                             max_retries=DEFAULT_MAX_RETRIES if args.max_retries is None else args.max_retries,
                             device=args.device, data_dir=args.data_dir, progress=not args.quiet)
    for p in paths:
        print(p)
    return 0 if all(runstore.is_complete(p) for p in paths) else 1
