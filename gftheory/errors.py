"""The error types every layer raises; the command line (``gftheory.cli``) turns them into exit
statuses. They live at the bottom of the layering (tests/project/test_layering.py) so that library code
never imports the command line to raise one."""
from __future__ import annotations


class UsageError(Exception):
    """Bad input: the message names the problem and the fix; exit status 2."""


__all__ = ["UsageError"]
