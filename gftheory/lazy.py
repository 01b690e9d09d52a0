"""Lazy package attributes (PEP 562): a package names its public API as {name: defining module}
and loads each module on first use, so importing the package stays cheap."""
from __future__ import annotations

import importlib


def lazy_exports(package: str, api: dict[str, str], public: list[str]):
    """The ``(__getattr__, __dir__)`` pair for ``package``: ``package.<name>`` imports
    ``api[name]`` once and caches the attribute in the package's namespace."""
    import sys

    def __getattr__(name: str):
        if name in api:
            value = getattr(importlib.import_module(api[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__
