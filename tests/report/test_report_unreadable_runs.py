"""A corrupted run under --results is named on the terminal with its path by ``gftheory report``, and
``--strict`` makes the report fail with exit 2 before anything is written (issue 26, item 8)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gftheory import runstore
from gftheory.cli import main

REPO = Path(__file__).resolve().parents[2]


def _corrupted_store(tmp_path: Path) -> tuple[Path, Path]:
    """A results folder holding one committed run whose metrics.jsonl has a corrupted middle line."""
    src = next(iter(runstore.run_dirs(REPO / "results" / "cpu")), None) if (REPO / "results" / "cpu").is_dir() else None
    if src is None:
        pytest.skip("no committed run under results/cpu")
    store = tmp_path / "res"
    run_dir = store / src.name
    shutil.copytree(src, run_dir)
    metrics = run_dir / runstore.METRICS
    lines = metrics.read_text().splitlines(keepends=True)
    assert len(lines) >= 3
    lines[1] = '{"epoch": 1, "train_loss": 2.3\n'          # a corrupted line in the middle
    metrics.write_text("".join(lines))
    return store, run_dir


def test_corrupted_run_is_named_on_the_terminal(tmp_path, capsys):
    store, run_dir = _corrupted_store(tmp_path)
    out = tmp_path / "out"
    assert main(["report", "--results", str(store), "--skip-live", "--quiet", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    named = [ln for ln in err.splitlines() if str(run_dir) in ln]
    assert named and "UNREADABLE" in named[0], err


def test_strict_fails_on_a_corrupted_run_and_writes_nothing(tmp_path, capsys):
    store, run_dir = _corrupted_store(tmp_path)
    out = tmp_path / "out"
    assert main(["report", "--results", str(store), "--skip-live", "--quiet", "--strict", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(run_dir) in lines[0] and "--strict" in lines[0] and "fix:" in lines[0], err
    assert "Traceback" not in err and not out.exists()
