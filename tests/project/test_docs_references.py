"""Every document the code, tests and docs cite is in the repository: no reference to files that
live outside it (the reference notes the project started from), and every `docs/*.md` cited exists."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("gftheory", "empirical", "proofs", "scripts", "tests", "docs")
OUTSIDE = re.compile(r"(?<![\w/])(PAPER|ANCHORS|EMPIRICAL_CONTRACT)\.md")
CITED_DOC = re.compile(r"docs/([\w-]+\.md)")


def _texts():
    files = [p for d in SCANNED for p in (ROOT / d).rglob("*")
             if p.suffix in (".py", ".md", ".sh", ".j2", ".html") and p.is_file()
             and "__pycache__" not in p.parts]
    files += [ROOT / "README.md", ROOT / "results" / "README.md"]
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in files if p.exists()}


def test_nothing_cites_a_file_outside_the_repository():
    me = Path(__file__).relative_to(ROOT).as_posix()
    bad = [(name, m.group(0)) for name, text in _texts().items() if name != me
           for m in OUTSIDE.finditer(text)]
    assert bad == [], f"cite docs/paper.md or docs/neighbours.md instead: {bad[:10]}"


def test_every_cited_doc_exists():
    missing = sorted({(name, m.group(1)) for name, text in _texts().items()
                      for m in CITED_DOC.finditer(text) if not (ROOT / "docs" / m.group(1)).exists()})
    assert missing == [], missing


def test_the_checks_see_a_planted_bad_reference(tmp_path):
    assert OUTSIDE.search("see PAPER.md §2") and not OUTSIDE.search("see docs/paper.md §2")
