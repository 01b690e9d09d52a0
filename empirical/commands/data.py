"""``gftheory data download|verify cifar10|cifar100 [--data-dir D]``.

download: fetch the official archive, check its md5, extract atomically (``--url`` / ``--md5``
override the source, e.g. a ``file://`` mirror). verify: load every file, check shapes, label
ranges and class balance, print per-file md5 sums (official or a known copy) and the per-channel
mean / std; exit 1 when a checksum is unrecognised or the classes are unbalanced.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("download", "verify"))
    parser.add_argument("dataset", choices=("cifar10", "cifar100"))
    parser.add_argument("--data-dir", default=None,
                        help="data directory (default: $GFTHEORY_DATA, else ~/.cache/gftheory/data)")
    parser.add_argument("--url", default=None,
                        help="archive URL (default: the official one, or $GFTHEORY_CIFAR10_URL / "
                             "$GFTHEORY_CIFAR100_URL)")
    parser.add_argument("--md5", default=None, help="expected md5 of the archive (default: the official)")
    parser.add_argument("--force", action="store_true", help="download again even if the folder exists")


def run(args) -> int:
    from empirical import data
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
