"""The layering of the code, written down once (``LAYERS``), and the rule that no import points up.

Layers, bottom → top (a module may import modules of its own layer and of the layers below it,
never of a layer above; imports inside functions count, lazy or not):

0. ``core`` — the theory library and shared plumbing: the objective, the measures, gradient flow,
   Hessians, importance, integration, the statement table, error types, lazy exports, registries, atomic writes, the run
   store (run-directory layout, writer and reader), profiles, provenance, external measures
   (``module:Class``, entry points), the ``--seeds`` syntax every command shares, and the ``gftheory``
   package itself (its public API, loaded lazily).
1. ``engines`` — ``gftheory.symbolic`` (the Proof/Step machinery, sympy helpers, negative
   controls) and ``gftheory.checks`` (the numeric checks); neither imports the other.
2. ``proofs`` — one derivation per statement, discovered by ``proofs/__init__.py``.
3. ``claims`` — ``gftheory.claims``: the registry, the rules, run reading, verdicts, live evidence.
4. ``report`` — ``gftheory.report``: the claim-by-claim document and its plots; ``gftheory.assess``:
   one measure placed in the framework (theory part, its one-page report).
5. ``empirical`` — the training / pruning / event-study library (imports only ``core`` today).
6. ``commands`` — ``gftheory.commands`` and ``empirical.commands``: one module per subcommand, a
   thin ``add_arguments`` / ``run`` wrapper over the library.
7. ``cli`` — ``gftheory.cli``, the dispatcher over the commands.
8. ``entry`` — ``gftheory.__main__``.

So the theory code (layers 0–4) never imports ``empirical``; only commands do.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gftheory", "proofs", "empirical")

# (layer, modules or packages): a package entry covers its submodules; the longest entry wins;
# "gftheory" covers the package's own __init__ only, so every new gftheory module must be placed.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("gftheory", "gftheory.errors", "gftheory.atomic", "gftheory.lazy", "gftheory.registry", "gftheory.runstore", "gftheory.statements",
              "gftheory.profiles", "gftheory.provenance", "gftheory.state", "gftheory.objective",
              "gftheory.measures", "gftheory.flow", "gftheory.hessian", "gftheory.importance", "gftheory.integrate",
              "gftheory.spread", "gftheory.external", "gftheory.seeds")),
    ("engines", ("gftheory.symbolic", "gftheory.checks")),
    ("proofs", ("proofs",)),
    ("claims", ("gftheory.claims",)),
    ("report", ("gftheory.report", "gftheory.assess")),
    ("empirical", ("empirical",)),
    ("commands", ("gftheory.commands", "empirical.commands")),
    ("cli", ("gftheory.cli",)),
    ("entry", ("gftheory.__main__",)),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
EXACT_ONLY = {"gftheory"}


def layer_of(module: str) -> str | None:
    best, best_len = None, -1
    for name, entries in LAYERS:
        for e in entries:
            covers = module == e or (e not in EXACT_ONLY and module.startswith(e + "."))
            if covers and len(e) > best_len:
                best, best_len = name, len(e)
    return best


def project_modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, project module) for every import in ``path``: top-level, in functions, relative,
    and ``importlib.import_module("literal")``. ``from a.b import c`` counts as a.b.c when that
    is a module, else as a.b."""
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            out += [(node.lineno, s) for s in subs] or [(node.lineno, target)]
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.lineno, node.args[0].value))
    return [(line, m) for line, m in out if m.split(".")[0] in PACKAGES]


def upward_imports() -> list[str]:
    mods = project_modules()
    bad = []
    for mod, path in mods.items():
        here = layer_of(mod)
        for line, target in imports_of(mod, path, set(mods)):
            there = layer_of(target)
            if there is not None and here is not None and RANK[there] > RANK[here]:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {mod} ({here}) imports {target} ({there})")
    return bad


def test_every_module_has_a_layer():
    unplaced = [m for m in project_modules() if layer_of(m) is None]
    assert not unplaced, f"place these modules in LAYERS (tests/project/test_layering.py): {unplaced}"


def test_no_import_points_up_a_layer():
    bad = upward_imports()
    assert not bad, "imports that point up a layer (see LAYERS):\n" + "\n".join(bad)


def test_the_layer_check_sees_lazy_and_relative_imports(tmp_path):
    """The parser is not blind: an import inside a function, a relative import and
    importlib.import_module("...") are all reported."""
    f = tmp_path / "m.py"
    f.write_text("from . import cli\ndef f():\n    from gftheory.report import build\n"
                 "    import importlib\n    importlib.import_module('empirical.runner')\n")
    found = [m for _, m in imports_of("gftheory.claims.m", f, {"gftheory.claims.cli", "gftheory.report.build"})]
    assert found == ["gftheory.claims.cli", "gftheory.report.build", "empirical.runner"]


@pytest.mark.parametrize("module, layer", [("gftheory", "core"), ("gftheory.symbolic.proof", "engines"),
                                           ("proofs.f1_norm_rate", "proofs"), ("empirical.commands.run", "commands"),
                                           ("empirical.runner", "empirical"), ("gftheory.nowhere", None)])
def test_layer_lookup(module, layer):
    assert layer_of(module) == layer


def test_only_the_entry_point_imports_the_cli():
    users = sorted({mod for mod, path in project_modules().items()
                    for _, target in imports_of(mod, path, set(project_modules())) if target == "gftheory.cli"})
    assert users == ["gftheory.__main__"]


def test_theory_modules_do_not_import_empirical():
    code = ("import sys, gftheory, gftheory.checks, gftheory.symbolic, gftheory.claims, "
            "gftheory.report, gftheory.cli, proofs\n"
            "bad = sorted(m for m in sys.modules if m == 'empirical' or m.startswith('empirical.'))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.returncode == 0, out.stdout + out.stderr


def test_light_commands_stay_light():
    """`gftheory claims` (the registry table) imports neither torch nor scipy (nor numpy, nor
    sympy): the package __init__s load their API lazily. Structural, not a timing."""
    code = ("import sys, gftheory.cli\n"
            "assert gftheory.cli.main(['claims']) == 0\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'scipy', 'numpy', 'sympy'})\n"
            "print('HEAVY', heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.returncode == 0 and "HEAVY []" in out.stdout, out.stdout[-2000:] + out.stderr


def test_one_command_module_convention():
    """`gftheory X` is the module gftheory.commands.X or empirical.commands.X, and every module of
    those packages is a command (add_arguments and run)."""
    from gftheory.cli import COMMANDS
    for name, (module, _help) in COMMANDS.items():
        assert module in (f"gftheory.commands.{name}", f"empirical.commands.{name}"), (name, module)
    listed = {module for module, _ in COMMANDS.values()}
    for pkg in ("gftheory/commands", "empirical/commands"):
        for path in sorted((ROOT / pkg).glob("[!_]*.py")):
            module = f"{pkg.replace('/', '.')}.{path.stem}"
            defs = {n.name for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.FunctionDef)}
            assert {"add_arguments", "run"} <= defs, f"{module} is not a command module"
            assert module in listed, f"{module} is no gftheory command (add it to gftheory.cli.COMMANDS)"


def test_package_modules_do_not_import_test_tools():
    """pytest and hypothesis are the `test` extra (pyproject.toml), not dependencies: no module of
    the packages imports them."""
    bad = []
    for mod, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            bad += [f"{mod}: {n}" for n in names if n.split(".")[0] in ("pytest", "hypothesis")]
    assert not bad, bad
