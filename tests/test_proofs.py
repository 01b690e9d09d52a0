"""Every symbolic proof is proved, every negative control refuted; the `gftheory prove` CLI."""
import json

import pytest

from gftheory.cli import main
from gftheory.statements import STATEMENTS
from gftheory.symbolic import NEGATIVE_CONTROLS, PROOFS, ProofResult, run_negative_controls, \
    run_proofs

REQUIRED = ["F1", "F1_unit", "F1_wd", "F2", "F3", "F4", "F4_unit", "F5", "T0", "T1", "T2", "O2",
            "MASK", "BN_SCALE", "BALANCE"]


def test_registry_covers_required_ids_and_uses_statement_ids():
    assert set(REQUIRED) <= set(PROOFS)
    assert set(PROOFS) <= set(STATEMENTS)


@pytest.fixture(scope="module")
def proof_results(proof_results_session):
    return proof_results_session     # computed once per session (tests/conftest.py)


@pytest.mark.parametrize("pid", list(PROOFS))
def test_proof_is_proved(proof_results, pid):
    r = proof_results[pid]
    assert r.status == "proved", (r.error, [s for s in r.steps if not s["ok"]][:3])
    assert r.steps_checked >= 1 and r.generality
    assert "$$" in r.markdown and r.statement in r.markdown
    d = r.as_dict()
    assert {"id", "statement", "assumptions", "generality", "steps_checked", "status", "seconds",
            "markdown"} <= set(d)


@pytest.mark.parametrize("pid", [p for p in REQUIRED if p not in ("GRASP_SIGN",)])
def test_generic_level_reaches_n5(proof_results, pid):
    gen = proof_results[pid].generality
    if pid in ("F1", "F1_unit", "F1_wd", "F3", "F4", "F4_unit", "F5", "O2"):
        assert "general n" in gen
    if pid in ("T0", "T2"):
        assert "n=1..4" in gen
    elif pid not in ("BN_SCALE", "BALANCE"):
        assert "n=1..5" in gen or "n=1..6" in gen


@pytest.mark.parametrize("nid", list(NEGATIVE_CONTROLS))
def test_negative_control_is_refuted(nid):
    (r,) = run_negative_controls([nid])
    assert r.status == "refuted", r.steps


def test_unknown_id_is_usage_error(capsys):
    assert main(["prove", "NOPE"]) == 2
    err = capsys.readouterr().err
    assert "NOPE" in err and "F1" in err


def test_cli_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "sub" / "proofs.json"
    md = tmp_path / "md"
    assert main(["prove", "GRASP_SIGN", "NC_T1_SECOND_ORDER", "--json", str(out),
                 "--markdown", str(md)]) == 0
    table = capsys.readouterr().out
    assert "GRASP_SIGN" in table and "proved" in table
    data = json.loads(out.read_text())
    assert data["provenance"]["code_version"] and data["results"][0]["status"] == "proved"
    assert data["negative_controls"][0]["status"] == "refuted"
    assert (md / "GRASP_SIGN.md").read_text().count("$$") >= 2
    assert not list(out.parent.glob(".proofs.json.*"))


def test_result_type():
    (r,) = run_proofs(["GRASP_SIGN"])
    assert isinstance(r, ProofResult)
