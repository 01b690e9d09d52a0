"""The engine's inputs are what it says: a bad --root is refused before the data loads (exit 2,
nothing written), every run records a digest of the arrays it actually loaded with a clear
official / repackaged / NOT-official status, the validation split is the same for every seed, and
--compile trains (the compiled module is no longer truth-tested, which raised TypeError)."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from empirical import data as D
from empirical import runner as runner_mod
from empirical.config import RunConfig
from gftheory import runstore
from gftheory.cli import main
from test_cli_empirical import TINY, write_cifar10


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"))


def cli(*argv):
    return main([str(a) for a in argv])


# -- --root ----------------------------------------------------------------------------------
def _unwritable_dir(tmp_path: Path) -> Path:
    """A directory this process cannot create files in (root ignores mode bits: use /sys)."""
    if os.geteuid() == 0:
        if os.path.isdir("/sys") and not os.access("/sys", os.W_OK | os.X_OK) is False:
            try:
                import tempfile
                with tempfile.TemporaryFile(dir="/sys"):
                    pass
            except OSError:
                return Path("/sys")
        pytest.skip("running as root and no read-only directory available")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    return d


@pytest.mark.parametrize("kind", ["file", "under-file", "unwritable"])
def test_bad_root_exits_2_before_loading_data(kind, data_dir, tmp_path, capsys, monkeypatch):
    if kind == "file":
        root = tmp_path / "afile"
        root.write_text("x")
        words = ["is not a directory"]
    elif kind == "under-file":
        (tmp_path / "afile").write_text("x")
        root = tmp_path / "afile" / "runs"
        words = ["not a directory"]
    else:
        root = _unwritable_dir(tmp_path) / "runs"
        words = ["cannot write"]
    loaded = []
    real = D.load_cifar
    monkeypatch.setattr(D, "load_cifar", lambda *a, **k: loaded.append(1) or real(*a, **k))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli("run", *TINY, "--arch", "vgg13", "--root", root, "--data-dir", data_dir,
               "--device", "cpu") == 2
    err = capsys.readouterr().err
    assert "error:" in err and "--root" in err and "fix:" in err
    assert all(w in err for w in words), err
    assert "Traceback" not in err and loaded == []          # refused before the data loaded
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert cli("sweep", *TINY, "--archs", "vgg13", "--measures", "magnitude", "--root", root,
               "--data-dir", data_dir, "--device", "cpu") == 2
    assert all(w in capsys.readouterr().err for w in words)


# -- data digest and status ------------------------------------------------------------------
def _repickle_with_flipped_pixel(src: Path, dst: Path) -> None:
    """A copy of a CIFAR-10 folder whose data_batch_3 still unpickles, one pixel byte flipped."""
    folder = dst / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for f in (src / "cifar-10-batches-py").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    with open(folder / "data_batch_3", "rb") as fh:
        obj = pickle.load(fh, encoding="bytes")
    x = np.array(obj[b"data"], dtype=np.uint8)
    x[7, 100] ^= 0x01
    obj[b"data"] = x
    with open(folder / "data_batch_3", "wb") as fh:
        pickle.dump(obj, fh)


def test_array_digest_is_of_the_loaded_arrays(data_dir):
    d = D.load_cifar("cifar10", data_dir)
    want = D.array_digest(d.train_images.numpy(), d.train_labels.numpy())
    tr = d.integrity["splits"]["train"]
    assert tr["arrays_sha256"] == want and tr["images"] == len(d.train_labels)
    assert set(tr["files_md5"]) == set(D.CIFAR10.train_files)
    assert tr["files_md5"]["data_batch_1"] == D.md5_of(data_dir / "cifar-10-batches-py" / "data_batch_1")
    assert d.integrity["splits"]["test"]["arrays_sha256"] == D.array_digest(d.test_images.numpy(),
                                                                           d.test_labels.numpy())
    # the digest covers images and labels, and their order
    x, y = d.train_images.numpy().copy(), d.train_labels.numpy().copy()
    y2 = y.copy()
    y2[[0, 1]] = y2[[1, 0]]
    x2 = x.copy()
    x2[0, 0, 0, 0] ^= 1
    assert len({D.array_digest(x, y), D.array_digest(x, y2), D.array_digest(x2, y)}) == 3


def test_status_official_files_repackaged_and_not_official(data_dir, tmp_path, monkeypatch):
    spec = D.CIFAR10
    synthetic = D.load_cifar("cifar10", data_dir)
    assert synthetic.integrity["status"] == D.NOT_OFFICIAL
    folder = data_dir / spec.folder
    # pretend the synthetic files are the official ones (their md5s) → "official files"
    md5s = {f: D.md5_of(folder / f) for f in [*spec.train_files, spec.test_file]}
    known = {f: {m: "official"} for f, m in md5s.items()}
    monkeypatch.setattr(D, "CIFAR10", D.CifarSpec(**{**spec.__dict__, "known_md5": known}))
    monkeypatch.setitem(D.DATASETS, "cifar10", D.CIFAR10)
    assert D.load_cifar("cifar10", data_dir).integrity["status"] == D.OFFICIAL_FILES
    # re-pickled (different file bytes) but the same arrays, known by their digest → repackaged
    again = tmp_path / "again" / spec.folder
    again.mkdir(parents=True)
    for f in folder.iterdir():
        with open(f, "rb") as fh:
            obj = pickle.load(fh, encoding="bytes")
        obj[b"extra"] = b"repackaged"
        with open(again / f.name, "wb") as fh:
            pickle.dump(obj, fh)
    monkeypatch.setitem(D.OFFICIAL_ARRAY_SHA256, ("cifar10", "train"),
                        synthetic.integrity["splits"]["train"]["arrays_sha256"])
    monkeypatch.setitem(D.OFFICIAL_ARRAY_SHA256, ("cifar10", "test"),
                        synthetic.integrity["splits"]["test"]["arrays_sha256"])
    assert D.load_cifar("cifar10", again.parent).integrity["status"] == D.OFFICIAL_ARRAYS
    # one flipped pixel byte in a batch that still unpickles → NOT the official data
    bad = tmp_path / "bad"
    _repickle_with_flipped_pixel(data_dir, bad)
    integ = D.load_cifar("cifar10", bad).integrity
    assert integ["status"] == D.NOT_OFFICIAL
    assert integ["splits"]["train"]["status"] == D.NOT_OFFICIAL
    assert integ["splits"]["test"]["status"] == D.OFFICIAL_FILES
    assert "NOT the official data" in D.integrity_warning(integ)
    assert D.integrity_warning(D.load_cifar("cifar10", data_dir).integrity) is None


def test_run_records_the_digest_and_warns_on_unofficial_data(data_dir, tmp_path, capsys, monkeypatch):
    """config.json carries the digest of what was loaded; corrupted pixels are said loudly. The
    run is stopped right after config.json is written (the training itself is not needed)."""
    bad = tmp_path / "bad"
    _repickle_with_flipped_pixel(data_dir, bad)

    class Stop(Exception):
        pass

    def stop(self):
        raise Stop

    monkeypatch.setattr(runner_mod.Run, "execute", stop)
    cfg = RunConfig.preset("smoke", arch="vgg13", **{k.lstrip("-").replace("-", "_"): int(v)
                                                     for k, v in zip(TINY[2::2], TINY[3::2])})
    digests = {}
    for name, d in (("good", data_dir), ("bad", bad)):
        with pytest.raises(Stop):
            runner_mod.ensure_run(cfg, tmp_path / "runs" / name, device="cpu", data_dir=d, progress=False)
        (run,) = runstore.run_dirs(tmp_path / "runs" / name, nested=False)
        meta = runstore.read_config(run)
        integ = meta["provenance"]["data"]
        assert meta["data"]["status"] == integ["status"]
        digests[name] = integ["splits"]["train"]["arrays_sha256"]
        want = D.load_cifar("cifar10", d).integrity
        assert integ == want
    assert digests["good"] != digests["bad"]
    err = capsys.readouterr().err
    assert err.count("NOT the official data") == 2        # synthetic and corrupted: both warned
    # resuming the "good" run on the corrupted data is refused, and nothing is rewritten
    (run,) = runstore.run_dirs(tmp_path / "runs" / "good", nested=False)
    before = (run / runstore.CONFIG).read_bytes()
    with pytest.raises(runner_mod.ConfigError, match="not the data this run started with"):
        runner_mod.ensure_run(cfg, tmp_path / "runs" / "good", device="cpu", data_dir=bad, progress=False)
    assert (run / runstore.CONFIG).read_bytes() == before and sorted(p.name for p in run.iterdir()) == [runstore.CONFIG]


@pytest.mark.data
def test_shared_cifar10_copy_is_the_official_arrays_repackaged():
    from test_cli_empirical import real_cifar10_dir
    d = real_cifar10_dir()
    if d is None:
        pytest.skip("real CIFAR-10 not found: get it with `gftheory data download cifar10 --data-dir DIR` and set GFTHEORY_DATA=DIR")
    integ = D.load_cifar("cifar10", d).integrity
    md5s = integ["splits"]["train"]["files_md5"]
    official = all(D.CIFAR10.known_md5[f].get(m) == "official" for f, m in md5s.items())
    assert integ["splits"]["train"]["status"] == (D.OFFICIAL_FILES if official else D.OFFICIAL_ARRAYS)


# -- validation split ------------------------------------------------------------------------
def test_validation_split_is_identical_for_every_seed(data_dir):
    base = dict(max_train_samples=300, holdout_size=100)
    splits = [runner_mod.prepare_data(RunConfig.preset("smoke", seed=s, **base), data_dir)
              for s in (0, 1, 7)]
    for s in splits[1:]:
        assert torch.equal(s.val_x, splits[0].val_x) and torch.equal(s.val_y, splits[0].val_y)
        assert torch.equal(s.train_x, splits[0].train_x) and torch.equal(s.train_y, splits[0].train_y)
    d = D.load_cifar("cifar10", data_dir)
    _, va = D.holdout_split(d.train_labels, 100, seed=runner_mod.HOLDOUT_SEED)
    assert torch.equal(splits[0].val_y, d.train_labels[va])
    assert runner_mod.HOLDOUT_SEED == 0


# -- --compile -------------------------------------------------------------------------------
def test_compiled_forward_trains_like_eager(monkeypatch):
    """train_steps with a torch.compile'd module (the eager backend: dynamo's graph capture without
    a C++ toolchain) runs — `step_fn or model` truth-tested the module and raised TypeError — and
    takes the same steps as the plain model."""
    from empirical.train import make_optimizer, train_steps
    class Net(torch.nn.Module):                        # like VGG13: a module without __len__
        def __init__(self):
            super().__init__()
            self.conv, self.bn = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)
            self.fc = torch.nn.Linear(4 * 6 * 6, 10)

        def forward(self, x):
            return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))

    torch.manual_seed(0)
    net = Net()
    twin = __import__("copy").deepcopy(net)
    batches = [(torch.randn(8, 3, 8, 8), torch.arange(8) % 10) for _ in range(3)]
    torch._dynamo.reset()
    compiled = torch.compile(net, backend="eager")
    with pytest.raises(TypeError):
        bool(compiled)                                 # what the old code did
    kw = dict(temperature=5.0, precision="fp32", device="cpu")
    a = train_steps(net, batches, make_optimizer(net, 0.1, 0.9, 1e-4), step_fn=compiled, **kw)
    b = train_steps(twin, batches, make_optimizer(twin, 0.1, 0.9, 1e-4), **kw)
    assert a.steps == b.steps == 3 and a.loss == pytest.approx(b.loss, rel=1e-5)
    for p, q in zip(net.parameters(), twin.parameters()):
        assert torch.allclose(p, q, rtol=1e-5, atol=1e-6)


def test_runner_compiles_a_fresh_step_function_per_model(monkeypatch):
    """Run._step_fn compiles the current model (after a prune the model is new) with dynamo's
    caches reset, so a 25-round run never hits the recompile limit and falls back to eager."""
    resets, compiled = [], []
    monkeypatch.setattr(torch._dynamo, "reset", lambda: resets.append(1))
    monkeypatch.setattr(torch, "compile", lambda m, **kw: compiled.append((m, kw)) or ("compiled", m))
    run = runner_mod.Run.__new__(runner_mod.Run)
    run.cfg = RunConfig.preset("smoke", compile=True)
    run.model = torch.nn.Linear(2, 2)
    assert run._step_fn() == ("compiled", run.model) and resets == [1]
    assert compiled[0][1] == {"backend": runner_mod.COMPILE_BACKEND}
    run.cfg = RunConfig.preset("smoke", compile=False)
    assert run._step_fn() is None and len(compiled) == 1


# -- documented differences from the authors' code --------------------------------------------
def test_structural_deviations_are_listed_per_architecture_and_documented():
    dev = {a: " ".join(RunConfig(arch=a).deviations()) for a in ("vgg13", "mobilenet_v1", "resnet56")}
    assert "≥ 1 filter per stage" in dev["resnet56"] and "per stage" not in dev["vgg13"]
    assert "revive" in dev["resnet56"] and "revive" not in dev["mobilenet_v1"]
    assert "revive" not in " ".join(RunConfig(arch="resnet56", coupled_residual=True).deviations())
    assert "count twice" in dev["mobilenet_v1"] and "count twice" not in dev["resnet56"]
    assert all("45,000" in d and "50,000" in d for d in dev.values())
    assert "45,000" not in " ".join(RunConfig(arch="vgg13", holdout_size=0, eval_split="test").deviations())
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    deviations = doc.split("## Deviations from the authors' code", 1)[1].split("\n## ", 1)[0]
    for words in ("ResNet-56 floor", "≥ 1 filter per *stage*", "MobileNet-V1 ranking", "count twice",
                  "revive", "45,000", "50,000"):
        assert words in deviations, words
    for words in ("official files", "official arrays, repackaged", "NOT the official data", "--compile",
                  "--root"):
        assert words in doc, words
