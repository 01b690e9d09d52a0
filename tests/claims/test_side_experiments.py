"""Side experiments (results/side/<experiment>/…, e.g. the bf16 half of the bf16/fp32 equivalence
check) are never claim evidence: the loader sets them aside, so a cpu-scale run trained in bf16 with
a stage-1 seed cannot enter a stage-1 cell beside its fp32 twin."""
from __future__ import annotations

import shutil
from pathlib import Path

from gftheory.claims.runs import load_runs

RESULTS = Path(__file__).resolve().parents[2] / "results" / "cpu"


def test_runs_under_side_are_set_aside(tmp_path):
    src = sorted(p for p in RESULTS.iterdir() if (p / "summary.json").exists())[:2]
    assert len(src) == 2
    shutil.copytree(src[0], tmp_path / "cpu" / src[0].name)
    shutil.copytree(src[1], tmp_path / "side" / "bf16-equivalence" / src[1].name)
    rs = load_runs([tmp_path])
    assert [r.run_id for r in rs.runs] == [src[0].name]
    assert rs.side == [str(tmp_path / "side" / "bf16-equivalence" / src[1].name)]
    # the same run outside side/ counts
    shutil.copytree(src[1], tmp_path / "cpu" / src[1].name)
    assert {r.run_id for r in load_runs([tmp_path]).runs} == {p.name for p in src}
