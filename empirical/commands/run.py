"""``gftheory run``: one prune-while-training run (resumes from its checkpoint, skips if complete).

Every RunConfig field is a flag (defaults: the --scale preset, the paper's values at full); the run
directory is <root>/<run id>, the run id a hash of the canonical config. Prints the directory.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from empirical.config import add_config_arguments, config_from_args


def add_execution_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("execution")
    g.add_argument("--root", type=Path, default=Path("runs"), help="run store directory (default runs/)")
    g.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: cuda if available)")
    g.add_argument("--data-dir", type=Path, default=None,
                   help="directory holding cifar-10-batches-py/ (default $GFTHEORY_DATA or "
                        "~/.cache/gftheory/data)")
    g.add_argument("--quiet", action="store_true", help="no progress on stderr")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    add_execution_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from empirical.runner import ensure_run
    config = config_from_args(args)
    path = ensure_run(config, args.root, device=args.device, data_dir=args.data_dir,
                      progress=not args.quiet)
    print(path)
    return 0
