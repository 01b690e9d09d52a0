"""``gftheory bench``: time our training pipeline against a reference-style one, and each
measure's scoring, side by side in one process (see ``empirical.bench``)."""
from __future__ import annotations

import argparse
import sys

from gftheory.atomic import atomic_write_json
from gftheory.errors import UsageError


def _archs() -> tuple[str, ...]:
    """Every registered architecture (``empirical.architectures``)."""
    from empirical.architectures import ARCHITECTURES
    return tuple(ARCHITECTURES)


def _csv(values) -> list[str]:
    """Names given space- or comma-separated (``a b`` and ``a,b`` alike, as ``gftheory sweep``)."""
    values = [values] if isinstance(values, str) else values
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available)")
    parser.add_argument("--archs", nargs="+", default=list(_archs()),
                        help=f"space- or comma-separated, from {', '.join(_archs())}")
    parser.add_argument("--max-batches", type=int, default=None,
                        help="timed training steps per epoch (default: 3 on CPU, 100 on CUDA)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps before each timed epoch (default: 1 on CPU, 10 on CUDA)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per pipeline (mean ± std)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--measures", nargs="+", default=["paper"],
                        help="space- or comma-separated measure names whose scoring is timed; 'paper' = the six "
                             "paper measures, 'none' = skip scoring")
    parser.add_argument("--score-batches", type=int, default=None,
                        help="batches scored per importance call (default: 20 on CUDA = 2560 samples, "
                             "1 on CPU)")
    parser.add_argument("--score-batch-size", type=int, default=None,
                        help="samples per scored batch (default: --batch-size on CUDA, 32 on CPU)")
    parser.add_argument("--score-repeats", type=int, default=None,
                        help="timed importance calls per measure (default: --repeats, 2 on CPU)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the reference")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="autocast of our pipeline, as a run's --precision (auto: bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto",
                        help="memory format of our pipeline (auto: on for CUDA)")
    parser.add_argument("--compile", default="auto",
                        help="comma-separated torch.compile modes timed as extra pipelines "
                             "(default, reduce-overhead = CUDA graphs, max-autotune); 'none'; "
                             "auto = 'default' on CUDA, none on CPU")
    parser.add_argument("--dataset", choices=("cifar10", "cifar100"), default="cifar10")
    parser.add_argument("--data-dir", default=None,
                        help="directory holding cifar-10-batches-py/ (default $GFTHEORY_DATA); random "
                             "uint8 images are used when it has no data (timings do not depend on pixels)")
    parser.add_argument("--synthetic", action="store_true", help="use random uint8 images, do not read data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the result (atomically)")


def _data(args):
    import torch
    from empirical.data import DataError, load_cifar, resolve_data_dir, spec_of
    nc = spec_of(args.dataset).num_classes
    if not args.synthetic:
        try:
            d = load_cifar(args.dataset, args.data_dir)
            return d.train_images, d.train_labels, d.num_classes, f"{args.dataset} training set ({d.source})"
        except DataError as exc:
            if args.data_dir is not None:
                raise
            print(f"gftheory bench: no {args.dataset} data in {resolve_data_dir(None)}; timing on random "
                  f"uint8 images instead ({str(exc).splitlines()[0][:120]})", file=sys.stderr)
    g = torch.Generator().manual_seed(args.seed)
    n = 50_000
    return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
            torch.arange(n) % nc, nc, f"synthetic: {n} random uint8 images, {nc} balanced classes")


def run(args) -> int:
    if args.json:
        from gftheory.atomic import check_output_file
        check_output_file("--json", args.json)              # before any work: exit 2, nothing written
    import torch
    from empirical import bench
    from gftheory.measures import MEASURES, PAPER_MEASURES
    try:
        device = torch.device(args.device) if args.device else torch.device(
            "cuda" if torch.cuda.is_available() else "cpu")
    except RuntimeError as exc:
        raise UsageError(f"--device {args.device!r} is not a device ({exc}); fix: cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda but torch sees no CUDA device; fix: --device cpu")
    cuda = device.type == "cuda"
    archs = _csv(args.archs)
    bad = [a for a in archs if a not in _archs()]
    if not archs or bad:
        raise UsageError(f"unknown architecture(s) {bad}; fix: --archs from {', '.join(_archs())}")
    if _csv(args.measures) == ["paper"]:
        measures = list(PAPER_MEASURES)
    elif _csv(args.measures) == ["none"]:
        measures = []
    else:
        measures = _csv(args.measures)
        unknown = [m for m in measures if m not in MEASURES]
        if unknown:
            raise UsageError(f"unknown measure(s) {unknown}; fix: --measures from {', '.join(MEASURES)}")
    max_batches = args.max_batches if args.max_batches is not None else (100 if cuda else 3)
    warmup = args.warmup if args.warmup is not None else (10 if cuda else 1)
    for flag, v, lo in (("--max-batches", max_batches, 1), ("--warmup", warmup, 0), ("--repeats", args.repeats, 1),
                        ("--batch-size", args.batch_size, 1), ("--workers", args.workers, 0)):
        if v < lo:
            raise UsageError(f"{flag} must be >= {lo}, got {v}; fix: give a larger value")
    score_batches = args.score_batches if args.score_batches is not None else (20 if cuda else 1)
    score_repeats = args.score_repeats if args.score_repeats is not None else (args.repeats if cuda else 2)
    score_batch_size = args.score_batch_size if args.score_batch_size is not None else (
        args.batch_size if cuda else 32)
    if min(score_batches, score_repeats, score_batch_size) < 1:
        raise UsageError("--score-batches, --score-batch-size and --score-repeats must be >= 1; fix: give "
                         "a positive value")
    if args.compile == "auto":
        compile_modes = ["default"] if cuda else []
    elif args.compile == "none":
        compile_modes = []
    else:
        compile_modes = _csv(args.compile)
        bad = [m for m in compile_modes if m not in ("default", "reduce-overhead", "max-autotune",
                                                     "max-autotune-no-cudagraphs")]
        if bad:
            raise UsageError(f"unknown torch.compile mode(s) {bad}; fix: default, reduce-overhead, "
                             f"max-autotune, max-autotune-no-cudagraphs or none")
    channels_last = {"auto": None, "on": True, "off": False}[args.channels_last]
    images, labels, nc, desc = _data(args)
    from empirical.architectures import build
    result = bench.run_bench(
        archs=archs, build_model=build, images=images, labels=labels, num_classes=nc,
        data_description=desc, device=device, max_batches=max_batches, warmup=warmup,
        repeats=args.repeats, batch_size=args.batch_size, measures=measures,
        score_batches=score_batches, score_batch_size=score_batch_size, score_repeats=score_repeats,
        workers=args.workers,
        channels_last=channels_last, precision=args.precision, compile_modes=compile_modes,
        seed=args.seed, progress=True)
    print(bench.format_table(result))
    if args.json:
        atomic_write_json(args.json, result)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
