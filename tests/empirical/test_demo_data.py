"""`gftheory data demo`: a small synthetic CIFAR-10-shaped set that needs no download
(empirical.data.make_demo). Deterministic bytes, the official file layout, a planted class structure
a simple classifier finds, and a mark on everything loaded from it ("synthetic demo data": the data
source, the integrity status, the terminal note, and — through the run store — every run's
provenance), so a result made from it can never be taken for evidence."""
from __future__ import annotations

import json

import numpy as np
import pytest

from empirical import data
from gftheory.cli import main

SMALL = {"train": 200, "test": 100}


def test_demo_is_deterministic_and_in_the_official_layout(tmp_path):
    a = data.make_demo(tmp_path / "a", **SMALL)
    b = data.make_demo(tmp_path / "b", **SMALL)
    c = data.make_demo(tmp_path / "c", seed=1, **SMALL)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted([*data.CIFAR10.train_files, data.CIFAR10.test_file, "batches.meta", data.DEMO_MARKER,
                            "README.txt"])
    for f in (*data.CIFAR10.train_files, data.CIFAR10.test_file):
        assert (a / f).read_bytes() == (b / f).read_bytes()
        assert (a / f).read_bytes() != (c / f).read_bytes()
    x, y = data.read_batch(a / "data_batch_1", data.CIFAR10)        # the project's own strict reader
    assert x.shape == (40, 3, 32, 32) and x.dtype == np.uint8 and y.min() >= 0 and y.max() < 10
    marker = json.loads((a / data.DEMO_MARKER).read_text())
    assert marker["what"] == data.DEMO_LABEL and marker["train"] == 200 and marker["test"] == 100
    assert "NOT CIFAR" in (a / "README.txt").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".demo.")], "temporary folder left"


def test_everything_loaded_from_the_demo_says_synthetic(tmp_path):
    data.make_demo(tmp_path, **SMALL)
    d = data.load_cifar("cifar10", tmp_path)
    assert d.source.startswith(data.DEMO_LABEL) and d.source.startswith("synthetic demo data")
    assert d.integrity["status"] == data.SYNTHETIC_DEMO
    assert {s["status"] for s in d.integrity["splits"].values()} == {data.SYNTHETIC_DEMO}
    note = data.integrity_warning(d.integrity)
    assert note and "never evidence" in note and "not CIFAR" in note
    assert len(d.train_labels) == 200 and np.bincount(d.train_labels.numpy()).tolist() == [20] * 10


def test_the_planted_classes_are_learnable_but_not_from_one_pixel():
    """Class means of the training images classify the test images far above chance (0.1), and
    the brightness of a single image does not give its class away (chance-level from the mean)."""
    x, y = data.demo_images(1000, 0)
    xt, yt = data.demo_images(500, 1)
    xf, xtf = x.reshape(len(x), -1).astype(float), xt.reshape(len(xt), -1).astype(float)
    # gratings have a random phase: classify by the power spectrum of the grey image
    spec = lambda a: np.abs(np.fft.rfft2(a.reshape(-1, 3, 32, 32).mean(1))).reshape(len(a), -1)  # noqa: E731
    s, st = spec(xf), spec(xtf)
    means = np.stack([s[y == c].mean(0) for c in range(10)])
    acc = float((np.argmin(((st[:, None] - means[None]) ** 2).sum(-1), 1) == yt).mean())
    assert acc >= 0.6, acc
    bright = np.stack([xf[y == c].mean() for c in range(10)])
    acc_bright = float((np.argmin(np.abs(xtf.mean(1)[:, None] - bright[None]), 1) == yt).mean())
    assert acc_bright <= 0.3, acc_bright


def test_data_demo_command(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["data", "demo", "--out", str(out), "--train", "100", "--test", "50"]) == 0
    printed = capsys.readouterr().out
    assert "synthetic demo data" in printed and "never counted as evidence" in printed and "--data-dir" in printed
    assert main(["data", "demo", "--out", str(out)]) == 2                              # exists: refuse
    assert "--force" in capsys.readouterr().err
    assert main(["data", "demo", "--out", str(out), "--train", "100", "--test", "50", "--force"]) == 0
    assert main(["data", "demo"]) == 2 and "--out" in capsys.readouterr().err
    assert main(["data", "verify"]) == 2                                               # a dataset is needed
    real = tmp_path / "real" / "cifar-10-batches-py"
    real.mkdir(parents=True)
    (real / "data_batch_1").write_bytes(b"x")
    assert main(["data", "demo", "--out", str(tmp_path / "real"), "--force"]) == 2     # never over real data
    assert (real / "data_batch_1").read_bytes() == b"x"


def test_missing_data_message_points_at_download_and_demo(tmp_path):
    with pytest.raises(data.DataError) as exc:
        data.load_cifar("cifar10", tmp_path)
    msg = str(exc.value)
    assert "gftheory data download cifar10" in msg and "gftheory data demo --out" in msg
    assert "shared/data" not in msg


TINY = ["--scale", "smoke", "--max-train-samples", "128", "--batch-size", "32", "--holdout-size", "64",
        "--importance-samples", "40", "--probe-size", "8", "--max-test-samples", "64"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    data.make_demo(d, train=300, test=100)
    root = d / "runs"
    assert main(["run", *TINY, "--arch", "resnet56", "--measure", "magnitude", "--device", "cpu",
                 "--data-dir", str(d), "--root", str(root), "--quiet"]) == 0
    return root


def test_a_run_on_the_demo_records_it(demo_run):
    from gftheory import runstore
    (run,) = runstore.run_dirs(demo_run, nested=False)
    meta = json.loads((run / "config.json").read_text())
    assert meta["data"]["source"].startswith(data.DEMO_LABEL)
    assert meta["provenance"]["data"]["status"] == data.SYNTHETIC_DEMO
    summary = json.loads((run / "summary.json").read_text())
    assert summary["provenance"]["data"]["status"] == data.SYNTHETIC_DEMO


def test_a_run_on_the_demo_is_never_evidence(demo_run):
    from gftheory.claims import load_runs
    runset = load_runs([demo_run])
    assert runset.runs == [] and len(runset.planted) == 1
