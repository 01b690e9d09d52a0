"""``gftheory assess MEASURE [--cases N] [--seed S] [--out DIR] [--profile ci|thorough]
[--arch ARCH | --arch package.module:factory [--data-dir DIR | --data synthetic] [--checkpoint ...]]``.

Places one importance measure — a registered name, ``module:Class`` or an entry point of the group
``gftheory.measures`` — in the gradient-flow picture:

- theory (``gftheory.assess``): on generated float64 networks, beside magnitude, loss_preservation
  and grasp (``--no-theory`` skips it);
- with ``--arch``, empirical (``empirical.assess_events``): one paired pruning event at one
  checkpoint of that network (a registered one, or your own ``module:factory`` through
  Torch-Pruning's coupled groups), beside magnitude, loss_preservation, grasp,
  gradient_norm_preservation and random: ΔL, Δ‖g‖², first- and second-order predictions, the
  per-layer widths, the scoring cost. ``--data synthetic`` runs it without CIFAR (labelled
  "synthetic, not evidence" everywhere).

Prints the summary and writes ``assess.json`` and ``assess.html`` (one self-contained page) to
``--out``. Bad input (an unknown or unloadable measure or network, a missing data folder or
checkpoint, an unwritable --out, numbers out of range, a reserved seed) exits 2 with one line before
any work. See docs/assess.md.
"""
from __future__ import annotations

import argparse
import sys

from gftheory.errors import UsageError
from gftheory.profiles import PROFILES, profile_name

CASES = {"ci": 12, "thorough": 150}
RESERVED_SEEDS = range(3, 100)       # the study's seeds


def add_arguments(parser) -> None:
    parser.add_argument("measure", help="a measure name, 'package.module:Class', or an installed entry point "
                                        "of the group gftheory.measures")
    parser.add_argument("--cases", type=int, default=None,
                        help="theory: generated networks per statement (default: 12 for the ci profile, 150 thorough)")
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES),
                        help="ci (default) or thorough; default from GFTHEORY_PROFILE")
    parser.add_argument("--seed", type=int, default=100, help="theory: seed of the network generator (0–2 or "
                                                              "≥ 100; default 100)")
    parser.add_argument("--theory", default=True, action=argparse.BooleanOptionalAction,
                        help="the theory part on generated networks (default on; --no-theory skips it)")
    parser.add_argument("--out", default="assess", help="directory for assess.json and assess.html "
                                                        "(default ./assess)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    e = parser.add_argument_group("empirical part (one paired pruning event at one checkpoint; needs --arch)")
    e.add_argument("--arch", default=None,
                   help="a registered network (vgg13, mobilenet_v1, resnet56) or 'package.module:factory' "
                        "returning an nn.Module (units from Torch-Pruning: pip install 'gftheory[prune]')")
    e.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py/ (default $GFTHEORY_DATA)")
    e.add_argument("--data", default="cifar", choices=("cifar", "synthetic"),
                   help="cifar (default: the data in --data-dir) or synthetic (generated images: the "
                        "machinery runs, labelled 'synthetic, not evidence')")
    e.add_argument("--dataset", default="cifar10", help="cifar10 (default) or cifar100")
    e.add_argument("--checkpoint", default="auto",
                   help="auto (default: a stored event study's first checkpoint under --runs-root when the "
                        "data are real, else a short trajectory), short (a short trajectory), a .pt file "
                        "({'model': state_dict} or a state_dict) or an event-study directory")
    e.add_argument("--runs-root", default="runs", help="where --checkpoint auto looks for event studies "
                                                       "(default ./runs)")
    e.add_argument("--train-steps", type=int, default=100,
                   help="SGD steps of the short trajectory (default 100; lr 0.1, momentum 0.9, batch --batch-size)")
    e.add_argument("--probe-size", type=int, default=512, help="probe images (default 512)")
    e.add_argument("--importance-samples", type=int, default=512, help="images every measure scores on (default 512)")
    e.add_argument("--val-size", type=int, default=1000, help="held-out images for accuracy (default 1000)")
    e.add_argument("--fraction", type=float, default=None,
                   help="fraction of the units removed (default: the first round of the paper's schedule, "
                        "75 %% over 25 rounds: ≈ 10.7 %%)")
    e.add_argument("--temperature", type=float, default=5.0, help="training / probe temperature T (default 5)")
    e.add_argument("--batch-size", type=int, default=128, help="training and importance batch size (default 128)")
    e.add_argument("--probe-chunk", type=int, default=128, help="probe evaluated in chunks of this many images")
    e.add_argument("--trajectory-seed", type=int, default=0,
                   help="seed of the initialisation, data order, probe and importance sample (default 0)")
    e.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    e.add_argument("--keep-checkpoint", action="store_true",
                   help="also write assess_checkpoint.pt: the checkpoint assessed, the probe and every "
                        "measure's removed units (to recompute the numbers)")


def _setup(args):
    from empirical.assess_events import Setup
    return Setup(measure=args.measure, arch=args.arch, dataset=args.dataset, data_dir=args.data_dir,
                 synthetic=args.data == "synthetic", checkpoint=args.checkpoint, runs_root=args.runs_root,
                 train_steps=args.train_steps, probe_size=args.probe_size,
                 importance_samples=args.importance_samples, val_size=args.val_size, fraction=args.fraction,
                 temperature=args.temperature, batch_size=args.batch_size, probe_chunk=args.probe_chunk,
                 seed=args.trajectory_seed, device=args.device)


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
    if args.arch is None and not args.theory:
        raise UsageError("--no-theory without --arch leaves nothing to assess; fix: give --arch (the empirical "
                         "part) or drop --no-theory")
    if args.arch is None and (args.data != "cifar" or args.data_dir is not None):
        raise UsageError("--data / --data-dir are for the empirical part; fix: give --arch too (e.g. --arch "
                         "resnet56)")
    from gftheory.atomic import check_output_dir
    out = check_output_dir("--out", args.out)           # before any work: exit 2, nothing written
    setup = None
    if args.arch is not None:                           # the commands layer may import empirical
        from empirical import assess_events
        setup = _setup(args)
        assess_events.check(setup)                      # before any work: exit 2, one line

    from gftheory.assess import assess, empirical_summary_lines, summary_lines, write
    progress = None if args.quiet else (lambda s: print(f"[assess] {s}", file=sys.stderr, flush=True))
    a = assess(args.measure, cases=cases, seed=args.seed, progress=progress) if args.theory else None
    emp = None
    if setup is not None:
        from pathlib import Path
        out.mkdir(parents=True, exist_ok=True)
        keep = Path(out) / "assess_checkpoint.pt" if args.keep_checkpoint else None
        emp = assess_events.run(setup, progress=progress, keep=keep)
    j, h = write(a, out, emp)
    if a is not None:
        print("\n".join(summary_lines(a)))
    if emp is not None:
        print("\n".join(empirical_summary_lines(emp)))
    print(f"wrote {j} and {h}")
    return 0
