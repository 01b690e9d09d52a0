"""``gftheory check`` and ``run_checks``: results, table, JSON, exit codes, bad input."""
import json

import pytest

from gftheory.checks import CheckResult, Rule, run_checks
from gftheory.checks import runner
from gftheory.cli import main
from gftheory.statements import STATEMENTS


def test_every_statement_id_has_a_decision_rule():
    assert {sid for sid, _ in runner.RULES} == set(STATEMENTS)
    fam_ids = {sid for f in runner.FAMILIES for sid in f.ids}
    assert fam_ids == set(STATEMENTS)


def test_run_checks_subset_returns_judged_results():
    res = run_checks("ci", ids=["F2", "BN_SCALE"])
    assert {r.id for r in res} == {"F2", "BN_SCALE"}
    assert all(isinstance(r, CheckResult) and r.cases > 0 and r.passed for r in res)
    d = res[0].as_dict()
    assert set(d) == {"id", "method", "cases", "worst_rel_error", "fitted_order", "tolerance",
                      "passed", "seconds", "details"}
    with pytest.raises(ValueError, match="unknown statement ids"):
        run_checks("ci", ids=["F9"])


def test_cli_json_and_exit_codes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "check.json"
    assert main(["check", "--ids", "F1,T1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "decision rule" in text and "fitted order ∈ [1.8, 2.2]" in text and "PASS" in text
    data = json.loads(out.read_text())
    assert data["profile"] == "ci" and {"code_version", "time_utc"} <= set(data["provenance"])
    assert {r["id"] for r in data["results"]} == {"F1", "T1"}
    # an impossible rule makes the check fail → exit 1
    monkeypatch.setitem(runner.RULES, ("F1", "dense-hessian"), Rule("max", tol=-1.0))
    assert main(["check", "--ids", "F1"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_cli_bad_input(tmp_path, capsys):
    assert main(["check", "--ids", "NOPE"]) == 2
    assert "fix:" in capsys.readouterr().err
    assert main(["check", "--ids", "F1", "--json", str(tmp_path / "missing" / "x.json")]) == 2
    assert not (tmp_path / "missing").exists()
    with pytest.raises(SystemExit):
        main(["check", "--profile", "fast"])
