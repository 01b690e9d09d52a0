"""The mutation machinery works: planted bugs are caught, and the real tree is untouched."""
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _digest():
    return {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for pkg in ("gftheory", "empirical") for p in (ROOT / pkg).rglob("*.py")}


def test_three_mutants_are_caught_and_the_tree_is_untouched():
    """One formula mutant (gftheory/flow.py), one data mutant and one pruning-bookkeeping mutant
    (empirical/), chosen because their tests fail fast; the full set: scripts/mutation_check.py."""
    before = _digest()
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "mutation_check.py"),
                          "--mutants", "M01,M33,M38", "--no-baseline", "--timeout", "120"],
                         capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3/3 mutants caught" in out.stdout
    assert _digest() == before


def test_missing_target_text_fails_loudly(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import mutation_check as mc
    tree = tmp_path / "t"
    mc.make_tree(tree)
    bad = mc.Mutant("X", "gftheory/flow.py", "no such text", "x", "d", ())
    try:
        mc.apply(tree, bad)
    except SystemExit as exc:
        assert "found 0 times" in str(exc)
    else:
        raise AssertionError("apply() accepted a missing target")


def test_every_mutant_target_is_found_exactly_once():
    """Code that moves must take its mutants along (cheap: no tests run)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import mutation_check as mc
    bad = {m.id: (m.file, (ROOT / m.file).read_text(encoding="utf-8").count(m.old))
           for m in mc.MUTANTS if (ROOT / m.file).read_text(encoding="utf-8").count(m.old) != 1}
    assert not bad, bad
