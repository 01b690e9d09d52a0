"""The one ``--seeds`` syntax of every command (``sweep``, ``events``, ``confirm``).

A seed list is written as integers and inclusive ranges, separated by commas and/or spaces (so
one argument or several): ``0,1,2`` = ``0 1 2`` = ``0-2``; ``0-2,7 9-10`` = 0 1 2 7 9 10. Seeds are
integers ≥ 0; order is kept and repeats are dropped. Anything else is a ``UsageError`` (exit 2)
with one line naming the bad value and the fix, raised before any work starts.

``confirm`` alone also reads the old form, a single integer N meaning the count 0..N−1
(``legacy_count``), and says so on stderr (``parse_seeds`` returns the note for the caller).
"""
from __future__ import annotations

import re

from gftheory.errors import UsageError

EXAMPLE = "0,1,2 or 0 1 2 or 0-2"
_INT = re.compile(r"[+-]?\d+")
_RANGE = re.compile(r"(\d+)-(\d+)")


def _text(values) -> str:
    return values if isinstance(values, str) else " ".join(str(v) for v in values)


def seed_items(values) -> list[str]:
    """The items of ``values`` (a string or a list of strings) split at commas and whitespace."""
    return [t for t in re.split(r"[,\s]+", _text(values)) if t]


def parse_seeds(values, *, flag: str = "--seeds") -> list[int]:
    """``values`` (a string, or the strings argparse collected with nargs="+") as a list of seeds.

    Raises UsageError (exit 2) naming the bad item: not an integer, negative, a range whose end
    is below its start, or nothing given."""
    text = _text(values)
    items = seed_items(values)
    if not items:
        raise UsageError(f"{flag} {text!r}: no seed given; seeds are integers ≥ 0; fix: give e.g. {flag} {EXAMPLE}")
    seeds: list[int] = []
    negative: list[str] = []
    for item in items:
        m = _RANGE.fullmatch(item)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise UsageError(f"{flag} {text}: range {item} ends below its start; ranges are inclusive "
                                 f"LOW-HIGH; fix: give {flag} {hi}-{lo}")
            got = list(range(lo, hi + 1))
        elif _INT.fullmatch(item):
            got = [int(item)]
            if got[0] < 0:
                negative.append(item)
                continue
        else:
            raise UsageError(f"{flag} {text}: {item!r} is not an integer or a range LOW-HIGH; "
                             f"fix: give e.g. {flag} {EXAMPLE}")
        seeds.extend(s for s in got if s not in seeds)
    if negative:
        raise UsageError(f"{flag} {text}: {', '.join(negative)} {'is' if len(negative) == 1 else 'are'} negative; "
                         f"seeds are integers ≥ 0; fix: give e.g. {flag} {EXAMPLE}")
    return seeds


def legacy_count(values) -> int | None:
    """N when ``values`` is one bare integer N (``confirm``'s old ``--seeds N``: seeds 0..N−1),
    else None."""
    items = seed_items(values)
    if len(items) == 1 and _INT.fullmatch(items[0]) and "," not in _text(values):
        return int(items[0])
    return None


def format_seeds(seeds) -> str:
    """The shortest form of a seed list in this syntax: runs of consecutive seeds as ranges,
    e.g. [0, 1, 2, 5] → "0-2,5" (a run of two stays "3,4")."""
    seeds = list(seeds)
    parts, i = [], 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{seeds[i]}-{seeds[j]}")
        else:
            parts.extend(str(s) for s in seeds[i:j + 1])
        i = j + 1
    return ",".join(parts)


__all__ = ["EXAMPLE", "format_seeds", "legacy_count", "parse_seeds", "seed_items"]
