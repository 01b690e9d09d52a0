"""Help texts list every scale (empirical.config.SCALES) and negative seeds get a clear one-line message
naming the flag and the fix (issue 26, item 9 and item 8)."""
from __future__ import annotations

import re

import pytest

from empirical.config import SCALES
from gftheory.cli import main


@pytest.mark.parametrize("command", ["run", "sweep", "confirm"])
def test_scale_help_lists_every_scale(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    m = re.search(r"^\s+--scale [^\n]*\n?(.*?)(?=^\s+-|\Z)", out, flags=re.M | re.S)  # the option's entry
    assert m, out
    help_ = re.sub(r"^\s+--scale \S+", "", m.group(0))                                    # without the choices
    assert all(re.search(rf"\b{s}\b", help_) for s in SCALES), (help_, SCALES)


@pytest.mark.parametrize("argv, flag", [
    (["events", "--seeds=-1", "--dry-run"], "--seeds"),
    (["events", "--seeds=0,-2", "--dry-run"], "--seeds"),
    (["events", "--seed", "-1", "--dry-run"], "--seed"),
    (["events", "--seeds=a", "--dry-run"], "--seeds"),
    (["sweep", "--scale", "smoke", "--seeds", "-1"], "--seeds"),
    (["sweep", "--scale", "smoke", "--seeds", "0", "-3"], "--seeds"),
    (["run", "--scale", "smoke", "--seed", "-1"], "--seed"),
])
def test_negative_seed_gives_a_clear_message(argv, flag, tmp_path, capsys):
    extra = [] if argv[0] == "events" else ["--root", str(tmp_path / "runs"), "--data-dir", str(tmp_path / "none")]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    line = lines[0]
    assert flag in line and "fix:" in line, line
    assert "recovery_steps" not in line                      # not lumped with another field
    assert ("negative" in line or "non-negative" in line or "not an integer" in line), line
    assert not (tmp_path / "runs").exists()
