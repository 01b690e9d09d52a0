"""``gftheory data download|verify cifar10|cifar100 [--data-dir D]`` · ``gftheory data demo --out DIR``.

download: fetch the official archive, check its md5, extract atomically (``--url`` / ``--md5``
override the source, e.g. a ``file://`` mirror). verify: load every file, check shapes, label
ranges and class balance, print per-file md5 sums (official or a known copy) and the per-channel
mean / std; exit 1 when a checksum is unrecognised or the classes are unbalanced.
demo: write a small synthetic CIFAR-10-shaped dataset (no download; deterministic; clearly marked)
so that ``run``, ``sweep`` and ``events`` can be tried offline with ``--data-dir DIR``. Everything
made from it says "synthetic demo data" and is never evidence.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("download", "verify", "demo"))
    parser.add_argument("dataset", nargs="?", choices=("cifar10", "cifar100"),
                        help="cifar10 | cifar100 (download, verify); demo writes a CIFAR-10-shaped set")
    parser.add_argument("--data-dir", default=None,
                        help="data directory (default: $GFTHEORY_DATA, else ~/.cache/gftheory/data)")
    parser.add_argument("--url", default=None,
                        help="archive URL (default: the official one, or $GFTHEORY_CIFAR10_URL / "
                             "$GFTHEORY_CIFAR100_URL)")
    parser.add_argument("--md5", default=None, help="expected md5 of the archive (default: the official)")
    parser.add_argument("--force", action="store_true",
                        help="download (or, for demo, write) again even if the folder exists")
    demo = parser.add_argument_group("demo (synthetic data, never evidence)")
    demo.add_argument("--out", default=None, help="demo: the directory to write (use it as --data-dir)")
    demo.add_argument("--train", type=int, default=None, help="demo: training images (default 1000)")
    demo.add_argument("--test", type=int, default=None, help="demo: test images (default 500)")
    demo.add_argument("--seed", type=int, default=0, help="demo: generator seed (default 0)")


def run(args) -> int:
    from empirical import data
    from gftheory.errors import UsageError
    if args.action == "demo":
        if args.out is None:
            raise UsageError("data demo needs --out DIR (the folder to write; then pass --data-dir DIR)")
        if args.dataset not in (None, "cifar10"):
            raise UsageError(f"data demo writes a CIFAR-10-shaped set only, not {args.dataset}; fix: drop it")
        folder = data.make_demo(args.out, train=data.DEMO_TRAIN if args.train is None else args.train,
                                test=data.DEMO_TEST if args.test is None else args.test, seed=args.seed,
                                force=args.force)
        print(f"{data.DEMO_LABEL}: {folder}")
        print("  NOT CIFAR: generated images with a planted class structure; results from it say "
              "'synthetic demo data' and are never counted as evidence.")
        print(f"  try: gftheory run --scale smoke --arch resnet56 --measure magnitude --device cpu "
              f"--data-dir {args.out} --root demo-runs")
        return 0
    if args.dataset is None:
        raise UsageError(f"data {args.action} needs a dataset: cifar10 or cifar100")
    if args.out is not None or args.train is not None or args.test is not None:
        raise UsageError("--out, --train and --test belong to `data demo`")
    data_dir = data.resolve_data_dir(args.data_dir)
    if args.action == "download":
        folder = data.download(args.dataset, data_dir, url=args.url, md5=args.md5, force=args.force)
        print(f"{args.dataset}: ready in {folder}")
        return 0
    report = data.verify(args.dataset, data_dir)
    print(f"{args.dataset}: {report['folder']}")
    for f in report["files"]:
        known = f["known"] or "UNRECOGNISED"
        extra = f"  {f['images']} images, per class {min(f['class_counts'])}..{max(f['class_counts'])}" \
            if "images" in f else ""
        print(f"  {f['md5']}  {f['file']:<14} [{known}]{extra}")
    for split in ("train", "test"):
        s = report[split]
        if s is None:
            print(f"  {split}: absent")
            continue
        fmt = lambda v: "[" + ", ".join(f"{x:.8f}" for x in v) + "]"  # noqa: E731
        print(f"  {split}: {s['images']} images x 3x32x32 uint8, {s['per_class']} per class; "
              f"per-channel mean {fmt(s['mean'])} std {fmt(s['std'])} (/255 scale)")
    for p in report["problems"]:
        print(f"problem: {p}", file=sys.stderr)
    n_problems = len(report["problems"])
    print(f"{args.dataset}: " + ("OK" if not n_problems else f"{n_problems} problem(s)"))
    return 0 if not report["problems"] else 1
