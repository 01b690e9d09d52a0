"""`gftheory confirm` writes new runs under its run root (`--root`, default runs/), reads stored runs
from `--results` (default results/) only to reuse them, and never writes into results/ unless it is
named as the root (issue 26, item 9). The runs are tiny ones on a synthetic CIFAR-10 (the claim's
smoke preset shrunk further here); what is tested is where they go, not what they measure."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from empirical.config import RunConfig
from gftheory import runstore
from gftheory.cli import main
from test_cli_empirical import write_cifar10

SHRINK = dict(max_train_samples=128, batch_size=32, holdout_size=64, importance_samples=40, probe_size=8,
              max_test_samples=64, lr_phases=((2, 0.1), (1, 0.01)))
CLAIM = ["E6", "--arch", "vgg13", "--dataset", "cifar10", "--scale", "smoke", "--seeds", "0-0"]  # magnitude, grasp


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root: (size, mtime_ns)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_dry_run_names_the_run_root_not_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    assert main(["confirm", *CLAIM, "--dry-run", "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert "2 to run into runs/" in err and "0 stored in results/ (reused, read only)" in err, err
    lines = [ln for ln in out.splitlines() if ln.startswith("gftheory run")]
    assert len(lines) == 2 and all(ln.endswith("--root runs") for ln in lines), out
    assert main(["confirm", *CLAIM, "--dry-run", "--device", "cpu", "--root", "elsewhere/runs"]) == 0
    out, err = capsys.readouterr()
    assert "2 to run into elsewhere/runs/" in err and all(ln.endswith("--root elsewhere/runs")
                                                          for ln in out.splitlines() if ln.startswith("gftheory"))
    assert sorted(os.listdir(tmp_path)) == ["results"] and not os.listdir(tmp_path / "results")  # nothing written


def test_missing_results_given_explicitly_exits_2(tmp_path, capsys):
    assert main(["confirm", *CLAIM, "--dry-run", "--results", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "--results" in err and "fix:" in err and len(err.strip().splitlines()) == 1


def test_confirm_reuses_results_and_writes_only_under_the_root(tmp_path, monkeypatch, capsys):
    """results/ holds the magnitude run: it is reused (not rerun, not touched); the grasp run is
    written under runs/ (the default root); the verdict reads both."""
    data = write_cifar10(tmp_path / "data")
    preset = RunConfig.preset.__func__
    monkeypatch.setattr(RunConfig, "preset", classmethod(lambda cls, scale="full", **kw:
                                                         preset(cls, scale, **{**SHRINK, **kw})))
    from empirical.runner import ensure_run
    stored = ensure_run(RunConfig.preset("smoke", arch="vgg13", dataset="cifar10", measure="magnitude", seed=0),
                        tmp_path / "results" / "smoke", device="cpu", data_dir=data, progress=False)
    assert runstore.is_complete(stored)
    before = _tree(tmp_path / "results")
    monkeypatch.chdir(tmp_path)
    assert main(["confirm", *CLAIM, "--device", "cpu", "--data-dir", str(data)]) == 0
    out, err = capsys.readouterr()
    assert "1 to run into runs/, 1 stored in results/ (reused, read only)" in err, err
    assert _tree(tmp_path / "results") == before                   # not one byte written there
    made = runstore.run_dirs(tmp_path / "runs", nested=False)
    assert len(made) == 1 and made[0].name != stored.name and runstore.is_complete(made[0])
    assert runstore.read_config(made[0])["config"]["measure"] == "grasp"
    assert "VERDICT:" in out
    # run again: both runs are now stored, nothing runs, nothing is rewritten
    after = _tree(tmp_path / "runs")
    assert main(["confirm", *CLAIM, "--device", "cpu", "--data-dir", str(data)]) == 0
    err = capsys.readouterr().err
    assert "0 to run into runs/ (1 complete there already), 1 stored in results/ (reused, read only)" in err, err
    assert _tree(tmp_path / "runs") == after and _tree(tmp_path / "results") == before


def test_root_results_writes_into_results_only_when_named(tmp_path, monkeypatch, capsys):
    """`--root results` is the one way in: the dry run says so (no training needed to see where)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    assert main(["confirm", *CLAIM, "--dry-run", "--device", "cpu", "--root", "results"]) == 0
    out, err = capsys.readouterr()
    assert "2 to run into results/" in err
    assert all(ln.endswith("--root results") for ln in out.splitlines() if ln.startswith("gftheory run"))


@pytest.mark.parametrize("bad", ["file", "file/sub"])
def test_unwritable_root_exits_2_before_work(bad, tmp_path, monkeypatch, capsys):
    import empirical.sweep
    monkeypatch.setattr(empirical.sweep, "run_grid", lambda *a, **k: pytest.fail("work started"))
    (tmp_path / "file").write_text("x")
    assert main(["confirm", *CLAIM, "--device", "cpu", "--results", str(tmp_path),
                 "--root", str(tmp_path / bad)]) == 2
    err = capsys.readouterr().err
    assert "--root" in err and "fix:" in err and "Traceback" not in err
