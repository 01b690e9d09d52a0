"""Numeric checks of the statements in ``gftheory.statements.STATEMENTS`` on generated problems.

``run_checks(profile="ci", ids=None, progress=None) -> list[CheckResult]`` (also the engine of
``gftheory check``); the problem generators shared with the Hypothesis strategies live in
``gftheory.checks.generators``.
"""
from gftheory.checks.runner import RULES, CheckResult, Rule, run_checks

__all__ = ["run_checks", "CheckResult", "Rule", "RULES"]
