"""A name → item registry that is a read-only ``Mapping`` with ``register`` / ``unregister``.

``Registry`` holds what every registry of the project shares (measures in
``gftheory.measures``, architectures in ``empirical.architectures``): registration order,
duplicate-name protection and a usable class decorator. A subclass sets ``item_type`` and
``kind`` (the word used in error messages) and may override ``validate`` to check an item
before it is added.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping


class Registry(Mapping):
    """name → instance of ``item_type``. Iterating gives the names in registration order."""

    item_type: type = object
    kind: str = "item"

    def __init__(self):
        self._items: dict = {}

    def validate(self, item) -> None:
        """Raise if ``item`` (already an instance of ``item_type``) may not be registered."""

    def register(self, item, *, overwrite: bool = False):
        """Register a subclass (instantiated with no arguments) or an instance of ``item_type``
        with a non-empty ``name``; returns its argument, so it works as a class decorator."""
        inst = item() if isinstance(item, type) else item
        if not isinstance(inst, self.item_type) or not getattr(inst, "name", ""):
            raise TypeError(f"register a {self.item_type.__name__} (subclass or instance) with a "
                            f"non-empty name")
        self.validate(inst)
        if inst.name in self._items and not overwrite:
            raise ValueError(f"a{'n' if self.kind[0] in 'aeiou' else ''} {self.kind} named "
                             f"{inst.name!r} is already registered; pass overwrite=True to replace it")
        self._items[inst.name] = inst
        return item

    def unregister(self, name: str) -> None:
        del self._items[name]

    def __getitem__(self, name: str):
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self._items)})"
