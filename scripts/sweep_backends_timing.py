"""Wall time of one smoke sweep with the local process pool and with Ray, side by side.

    python scripts/sweep_backends_timing.py --data-dir ../shared/data [--reps 1] [--out DIR]

The same grid (mobilenet_v1 and resnet56, magnitude, seed 0, --scale smoke, CPU) runs as
``gftheory sweep --jobs 2`` and as ``gftheory sweep --backend ray`` (a local Ray instance started by
the command, 2 CPUs, one run per CPU), each in a fresh process and a fresh run store, alternating
local / ray ``--reps`` times. Wall time includes everything the user waits for (Ray's start-up
included). Prints each time, the ratio ray / local, and checks both stores hold the same run ids
and metrics (wall-clock fields excluded).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRID = ["--archs", "mobilenet_v1,resnet56", "--measures", "magnitude", "--seeds", "0", "--scale", "smoke",
        "--device", "cpu"]


def sweep(root: Path, data_dir: str, backend: list[str]) -> tuple[float, str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", GFTHEORY_TORCH_THREADS="1")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "gftheory", "sweep", *GRID, "--root", str(root), "--data-dir", data_dir,
           *backend]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(REPO), timeout=3600)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return wall, res.stdout, res.stderr


def same_results(a: Path, b: Path) -> int:
    sys.path.insert(0, str(REPO))
    from gftheory import runstore
    drop = ("seconds", "score_seconds")
    ids = sorted(p.name for p in a.iterdir() if not p.name.startswith("."))
    assert ids == sorted(p.name for p in b.iterdir() if not p.name.startswith(".")), "different run ids"
    for i in ids:
        ma = [{k: v for k, v in r.items() if k not in drop} for r in runstore.read_metrics(a / i)]
        mb = [{k: v for k, v in r.items() if k not in drop} for r in runstore.read_metrics(b / i)]
        assert ma == mb, f"run {i}: metrics differ"
    return len(ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep the run stores and outputs here")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="sweep-timing-"))
    times = {"local": [], "ray": []}
    for rep in range(args.reps):
        for name, backend in (("local", ["--jobs", "2"]), ("ray", ["--backend", "ray", "--cpus-per-run", "1"])):
            root = out / f"{name}{rep}"
            wall, so, se = sweep(root, args.data_dir, backend)
            (out / f"{name}{rep}.stderr.txt").write_text(se)
            times[name].append(wall)
            print(f"rep {rep} {name:<5} {wall:7.1f} s", flush=True)
        n = same_results(out / f"local{rep}", out / f"ray{rep}")
        print(f"rep {rep}: {n} runs, same run ids and metrics under both backends", flush=True)
    loc, ray = sum(times["local"]) / args.reps, sum(times["ray"]) / args.reps
    print(f"mean wall: local --jobs 2 {loc:.1f} s, ray {ray:.1f} s, ratio ray/local {ray / loc:.2f}")
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
