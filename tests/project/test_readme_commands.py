"""Every ``gftheory ...`` command shown in README.md is accepted by the real argument parser of
its subcommand (documented commands cannot drift from the CLI)."""
import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest

from gftheory.cli import COMMANDS

README = Path(__file__).resolve().parents[2] / "README.md"


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
