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


# -- one --seeds syntax across sweep, events and confirm (issue 26, item 9) ------------------------
SAME = [["0,1,2"], ["0", "1", "2"], ["0-2"], ["0,1", "2"], ["0-1,2"], ["0", "1-2"], ["0, 1, 2"], ["2-2", "0-1"]]
BAD = [(["-1"], "negative"), (["0,-2"], "negative"), (["0", "-3"], "negative"), (["a"], "not an integer"),
       (["1.5"], "not an integer"), (["2-1"], "ends below its start"), ([","], "no seed given"),
       (["0-x"], "not an integer")]


def test_parse_seeds_forms():
    from gftheory.errors import UsageError
    from gftheory.seeds import format_seeds, legacy_count, parse_seeds
    for form in SAME[:-1]:
        assert parse_seeds(form) == [0, 1, 2], form
    assert parse_seeds(["2-2", "0-1"]) == [2, 0, 1]                        # order kept
    assert parse_seeds("3-7") == [3, 4, 5, 6, 7] and parse_seeds("0-2,7 9-10") == [0, 1, 2, 7, 9, 10]
    assert parse_seeds("1,1,0-1") == [1, 0]                                # repeats dropped
    assert [legacy_count(v) for v in (["3"], "3", ["3,"], ["0-2"], ["1", "2"])] == [3, 3, None, None, None]
    assert [format_seeds(s) for s in ([0, 1, 2], [0, 1], [0, 1, 2, 5, 7, 8, 9], [4])] == ["0-2", "0,1", "0-2,5,7-9", "4"]
    assert parse_seeds(format_seeds([0, 1, 2, 5, 7, 8, 9])) == [0, 1, 2, 5, 7, 8, 9]
    for form, words in BAD:
        with pytest.raises(UsageError) as exc:
            parse_seeds(form)
        msg = str(exc.value)
        assert "--seeds" in msg and "fix:" in msg and words in msg and "\n" not in msg, (form, msg)


def _sweep_seeds(monkeypatch, tmp_path, seeds) -> list[int]:
    import empirical.sweep
    got = []
    monkeypatch.setattr(empirical.sweep, "run_grid", lambda configs, root, **kw: got.extend(configs) or [])
    assert main(["sweep", "--scale", "smoke", "--measures", "magnitude", "--seeds", *seeds,
                 "--root", str(tmp_path / "runs"), "--device", "cpu", "--quiet"]) == 0
    return [c.seed for c in got]


def _events_seeds(capsys, tmp_path, seeds) -> list[int]:
    assert main(["events", "--arch", "resnet56", "--seeds", *seeds, "--root", str(tmp_path / "runs"), "--dry-run"]) == 0
    return [int(re.search(r" seed (\d+):", ln).group(1)) for ln in capsys.readouterr().out.splitlines()]


def _confirm_seeds(capsys, tmp_path, seeds) -> tuple[list[int], str]:
    (tmp_path / "stored").mkdir(exist_ok=True)
    assert main(["confirm", "E2", "--dataset", "cifar10", "--scale", "smoke", "--seeds", *seeds, "--dry-run",
                 "--root", str(tmp_path / "runs"), "--results", str(tmp_path / "stored"), "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    lines = [ln for ln in out.splitlines() if ln.startswith("gftheory run")]
    return [int(re.search(r"--seed (\d+)", ln).group(1)) for ln in lines if "--measure magnitude " in ln], err


@pytest.mark.parametrize("seeds", SAME, ids=["+".join(s) for s in SAME])
def test_every_command_reads_every_form_as_the_same_seeds(seeds, monkeypatch, tmp_path, capsys):
    want = [0, 1, 2] if seeds != ["2-2", "0-1"] else [2, 0, 1]
    assert _sweep_seeds(monkeypatch, tmp_path, seeds) == want
    assert _events_seeds(capsys, tmp_path, seeds) == want
    assert _confirm_seeds(capsys, tmp_path, seeds)[0] == want
    assert not (tmp_path / "runs").exists()


def test_a_single_seed_and_confirms_old_count(monkeypatch, tmp_path, capsys):
    """One bare integer is that seed for sweep and events; for confirm it keeps its old meaning, the
    count 0..N-1, with one deprecation note naming the new form. `S-S` is one seed everywhere."""
    assert _sweep_seeds(monkeypatch, tmp_path, ["3"]) == [3]
    assert _events_seeds(capsys, tmp_path, ["3"]) == [3]
    seeds, err = _confirm_seeds(capsys, tmp_path, ["3-3"])
    assert seeds == [3] and "deprecated" not in err
    seeds, err = _confirm_seeds(capsys, tmp_path, ["3"])
    assert seeds == [0, 1, 2]
    note = [ln for ln in err.splitlines() if "deprecated" in ln]
    assert len(note) == 1 and "--seeds 0-2" in note[0], err
    assert main(["confirm", "E2", "--seeds", "0", "--dry-run"]) == 2        # a count of 0 seeds
    assert "fix:" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["sweep", "events", "confirm"])
@pytest.mark.parametrize("seeds, words", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_seeds_exit_2_before_any_work(command, seeds, words, monkeypatch, tmp_path, capsys):
    """Not dry runs: the bad value is named on one line with the fix, nothing runs, nothing is written."""
    import empirical.sweep

    def no_work(*a, **kw):
        raise AssertionError("work started")
    monkeypatch.setattr(empirical.sweep, "run_grid", no_work)
    monkeypatch.setattr("empirical.events.ensure_study", no_work)
    monkeypatch.setattr("empirical.commands.events.ensure_study", no_work)
    root = tmp_path / "runs"
    argv = {"sweep": ["sweep", "--scale", "smoke", "--root", str(root), "--device", "cpu"],
            "events": ["events", "--arch", "resnet56", "--root", str(root)],
            "confirm": ["confirm", "E2", "--scale", "smoke", "--root", str(root), "--results", str(tmp_path),
                        "--device", "cpu"]}[command]
    flag = [f"--seeds={seeds[0]}"] if seeds[0].startswith("-") else ["--seeds", seeds[0]]
    assert main([*argv, *flag, *seeds[1:]]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "--seeds" in lines[0] and "fix:" in lines[0] and words in lines[0], lines[0]
    assert not root.exists()
