"""empirical.data: CIFAR pickles written by the tests in the official layout (with and without
``filenames``), every failure mode, the stratified split, the md5-checked atomic download from a
local file:// archive, and the real CIFAR-10 training set when it is on disk."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from empirical import data as D
from empirical.data import DataError

REPO = Path(__file__).resolve().parents[2]


# -- writing tiny datasets in the official layout ----------------------------------------
def _batch(n, labels, label_key, rng, filenames=True, extra=None):
    d = {b"batch_label": b"synthetic batch", label_key: list(map(int, labels)),
         b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)}
    if filenames:
        d[b"filenames"] = [f"img_{i}.png".encode() for i in range(n)]
    d.update(extra or {})
    return d


def _dump(obj, path: Path):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar(root: Path, name: str, *, per_class=2, filenames=True, test=True, seed=0) -> dict:
    """Write a tiny dataset; return {file: (data, labels)} as written."""
    rng = np.random.default_rng(seed)
    spec = D.DATASETS[name]
    folder = root / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    labels = np.repeat(np.arange(spec.num_classes), per_class)
    rng.shuffle(labels)
    chunks = np.array_split(labels, len(spec.train_files))
    for f, lab in zip(spec.train_files, chunks):
        b = _batch(len(lab), lab, spec.label_key, rng, filenames,
                   {b"coarse_labels": [0] * len(lab)} if name == "cifar100" else None)
        _dump(b, folder / f)
        written[f] = (b[b"data"], np.asarray(lab))
    if test:
        lab = np.repeat(np.arange(spec.num_classes), 1)
        b = _batch(len(lab), lab, spec.label_key, rng, filenames)
        _dump(b, folder / spec.test_file)
        written[spec.test_file] = (b[b"data"], lab)
    return written


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("filenames", [True, False])
def test_load_official_layout(tmp_path, name, filenames):
    written = write_cifar(tmp_path, name, filenames=filenames)
    d = D.load_cifar(name, tmp_path)
    spec = D.DATASETS[name]
    x_exp = np.concatenate([written[f][0] for f in spec.train_files])
    y_exp = np.concatenate([written[f][1] for f in spec.train_files])
    assert d.train_images.dtype == torch.uint8 and d.train_images.shape == (len(y_exp), 3, 32, 32)
    assert d.train_labels.dtype == torch.int64 and torch.equal(d.train_labels, torch.from_numpy(y_exp))
    # row layout: R plane, G plane, B plane, each 32x32 row-major
    i, c, r, col = 3, 2, 17, 5
    assert int(d.train_images[i, c, r, col]) == int(x_exp[i, c * 1024 + r * 32 + col])
    assert torch.equal(d.train_images.reshape(-1, 3072), torch.from_numpy(x_exp))
    assert d.test_images is not None and d.test_images.shape == (spec.num_classes, 3, 32, 32)
    assert torch.equal(d.test_labels, torch.from_numpy(written[spec.test_file][1]).long())
    assert d.num_classes == spec.num_classes and spec.folder in d.source


def test_missing_test_file_gives_none(tmp_path):
    write_cifar(tmp_path, "cifar10", test=False)
    d = D.load_cifar("cifar10", tmp_path)
    assert d.test_images is None and d.test_labels is None and "no test set" in d.source


def test_default_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GFTHEORY_DATA", str(tmp_path))
    assert D.default_data_dir() == tmp_path
    write_cifar(tmp_path, "cifar10", test=False)
    assert D.load_cifar("cifar10").train_images.shape[0] == 20
    monkeypatch.delenv("GFTHEORY_DATA")
    assert D.default_data_dir() == Path.home() / ".cache" / "gftheory" / "data"


# -- failure modes -------------------------------------------------------------------------
def _corrupt(kind: str, folder: Path, spec):
    f = folder / spec.train_files[0]
    raw = f.read_bytes()
    rng = np.random.default_rng(1)
    if kind == "missing_file":
        f.unlink()
    elif kind == "truncated":
        f.write_bytes(raw[: len(raw) // 2])
    elif kind == "garbage":
        f.write_bytes(b"this is not a pickle at all" * 10)
    elif kind == "empty":
        f.write_bytes(b"")
    elif kind == "wrong_shape":
        _dump({b"data": np.zeros((4, 3071), np.uint8), spec.label_key: [0] * 4}, f)
    elif kind == "wrong_dtype":
        _dump({b"data": np.zeros((4, 3072), np.float32), spec.label_key: [0] * 4}, f)
    elif kind == "label_range":
        _dump(_batch(4, [0, 1, 2, spec.num_classes], spec.label_key, rng), f)
    elif kind == "negative_label":
        _dump(_batch(4, [0, 1, 2, -1], spec.label_key, rng), f)
    elif kind == "label_count":
        _dump(_batch(4, [0, 1, 2], spec.label_key, rng), f)
    elif kind == "missing_labels":
        _dump({b"data": np.zeros((4, 3072), np.uint8), b"filenames": [b"a"] * 4}, f)
    elif kind == "not_a_dict":
        _dump([1, 2, 3], f)
    elif kind == "malicious":
        class Evil:
            def __reduce__(self):
                return (os.system, ("echo pwned",))
        _dump({b"data": Evil(), spec.label_key: []}, f)
    return f


FAILURES = {
    "missing_file": "file not found", "truncated": "truncated or corrupt", "garbage": "truncated or corrupt",
    "empty": "truncated or corrupt", "wrong_shape": "shape (N, 3072)", "wrong_dtype": "uint8",
    "label_range": "out of range", "negative_label": "out of range", "label_count": "one per",
    "missing_labels": "missing key", "not_a_dict": "expected a dict", "malicious": "refusing",
}


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_each_failure_is_a_clear_error(tmp_path, name, kind):
    write_cifar(tmp_path, name, filenames=False)
    spec = D.DATASETS[name]
    bad = _corrupt(kind, tmp_path / spec.folder, spec)
    with pytest.raises(DataError) as exc:
        D.load_cifar(name, tmp_path)
    msg = str(exc.value)
    assert str(bad) in msg, msg                                  # names the file
    assert FAILURES[kind] in msg, msg                            # names the problem
    assert "fix:" in msg and "gftheory data download" in msg     # names the fix


def test_missing_directory_and_unknown_dataset(tmp_path):
    with pytest.raises(DataError, match=r"cifar-10-batches-py: directory not found.*fix:"):
        D.load_cifar("cifar10", tmp_path)
    with pytest.raises(DataError, match="unknown dataset 'mnist'; fix"):
        D.load_cifar("mnist", tmp_path)
    from gftheory.errors import UsageError
    assert issubclass(DataError, UsageError)


def test_test_file_corrupt_is_an_error(tmp_path):
    write_cifar(tmp_path, "cifar100")
    f = tmp_path / "cifar-100-python" / "test"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(DataError, match="test: not a readable CIFAR pickle"):
        D.load_cifar("cifar100", tmp_path)


# -- held-out split --------------------------------------------------------------------------
def test_holdout_split_stratified_seeded():
    labels = torch.arange(1000) % 10
    labels = labels[torch.randperm(1000, generator=torch.Generator().manual_seed(3))]
    tr, va = D.holdout_split(labels, size=100, seed=0)
    assert len(tr) == 900 and len(va) == 100
    assert torch.equal(torch.sort(torch.cat([tr, va])).values, torch.arange(1000))
    assert torch.equal(torch.bincount(labels[va], minlength=10), torch.full((10,), 10))
    tr2, va2 = D.holdout_split(labels, size=100, seed=0)
    assert torch.equal(va, va2) and torch.equal(tr, tr2)
    _, va3 = D.holdout_split(labels, size=100, seed=1)
    assert not torch.equal(va, va3)
    assert torch.all(va[1:] > va[:-1]) and torch.all(tr[1:] > tr[:-1])


def test_holdout_split_uneven_classes_exact_total():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    _, va = D.holdout_split(labels, size=11, seed=5)
    counts = torch.bincount(labels[va], minlength=3)
    assert int(counts.sum()) == 11
    assert all(abs(int(c) - 11 * n / 100) < 1 for c, n in zip(counts, (50, 30, 20)))
    with pytest.raises(DataError, match="holdout size 100 must be in"):
        D.holdout_split(labels, size=100)


@pytest.mark.parametrize("counts, size, want", [
    ((50, 30, 20), 11, (6, 3, 2)),      # exact 5.5, 3.3, 2.2: floors 5, 3, 2; the spare unit to .5
    ((20, 30, 50), 11, (2, 3, 6)),      # the same, classes in another order
    ((7, 7, 6), 10, (4, 3, 3)),         # exact 3.5, 3.5, 3.0: one spare, tie → the lower class
    ((5, 2, 3), 4, (2, 1, 1)),          # exact 2.0, 0.8, 1.2: floors 2, 0, 1; spare → .8 (largest)
    ((5000,) * 10, 5000, (500,) * 10),  # CIFAR-10: exactly 500 per class
])
def test_holdout_split_largest_remainder_rounding_is_exact(counts, size, want):
    """Class c gets floor(size·n_c/N) plus one of the spare units in order of the largest
    remainder (ties: lower class) — pinned, so rounding up / giving spares to the smallest
    remainders / a per-class round() that misses the total cannot pass."""
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    _, va = D.holdout_split(labels, size=size, seed=0)
    assert tuple(torch.bincount(labels[va], minlength=len(counts)).tolist()) == want


# -- download ----------------------------------------------------------------------------------
def _archive(tmp_path: Path, name="cifar10", *, evil=False) -> tuple[Path, str]:
    src = tmp_path / "src"
    write_cifar(src, name, filenames=True)
    spec = D.DATASETS[name]
    arc = tmp_path / spec.archive
    with tarfile.open(arc, "w:gz") as tar:
        tar.add(src / spec.folder, arcname=spec.folder)
        if evil:
            info = tarfile.TarInfo("../evil.txt")
            payload = b"x"
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return arc, hashlib.md5(arc.read_bytes()).hexdigest()


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_download_from_file_url(tmp_path, name):
    arc, md5 = _archive(tmp_path, name)
    out = tmp_path / "data"
    folder = D.download(name, out, url=arc.as_uri(), md5=md5, progress=False)
    assert folder == out / D.DATASETS[name].folder
    assert _leftovers(out) == [folder.name]                       # no temp files left
    assert D.load_cifar(name, out).train_images.shape[0] == 20 * (10 if name == "cifar100" else 1)
    # a second call finds the folder and does nothing (even with a bad url)
    assert D.download(name, out, url="file:///nonexistent", md5=md5, progress=False) == folder


def test_download_bad_md5_leaves_nothing(tmp_path):
    arc, _ = _archive(tmp_path)
    out = tmp_path / "data"
    with pytest.raises(DataError, match=r"md5 .* expected 0{32}.*nothing was extracted.*fix"):
        D.download("cifar10", out, url=arc.as_uri(), md5="0" * 32, progress=False)
    assert _leftovers(out) == []


def test_download_default_md5_is_official(tmp_path):
    arc, _ = _archive(tmp_path)
    with pytest.raises(DataError, match="c58f30108f718f92721af3b95e74349a"):
        D.download("cifar10", tmp_path / "data", url=arc.as_uri(), progress=False)


def test_download_interrupted_transfer_leaves_nothing(tmp_path):
    arc, _ = _archive(tmp_path)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(arc.read_bytes()[: arc.stat().st_size // 2])
    out = tmp_path / "data"
    # a transfer cut short fails the official checksum ...
    with pytest.raises(DataError, match="truncated or corrupt download"):
        D.download("cifar10", out, url=cut.as_uri(), md5=hashlib.md5(arc.read_bytes()).hexdigest(),
                   progress=False)
    assert _leftovers(out) == []
    # ... and even if its checksum were accepted, the broken archive is not extracted half-way
    with pytest.raises(DataError, match="cannot extract"):
        D.download("cifar10", out, url=cut.as_uri(), md5=hashlib.md5(cut.read_bytes()).hexdigest(),
                   progress=False)
    assert _leftovers(out) == []


def test_download_interrupted_extraction_leaves_nothing(tmp_path, monkeypatch):
    arc, md5 = _archive(tmp_path)
    out = tmp_path / "data"
    real = tarfile.TarFile.extractall

    def extract_then_interrupt(self, path, members=None, **kw):
        real(self, path, members=list(members)[:3], **kw)         # some files written ...
        raise KeyboardInterrupt                                    # ... then Ctrl-C

    monkeypatch.setattr(tarfile.TarFile, "extractall", extract_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        D.download("cifar10", out, url=arc.as_uri(), md5=md5, progress=False)
    assert _leftovers(out) == []


def test_download_force_replaces_and_env_url(tmp_path, monkeypatch):
    arc, md5 = _archive(tmp_path)
    out = tmp_path / "data"
    write_cifar(out, "cifar10", per_class=1, test=False, seed=9)
    (out / "cifar-10-batches-py" / "data_batch_2").write_bytes(b"broken")
    monkeypatch.setenv("GFTHEORY_CIFAR10_URL", arc.as_uri())
    with pytest.raises(DataError, match=r"exists but does not load.*data_batch_2.*--force"):
        D.download("cifar10", out, md5=md5, progress=False)
    D.download("cifar10", out, md5=md5, force=True, progress=False)
    assert D.load_cifar("cifar10", out).train_images.shape[0] == 20
    assert _leftovers(out) == ["cifar-10-batches-py"]


def test_download_rejects_unsafe_archive_and_bad_url(tmp_path):
    arc, md5 = _archive(tmp_path, evil=True)
    out = tmp_path / "data"
    with pytest.raises(DataError, match="unsafe archive member '../evil.txt'"):
        D.download("cifar10", out, url=arc.as_uri(), md5=md5, progress=False)
    assert _leftovers(out) == [] and not (tmp_path / "evil.txt").exists()
    with pytest.raises(DataError, match="download failed.*fix"):
        D.download("cifar10", out, url=(tmp_path / "nope.tar.gz").as_uri(), progress=False)
    assert _leftovers(out) == []


# -- the command line -------------------------------------------------------------------------
class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys):
    """Run ``gftheory data ...`` in-process (the real dispatcher), capturing its output."""
    from gftheory.cli import main

    def run(*args):
        capsys.readouterr()
        rc = main(["data", *args])
        out = capsys.readouterr()
        return _Result(rc, out.out, out.err)
    return run


def test_cli_verify_and_download(tmp_path, cli):
    arc, md5 = _archive(tmp_path)
    out = tmp_path / "data"
    r = cli("download", "cifar10", "--data-dir", str(out), "--url", arc.as_uri(), "--md5", md5)
    assert r.returncode == 0, r.stderr
    r = cli("verify", "cifar10", "--data-dir", str(out))
    # synthetic files: content checks pass, but their md5 sums are neither official nor known
    assert r.returncode == 1, r.stdout + r.stderr
    for f in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        digest = hashlib.md5((out / "cifar-10-batches-py" / f).read_bytes()).hexdigest()
        assert f"{digest}  {f}" in r.stdout
    assert "UNRECOGNISED" in r.stdout and "per-channel mean" in r.stdout and "fix:" in r.stderr
    r = cli("verify", "cifar100", "--data-dir", str(out))
    assert r.returncode == 2 and "cifar-100-python: directory not found" in r.stderr and "fix:" in r.stderr
    r = cli("download", "cifar100", "--data-dir", str(out), "--url", arc.as_uri(), "--md5", md5)
    assert r.returncode == 2 and "no cifar-100-python/ folder" in r.stderr


def test_verify_detects_imbalance(tmp_path):
    write_cifar(tmp_path, "cifar10", test=False)
    f = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    b = pickle.loads(f.read_bytes(), encoding="bytes")
    b[b"labels"] = [0] * len(b[b"labels"])
    _dump(b, f)
    rep = D.verify("cifar10", tmp_path)
    assert any("unbalanced" in p for p in rep["problems"])
    assert rep["test"] is None and rep["train"]["images"] == 20


# -- the real CIFAR-10 training set (skipped when absent) ---------------------------------------
def _real_data_dir() -> Path | None:
    for cand in (os.environ.get("GFTHEORY_DATA"), REPO.parent / "shared" / "data"):
        if cand and (Path(cand) / "cifar-10-batches-py" / "data_batch_1").is_file():
            return Path(cand)
    return None


@pytest.mark.data
def test_real_cifar10_training_set():
    root = _real_data_dir()
    if root is None:
        pytest.skip("real CIFAR-10 not found: get it with `gftheory data download cifar10 --data-dir DIR` and set GFTHEORY_DATA=DIR")
    d = D.load_cifar("cifar10", root)
    assert d.train_images.shape == (50000, 3, 32, 32) and d.train_images.dtype == torch.uint8
    assert torch.equal(torch.bincount(d.train_labels, minlength=10), torch.full((10,), 5000))
    mean, std = D.channel_stats(d.train_images)
    np.testing.assert_allclose(mean, [0.49139968, 0.48215841, 0.44653091], atol=1e-6)
    np.testing.assert_allclose(std, [0.24703223, 0.24348513, 0.26158784], atol=1e-6)
    # an independent float64 mean of channel 0 agrees with the histogram route
    assert abs(d.train_images[:, 0].double().mean().item() / 255 - mean[0]) < 1e-9
    _, va = D.holdout_split(d.train_labels, size=5000, seed=0)
    assert torch.equal(torch.bincount(d.train_labels[va], minlength=10), torch.full((10,), 500))
