"""README.md as a newcomer follows it: every ``gftheory ...`` command it shows is accepted by the
real argument parser of its subcommand (documented commands cannot drift from the CLI), every
```python block runs as written in a fresh interpreter, the install line takes the CPU wheel, the
prerequisites, links, picture and citation are there, and the table of verdicts is the generator's
output (docs/make_readme_assets.py), never typed."""
import argparse
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gftheory.cli import COMMANDS
from gftheory.claims import CLAIMS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    blocks, current = [], None
    for raw in README.read_text(encoding="utf-8").splitlines():
        if raw.startswith("```"):
            if current is None:
                current = [] if raw.strip() in ("```", "```bash") else "skip"
            else:
                if current != "skip":
                    blocks.append("\n".join(current))
                current = None
        elif current is not None and current != "skip":
            current.append(raw)
    lines = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            for part in line.split("&&"):
                part = part.split("#")[0].strip()
                if part.startswith("gftheory "):
                    lines.append(part)
    return lines


def test_readme_shows_commands():
    cmds = readme_commands()
    assert any(c.startswith("gftheory report") for c in cmds)
    assert len({c.split()[1] for c in cmds}) >= 8


@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_parses(line):
    argv = shlex.split(line)[1:]
    assert argv[0] in COMMANDS, f"README shows unknown command {argv[0]!r}"
    module = importlib.import_module(COMMANDS[argv[0]][0])
    parser = argparse.ArgumentParser(prog=f"gftheory {argv[0]}", exit_on_error=False)
    module.add_arguments(parser)
    try:
        parser.parse_args(argv[1:])
    except SystemExit as exc:  # argparse reports some errors by exiting
        pytest.fail(f"README command does not parse: {line} (exit {exc.code})")


def test_ci_installs_what_the_readme_test_command_installs():
    """.ci/run installs the project with the same extras as the README's test command (the test
    extra holds pytest and hypothesis, which no package module imports)."""
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    readme = [line for line in README.read_text(encoding="utf-8").splitlines()
              if line.rstrip().endswith("&& pytest")]
    extras = re.compile(r"pip install (?:-q )?-e '?\.(\[[a-z,]+\])?'?")
    (want,) = [m.group(1) for line in readme for m in extras.finditer(line)]
    got = [m.group(1) for m in extras.finditer(ci)]
    assert want and "test" in want and got == [want], (want, got)


def _fenced(lang: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def test_readme_python_blocks_run_as_written(tmp_path):
    blocks = _fenced("python")
    assert blocks, "README shows no python block"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for i, code in enumerate(blocks):
        r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, f"README python block {i + 1} fails:\n{code}\n--- stderr ---\n{r.stderr[-3000:]}"


def test_install_lines_take_the_cpu_wheel_and_name_the_gpu_route():
    text = README.read_text(encoding="utf-8")
    installs = [line for line in text.splitlines() if "python3 -m venv" in line and "pip install" in line]
    assert len(installs) == 2
    for line in installs:
        torch = re.search(r"pip install (torch\S*)([^&]*)", line)
        assert torch and torch.group(1).startswith("torch=="), line                     # pinned, as CI pins it
        assert "--index-url https://download.pytorch.org/whl/cpu" in torch.group(2), line  # the CPU build
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pinned = re.search(r"pip install (?:-q )?(torch==\S+)", ci)
    assert pinned and all(pinned.group(1) in line for line in installs), "README and .ci/run pin another torch"
    assert re.search(r"CUDA build", text) and "download.pytorch.org/whl/cu" in text      # the GPU route


def test_readme_states_prerequisites_costs_links_picture_and_citation():
    text = README.read_text(encoding="utf-8")
    assert re.search(r"Chromium", text) and "apt-get install chromium" in text
    assert re.search(r"\d+(\.\d+)? GB", text) and re.search(r"\d+ s wall", text)         # measured disk and time
    for link in ("docs/paper.md", "docs/figures.md", "docs/report-summary.png"):
        assert f"]({link})" in text, link
    png = ROOT / "docs" / "report-summary.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) <= 400 * 1024, len(data)
    (bib,) = _fenced("bibtex")
    assert "Lubana" in bib and "Dick" in bib and "ICLR" in bib and "2021" in bib and "Gradient Flow" in bib
    assert "gftheory data demo" in text                                                 # the offline path


def test_verdict_table_is_generated_not_typed():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import make_readme_assets as assets
    finally:
        sys.path.remove(str(ROOT / "docs"))
    text = README.read_text(encoding="utf-8")
    assert assets.BEGIN.search(text) and assets.END in text, "README lost its generated-table markers"
    block = assets.read_block(text)
    if not block:
        return                                  # placeholder: the table waits for the next report
    assert block.startswith("Generated from `report.json`") and re.search(r"digest `[0-9a-f]{16}`", block)
    cells = assets.table_rows(block)
    ids = [row[0] for row in cells]
    # registered claims in registry order (a claim registered after the table was made is missing
    # until `python docs/make_readme_assets.py REPORT_DIR` is rerun; the block says when it was made)
    assert ids and len(ids) == len(set(ids)) and set(ids) <= set(CLAIMS), sorted(set(ids) - set(CLAIMS))
    assert ids == [c for c in CLAIMS if c in ids], "the table's claims are out of registry order"
    # rebuilt from the fields of its own rows, the generator gives the same text: nothing edited by hand
    summary = [dict(zip(("id", "verdict", "scale", "seeds", "coverage"), row[:5])) for row in cells]
    planned = any(row[5] != "no confirmatory plan" for row in cells)
    v4 = {"plan": {"path": "plans/stage2.json"} if planned else None,
          "stage2": {row[0]: {"verdict": row[5]} for row in cells if row[5] not in ("not in the plan", "") and planned}}
    head = block.splitlines()[0]
    meta_fields = re.search(r"of `(.*?)` \((.*?); code (.*?); rules version (.*?), digest `(.*?)`; (\S+) completed", head)
    assert meta_fields, head
    command, time_utc, code, version, digest, n = meta_fields.groups()
    report = {"meta": {"command": command, "provenance": {"time_utc": time_utc, "code_version": code},
                       "rules_version": version, "rules_digest": digest, "planted_in_use": "PLANTED" in head},
              "summary": summary, "claims": [{"id": row[0], "title": row[6], "empirical": {"stage 2": row[5]} if row[5] else None}
                         for row in cells], "v4": v4,
              "runs": {"completed": int(n) if n.isdigit() else n}}
    assert assets.verdict_table(report) == block


def test_verdict_table_shows_a_rules_v4_claim_as_stage2_only():
    """A claim that stage 1 does not judge (report.json ``judged_at_stage1`` false; in an older
    report.json only ``registered`` "4") gets no stage-1 verdict in the README table, whatever its
    summary row says; a rules-v3 claim keeps its stage-1 verdict. The flag the report writes is the
    registry's own."""
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import make_readme_assets as assets
    finally:
        sys.path.remove(str(ROOT / "docs"))
    v3 = next(c for c in CLAIMS.values() if c.judged_at_stage1 and c.comparisons)
    v4 = next(c for c in CLAIMS.values() if not c.judged_at_stage1)
    assert v4.registered != "3" and v3.registered == "3"
    summary = [{"id": cid, "verdict": f"planted-{cid}", "scale": "cpu", "seeds": "n=3", "coverage": "1/2"}
               for cid in (v3.id, v4.id, "LEGACY")]
    claims = [{"id": v3.id, "judged_at_stage1": v3.judged_at_stage1, "registered": v3.registered},
              {"id": v4.id, "judged_at_stage1": v4.judged_at_stage1, "registered": v4.registered},
              {"id": "LEGACY", "registered": "4"}]
    rows = {r[0]: r for r in assets.table_rows(assets.verdict_table({"summary": summary, "claims": claims}))}
    assert rows[v3.id][1] == f"planted-{v3.id}" and rows[v3.id][2] == "cpu"
    for cid in (v4.id, "LEGACY"):
        assert rows[cid][1] == "— (a rules-v4 claim: stage 2 only)" and rows[cid][2:5] == ["", "", ""], rows[cid]
