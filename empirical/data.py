"""CIFAR-10 / CIFAR-100 from the official python-pickle files: load, verify, download, split.

Layout read (inside the data directory, from ``--data-dir`` or ``$GFTHEORY_DATA``):
``cifar-10-batches-py/data_batch_1..5`` (+ ``test_batch``), keys ``data`` (N, 3072) uint8 — the
R, G, B planes of a 32×32 image, row-major — and ``labels``; ``cifar-100-python/train``
(+ ``test``), keys ``data`` and ``fine_labels``. Only ``data`` and the label key are read: the
``filenames`` key may be absent (the offline copy in ``../shared/data`` lacks it).

Pickles are read with a restricted unpickler that accepts only numpy arrays, lists, dicts and
scalars, so a tampered file cannot run code. Every failure raises ``DataError`` naming the file
and the fix. Importing this module is light (torch only; no compilation).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gftheory.errors import UsageError

ENV_DATA_DIR = "GFTHEORY_DATA"
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3 * 32 * 32


class DataError(UsageError):
    """A data problem (missing / corrupt / malformed file, bad checksum); the message names the
    file and the fix."""


@dataclass(frozen=True)
class CifarSpec:
    name: str
    folder: str
    num_classes: int
    train_files: tuple[str, ...]
    test_file: str
    label_key: bytes
    url: str
    archive: str
    archive_md5: str
    # file name -> {md5: description}; either an official sum or a known filename-less copy
    known_md5: dict


CIFAR10 = CifarSpec(
    name="cifar10", folder="cifar-10-batches-py", num_classes=10,
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)), test_file="test_batch",
    label_key=b"labels",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    archive="cifar-10-python.tar.gz", archive_md5="c58f30108f718f92721af3b95e74349a",
    known_md5={
        "data_batch_1": {"c99cafc152244af753f735de768cd75f": "official",
                         "d46ec4c9ee3ee9e99e11d85c33cf907d": "shared copy without filenames"},
        "data_batch_2": {"d4bba439e000b95fd0a9bffe97cbabec": "official",
                         "b59052152463b1ca2854db63c8851ec4": "shared copy without filenames"},
        "data_batch_3": {"54ebc095f3ab1f0389bbae665268c751": "official",
                         "d898a7faaf1991199b2be2d48a89acc1": "shared copy without filenames"},
        "data_batch_4": {"634d18415352ddfa80567beed471001a": "official",
                         "05a96f02fd0ef7a2205a873680b2f6b1": "shared copy without filenames"},
        "data_batch_5": {"482c414d41f54cd18b22e5b47cb7c3cb": "official",
                         "a25fbf3484c0105d16d9217846fae6a7": "shared copy without filenames"},
        "test_batch": {"40351d587109b95175f43aff81a1287e": "official"},
        "batches.meta": {"5ff9c542aee3614f3951f8cda6e48888": "official"},
    })

CIFAR100 = CifarSpec(
    name="cifar100", folder="cifar-100-python", num_classes=100,
    train_files=("train",), test_file="test", label_key=b"fine_labels",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    archive="cifar-100-python.tar.gz", archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
    known_md5={
        "train": {"16019d7e3df5f24257cddd939b257f8d": "official"},
        "test": {"f0ef6b0ae62326f3e7ffe0b6f2f6d00f": "official"},
        "meta": {"7973b15100ade9c7d40fb424638fde48": "official"},
    })

DATASETS: dict[str, CifarSpec] = {"cifar10": CIFAR10, "cifar100": CIFAR100}


def spec_of(name: str) -> CifarSpec:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; fix: use one of {', '.join(DATASETS)}")
    return DATASETS[name]


def default_data_dir() -> Path:
    """``$GFTHEORY_DATA`` if set, else ``~/.cache/gftheory/data``."""
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gftheory" / "data"


def resolve_data_dir(data_dir=None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


@dataclass
class CifarData:
    """A CIFAR dataset in memory: images uint8 (N, 3, 32, 32), labels int64 (N,)."""
    name: str
    num_classes: int
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor | None
    test_labels: torch.Tensor | None
    source: str
    integrity: dict | None = None   # see data_integrity(); recorded in every run's config.json


# -- reading one pickle ------------------------------------------------------------------
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} (not a numpy array)")


def _fix_hint(spec: CifarSpec, data_dir: Path) -> str:
    return (f"fix: run `gftheory data download {spec.name} --data-dir {data_dir}` (needs internet), "
            f"or point --data-dir / ${ENV_DATA_DIR} at a directory holding {spec.folder}/; to try the "
            f"commands without internet: `gftheory data demo --out DIR` (synthetic, never evidence), then "
            f"--data-dir DIR")


def read_batch(path: Path, spec: CifarSpec, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 3, 32, 32), labels int64 (n,)) from one official pickle file."""
    path = Path(path)
    hint = _fix_hint(spec, data_dir if data_dir is not None else path.parent.parent)
    if not path.is_file():
        raise DataError(f"{path}: file not found; {hint}")
    try:
        with open(path, "rb") as f:
            obj = _SafeUnpickler(f, encoding="bytes").load()
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CIFAR pickle (truncated or corrupt: "
                        f"{type(exc).__name__}: {exc}); {hint}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a dict of arrays, found {type(obj).__name__}; {hint}")
    obj = {(k.encode() if isinstance(k, str) else k): v for k, v in obj.items()}
    for key in (b"data", spec.label_key):
        if key not in obj:
            present = ", ".join(sorted(k.decode("latin1") for k in obj if isinstance(k, bytes)))
            raise DataError(f"{path}: missing key {key.decode()!r} (keys present: {present}); "
                            f"is this a {spec.name} file? {hint}")
    data = obj[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != PIXELS:
        desc = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                else type(data).__name__)
        raise DataError(f"{path}: 'data' must be a uint8 array of shape (N, {PIXELS}), found {desc}; "
                        f"{hint}")
    try:
        labels = np.asarray(obj[spec.label_key])
    except Exception:  # noqa: BLE001 - any malformed label container
        labels = np.asarray([])
    if labels.ndim != 1 or labels.shape[0] != data.shape[0] or labels.dtype.kind not in "iu":
        raise DataError(f"{path}: {spec.label_key.decode()!r} must be {data.shape[0]} integers (one per "
                        f"image), found {labels.dtype} of shape {labels.shape}; {hint}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= spec.num_classes):
        raise DataError(f"{path}: labels out of range [0, {spec.num_classes}) (found "
                        f"{labels.min()}..{labels.max()}); is this a {spec.name} file? {hint}")
    return data.reshape(-1, *IMAGE_SHAPE), labels


def _dataset_folder(name: str, data_dir):
    """(spec, data directory, dataset folder), or DataError naming the missing folder and the fix."""
    spec = spec_of(name)
    data_dir = resolve_data_dir(data_dir)
    folder = data_dir / spec.folder
    if not folder.is_dir():
        raise DataError(f"{folder}: directory not found (no {spec.name} data in {data_dir}); "
                        f"{_fix_hint(spec, data_dir)}")
    return spec, data_dir, folder


def load_cifar(name: str, data_dir=None) -> CifarData:
    """Load the training set (required) and the test set (None when its file is absent)."""
    spec, data_dir, folder = _dataset_folder(name, data_dir)
    parts = [read_batch(folder / f, spec, data_dir) for f in spec.train_files]
    train_x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    train_y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    test_x = test_y = None
    read = list(spec.train_files)
    if (folder / spec.test_file).exists():
        test_x, test_y = read_batch(folder / spec.test_file, spec, data_dir)
        read.append(spec.test_file)
    source = f"{folder} ({', '.join(read)})" + ("" if test_x is not None else "; no test set")
    if is_demo_folder(folder):
        source = f"{DEMO_LABEL}: {source}"
    integrity = data_integrity(spec, folder, {
        "train": (list(spec.train_files), train_x, train_y),
        "test": None if test_x is None else ([spec.test_file], test_x, test_y)})
    return CifarData(
        name=spec.name, num_classes=spec.num_classes,
        train_images=torch.from_numpy(np.ascontiguousarray(train_x)),
        train_labels=torch.from_numpy(train_y),
        test_images=None if test_x is None else torch.from_numpy(np.ascontiguousarray(test_x)),
        test_labels=None if test_y is None else torch.from_numpy(test_y),
        source=source, integrity=integrity)


# -- what was actually loaded ------------------------------------------------------------
OFFICIAL_FILES = "official files"
OFFICIAL_ARRAYS = "official arrays, repackaged"
NOT_OFFICIAL = "NOT the official data"
SYNTHETIC_DEMO = "synthetic demo data"          # `gftheory data demo`: generated, never evidence

# sha256 of the arrays as loaded (array_digest: the uint8 images (N, 3, 32, 32) C-order, then the
# labels as little-endian int64), per dataset and split. How the CIFAR-10 training digest was
# obtained: array_digest of load_cifar("cifar10", "/work/shared/data").train_* — the offline copy
# whose 50,000 images, labels and order are verified exact against the official batches (its
# README: byte-identical prefixes, lossless sprite sheets, independent label list, published
# channel statistics to 8 decimals); only the `filenames` key is missing there. The official
# files' md5 sums (known_md5) give the same status without a stored array digest.
OFFICIAL_ARRAY_SHA256 = {
    ("cifar10", "train"): "973ef2abb5897efc795681a4d79a6f5f642fa2bcb1a828f7476017c89db53a57",
}


def array_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the loaded arrays: images uint8 in C order, then labels as little-endian int64."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return h.hexdigest()


def data_integrity(spec: CifarSpec, folder: Path, splits: dict) -> dict:
    """What was loaded, per split: the files' md5 sums, the arrays' sha256, and a status —
    "official files" (every file's md5 is the official one), "official arrays, repackaged" (the
    arrays' digest is a known digest of the official arrays, e.g. the filename-less offline copy),
    or "NOT the official data" (neither), or "synthetic demo data" (a folder written by
    ``make_demo``, marked by its DEMO_MARKER file). The overall status is the worst of the splits'."""
    out: dict = {"status": None, "splits": {}}
    rank = {OFFICIAL_FILES: 0, OFFICIAL_ARRAYS: 1, NOT_OFFICIAL: 2, SYNTHETIC_DEMO: 3}
    demo = is_demo_folder(folder)
    worst = OFFICIAL_FILES
    for split, entry in splits.items():
        if entry is None:
            continue
        files, x, y = entry
        md5s = {f: md5_of(folder / f) for f in files}
        digest = array_digest(x, y)
        if all(spec.known_md5.get(f, {}).get(m) == "official" for f, m in md5s.items()):
            status = OFFICIAL_FILES
        elif OFFICIAL_ARRAY_SHA256.get((spec.name, split)) == digest:
            status = OFFICIAL_ARRAYS
        else:
            status = NOT_OFFICIAL
        if demo:
            status = SYNTHETIC_DEMO
        out["splits"][split] = {"status": status, "images": int(len(y)), "arrays_sha256": digest,
                                "files_md5": md5s}
        worst = max(worst, status, key=rank.__getitem__)
    out["status"] = worst
    return out


def integrity_warning(integrity: dict | None) -> str | None:
    """A one-paragraph warning when the loaded data is not the official data, else None."""
    if integrity and integrity.get("status") == SYNTHETIC_DEMO:
        return (f"note: {DEMO_LABEL} — generated images with a planted class structure, not CIFAR; "
                f"a run on it only shows the commands work. It is never evidence about the paper: "
                f"its results say 'synthetic demo data' and the report sets them aside.")
    if not integrity or integrity.get("status") != NOT_OFFICIAL:
        return None
    bad = [s for s, e in integrity["splits"].items() if e["status"] == NOT_OFFICIAL]
    return (f"warning: the {'/'.join(bad)} data loaded is NOT the official data (neither the files' "
            f"md5 sums nor the arrays' sha256 match a known official copy); results from it are not "
            f"evidence about the paper's datasets. Fix: `gftheory data download --force` or "
            f"`gftheory data verify` to find the damaged file.")


# -- held-out split ---------------------------------------------------------------------
def holdout_split(labels, size: int = 5000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded, stratified split of the indices 0..N-1 into (train_idx, val_idx), both sorted.

    Class c gets round(size·n_c/N) validation samples (largest-remainder rounding so that the
    total is exactly ``size``); which ones is a seeded random permutation per class.
    """
    labels = torch.as_tensor(labels).to("cpu", torch.int64).reshape(-1)
    n = labels.numel()
    if not 0 <= size < n:
        raise DataError(f"holdout size {size} must be in [0, {n}) for a training set of {n} samples; "
                        f"fix: choose a smaller --holdout-size")
    classes, counts = torch.unique(labels, return_counts=True)
    exact = counts.double() * size / n
    quota = exact.floor().long()
    short = size - int(quota.sum())
    if short:
        order = torch.argsort(-(exact - quota.double()), stable=True)
        quota[order[:short]] += 1
    gen = torch.Generator().manual_seed(int(seed))
    val = []
    for c, q in zip(classes.tolist(), quota.tolist()):
        idx = torch.nonzero(labels == c).reshape(-1)
        val.append(idx[torch.randperm(idx.numel(), generator=gen)[:q]])
    val_idx = torch.sort(torch.cat(val)).values
    mask = torch.ones(n, dtype=torch.bool)
    mask[val_idx] = False
    return torch.nonzero(mask).reshape(-1), val_idx


# -- checksums and verification ----------------------------------------------------------
def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify(name: str, data_dir=None) -> dict:
    """Load every file, check shapes / label ranges / class balance, and return a report:
    {"files": [{"file", "md5", "known": description|None, "images", "class_counts"}],
     "train": {"images", "mean", "std"}, "test": {...}|None, "problems": [str]}.
    Load errors raise DataError; checksum and balance problems are listed in "problems"."""
    spec, data_dir, folder = _dataset_folder(name, data_dir)
    report = {"dataset": spec.name, "folder": str(folder), "files": [], "problems": []}
    arrays: dict[str, list] = {"train": [], "test": []}
    files = list(spec.train_files) + [spec.test_file] + [
        f for f in spec.known_md5 if f not in spec.train_files and f != spec.test_file]
    for f in files:
        path = folder / f
        is_data = f in spec.train_files or f == spec.test_file
        if not path.exists():
            if f in spec.train_files:
                read_batch(path, spec, data_dir)  # raises the "file not found" DataError
            continue
        digest = md5_of(path)
        known = spec.known_md5.get(f, {}).get(digest)
        entry = {"file": f, "md5": digest, "known": known}
        if is_data:
            x, y = read_batch(path, spec, data_dir)
            arrays["train" if f in spec.train_files else "test"].append((x, y))
            counts = np.bincount(y, minlength=spec.num_classes)
            entry.update(images=int(y.size), class_counts=counts.tolist())
        report["files"].append(entry)
        if known is None:
            report["problems"].append(
                f"{path}: md5 {digest} matches neither the official file nor a known copy; fix: "
                f"re-download with `gftheory data download {spec.name} --force --data-dir {data_dir}`")
    for split, parts in arrays.items():
        if not parts:
            report[split] = None
            continue
        x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
        y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
        counts = torch.bincount(y, minlength=spec.num_classes)
        if int(counts.min()) != int(counts.max()):
            report["problems"].append(
                f"{folder}: {split} classes are unbalanced (per-class counts {int(counts.min())}.."
                f"{int(counts.max())}); the official sets have equal counts; fix: re-download")
        mean, std = channel_stats(x)
        report[split] = {"images": int(x.shape[0]), "per_class": int(counts.max()),
                         "mean": mean, "std": std}
    return report


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std of uint8 images on the /255 scale, in float64
    from the exact 256-bin histogram of each channel."""
    x = images.transpose(0, 1).reshape(3, -1)
    levels = torch.arange(256, dtype=torch.float64)
    hist = torch.stack([torch.bincount(x[c], minlength=256) for c in range(3)]).double()
    n = hist[0].sum()
    mean = (hist * levels).sum(1) / n
    var = (hist * (levels - mean[:, None]) ** 2).sum(1) / n
    return (mean / 255).tolist(), (var.clamp_min(0).sqrt() / 255).tolist()


# -- download ----------------------------------------------------------------------------
def archive_url(name: str) -> str:
    """The archive URL; ``$GFTHEORY_CIFAR10_URL`` / ``$GFTHEORY_CIFAR100_URL`` override it."""
    spec = spec_of(name)
    return os.environ.get(f"GFTHEORY_{spec.name.upper()}_URL", spec.url)


def _safe_members(tar: tarfile.TarFile, spec: CifarSpec, archive: str) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        p = Path(m.name)
        if p.is_absolute() or ".." in p.parts or not (m.isfile() or m.isdir()):
            raise DataError(f"{archive}: unsafe archive member {m.name!r} (absolute path, '..', or "
                            f"a link); fix: use the official archive {spec.url}")
        if p.parts and p.parts[0] == spec.folder:
            members.append(m)
    if not any(Path(m.name).parts[:1] == (spec.folder,) and m.isfile() for m in members):
        raise DataError(f"{archive}: the archive holds no {spec.folder}/ folder; fix: use the "
                        f"official archive {spec.url}")
    return members


def download(name: str, data_dir=None, *, url: str | None = None, md5: str | None = None,
             force: bool = False, progress: bool = True) -> Path:
    """Fetch the official archive, check its md5, extract it atomically; return the folder.

    The archive is streamed to a temporary file inside ``data_dir``, checked, extracted into a
    temporary directory there, loaded and checked, and only then renamed into place — an
    interruption at any point leaves no partial ``cifar-*`` folder behind.
    """
    spec = spec_of(name)
    data_dir = resolve_data_dir(data_dir)
    url = url or archive_url(name)
    md5 = (md5 or spec.archive_md5).lower()
    target = data_dir / spec.folder
    if target.exists() and not force:
        try:
            load_cifar(name, data_dir)
        except DataError as exc:
            raise DataError(f"{target} exists but does not load: {exc}. To replace it: "
                            f"`gftheory data download {spec.name} --force --data-dir {data_dir}`") from None
        if progress:
            print(f"{target} already present and loads; nothing to do (--force re-downloads)",
                  file=sys.stderr)
        return target
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{data_dir}: cannot create the data directory ({exc}); fix: choose a "
                        f"writable --data-dir") from None
    work = Path(tempfile.mkdtemp(prefix=f".{spec.name}-download-", dir=data_dir))
    try:
        archive = work / spec.archive
        _fetch(url, archive, progress)
        digest = md5_of(archive)
        if digest != md5:
            raise DataError(f"{url}: md5 of the downloaded {spec.archive} is {digest}, expected {md5} "
                            f"(truncated or corrupt download); nothing was extracted; fix: retry "
                            f"`gftheory data download {spec.name}`")
        extract = work / "extract"
        extract.mkdir()
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = _safe_members(tar, spec, str(archive))
                kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(extract, members=members, **kwargs)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataError(f"{url}: cannot extract {spec.archive} ({exc}); fix: retry the "
                            f"download") from None
        load_cifar(name, extract)  # the extracted copy must load before it is put in place
        old = None
        if target.exists():
            old = work / "previous"
            os.replace(target, old)
        try:
            os.replace(extract / spec.folder, target)
        except OSError:
            if old is not None:
                os.replace(old, target)
            raise
        if progress:
            print(f"{spec.name}: extracted to {target}", file=sys.stderr)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fetch(url: str, dest: Path, progress: bool) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done, last = 0, -1
            while block := resp.read(1 << 20):
                out.write(block)
                done += len(block)
                if progress and total:
                    pct = 100 * done // total
                    if pct // 10 != last:
                        last = pct // 10
                        print(f"  downloading {dest.name}: {pct}% of {total / 1e6:.0f} MB",
                              file=sys.stderr)
    except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts are OSErrors
        raise DataError(f"{url}: download failed ({exc}); fix: check the network / URL, or copy "
                        f"the extracted folder into the data directory by hand") from None


# -- synthetic demo data -------------------------------------------------------------------
DEMO_MARKER = "SYNTHETIC_DEMO.json"     # in the dataset folder: everything loaded from it is synthetic
DEMO_LABEL = "synthetic demo data (gftheory data demo, not CIFAR)"
DEMO_TRAIN = 1000
DEMO_TEST = 500


def is_demo_folder(folder) -> bool:
    """True for a dataset folder written by ``make_demo`` (it holds DEMO_MARKER)."""
    return (Path(folder) / DEMO_MARKER).is_file()


def demo_images(n: int, seed: int, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``n`` CIFAR-shaped uint8 images (n, 3, 32, 32) with balanced labels and a planted class
    structure a small network learns in a few hundred steps: class c is a grating at angle
    c·180°/num_classes with its own colour tint, under strong pixel noise and random phase,
    contrast and brightness (so no single pixel gives the class away). Deterministic in
    (n, seed, num_classes); the class prototypes depend on num_classes only."""
    rng = np.random.default_rng(seed)
    proto = np.random.default_rng(12345 + num_classes)
    tints = proto.uniform(-1.0, 1.0, size=(num_classes, 3))
    angles = np.pi * np.arange(num_classes) / num_classes
    labels = np.arange(n) % num_classes
    rng.shuffle(labels)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    phase = rng.uniform(0, 2 * np.pi, size=n)[:, None, None]
    contrast = rng.uniform(30, 60, size=n)[:, None, None, None]
    brightness = rng.uniform(-20, 20, size=n)[:, None, None, None]
    a = angles[labels][:, None, None]
    wave = np.sin(2 * np.pi * (np.cos(a) * xx + np.sin(a) * yy) / 8.0 + phase)[:, None]
    img = 128 + brightness + contrast * wave + 25 * tints[labels][:, :, None, None] \
        + rng.normal(0, 35, size=(n, 3, 32, 32))
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out, labels.astype(np.int64)


def make_demo(out_dir, *, train: int = DEMO_TRAIN, test: int = DEMO_TEST, seed: int = 0,
              force: bool = False) -> Path:
    """Write a synthetic CIFAR-10-shaped dataset in the official pickle layout under
    ``out_dir/cifar-10-batches-py/`` (data_batch_1..5, test_batch, batches.meta) with DEMO_MARKER and a
    README, atomically; returns the folder. Deterministic: the same arguments give byte-identical
    files. Refuses (DataError) to replace an existing folder unless ``force``, and never writes
    into a folder that holds real CIFAR data."""
    spec = CIFAR10
    if train < len(spec.train_files) or test < 1:
        raise DataError(f"demo sizes train={train}, test={test}: give train ≥ {len(spec.train_files)} and test ≥ 1")
    out_dir = Path(out_dir).expanduser()
    folder = out_dir / spec.folder
    if folder.exists():
        if not is_demo_folder(folder):
            raise DataError(f"{folder} exists and is not a demo folder (real data?); fix: choose another --out")
        if not force:
            raise DataError(f"{folder} exists; fix: --force to write it again, or use it as it is "
                            f"(--data-dir {out_dir})")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo.", dir=out_dir))
    try:
        x_train, y_train = demo_images(train, seed)
        x_test, y_test = demo_images(test, seed + 1_000_003)
        parts = np.array_split(np.arange(train), len(spec.train_files))
        files = [(name, x_train[idx], y_train[idx]) for name, idx in zip(spec.train_files, parts)]
        files.append((spec.test_file, x_test, y_test))
        for name, x, y in files:
            obj = {b"batch_label": f"{DEMO_LABEL}: {name}".encode(), b"labels": [int(v) for v in y],
                   b"data": np.ascontiguousarray(x.reshape(len(x), -1))}
            with open(tmp / name, "wb") as f:
                pickle.dump(obj, f, protocol=4)
        with open(tmp / "batches.meta", "wb") as f:
            pickle.dump({b"label_names": [f"demo class {c}".encode() for c in range(spec.num_classes)],
                         b"num_cases_per_batch": len(parts[0]), b"num_vis": PIXELS}, f, protocol=4)
        import json
        (tmp / DEMO_MARKER).write_text(json.dumps({
            "what": DEMO_LABEL, "generator": "empirical.data.make_demo", "seed": seed,
            "train": train, "test": test, "classes": spec.num_classes,
            "structure": "class c: a grating at angle c*18 degrees with its own colour tint, pixel noise sd 35",
            "train_arrays_sha256": array_digest(x_train, y_train),
            "test_arrays_sha256": array_digest(x_test, y_test)}, indent=1) + "\n")
        (tmp / "README.txt").write_text(
            f"{DEMO_LABEL}\n\nGenerated by `gftheory data demo` (seed {seed}): {train} training and {test} test "
            f"images, 32x32 RGB, {spec.num_classes} classes with a planted structure. NOT CIFAR-10. Runs on it "
            f"show that the commands work; their results say 'synthetic demo data' and are never counted as "
            f"evidence. Real data: `gftheory data download cifar10`.\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        folder.chmod(0o755)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


__all__ = ["DataError", "CifarData", "CifarSpec", "DATASETS", "CIFAR10", "CIFAR100",
           "default_data_dir", "resolve_data_dir", "load_cifar", "read_batch", "holdout_split",
           "download", "archive_url", "verify", "md5_of", "channel_stats", "array_digest",
           "data_integrity", "integrity_warning", "OFFICIAL_ARRAY_SHA256", "make_demo", "demo_images",
           "is_demo_folder", "DEMO_LABEL", "DEMO_MARKER", "SYNTHETIC_DEMO"]
