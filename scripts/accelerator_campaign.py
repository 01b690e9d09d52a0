"""One prepared command for a lent GPU host (issue 16; the call sequence: docs/accelerator.md).

    python scripts/accelerator_campaign.py pack --data-dir DATA --dest .carry/cifar10   # here, once
    bash scripts/accelerator_campaign.sh --minutes 8.5 --parts .carry/cifar10           # on the host
    bash scripts/accelerator_campaign.sh --dry-run --out OUT --parts PARTS              # CPU, CI
    python scripts/accelerator_campaign.py collect OUT/evidence.tar.gz [--commit]        # here, after

``campaign`` does, in order, and stops itself before ``--minutes`` are up:
1. checks torch / CUDA (name, capability, bf16) → ``accelerator.json``;
2. assembles CIFAR-10 from the parts carried in (each part md5-checked, copied to a stash outside the
   working tree so that parts carried by successive calls add up while the machine stays warm; the
   whole payload md5-checked, the arrays' sha256 checked) and writes the official pickle layout;
3. ``gftheory bench`` on the device → ``bench.json`` (timed on random uint8 images when the data
   is not complete yet, since timings do not depend on pixels);
4. a throughput probe: k ResNet-56 training processes at once for k in ``--jobs-candidates``,
   aggregate steps/s each → the k with most steps per second (= most runs per hour);
5. runs the next missing cells in priority order (Figure 1's cell at full scale, then the event
   study, then the ``short`` grid), k at a time, until the deadline; then stops them (every run
   checkpoints after each record, so at most one record per run is lost) and
6. writes ≤ 8 files to ``--out``: accelerator.json (environment, data, probe, cell states, records
   per hour), bench.json, evidence.tar.gz (config.json / metrics.jsonl / events.jsonl /
   summary.json of every run started — no checkpoints), campaign.log, and resume.tar.partNN
   (whole folders of the unfinished runs, checkpoints included, ≤ 15 MiB each; carry them back
   with ``--resume`` to continue in a later call).

``--dry-run`` is the same sequence on the CPU at a tiny smoke scale (CI runs it): device cpu,
bf16 autocast on CPU, the same cell order, the same output layout; its stash and work folders are
a temporary folder removed at the end (unless --stash / --work name folders of the caller's).

``pack`` cuts the payload so that each carried folder — one part and the manifest, with their
file-system blocks — is ≤ ``--part-mib`` MiB (default 56: with the ≈ 1.3 MB working tree, one
call's carry stays under the 64 MiB a call may carry).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import lzma
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MANIFEST = "manifest.json"
PAYLOAD = "cifar10-train.xz"
FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 3}, {"id": lzma.FILTER_LZMA2, "preset": 6}]
EVIDENCE = ("config.json", "metrics.jsonl", "events.jsonl", "summary.json")
RESUME_PART_BYTES = 15 * 2 ** 20
BLOCK_SLACK = 3 * 4096          # a carried folder's blocks: each of its two files and itself round up to 4 KiB
MAX_OUT_FILES = 8
HOST_STASH = "/tmp/gftheory-stash"   # on the lent host: outside the working tree, kept while the machine is warm
HOST_WORK = "/tmp/gftheory-work"
DRY_RUN_CACHES = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")   # pointed into the dry run's scratch folder
# the dry run's shrunk smoke scale (as tests/empirical/test_cli_empirical.py's TINY)
TINY_RUN = dict(scale="smoke", max_train_samples=128, batch_size=32, holdout_size=64, importance_samples=40,
                probe_size=8, max_test_samples=64, lr_phases=((2, 0.1), (1, 0.01)))
TINY_EVENTS = dict(checkpoints=(1,), measures=("magnitude", "loss_preservation"), importance_samples=32,
                   probe_size=16, val_size=32, holdout_size=64, recovery_steps=2, recovery_eval=(2,),
                   batch_size=32, max_train_samples=128, later_rounds=(2,))
FIG1_MEASURES = ("magnitude", "loss_preservation_elementwise", "loss_preservation")
SHORT_ARCHS = ("resnet56", "vgg13", "mobilenet_v1")
SEEDS = (0, 1, 2)


class Problem(Exception):
    """Bad input: the message names the problem and the fix (exit 2)."""


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log(msg: str) -> None:
    print(f"[accelerator {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ data: pack
def split_payload(blob: bytes, base: dict, budget: int) -> tuple[list[dict], str]:
    """(parts, manifest text) for ``blob`` cut into parts such that every carried folder — one part,
    the manifest beside it, and the file-system blocks both occupy (``BLOCK_SLACK``) — stays within
    ``budget`` bytes. The manifest lists the parts (their md5 and size), so its length depends on
    the cut: shrink the part size by any excess until it fits (two or three passes)."""
    text = ""
    size = budget - BLOCK_SLACK - len(json.dumps(base, indent=1).encode())
    for _ in range(20):
        if size < 1:
            break
        parts = [{"name": f"{PAYLOAD}.part{k // size:02d}", "bytes": len(blob[k:k + size]),
                  "md5": hashlib.md5(blob[k:k + size]).hexdigest()} for k in range(0, len(blob), size)]
        text = json.dumps({**base, "parts": parts}, indent=1)
        over = carried_bytes(max(p["bytes"] for p in parts), len(text.encode())) - budget
        if over <= 0:
            return parts, text
        size -= over
    raise Problem(f"a part of ≤ {budget / 2 ** 20:g} MiB cannot hold the manifest ({len(text)} bytes) and any "
                  "payload; fix: give a larger --part-mib")


def carried_bytes(part_bytes: int, manifest_bytes: int) -> int:
    """What one carried folder (a part and the manifest) occupies at most: both files' bytes plus
    ``BLOCK_SLACK`` for the blocks they and the folder round up to (so `du` agrees too)."""
    return part_bytes + manifest_bytes + BLOCK_SLACK


def pack(data_dir, dest: Path, part_mib: float) -> dict:
    """The CIFAR-10 training set as xz (delta filter over HWC pixels, then LZMA2) split into parts
    such that a part with the manifest beside it — a carried folder — is ≤ ``part_mib`` MiB
    (``split_payload``), with a manifest (md5 of every part and of the whole, the arrays' sha256)."""
    import numpy as np
    from empirical.data import array_digest, load_cifar, resolve_data_dir
    d = load_cifar("cifar10", data_dir)
    images = d.train_images.numpy().astype(np.uint8)
    labels = d.train_labels.numpy().astype(np.int64)
    blob = lzma.compress(np.ascontiguousarray(images.transpose(0, 2, 3, 1)).tobytes(),
                         format=lzma.FORMAT_XZ, filters=FILTERS)
    meta = Path(resolve_data_dir(data_dir)) / "cifar-10-batches-py" / "batches.meta"
    base = {"format": "xz of uint8 (N, 32, 32, 3), delta filter dist 3", "n": int(images.shape[0]),
            "labels_uint8_b64": base64.b64encode(labels.astype(np.uint8).tobytes()).decode(),
            "arrays_sha256": array_digest(images, labels), "payload_md5": hashlib.md5(blob).hexdigest(),
            "payload_bytes": len(blob), "raw_bytes": int(images.nbytes),
            "batches_meta_b64": base64.b64encode(meta.read_bytes()).decode() if meta.exists() else None}
    parts, text = split_payload(blob, base, int(part_mib * 2 ** 20))
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob(PAYLOAD + ".part*"):
        old.unlink()
    size = max(p["bytes"] for p in parts)
    for k, p in enumerate(parts):
        (dest / p["name"]).write_bytes(blob[k * size:(k + 1) * size])
    (dest / MANIFEST).write_text(text)
    return json.loads(text)


# ------------------------------------------------------------------------------ data: assemble
def assemble(part_dirs: list[Path], stash: Path, data_dir: Path) -> dict:
    """Copy every md5-correct part found in ``part_dirs`` to ``stash``; once all parts are there,
    check the whole, decompress, check the arrays' sha256 and write cifar-10-batches-py/ under
    ``data_dir``. Returns {"complete": bool, "have": [...], "missing": [...], ...}."""
    import numpy as np
    from empirical.data import array_digest
    folder = data_dir / "cifar-10-batches-py"
    stash.mkdir(parents=True, exist_ok=True)
    manifests = [p / MANIFEST for p in part_dirs if (p / MANIFEST).exists()] + [stash / MANIFEST]
    manifests = [m for m in manifests if m.exists()]
    if not manifests:
        raise Problem(f"no {MANIFEST} in {', '.join(map(str, part_dirs)) or '(no --parts)'} nor in the stash "
                      f"{stash}; fix: run `python scripts/accelerator_campaign.py pack` here and carry the "
                      "folder it writes (docs/accelerator.md)")
    manifest = json.loads(manifests[0].read_text())
    if manifests[0].parent != stash:
        shutil.copy2(manifests[0], stash / MANIFEST)
    done = folder / ".arrays_sha256"
    if done.exists() and done.read_text().strip() == manifest["arrays_sha256"]:
        return {"complete": True, "have": [p["name"] for p in manifest["parts"]], "missing": [],
                "arrays_sha256": manifest["arrays_sha256"], "assembled": "earlier"}
    for part in manifest["parts"]:
        target = stash / part["name"]
        if target.exists() and md5(target) == part["md5"]:
            continue
        for d in part_dirs:
            src = d / part["name"]
            if src.exists():
                if md5(src) != part["md5"]:
                    raise Problem(f"{src}: md5 {md5(src)} is not the manifest's {part['md5']}; fix: pack "
                                  "again here and carry the new parts (a part was damaged or is from another pack)")
                shutil.copy2(src, target)
                break
    have = [p["name"] for p in manifest["parts"] if (stash / p["name"]).exists()]
    missing = [p["name"] for p in manifest["parts"] if p["name"] not in have]
    state = {"complete": False, "have": have, "missing": missing, "arrays_sha256": manifest["arrays_sha256"]}
    if missing:
        return state
    blob = b"".join((stash / p["name"]).read_bytes() for p in manifest["parts"])
    if hashlib.md5(blob).hexdigest() != manifest["payload_md5"]:
        raise Problem("the assembled payload's md5 differs from the manifest's; fix: pack again and carry "
                      "every part of one pack")
    n = manifest["n"]
    images = np.frombuffer(lzma.decompress(blob), dtype=np.uint8).reshape(n, 32, 32, 3).transpose(0, 3, 1, 2)
    images = np.ascontiguousarray(images)
    labels = np.frombuffer(base64.b64decode(manifest["labels_uint8_b64"]), dtype=np.uint8).astype(np.int64)
    digest = array_digest(images, labels)
    if digest != manifest["arrays_sha256"]:
        raise Problem(f"decoded arrays' sha256 {digest} is not the manifest's; fix: pack again")
    tmp = data_dir / ".cifar-10-batches-py.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    per = n // 5
    for i in range(5):
        lo, hi = i * per, (n if i == 4 else (i + 1) * per)
        with open(tmp / f"data_batch_{i + 1}", "wb") as f:
            pickle.dump({b"batch_label": b"training batch %d of 5" % (i + 1), b"labels": labels[lo:hi].tolist(),
                         b"data": images[lo:hi].reshape(hi - lo, 3072)}, f, protocol=2)
    if manifest.get("batches_meta_b64"):
        (tmp / "batches.meta").write_bytes(base64.b64decode(manifest["batches_meta_b64"]))
    (tmp / ".arrays_sha256").write_text(digest)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    state.update(complete=True, assembled="now")
    return state


# ------------------------------------------------------------------------------ cells
def cells(dry_run: bool, precision: str | None = None) -> list[dict]:
    """Priority order: Figure 1 (ResNet-56, CIFAR-10, magnitude vs loss_preservation_elementwise and
    loss_preservation) at full scale, the event study at full scale, then the short grid (a config
    that appears twice runs once). ``precision`` overrides the runs' (default: the config's auto)."""
    from empirical.config import RunConfig
    from empirical.events import EventConfig
    from scripts.campaign import CPU_PAIRS
    run_over = dict(TINY_RUN) if dry_run else {}

    def run_cfg(scale, **kw):
        if precision is not None:
            kw["precision"] = precision
        if dry_run:   # tiny smoke; the short grid keeps smoke's third phase so its configs stay distinct
            over = {k: v for k, v in run_over.items() if k != "scale"}
            if scale == "short":
                over.pop("lr_phases")
            return RunConfig.preset("smoke", **{**over, **kw})
        return RunConfig.preset(scale, **kw)

    out = []
    for seed in SEEDS:
        for m in FIG1_MEASURES:
            out.append({"cell": "fig1-full", "kind": "run",
                        "config": run_cfg("full", arch="resnet56", dataset="cifar10", measure=m, seed=seed)})
    for seed in SEEDS:
        out.append({"cell": "events-full", "kind": "events",
                    "config": EventConfig(arch="resnet56", dataset="cifar10", seed=seed,
                                          **(TINY_EVENTS if dry_run else {}))})
    for arch in SHORT_ARCHS:
        for pair in CPU_PAIRS:
            for seed in SEEDS:
                for m in pair:
                    extra = {"target": 0.0} if m == "none" else {}
                    out.append({"cell": "short", "kind": "run",
                                "config": run_cfg("short", arch=arch, dataset="cifar10", measure=m, seed=seed,
                                                  **extra)})
    seen, unique = set(), []
    for c in out:
        key = json.dumps(c["config"].canonical(), sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def command(cell: dict, root: Path, device: str, data_dir: Path) -> list[str]:
    from empirical.sweep import config_to_argv
    cfg = cell["config"]
    if cell["kind"] == "run":
        argv = config_to_argv(cfg)
        return [sys.executable, "-m", "gftheory", "run", *argv, "--root", str(root), "--device", device,
                "--data-dir", str(data_dir)]
    import dataclasses
    argv = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(v, bool):
            argv.append(flag if v else "--no-" + f.name.replace("_", "-"))
        elif isinstance(v, tuple):
            argv += [flag, ",".join(map(str, v))]
        elif v is not None:
            argv += [flag, str(v)]
    return [sys.executable, "-m", "gftheory", "events", *argv, "--root", str(root), "--device", device,
            "--data-dir", str(data_dir), "--quiet"]


def cell_id(cell: dict, device: str) -> str:
    if cell["kind"] == "run":
        from empirical.runner import effective_config
        return effective_config(cell["config"], device).run_id()
    return cell["config"].run_id()


def records_of(run_dir: Path) -> int:
    for name in ("metrics.jsonl", "events.jsonl"):
        p = run_dir / name
        if p.exists():
            return sum(1 for line in p.read_text().splitlines() if line.strip())
    return 0


# ------------------------------------------------------------------------------ scheduling
def run_until(commands: list[tuple[str, list[str]]], jobs: int, deadline: float, env: dict, logf) -> dict:
    """Run ``commands`` ([(id, argv)]) ``jobs`` at a time; at ``deadline`` (time.monotonic) stop the
    ones still running (SIGTERM, then SIGKILL after 5 s). Returns {id: "exit N" | "stopped at deadline"
    | "not started"}."""
    state = {cid: "not started" for cid, _ in commands}
    queue, running = list(commands), {}
    while (queue or running) and time.monotonic() < deadline:
        while queue and len(running) < jobs:
            cid, argv = queue.pop(0)
            running[cid] = subprocess.Popen(argv, stdout=logf, stderr=logf, env=env, cwd=REPO,
                                            start_new_session=True)
            state[cid] = "running"
        for cid, p in list(running.items()):
            if p.poll() is not None:
                state[cid] = f"exit {p.returncode}"
                del running[cid]
        time.sleep(0.2)
    for cid, p in running.items():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for cid, p in running.items():
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        if state[cid] == "running":
            state[cid] = "stopped at deadline" if p.returncode < 0 or p.returncode == 143 else f"exit {p.returncode}"
    return state


# ------------------------------------------------------------------------------ throughput probe
def probe_worker(args) -> int:
    """One process of the probe: ResNet-56 training steps through the real pipeline (uint8 on the
    device, GPU augmentation, channels_last, bf16 autocast as the runs) for ``--seconds``; prints
    {"steps": n, "seconds": s} (after a 3-step warm-up)."""
    import torch
    from empirical.models import build
    from empirical.pipeline import DeviceLoader
    from empirical.train import effective_precision, make_optimizer, train_steps
    dev = torch.device(args.device)
    n = args.images
    g = torch.Generator().manual_seed(0)
    loader = DeviceLoader(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                          torch.arange(n) % 10, batch_size=args.batch_size, train=True, device=dev,
                          channels_last=True, drop_last=True)
    model = build("resnet56", 10).to(dev).to(memory_format=torch.channels_last)
    opt = make_optimizer(model, 0.1, 0.9, 1e-4)
    prec = effective_precision(args.precision, dev)

    def batches():
        while True:
            yield from loader

    it = batches()
    train_steps(model, it, opt, temperature=5.0, precision=prec, device=dev, steps=3)
    if dev.type == "cuda":   # CUDA only: wait for queued kernels before reading the clock
        torch.cuda.synchronize(dev)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < args.seconds:
        steps += train_steps(model, it, opt, temperature=5.0, precision=prec, device=dev, steps=5).steps
    if dev.type == "cuda":   # CUDA only: as above
        torch.cuda.synchronize(dev)
    print(json.dumps({"steps": steps, "seconds": time.perf_counter() - t0}), flush=True)
    return 0


def throughput_probe(candidates: list[int], device: str, seconds: float, precision: str, batch_size: int,
                     images: int, env: dict, deadline: float | None = None) -> dict:
    rows = []
    for k in candidates:
        if rows and deadline is not None and time.monotonic() + 2 * seconds + 30 > deadline:
            rows.append({"jobs": k, "error": ["skipped: too close to the deadline"]})
            break
        argv = [sys.executable, str(Path(__file__).resolve()), "probe-worker", "--device", device, "--seconds",
                str(seconds), "--precision", precision, "--batch-size", str(batch_size), "--images", str(images)]
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO, text=True)
                 for _ in range(k)]
        outs = [p.communicate(timeout=seconds * 4 + 300) for p in procs]
        if any(p.returncode for p in procs):
            err = next(e for (o, e), p in zip(outs, procs) if p.returncode)
            rows.append({"jobs": k, "error": err.strip().splitlines()[-1:] or ["?"]})
            break
        res = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
        rate = sum(r["steps"] / r["seconds"] for r in res)
        rows.append({"jobs": k, "steps_per_s": rate, "per_job_steps_per_s": [r["steps"] / r["seconds"] for r in res]})
        log(f"probe: {k} at once → {rate:.1f} steps/s in all")
    ok = [r for r in rows if "steps_per_s" in r]
    best = max(ok, key=lambda r: r["steps_per_s"])["jobs"] if ok else 1
    full_steps = 160 * (45_000 // 128 + 1)   # one full-scale run's SGD steps (scoring and probes not counted)
    for r in ok:
        r["full_runs_per_hour_steps_only"] = r["steps_per_s"] * 3600 / full_steps
    return {"rows": rows, "best_jobs": best, "seconds_each": seconds, "batch_size": batch_size,
            "note": "runs per hour from training steps alone (a full run = 160 epochs of 352 steps); "
                    "scoring, probes and evaluation add to it: accelerator.json's cells give records/hour seen"}


# ------------------------------------------------------------------------------ output
def bundle(root: Path, ids: list[str], out: Path, resume_files: int) -> dict:
    """evidence.tar.gz (every started run's evidence files, no checkpoints) and resume.tar.partNN
    (whole folders of unfinished runs) under ``out``; returns what was written and left out."""
    written, left = [], []
    started = [root / i for i in ids if (root / i).is_dir()]
    with tarfile.open(out / "evidence.tar.gz", "w:gz") as tar:
        for d in started:
            for name in EVIDENCE:
                if (d / name).exists():
                    tar.add(d / name, arcname=f"{d.name}/{name}")
    written.append("evidence.tar.gz")
    unfinished = [d for d in started if not (d / "summary.json").exists()]
    if unfinished and resume_files > 0:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for d in unfinished:
                tar.add(d, arcname=d.name)
        blob = buf.getvalue()
        chunks = [blob[k:k + RESUME_PART_BYTES] for k in range(0, len(blob), RESUME_PART_BYTES)]
        if len(chunks) > resume_files:
            left.append(f"resume bundle ({len(blob)} bytes) needs {len(chunks)} files, {resume_files} allowed")
        else:
            for k, c in enumerate(chunks):
                (out / f"resume.tar.part{k:02d}").write_bytes(c)
                written.append(f"resume.tar.part{k:02d}")
    return {"written": written, "left_out": left}


def restore_resume(resume_dir: Path | None, root: Path) -> list[str]:
    if resume_dir is None:
        return []
    parts = sorted(resume_dir.glob("resume.tar.part*"))
    if not parts:
        return []
    blob = b"".join(p.read_bytes() for p in parts)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
        names = sorted({m.name.split("/")[0] for m in tar.getmembers()})
        tar.extractall(root, filter="data")
    return names


# ------------------------------------------------------------------------------ the campaign
def campaign(args) -> int:
    t_start = time.monotonic()
    deadline = t_start + args.minutes * 60 - args.margin
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise Problem(f"--out {out} is not empty; fix: give an empty folder (on the host: $OUT)")
    import torch
    device = "cpu" if args.dry_run else args.device
    if not args.dry_run and not torch.cuda.is_available():
        raise Problem("CUDA is not available to torch on this host; fix: run on the lent GPU host, or "
                      "give --dry-run to rehearse on the CPU")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if args.dry_run:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    info = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "dry_run": args.dry_run, "device": device,
            "minutes": args.minutes, "torch": torch.__version__, "python": sys.version.split()[0],
            "stash": str(args.stash), "work": str(args.work)}
    if device.startswith("cuda"):   # CUDA only: the GPU's name, capability, memory, bf16 support
        p = torch.cuda.get_device_properties(0)
        info.update(gpu=p.name, capability=f"{p.major}.{p.minor}", gpu_memory_gib=p.total_memory / 2 ** 30,
                    bf16=torch.cuda.is_bf16_supported(), cuda=torch.version.cuda)
    log(f"torch {torch.__version__} on {info.get('gpu', 'cpu')}")
    report = out / "accelerator.json"

    def save():
        info["elapsed_s"] = time.monotonic() - t_start
        report.write_text(json.dumps(info, indent=1, default=str))

    save()
    logf = open(out / "campaign.log", "ab")
    work = Path(args.work)
    data_dir, root = work / "data", work / "runs"
    root.mkdir(parents=True, exist_ok=True)
    info["data"] = assemble([Path(p) for p in args.parts], Path(args.stash), data_dir)
    log(f"data: {'complete' if info['data']['complete'] else 'missing ' + ', '.join(info['data']['missing'])}")
    save()
    info["resumed"] = restore_resume(Path(args.resume) if args.resume else None, root)
    # bench
    if args.bench and time.monotonic() < deadline:
        bench = [sys.executable, "-m", "gftheory", "bench", "--device", device, "--json", str(out / "bench.json"),
                 *args.bench_args.split()]
        bench += ["--data-dir", str(data_dir)] if info["data"]["complete"] else ["--synthetic"]
        try:
            r = subprocess.run(bench, stdout=logf, stderr=logf, env=env, cwd=REPO,
                               timeout=max(1.0, min(args.bench_timeout, deadline - time.monotonic())))
            info["bench"] = {"argv": bench[2:], "exit": r.returncode}
        except subprocess.TimeoutExpired:
            info["bench"] = {"argv": bench[2:], "exit": "timed out"}
        save()
    # throughput probe → jobs
    if args.jobs == "auto":
        cands = [int(x) for x in args.jobs_candidates.split(",")]
        info["probe"] = throughput_probe(cands, device, args.probe_seconds, args.precision or "auto",
                                         args.probe_batch_size, args.probe_images, env, deadline)
        jobs = info["probe"]["best_jobs"]
    else:
        jobs = int(args.jobs)
    info["jobs"] = jobs
    save()
    # cells
    plan = cells(args.dry_run, args.precision)
    if args.max_cells is not None:
        plan = plan[:args.max_cells]
    if not info["data"]["complete"]:
        info["cells"] = []
        info["stopped"] = ("data incomplete: carry " + ", ".join(info["data"]["missing"]) +
                           " in the next call (docs/accelerator.md)")
        log(info["stopped"])
    else:
        ids = [cell_id(c, device) for c in plan]
        before = {i: records_of(root / i) for i in ids}
        todo = [(i, command(c, root, device, data_dir)) for i, c in zip(ids, plan)
                if not (root / i / "summary.json").exists()]
        t0 = time.monotonic()
        state = run_until(todo, jobs, deadline, env, logf)
        hours = (time.monotonic() - t0) / 3600
        info["cells"] = []
        for i, c in zip(ids, plan):
            d = root / i
            done = (d / "summary.json").exists()
            rec = records_of(d)
            info["cells"].append({"cell": c["cell"], "id": i, "kind": c["kind"],
                                  "label": f"{c['config'].arch} {getattr(c['config'], 'measure', 'events')} "
                                           f"seed {c['config'].seed}",
                                  "state": "complete" if done else state.get(i, "not started"),
                                  "records_before": before[i], "records_now": rec,
                                  "records_per_hour": ((rec - before[i]) / hours if hours > 0 and rec > before[i]
                                                       else None)})
        finished = sum(1 for c in info["cells"] if c["state"] == "complete")
        new_records = sum(c["records_now"] - c["records_before"] for c in info["cells"])
        info["summary"] = {"complete": finished, "started": sum(1 for c in info["cells"] if c["records_now"]),
                           "campaign_hours": hours, "jobs": jobs,
                           "runs_completed_per_hour": finished / hours if hours > 0 else None,
                           "records_per_hour": new_records / hours if hours > 0 else None,
                           "note": "records_per_hour of a cell is over the whole campaign's wall time"}
        save()
        info["bundle"] = bundle(root, [c["id"] for c in info["cells"] if c["records_now"] or
                                       (root / c["id"]).is_dir()], out,
                                MAX_OUT_FILES - len([p for p in out.iterdir()]) - 1)
    logf.close()
    save()
    log(f"done in {time.monotonic() - t_start:.0f} s; wrote {sorted(p.name for p in out.iterdir())}")
    return 0


# ------------------------------------------------------------------------------ collect (here)
def collect_bundle(tarball: Path, dest: Path, commit: bool) -> list[Path]:
    """Unpack evidence.tar.gz into a scratch root and collect its completed runs into ``dest`` with
    scripts/campaign.py's collector (results/<scale>/<id>, results/events/<id>)."""
    import tempfile
    from scripts.campaign import collect
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        return collect(Path(tmp), dest, commit)


def dry_run_scratch(args, run) -> int:
    """Run the dry run with its stash and work folders in a fresh temporary folder, removed at the
    end whatever happens (the assembled data, the stashed parts and the runs' checkpoints are
    hundreds of MB); a --stash or --work given on the command line is the caller's and is kept
    (a two-call rehearsal needs one stash for both calls)."""
    import tempfile
    scratch = Path(tempfile.mkdtemp(prefix="gftheory-dry-run-"))
    caches = {k: str(scratch / k.lower()) for k in DRY_RUN_CACHES if k not in os.environ}
    os.environ.update(caches)         # torch.compile's caches too (else TMPDIR/torchinductor_<user>)
    try:
        if args.stash is None:
            args.stash = str(scratch / "stash")
        if args.work is None:
            args.work = str(scratch / "work")
        return run(args)
    finally:
        for k in caches:
            os.environ.pop(k, None)
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("pack", help="here: the CIFAR-10 training set as md5-summed xz parts to carry")
    k.add_argument("--data-dir", default=None)
    k.add_argument("--dest", type=Path, default=REPO / ".carry" / "cifar10")
    k.add_argument("--part-mib", type=float, default=56.0)
    c = sub.add_parser("campaign", help="on the host (or --dry-run on the CPU)")
    c.add_argument("--dry-run", action="store_true", help="CPU, tiny smoke scale, the same sequence and outputs")
    c.add_argument("--minutes", type=float, default=9.0, help="wall-clock budget of this call, bundling included")
    c.add_argument("--margin", type=float, default=None, help="seconds kept for stopping and bundling "
                                                               "(default 45, 5 with --dry-run)")
    c.add_argument("--out", default=os.environ.get("OUT"), help="output folder (default $OUT)")
    c.add_argument("--parts", nargs="*", default=[], help="folders holding the carried data parts")
    c.add_argument("--stash", default=None, help="parts collected across calls, outside the tree (default "
                   f"{HOST_STASH}; --dry-run: a temporary folder removed at the end)")
    c.add_argument("--work", default=None, help=f"assembled data and the run root (default {HOST_WORK}; "
                   "--dry-run: a temporary folder removed at the end)")
    c.add_argument("--resume", default=None, help="folder with resume.tar.partNN from an earlier call")
    c.add_argument("--device", default="cuda")
    c.add_argument("--precision", default=None, help="override the runs' precision (default: the config's auto)")
    c.add_argument("--jobs", default="auto", help="runs at once, or auto = the throughput probe's best")
    c.add_argument("--jobs-candidates", default=None, help="default 1,2,4,6 (dry run 1,2)")
    c.add_argument("--probe-seconds", type=float, default=None, help="default 15 (dry run 1)")
    c.add_argument("--probe-batch-size", type=int, default=None, help="default 128 (dry run 8)")
    c.add_argument("--probe-images", type=int, default=None, help="default 50000 (dry run 64)")
    c.add_argument("--max-cells", type=int, default=None, help="only the first N cells of the priority order")
    c.add_argument("--bench", action=argparse.BooleanOptionalAction, default=True)
    c.add_argument("--bench-args", default=None)
    c.add_argument("--bench-timeout", type=float, default=150.0)
    w = sub.add_parser("probe-worker")
    w.add_argument("--device", default="cuda")
    w.add_argument("--seconds", type=float, default=15.0)
    w.add_argument("--precision", default="auto")
    w.add_argument("--batch-size", type=int, default=128)
    w.add_argument("--images", type=int, default=50000)
    o = sub.add_parser("collect", help="here: completed runs of evidence.tar.gz into results/")
    o.add_argument("tarball", type=Path)
    o.add_argument("--dest", type=Path, default=REPO / "results")
    o.add_argument("--commit", action="store_true")
    args = p.parse_args(argv)
    try:
        if args.cmd == "pack":
            m = pack(args.data_dir, args.dest, args.part_mib)
            print(json.dumps({k: m[k] for k in ("n", "raw_bytes", "payload_bytes", "parts", "arrays_sha256")}, indent=1))
            return 0
        if args.cmd == "probe-worker":
            return probe_worker(args)
        if args.cmd == "collect":
            if not args.tarball.exists():
                raise Problem(f"{args.tarball} does not exist; fix: give the evidence.tar.gz a call brought back")
            for q in collect_bundle(args.tarball, args.dest.resolve(), args.commit):
                print(q)
            return 0
        dry = args.dry_run
        if not dry:
            args.stash = args.stash or HOST_STASH
            args.work = args.work or HOST_WORK
        defaults = dict(margin=5.0 if dry else 45.0, jobs_candidates="1,2" if dry else "1,2,4,6",
                        probe_seconds=1.0 if dry else 15.0, probe_batch_size=8 if dry else 128,
                        probe_images=64 if dry else 50000,
                        bench_args=("--archs resnet56 --max-batches 1 --warmup 0 --repeats 1 --batch-size 4 "
                                    "--measures magnitude --score-batch-size 4 --workers 0 --compile none"
                                    if dry else
                                    "--archs resnet56 --max-batches 50 --warmup 10 --repeats 2 --workers 4 "
                                    "--measures magnitude,loss_preservation_elementwise,loss_preservation "
                                    "--compile none"))
        for name, v in defaults.items():
            if getattr(args, name) is None:
                setattr(args, name, v)
        if dry and args.precision is None:
            args.precision = "bf16"   # the dry run exercises bf16 autocast, on the CPU
        if not args.out:
            raise Problem("no output folder; fix: give --out DIR (on the host $OUT is used)")
        if args.minutes <= 0 or args.margin < 0:
            raise Problem(f"--minutes {args.minutes} / --margin {args.margin}: need minutes > 0 and margin ≥ 0")
        if args.jobs != "auto" and (not args.jobs.isdigit() or int(args.jobs) < 1):
            raise Problem(f"--jobs {args.jobs!r} is not a positive integer; fix: --jobs 2, or --jobs auto")
        return dry_run_scratch(args, campaign) if dry else campaign(args)
    except Problem as exc:
        print(f"accelerator_campaign: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
