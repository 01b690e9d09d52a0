"""The claim registry: every required claim, every evidence id resolvable, a rule and a
reproduce command for each; the ``claims`` and ``confirm`` commands."""
import json

import pytest

from gftheory.claims import CLAIMS, REQUIRED_IDS, get_claim, runs_needed
from gftheory.claims.metrics import METRICS
from gftheory.claims.registry import KINDS
from gftheory.claims.runs import ALL_MEASURES
from gftheory.claims.rules import ARM_SEP, COMBINATIONS, MIN_EFFECT, MIN_EFFECT_V4, Comparison, NonInferior, OneSample
from gftheory.cli import main
from gftheory.errors import UsageError
from gftheory.measures import MEASURES
from gftheory.statements import STATEMENTS


def test_registry_covers_required_claims():
    assert set(REQUIRED_IDS) <= set(CLAIMS)
    for cid in ("F1", "F2", "F3", "F4", "F5", "T0", "T1", "T2", "O1", "O2", "O3", "O4", "O5",
                "Ai", "Aii", "Aiii", "E1", "E2", "E3", "E4", "E5", "E6", "E7"):
        assert cid in CLAIMS


@pytest.mark.parametrize("cid", list(CLAIMS))
def test_claim_is_complete_and_resolvable(cid):
    c = CLAIMS[cid]
    assert c.kind in KINDS and c.words and c.formal and c.source
    assert c.statements or c.comparisons or c.components, "a claim needs evidence"
    assert c.rule_text() and all(isinstance(t, str) and t for t in c.rule_text())
    assert c.commands(), "every claim has a reproduce command"
    for s in c.statements:
        assert s in STATEMENTS, f"{cid}: unknown statement {s}"
    for comp in c.comparisons:
        assert isinstance(comp, (Comparison, NonInferior, OneSample)) and comp.metric in METRICS
        assert comp.direction in ("higher", "lower") and comp.delta > 0
        # v3 claims on v3 metrics; claims registered under v4 (stage 2) on v4 metrics
        assert comp.metric in (MIN_EFFECT if c.registered == "3" else {**MIN_EFFECT, **MIN_EFFECT_V4})
        for m in comp.measures():
            parts = m.split(ARM_SEP) if c.registered == "4" else [m]      # stage-2 arms: "grasp@magnitude"
            assert all(p in MEASURES for p in parts) and len(parts) <= 2 or (
                m == ALL_MEASURES and c.evidence == ("events",)), f"{cid}: unknown measure {m}"
    assert c.combine in COMBINATIONS
    for sub in c.components:
        assert sub in CLAIMS and sub != cid


def test_component_graph_is_acyclic():
    def depth(cid, seen=()):
        assert cid not in seen, f"cycle through {cid}"
        return 1 + max((depth(s, seen + (cid,)) for s in CLAIMS[cid].components), default=0)
    for cid in CLAIMS:
        depth(cid)


def test_observation_and_abstract_mapping():
    """Each Observation is tested on its own words: O1 on convergence after pruning, O3 against
    loss preservation as well as random, O4 on the loss change at GraSP's events, O5 on the
    second-order dynamics (‖g‖² + θᵀHg) at events and on final accuracy."""
    assert CLAIMS["O1"].statements == ("T0",) and {r.metric for r in CLAIMS["O1"].comparisons} == {"train_loss_speed"}
    assert set(CLAIMS["O2"].statements) >= {"O2"}
    assert {(r.b, type(r).__name__) for r in CLAIMS["O3"].comparisons} == {("random", "Comparison"),
                                                                          ("loss_preservation", "NonInferior")}
    o4 = CLAIMS["O4"]
    assert o4.components == ("T2",) and "GRASP_SIGN" in o4.statements
    assert {r.b for r in o4.comparisons if getattr(r, "metric", "") == "event_rel_dloss"} == {
        "magnitude", "loss_preservation", "loss_preservation_elementwise", "biased_loss_preservation",
        "gradient_norm_preservation", "random"}
    assert {r.metric for r in CLAIMS["O5"].comparisons} == {"event_rel_abs_daccel", "event_rel_abs_dgrad_norm_sq",
                                                           "final_acc"}
    assert set(CLAIMS["O5"].statements) == {"F4", "F4_unit"}
    assert {r.metric for r in CLAIMS["E2"].comparisons} == {"train_loss_speed", "eval_acc_speed"}
    assert set(CLAIMS["Ai"].components) == {"E1", "E2"}
    assert CLAIMS["Aii"].components == ("E4",) and CLAIMS["Aiii"].components == ("E5",)


def test_paper_and_code_loss_preservation_both_tested():
    bs = {c.b for c in CLAIMS["E1"].comparisons}
    assert {"loss_preservation", "loss_preservation_elementwise"} <= bs


def test_runs_needed():
    e2 = runs_needed(CLAIMS["E2"])
    assert {a for a, _, _ in e2} == {"resnet56"} and {d for _, d, _ in e2} == {"cifar10", "cifar100"}
    e1 = runs_needed(CLAIMS["E1"])
    assert len(e1) == 3 * 2 * 3 and len(set(e1)) == len(e1)
    assert runs_needed(CLAIMS["F1"]) == []
    assert set(e2) <= set(runs_needed(CLAIMS["O1"]))


def test_get_claim_case_insensitive_and_unknown():
    assert get_claim("aiii").id == "Aiii"
    with pytest.raises(UsageError, match="unknown claim"):
        get_claim("E99")


def test_claims_command(capsys):
    assert main(["claims"]) == 0
    out = capsys.readouterr().out
    assert all(cid in out for cid in CLAIMS)
    assert main(["claims", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["rules_digest"]) == 16 and data["rules_version"]
    data = data["claims"]
    assert {d["id"] for d in data} == set(CLAIMS) and all(d["rules"] and d["commands"] for d in data)
    assert main(["claims", "E5"]) == 0
    assert "gftheory confirm E5" in capsys.readouterr().out
    assert main(["claims", "E4"]) == 0
    out = capsys.readouterr().out
    rule_lines = [line for line in out.splitlines() if line.startswith("  rule: ")]
    assert len(rule_lines) == len(set(rule_lines)) == 12 + 1        # one sentence per rule + the combination
    assert "digest" in out
    assert main(["claims", "nope"]) == 2


def test_confirm_dry_run_plans_exact_runs(capsys):
    assert main(["confirm", "E2", "--seeds", "3", "--scale", "smoke", "--dry-run"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("gftheory run")]
    assert len(lines) == 2 * 3 * 3 and all("--arch resnet56" in line and "--scale smoke" in line for line in lines)
    assert main(["confirm", "E1", "--arch", "vgg13", "--dataset", "cifar100", "--seeds", "4", "--dry-run"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("gftheory run")]
    assert len(lines) == 3 * 4 and all("vgg13" in line and "cifar100" in line for line in lines)


def test_confirm_bad_input_exits_2(capsys):
    assert main(["confirm", "E99", "--dry-run"]) == 2
    assert main(["confirm", "E2", "--arch", "vgg13", "--dry-run"]) == 2
    assert "fix:" in capsys.readouterr().err
    assert main(["confirm", "E1", "--seeds", "0", "--dry-run"]) == 2


def test_confirm_reuses_stored_runs(tmp_path, monkeypatch, capsys):
    """With the empirical runner stubbed to 'already complete', confirm prints the verdict of the
    stored synthetic runs (no training)."""
    import sys
    import types

    from planted import plant
    import empirical.config  # noqa: F401 - a broken import must fail, not skip
    plant(tmp_path, arch="resnet56", dataset="cifar10", measures={
        "grasp": {"final_acc": 80, "d_grad_norm_sq": 0.5}, "gradient_norm_preservation": {"final_acc": 90}})
    calls = []
    fake = types.ModuleType("empirical.sweep")
    fake.run_grid = lambda configs, root, **kw: calls.append(len(configs)) or []
    monkeypatch.setitem(sys.modules, "empirical.sweep", fake)
    runs = tmp_path / "runs"                       # the run root (default runs/); --results is only read
    assert main(["confirm", "E5", "--arch", "resnet56", "--dataset", "cifar10", "--scale", "full",
                 "--results", str(tmp_path), "--root", str(runs), "--allow-planted"]) == 0
    out = capsys.readouterr().out
    assert calls == [2 * 3] and "VERDICT: confirmed" in out and "PLANTED DATA" in out
    assert main(["confirm", "E5", "--arch", "resnet56", "--dataset", "cifar10", "--scale", "full",
                 "--results", str(tmp_path), "--root", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "VERDICT: not yet run" in out and "PLANTED" not in out      # planted runs set aside


def test_confirm_identity_claim_runs_live_evidence(monkeypatch, capsys):
    """An identity claim needs no runs: confirm runs its proofs and checks (faked here) and
    prints the computed verdict."""
    import sys
    import types

    import proofs
    seen = {}
    cm = types.ModuleType("gftheory.checks")

    def run_checks(profile="ci", ids=None, progress=None):
        seen["checks"] = ids
        return [{"id": i, "passed": True, "cases": 3} for i in ids]

    def run_proofs(ids=None, progress=None):
        seen["proofs"] = ids
        return [{"id": i, "status": "proved"} for i in ids]

    cm.run_checks = run_checks
    monkeypatch.setattr(proofs, "run_proofs", run_proofs)
    monkeypatch.setitem(sys.modules, "gftheory.checks", cm)
    assert main(["confirm", "F1"]) == 0
    assert seen == {"checks": ["F1", "F1_unit", "F1_wd"], "proofs": ["F1", "F1_unit", "F1_wd"]}
    assert "VERDICT: proved and checked" in capsys.readouterr().out


def test_every_printed_reproduce_command_runs(monkeypatch, capsys, proof_results):
    """Each command `gftheory claims` prints runs with exit 0 through the real CLI: proofs from
    the session's real results (ids validated by the real `prove` parser), numeric checks faked
    only in their computation, `confirm` as --dry-run."""
    import shlex

    import gftheory.checks.runner as runner
    import proofs
    from gftheory.claims.registry import CLAIMS as ALL
    from gftheory.statements import STATEMENTS
    checked = []

    def run_checks(profile="ci", ids=None, seed=0, progress=None):
        assert set(ids) <= set(STATEMENTS)
        checked.extend(ids)
        return []

    monkeypatch.setattr(runner, "run_checks", run_checks)
    monkeypatch.setattr(proofs, "run_proofs", lambda ids=None, progress=None, jobs=1:
                        [proof_results[i] for i in (ids or proof_results)])
    cmds = sorted({cmd for c in ALL.values() for cmd in c.commands()})
    assert any(cmd.startswith("gftheory prove") and "ELEMENTWISE_BOUND" in cmd for cmd in cmds)
    for cmd in cmds:
        argv = shlex.split(cmd)[1:]
        if argv[0] in ("confirm", "events"):
            argv.append("--dry-run")
        rc = main(argv)
        assert rc == 0, (cmd, capsys.readouterr())
    assert checked
