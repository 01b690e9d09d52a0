"""Atomic file writes: a temporary sibling, fsync, then ``os.replace`` over the target, so a
killed process leaves either the old file or the new one, never a half-written one."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` (parent folders created) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, *, indent: int = 2, sort_keys: bool = False, default=None,
                      allow_nan: bool = True, ensure_ascii: bool = True) -> None:
    """``json.dumps(obj)`` plus a final newline, written atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default,
                                       allow_nan=allow_nan, ensure_ascii=ensure_ascii) + "\n")
