"""Every command's ``--help`` prints and exits 0.

argparse formats help strings with ``%``-interpolation, so a literal ``%`` in a help text (``80 %
power``) makes ``--help`` raise ValueError instead of printing; the fault only shows when someone
asks for help, so it is checked here for the top level and every registered command.
"""
from __future__ import annotations

import pytest

from gftheory.cli import COMMANDS, main


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in COMMANDS],
                         ids=lambda a: " ".join(a))
def test_help_prints_and_exits_zero(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: gftheory" in out
    if argv[0] != "--help":
        assert COMMANDS[argv[0]][1].split()[0] in out        # the command's own description is shown


def test_top_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert "80 % power" in " ".join(out.split())                       # shown as written, not doubled by the escape


def test_command_description_shown_as_written(capsys):
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    out = capsys.readouterr().out
    assert COMMANDS["plan"][1] in " ".join(out.split())
