"""The suite itself: a broken import of the project's own modules must fail, never skip, and no
test asserts a wall-clock duration (timings belong in `gftheory bench` / a benchmark)."""
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
OWN = ("gftheory", "empirical", "proofs", "strategies", "planted", "test_")


def _sources():
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(TESTS.rglob("*.py"))
            if p.name != Path(__file__).name}


def test_no_importorskip_of_the_projects_own_modules():
    bad = [(name, m.group(0)) for name, text in _sources().items()
           for m in re.finditer(r"importorskip\(\s*['\"]([\w.]+)['\"]", text)
           if m.group(1).startswith(OWN)]
    assert bad == [], f"a broken import would be reported as a skip: {bad}"


def test_no_test_asserts_a_duration():
    timer = re.compile(r"perf_counter\(\)|time\.time\(\)|monotonic\(\)")
    bad = []
    for name, text in _sources().items():
        timed = set()
        for line in text.splitlines():
            m = re.match(r"\s*(\w+)\s*=\s*.*(perf_counter\(\)|time\.time\(\)|monotonic\(\))", line)
            if m:
                timed.add(m.group(1))
            s = line.strip()
            if s.startswith("assert") and (timer.search(s) or any(re.search(rf"\b{v}\b", s)
                                                                 for v in timed)):
                bad.append((name, s))
    assert bad == [], f"tests asserting wall-clock limits: {bad}"
