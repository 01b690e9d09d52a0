"""Every symbolic proof is proved, every negative control refuted; the `gftheory prove` CLI."""
import json

import pytest

from gftheory.cli import main
from gftheory.statements import STATEMENTS
from gftheory.symbolic import NEGATIVE_CONTROLS, ProofResult, run_negative_controls
from proofs import PROOFS, run_proofs

REQUIRED = ["F1", "F1_unit", "F1_wd", "F2", "F3", "F4", "F4_unit", "F5", "T0", "T1", "T2", "O2",
            "MASK", "BN_SCALE", "BALANCE"]


def test_registry_covers_required_ids_and_uses_statement_ids():
    assert set(REQUIRED) <= set(PROOFS)
    assert set(PROOFS) <= set(STATEMENTS)


# statements that need no proof (checked numerically only); none today
NO_PROOF: set[str] = set()


def test_proofs_are_discovered_one_module_per_statement():
    """proofs/ is discovered, not hand-mapped: every statement that needs a proof is proved by
    exactly one module, no module proves an id outside STATEMENTS (orphan), and PROOFS follows
    the order of STATEMENTS."""
    from proofs import discover
    by_id: dict[str, list[str]] = {}
    for module, proof in discover():
        by_id.setdefault(proof.id, []).append(module)
    assert {s: m for s, m in by_id.items() if len(m) > 1} == {}, "a statement proved by two modules"
    assert sorted(set(STATEMENTS) - NO_PROOF - set(by_id)) == [], "statements without a proof module"
    assert sorted(set(by_id) - set(STATEMENTS)) == [], "orphaned proof modules (id not in STATEMENTS)"
    assert not NO_PROOF & set(by_id), "a statement both exempt and proved"
    assert list(PROOFS) == [s for s in STATEMENTS if s in by_id]


@pytest.mark.parametrize("pid", list(PROOFS))
def test_proof_is_proved(proof_results, pid):
    r = proof_results[pid]
    assert r.status in ("proved", "identity-tested"), (r.error, [s for s in r.steps if not s["ok"]][:3])
    numeric = [s for s in r.steps if s["method_kind"] == "numeric"]
    # "proved" is kept for proofs whose every step is symbolic
    assert (r.status == "proved") == (not numeric)
    assert r.method.startswith("symbolic") == (not numeric)
    if numeric:
        assert "identity-tested only (numeric, not proved)" in r.generality
        assert all("not a symbolic proof" in s["method"] for s in numeric)
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


def test_elementwise_bound_is_proved_symbolically(proof_results):
    """B3's reproduce command used to exit 2: the triangle inequality now has a proof."""
    r = proof_results["ELEMENTWISE_BOUND"]
    assert r.status == "proved" and any(s["kind"] == "nonnegative" for s in r.steps)


def test_numeric_identity_test_uses_wide_seeded_points():
    """asin(sin x) = x holds on |x| ≤ π/2 only: two points in [−1, 1] accepted it, the wide
    test (magnitudes 10^±2) must not."""
    import sympy as sp

    from gftheory.symbolic import equality
    x = sp.Symbol("x", real=True)
    assert not equality.decide_zero(sp.asin(sp.sin(x)) - x, numeric_ok=True).ok
    ok = equality.decide_zero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1 + 0 * x, numeric_ok=True)
    assert ok.ok and ok.numeric and f"{equality.NUMERIC_POINTS} seeded points" in ok.method
    assert equality.NUMERIC_POINTS >= 10
    pts = [equality.test_point({x}, k)[x] for k in range(equality.NUMERIC_POINTS)]
    assert max(abs(p) for p in pts) > 5 and min(abs(p) for p in pts) < 0.2 and len(set(pts)) == len(pts)
    assert pts == [equality.test_point({x}, k)[x] for k in range(equality.NUMERIC_POINTS)]   # seeded


def test_readme_states_the_numeric_test_as_coded():
    from pathlib import Path

    from gftheory.symbolic import equality
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"{equality.EVAL_DIGITS}-digit" in readme and f"{equality.NUMERIC_POINTS} seeded" in readme
    assert "60-digit" not in readme


def test_result_type():
    (r,) = run_proofs(["GRASP_SIGN"])
    assert isinstance(r, ProofResult)
