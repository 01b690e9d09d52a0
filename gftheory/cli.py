"""The ``gftheory`` command line: a thin dispatcher.

Each subcommand ``gftheory X`` is the module ``gftheory.commands.X`` (theory: check, prove, claims,
confirm, report, plan, assess) or ``empirical.commands.X`` (data, run, events, sweep, bench, spread), exposing
``add_arguments(parser)`` and ``run(args) -> int``; the module is imported only when its command is
used, so theory commands never import the empirical package. The CLI is the top of the layering
(tests/project/test_layering.py): nothing but ``gftheory.__main__`` and the tests imports it.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from gftheory.errors import UsageError

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("gftheory.commands.check", "run the numeric identity/approximation checks on generated cases"),
    "prove": ("gftheory.commands.prove", "run the machine-checked symbolic derivations in proofs/"),
    "report": ("gftheory.commands.report", "write the claim-by-claim report (Markdown + HTML)"),
    "confirm": ("gftheory.commands.confirm", "run the runs a claim needs, then print its verdict"),
    "claims": ("gftheory.commands.claims", "list the claim registry"),
    "plan": ("gftheory.commands.plan", "the stage-2 plan: seeds per rule x cell for 80 % power, cost, budget"),
    "assess": ("gftheory.commands.assess", "place one importance measure (name, module:Class, entry point) in the theory and, with --arch, at one pruning event"),
    "data": ("empirical.commands.data", "download / verify CIFAR data"),
    "run": ("empirical.commands.run", "one prune-while-training run"),
    "events": ("empirical.commands.events", "the pruning-event study: every measure on the same checkpoints (paired)"),
    "sweep": ("empirical.commands.sweep", "a grid of runs (architectures x datasets x measures x seeds)"),
    "bench": ("empirical.commands.bench", "time our training pipeline against a reference-style one"),
    "spread": ("empirical.commands.spread", "how stable each measure's ranking is across importance samples"),
}


def _top_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gftheory",
        description="Verify the claims of 'A Gradient Flow Framework For Analyzing Network Pruning'.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_mod, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_.replace("%", "%%"), add_help=False)  # argparse %-formats help
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        args = _top_parser().parse_args(argv)  # handles --help and unknown commands (exit 2)
        if args.version:
            from gftheory import __version__
            print(__version__)
            return 0
        _top_parser().print_help()
        return 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"gftheory {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except UsageError as exc:
        print(f"gftheory {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gftheory {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:         # stdout closed early (`gftheory ... | head`): stop quietly
        import os
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())     # so the interpreter's final flush does not raise again
        return 141


if __name__ == "__main__":
    sys.exit(main())
