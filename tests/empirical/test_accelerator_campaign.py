"""scripts/accelerator_campaign.sh --dry-run (issue 16): the prepared GPU command rehearsed on the
CPU at a tiny smoke scale — data carried in two parts over two calls and assembled from a stash,
bench, throughput probe, the cells in priority order until the deadline, the output layout the
device tool brings back (≤ 8 files, ≤ 2 folders deep, plain names), no checkpoint in the evidence,
the resume bundle, bad input → exit 2 with the fix."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from test_cli_empirical import write_cifar10

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from scripts import accelerator_campaign as ac  # noqa: E402

NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def sh(*argv, env_extra=None):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(env_extra or {})
    return subprocess.run(["bash", str(REPO / "scripts" / "accelerator_campaign.sh"), *map(str, argv)],
                          capture_output=True, text=True, env=env, timeout=300)


def check_out_layout(out: Path):
    files = [p for p in out.rglob("*") if p.is_file()]
    assert 0 < len(files) <= 8
    for p in files:
        rel = p.relative_to(out)
        assert len(rel.parts) <= 3 and all(NAME.match(x) for x in rel.parts)
        assert p.stat().st_size <= 16 * 2 ** 20


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    base = tmp_path_factory.mktemp("acc")
    data = write_cifar10(base / "data", per_batch=40, test=0)
    m = ac.pack(data, base / "parts", part_mib=PART_MIB)
    assert len(m["parts"]) == 2
    a, b = base / "call1", base / "call2"          # what each call carries
    for d, part in ((a, m["parts"][0]), (b, m["parts"][1])):
        d.mkdir()
        (d / ac.MANIFEST).write_bytes((base / "parts" / ac.MANIFEST).read_bytes())
        (d / part["name"]).write_bytes((base / "parts" / part["name"]).read_bytes())
    return base, m


PART_MIB = 0.35


def _carried(folder: Path) -> tuple[int, int]:
    """(bytes of its files, bytes of the blocks the folder and its files occupy: what `du` counts)."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return (sum(p.stat().st_size for p in files),
            sum(p.stat().st_blocks * 512 for p in [folder, *folder.rglob("*")]))


def test_each_carried_folder_fits_the_part_size_manifest_included(packed):
    """A part is cut so that the folder a call carries — the part and the manifest — is ≤ --part-mib
    MiB in bytes and in blocks (issue 26: the parts were 56 MiB and the manifest came on top); the
    parts still join to the payload."""
    base, m = packed
    budget = int(PART_MIB * 2 ** 20)
    for d in (base / "call1", base / "call2"):
        size, blocks = _carried(d)
        assert size <= budget and blocks <= budget, (d.name, size, blocks, budget)
    first = m["parts"][0]["bytes"]
    assert ac.carried_bytes(first, len((base / "parts" / ac.MANIFEST).read_bytes())) <= budget
    assert first > budget - ac.BLOCK_SLACK - 2 * len((base / "parts" / ac.MANIFEST).read_bytes())  # not wasteful
    assert sum(p["bytes"] for p in m["parts"]) == m["payload_bytes"]
    # the real set's numbers (docs/accelerator.md): a 101,854,808-byte payload, a manifest with 50,000 labels
    base_real = {k: v for k, v in m.items() if k != "parts"}
    base_real.update(n=50000, labels_uint8_b64="A" * 66668, payload_bytes=101854808, raw_bytes=153600000,
                     batches_meta_b64="B" * 212)
    blob = bytes(101854808)
    parts, text = ac.split_payload(blob, base_real, 56 * 2 ** 20)
    assert len(parts) == 2 and ac.carried_bytes(parts[0]["bytes"], len(text.encode())) <= 58720256


def test_dry_run_two_calls_then_collect(packed, tmp_path):
    base, manifest = packed
    common = ["--dry-run", "--stash", tmp_path / "stash", "--work", tmp_path / "work"]
    # call 1: half the data → bench on random images, data incomplete, no runs
    out1 = tmp_path / "out1"
    r = sh(*common, "--out", out1, "--parts", base / "call1", "--jobs", "1", "--minutes", "2")
    assert r.returncode == 0, r.stderr
    info = json.loads((out1 / "accelerator.json").read_text())
    assert info["data"]["complete"] is False and info["data"]["missing"] == [manifest["parts"][1]["name"]]
    assert info["bench"]["exit"] == 0 and "--synthetic" in info["bench"]["argv"]
    assert json.loads((out1 / "bench.json").read_text())["results"][0]["arch"] == "resnet56"
    assert info["cells"] == [] and "carry" in info["stopped"] and not (out1 / "evidence.tar.gz").exists()
    check_out_layout(out1)
    # call 2: the other half → assembled (md5, sha256), probe, runs in priority order until the deadline
    out2 = tmp_path / "out2"
    r = sh(*common, "--out", out2, "--parts", base / "call2", "--no-bench", "--jobs-candidates", "1",
           "--probe-seconds", "0.5", "--minutes", "3", "--max-cells", "2")
    assert r.returncode == 0, r.stderr
    info = json.loads((out2 / "accelerator.json").read_text())
    assert info["data"]["complete"] is True and info["data"]["arrays_sha256"] == manifest["arrays_sha256"]
    assert info["probe"]["best_jobs"] == 1 and info["probe"]["rows"][0]["steps_per_s"] > 0
    plan = ac.cells(True, "bf16")                    # the priority order (all of it)
    assert [c["cell"] for c in plan[:4]] == ["fig1-full"] * 4
    assert [c["cell"] for c in plan].index("events-full") == 9
    assert plan[-1]["cell"] == "short" and len({c["config"].run_id() for c in plan}) == len(plan)
    cells = info["cells"]                             # --max-cells 2: its first two
    assert [c["label"] for c in cells] == ["resnet56 magnitude seed 0",
                                           "resnet56 loss_preservation_elementwise seed 0"]
    assert cells[0]["state"] != "not started"        # the first cell always starts
    states = {c["state"] for c in cells}
    assert states <= {"complete", "stopped at deadline", "not started", "running", "exit 0"} | {
        s for s in states if s.startswith("exit")}
    check_out_layout(out2)
    with tarfile.open(out2 / "evidence.tar.gz") as tar:
        names = tar.getnames()
    assert all(n.split("/")[1] in ac.EVIDENCE for n in names if "/" in n)
    assert not any("checkpoint" in n for n in names)
    done = [c["id"] for c in cells if c["state"] == "complete"]
    for i in done:
        assert f"{i}/summary.json" in names
        cfg = json.loads((tmp_path / "work" / "runs" / i / "config.json").read_text())["config"]
        assert cfg["precision"] == "bf16"            # the dry run trains under bf16 autocast on CPU
    # back here: completed runs of the bundle go to results/<scale>/<id>
    collected = ac.collect_bundle(out2 / "evidence.tar.gz", tmp_path / "results", commit=False)
    assert sorted(p.name for p in collected) == sorted(done)
    assert all((p / "summary.json").exists() and not (p / "checkpoint.pt").exists() for p in collected)


def test_bundle_keeps_checkpoints_out_of_the_evidence_and_resume_restores_them(tmp_path):
    root, out = tmp_path / "runs", tmp_path / "out"
    out.mkdir()
    for name, complete in (("aaaa", True), ("bbbb", False)):
        d = root / name
        d.mkdir(parents=True)
        (d / "config.json").write_text("{}")
        (d / "metrics.jsonl").write_text('{"epoch": 1}\n')
        (d / "checkpoint.pt").write_bytes(os.urandom(1000))
        if complete:
            (d / "summary.json").write_text("{}")
    res = ac.bundle(root, ["aaaa", "bbbb", "cccc"], out, resume_files=2)
    assert res["written"] == ["evidence.tar.gz", "resume.tar.part00"] and res["left_out"] == []
    with tarfile.open(out / "evidence.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["aaaa/config.json", "aaaa/metrics.jsonl", "aaaa/summary.json",
                                          "bbbb/config.json", "bbbb/metrics.jsonl"]
    fresh = tmp_path / "fresh"
    assert ac.restore_resume(out, fresh) == ["bbbb"]
    assert (fresh / "bbbb" / "checkpoint.pt").read_bytes() == (root / "bbbb" / "checkpoint.pt").read_bytes()
    # a bundle that needs more files than allowed is reported, not written
    res = ac.bundle(root, ["bbbb"], tmp_path, resume_files=0)
    assert res["written"] == ["evidence.tar.gz"]


def test_run_until_stops_what_runs_at_the_deadline(tmp_path):
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    quick = [sys.executable, "-c", "pass"]
    with open(tmp_path / "log", "wb") as logf:
        state = ac.run_until([("q", quick), ("a", sleep), ("b", sleep), ("c", sleep)], 2,
                             time.monotonic() + 3.0, dict(os.environ), logf)
    assert state["q"] == "exit 0"
    assert state["a"] == state["b"] == "stopped at deadline" and state["c"] == "not started"


@pytest.mark.parametrize("extra, words", [
    (["--jobs", "zero"], "--jobs"),
    (["--minutes", "0"], "minutes"),
])
def test_bad_options_exit_2(extra, words, tmp_path, capsys):
    assert ac.main(["campaign", "--dry-run", "--out", str(tmp_path / "o"), *extra]) == 2
    assert words in capsys.readouterr().err


def test_bad_data_exits_2_with_the_fix(packed, tmp_path, capsys):
    base, manifest = packed
    assert ac.main(["campaign", "--dry-run", "--no-bench", "--jobs", "1", "--out", str(tmp_path / "o1"),
                    "--parts", str(tmp_path), "--stash", str(tmp_path / "s1")]) == 2
    assert "pack" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / ac.MANIFEST).write_bytes((base / "call1" / ac.MANIFEST).read_bytes())
    part = manifest["parts"][0]["name"]
    blob = bytearray((base / "call1" / part).read_bytes())
    blob[100] ^= 1
    (bad / part).write_bytes(bytes(blob))
    assert ac.main(["campaign", "--dry-run", "--no-bench", "--jobs", "1", "--out", str(tmp_path / "o2"),
                    "--parts", str(bad), "--stash", str(tmp_path / "s2")]) == 2
    err = capsys.readouterr().err
    assert "md5" in err and "pack again" in err
    (tmp_path / "o3").mkdir()
    (tmp_path / "o3" / "x").write_text("")
    assert ac.main(["campaign", "--dry-run", "--out", str(tmp_path / "o3")]) == 2
    assert "not empty" in capsys.readouterr().err


def test_dry_run_leaves_nothing_in_the_temporary_folder(packed, tmp_path):
    """Without --stash / --work the dry run puts its stash, the assembled data and the runs in a
    temporary folder and removes it at the end (issue 26: 314 MB were left in /tmp); the host's
    default folders are not touched."""
    base, manifest = packed
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    host = [Path(ac.HOST_STASH), Path(ac.HOST_WORK)]
    existed = {p: p.exists() for p in host}
    out = tmp_path / "out"
    r = sh("--dry-run", "--out", out, "--parts", base / "call1", base / "call2", "--no-bench", "--jobs", "1",
           "--minutes", "0.6", "--max-cells", "1", env_extra={"TMPDIR": str(tmp)})
    assert r.returncode == 0, r.stderr
    info = json.loads((out / "accelerator.json").read_text())
    assert info["data"]["complete"] is True                  # the data was assembled in the scratch folder
    assert info["cells"][0]["records_now"] > 0                # and a run wrote records (and checkpoints) there
    assert Path(info["stash"]).is_relative_to(tmp) and Path(info["work"]).is_relative_to(tmp)
    assert list(tmp.iterdir()) == [], sorted(str(p) for p in tmp.rglob("*"))[:20]
    assert {p: p.exists() for p in host} == existed
    check_out_layout(out)
