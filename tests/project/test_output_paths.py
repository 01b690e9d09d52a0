"""Every command that writes files checks its output path before any work (issue 26, item 8): a path
under a regular file, a folder where a file is wanted (or the reverse), or a read-only place gives
exit 2 with one line on stderr naming the flag, the problem and the fix — no traceback, nothing written."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from gftheory.cli import main

# command -> (argv before the output flag, the flag, "file" | "dir")
COMMANDS = {
    "report": (["report", "--skip-live", "--quiet"], "--out", "dir"),
    "prove --json": (["prove", "GRASP_SIGN"], "--json", "file"),
    "prove --markdown": (["prove", "GRASP_SIGN"], "--markdown", "dir"),
    "check": (["check", "--ids", "F1"], "--json", "file"),
    "assess": (["assess", "magnitude", "--quiet"], "--out", "dir"),
    "plan": (["plan"], "--out", "file"),
    "bench": (["bench", "--synthetic"], "--json", "file"),
    "spread": (["spread", "--quiet"], "--json", "file"),
    "run": (["run", "--scale", "smoke", "--arch", "vgg13", "--quiet"], "--root", "dir"),
    "sweep": (["sweep", "--scale", "smoke", "--archs", "vgg13", "--quiet"], "--root", "dir"),
    "events": (["events", "--quiet"], "--root", "dir"),
}


def _read_only_dir() -> Path | None:
    """A folder no file can be created in, even by root (a read-only /sys), or None."""
    for cand in ("/sys", "/proc/sys"):
        if os.path.isdir(cand):
            try:
                with tempfile.TemporaryFile(dir=cand):
                    pass
            except OSError:
                return Path(cand)
    return None


def _tree(p: Path) -> list[str]:
    return sorted(str(q.relative_to(p)) for q in p.rglob("*"))


@pytest.mark.parametrize("bad", ["under-file", "wrong-kind", "read-only"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_bad_output_path_exits_2_before_work(name, bad, tmp_path, capsys, monkeypatch):
    argv, flag, kind = COMMANDS[name]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    results = work / "res"
    results.mkdir()
    study = work / "study"
    study.mkdir()
    extra = {"report": ["--results", str(results)], "plan": ["--results", str(results)],
             "spread": ["--study", str(study), "--data-dir", str(work / "nodata")],
             "run": ["--data-dir", str(work / "nodata")], "sweep": ["--data-dir", str(work / "nodata")],
             "events": ["--data-dir", str(work / "nodata")]}.get(name, [])
    (work / "afile").write_text("x")
    if bad == "under-file":
        target = work / "afile" / ("out.json" if kind == "file" else "out")
    elif bad == "wrong-kind":
        target = work / "afile" if kind == "dir" else results
    else:
        ro = _read_only_dir()
        if ro is None:
            pytest.skip("no read-only folder on this machine")
        target = ro / "gftheory-out"
    before = _tree(tmp_path)
    rc = main([*argv, *extra, flag, str(target)])
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert rc == 2, captured
    assert len(lines) == 1, captured.err
    assert flag in lines[0] and "fix:" in lines[0] and "Traceback" not in captured.err, lines[0]
    assert _tree(tmp_path) == before                      # nothing written
