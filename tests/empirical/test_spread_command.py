"""``gftheory spread`` on a tiny event study: the table and its JSON (provenance, every measure ×
size), a data-free measure agreeing perfectly across samples, and bad input refused with exit 2,
the fix named and nothing written."""
from __future__ import annotations

import json

import pytest

from empirical import events as ev
from gftheory.cli import main
from test_cli_empirical import write_cifar10

pytestmark = pytest.mark.usefixtures("single_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("spread")
    data = write_cifar10(root / "data", per_batch=120)
    cfg = ev.EventConfig(arch="resnet56", edition=1, checkpoints=(1,), measures=("magnitude",), importance_samples=16,
                         probe_size=8, val_size=50, holdout_size=100, recovery_steps=2, recovery_eval=(2,),
                         batch_size=32, max_train_samples=192, later_rounds=(2,))
    return ev.ensure_study(cfg, root / "runs", data_dir=data, progress=False), data


def test_spread_writes_the_table_with_provenance(study, tmp_path, capsys):
    d, data = study
    (tmp_path / "spread").mkdir()
    out = tmp_path / "spread" / "tiny.json"
    assert main(["spread", "--study", str(d), "--checkpoint", "1", "--sizes", "8,16", "--repeats", "2",
                 "--measures", "magnitude,loss_preservation,grasp", "--data-dir", str(data), "--json", str(out),
                 "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "importance-sample spread — resnet56" in table and "loss_preservation" in table
    res = json.loads(out.read_text())
    assert res["kind"] == "importance_spread" and res["study"] == d.name and res["checkpoint_epoch"] == 1
    assert res["fraction"] == pytest.approx(ev.EventConfig().first_round_ratio())
    assert {(r["measure"], r["sample_size"]) for r in res["rows"]} == {
        (m, n) for m in ("magnitude", "loss_preservation", "grasp") for n in (8, 16)}
    for r in res["rows"]:
        assert -1 <= r["rank_corr"]["min"] <= r["rank_corr"]["mean"] <= 1 + 1e-12
        assert 0 <= r["pruned_jaccard"]["min"] <= r["pruned_jaccard"]["mean"] <= 1 and r["pruned_units"] > 0
        if r["measure"] == "magnitude":            # data-free: every sample ranks alike
            assert r["rank_corr"]["min"] == pytest.approx(1.0) and r["pruned_jaccard"]["min"] == 1.0
    assert {"code_version", "device", "time_utc"} <= set(res["provenance"]) and res["data_arrays_sha256"]
    # the report shows what the command wrote (<results root>/spread/*.json)
    from gftheory.report.build import spread_blocks
    blocks = spread_blocks([tmp_path])
    (table,) = [b for b in blocks if b[0] == "table"]
    assert [row[:2] for row in table[2]] == [[r["measure"], str(r["sample_size"])] for r in res["rows"]]
    assert any(d.name in b[1] for b in blocks if b[0] == "p")
    assert "None stored yet" in spread_blocks([tmp_path / "nowhere"])[-1][1]


def test_bad_input_exits_2_naming_the_fix_and_writes_nothing(study, tmp_path, capsys):
    d, data = study
    out = tmp_path / "x.json"
    base = ["spread", "--data-dir", str(data), "--json", str(out), "--quiet"]
    cases = [
        (["--study", str(tmp_path)], "not a readable run directory"),
        (["--study", str(d), "--checkpoint", "7"], "checkpoint_e1.pt"),
        (["--study", str(d), "--repeats", "1"], "--repeats 3"),
        (["--study", str(d), "--measures", "nope"], "choose from"),
        (["--study", str(d), "--sizes", "1"], "--sizes"),
        (["--study", str(d), "--json", str(tmp_path / "missing" / "x.json")], "create it first"),
    ]
    for extra, word in cases:
        assert main(base + extra) == 2, extra
        err = capsys.readouterr().err
        assert "error:" in err and "fix" in err and word in err, (extra, err)
        assert not out.exists()
    other = write_cifar10(tmp_path / "other", per_batch=120, seed=5)
    assert main(["spread", "--study", str(d), "--data-dir", str(other), "--json", str(out), "--quiet"]) == 2
    assert "not the study's" in capsys.readouterr().err and not out.exists()
