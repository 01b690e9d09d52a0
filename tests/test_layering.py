"""Theory code never imports the empirical package (the design card's layering rule)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_theory_modules_do_not_import_empirical():
    code = ("import sys, gftheory, gftheory.checks, gftheory.symbolic, gftheory.claims, "
            "gftheory.report, gftheory.cli, proofs\n"
            "bad = sorted(m for m in sys.modules if m == 'empirical' or m.startswith('empirical.'))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.returncode == 0, out.stdout + out.stderr
