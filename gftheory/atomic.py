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


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _writable_dir_problem(d: Path) -> str | None:
    """Why files cannot be created in the existing path ``d`` (None: they can)."""
    if not d.is_dir():
        return f"{str(d)!r} is a file, not a folder"
    try:  # an anonymous temporary file: works for root and on read-only filesystems, leaves nothing
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError as exc:
        return f"cannot create files in {str(d)!r} ({exc.strerror or exc})"
    return None


def check_output_file(flag: str, path) -> Path:
    """Before any work: ``path`` can be written as a file (its folder may still have to be created).
    Raises ``UsageError`` (exit 2) with one line naming ``flag``, the problem and the fix; writes nothing."""
    from gftheory.errors import UsageError
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {str(path)!r} is a folder; fix: give a file path, e.g. {flag} {path / 'out.json'}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{flag} {str(path)!r} is not writable; fix: give {flag} a path in a writable folder")
    problem = _writable_dir_problem(_nearest_existing(path.parent))
    if problem is not None:
        raise UsageError(f"cannot write {flag} {str(path)!r}: {problem}; fix: give {flag} a path in a writable folder")
    return path


def check_output_dir(flag: str, path) -> Path:
    """Before any work: ``path`` is (or can be made) a writable folder. Raises ``UsageError`` (exit 2)
    with one line naming ``flag``, the problem and the fix; creates nothing."""
    from gftheory.errors import UsageError
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {str(path)!r} exists and is not a folder; fix: give {flag} a folder path")
    problem = _writable_dir_problem(_nearest_existing(path))
    if problem is not None:
        raise UsageError(f"cannot write into {flag} {str(path)!r}: {problem}; fix: give {flag} a folder in a "
                         f"writable place")
    return path
