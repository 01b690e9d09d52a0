"""Measures from outside the package: ``module:Class`` or a Python entry point.

Wherever a measure name is accepted (``gftheory.importance``, ``MEASURES[...]``,
``MEASURES.resolve``, and through them ``gftheory run / sweep / events / spread / assess``), it may
also be

- ``"package.module:Class"`` (or ``module:Outer.Inner``, or an instance): the module is imported
  and the attribute must be a subclass (or instance) of ``gftheory.measures.Measure``;
- the name of an entry point of the group ``gftheory.measures`` (``ENTRY_POINT_GROUP``), declared
  by an installed package in its ``pyproject.toml``::

      [project.entry-points."gftheory.measures"]
      snip = "my_measures:Snip"

  The entry point's name must equal the class's ``name``.

A measure declares what it reads in ``needs`` ⊆ ``QUANTITIES`` = {grad, hvp, grad_sq, synflow,
generator}; ``gftheory.importance`` computes exactly those (no backward pass for a measure that
needs none) and hands the others to it as None.

Every failure raises ``MeasureLoadError`` — a ``UsageError`` (the command line exits 2) and a
``KeyError`` (``name in MEASURES`` is False, as for any unknown name) — whose message names the
problem and the fix. Loading happens once per spec (``MEASURES`` caches the instance); nothing is
loaded until a name is looked up, so light commands stay light.
"""
from __future__ import annotations

import importlib
import re

from gftheory.errors import UsageError

ENTRY_POINT_GROUP = "gftheory.measures"
_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_DOC = "docs/assess.md"


class MeasureLoadError(UsageError, KeyError):
    """A measure name or spec that cannot be used; the message names the problem and the fix."""

    def __str__(self) -> str:     # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def is_spec(name) -> bool:
    """Whether ``name`` is a ``module:Class`` spec (built-in measure names never hold a colon)."""
    return isinstance(name, str) and ":" in name


def load_object(spec: str, *, what: str = "measure"):
    """Import ``module`` of ``module:attr`` and return ``attr`` (dotted attributes allowed)."""
    if not _SPEC.match(spec or ""):
        raise MeasureLoadError(f"{what} {spec!r} is not of the form 'package.module:Name'; fix: give the "
                               f"importable module, a colon and the attribute, e.g. 'my_measures:Snip'")
    module, _, attr = spec.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MeasureLoadError(f"{what} {spec!r}: cannot import module {module!r} ({exc}); fix: install the "
                               f"package that provides it (pip install -e <its directory>) or put its "
                               f"directory on PYTHONPATH") from exc
    except Exception as exc:  # the module itself failed while importing
        raise MeasureLoadError(f"{what} {spec!r}: importing module {module!r} raised "
                               f"{type(exc).__name__}: {exc}; fix: make the module importable "
                               f"(python -c 'import {module}')") from exc
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            hint = f", e.g. one of {_candidates(mod) or 'none found'}" if what == "measure" else ""
            raise MeasureLoadError(f"{what} {spec!r}: module {module!r} has no attribute {attr!r}; fix: "
                                   f"name one of its {what}s{hint}")
        obj = getattr(obj, part)
    return obj


def _candidates(mod) -> list[str]:
    from gftheory.measures import Measure
    return sorted(f"{mod.__name__}:{k}" for k, v in vars(mod).items()
                  if isinstance(v, type) and issubclass(v, Measure) and v is not Measure
                  and not k.startswith("_"))


def as_measure(obj, source: str):
    """An instance of ``obj`` (a Measure subclass or instance) after checking what a measure must
    declare; ``source`` names where it came from in the messages."""
    from gftheory.measures import QUANTITIES, Measure
    if isinstance(obj, type) and issubclass(obj, Measure):
        try:
            inst = obj()
        except Exception as exc:
            raise MeasureLoadError(f"measure {source}: {obj.__name__}() raised {type(exc).__name__}: {exc}; "
                                   f"fix: a measure class is instantiated with no arguments") from exc
    elif isinstance(obj, Measure):
        inst = obj
    else:
        raise MeasureLoadError(f"measure {source}: {obj!r} is not a gftheory Measure; fix: subclass "
                               f"gftheory.Measure (set name, needs and parameter_scores; see {_DOC})")
    if not isinstance(inst.name, str) or not inst.name:
        raise MeasureLoadError(f"measure {source}: {type(inst).__name__} has no name; fix: set the class "
                               f"attribute name = '...'")
    needs = inst.needs
    if isinstance(needs, str) or not all(isinstance(x, str) for x in _iter(needs)):
        raise MeasureLoadError(f"measure {source}: needs must be a set of names, got {needs!r}; fix: "
                               f"needs = frozenset({{...}}) with names from {sorted(QUANTITIES)}")
    unknown = sorted(set(needs) - QUANTITIES)
    if unknown:
        raise MeasureLoadError(f"measure {source}: needs {unknown}, outside the quantities the engine "
                               f"computes; fix: declare needs ⊆ {sorted(QUANTITIES)}")
    inst.needs = frozenset(needs)
    if type(inst).parameter_scores is Measure.parameter_scores:
        raise MeasureLoadError(f"measure {source}: {type(inst).__name__} does not define parameter_scores; "
                               f"fix: implement parameter_scores(self, q) (and optionally filter_scores)")
    t = inst.importance_temperature
    if t is not None and not (isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0):
        raise MeasureLoadError(f"measure {source}: importance_temperature must be None or a positive "
                               f"number, got {t!r}; fix: set it to None (the training temperature) or e.g. 1.0")
    return inst


def _iter(x):
    try:
        return list(x)
    except TypeError:
        return [object()]


def load_measure(spec: str):
    """The measure of a ``module:Class`` spec (checked; see ``as_measure``)."""
    return as_measure(load_object(spec), repr(spec))


_ENTRY_POINTS: dict | None = None


def entry_points() -> dict:
    """{name: EntryPoint} of the group ``gftheory.measures``, read once from the installed
    metadata (nothing is imported); ``refresh_entry_points()`` rereads it after an install."""
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None:
        from importlib.metadata import entry_points as _eps
        _ENTRY_POINTS = {ep.name: ep for ep in _eps(group=ENTRY_POINT_GROUP)}
    return _ENTRY_POINTS


def refresh_entry_points() -> None:
    """Forget the entry points read so far (a package was installed in this process)."""
    global _ENTRY_POINTS
    _ENTRY_POINTS = None


def load_entry_point(name: str):
    """The measure of the entry point ``name`` of the group, or None if there is none."""
    ep = entry_points().get(name)
    if ep is None:
        return None
    source = f"{name!r} (entry point {ep.value!r} of group {ENTRY_POINT_GROUP!r})"
    try:
        obj = ep.load()
    except Exception as exc:
        raise MeasureLoadError(f"measure {source}: loading raised {type(exc).__name__}: {exc}; fix: "
                               f"reinstall the package that declares it, or correct its entry point") from exc
    inst = as_measure(obj, source)
    if inst.name != name:
        raise MeasureLoadError(f"measure {source}: the class's name is {inst.name!r}, not {name!r}; fix: "
                               f"name the entry point after the measure (or set name = {name!r})")
    return inst


__all__ = ["ENTRY_POINT_GROUP", "MeasureLoadError", "as_measure", "entry_points", "is_spec",
           "load_entry_point", "load_measure", "load_object", "refresh_entry_points"]
