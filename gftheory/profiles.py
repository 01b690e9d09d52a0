"""Test/check profiles shared by pytest (tests/conftest.py) and ``gftheory check``."""
from __future__ import annotations

import os
from dataclasses import dataclass

ENV_VAR = "GFTHEORY_PROFILE"


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int     # Hypothesis examples per property
    derandomize: bool     # ci is reproducible; thorough explores


PROFILES = {
    "ci": Profile("ci", max_examples=12, derandomize=True),
    "thorough": Profile("thorough", max_examples=150, derandomize=False),
}


def profile_name(explicit: str | None = None) -> str:
    name = explicit or os.environ.get(ENV_VAR, "ci")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (from {ENV_VAR} or --profile); choose one of "
                         f"{', '.join(PROFILES)}")
    return name
