"""Provenance stamped on every result: code version, platform, device, time."""
from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """``git describe`` of the source tree (with ``-dirty``), or the package version."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from gftheory import __version__
    return f"v{__version__}"


def device_description(device=None) -> str:
    import torch
    if device is not None and torch.device(device).type == "cuda" or (
            device is None and torch.cuda.is_available()):
        idx = torch.device(device).index if device is not None else None
        return f"cuda:{torch.cuda.get_device_name(idx or 0)}"
    return f"cpu:{platform.processor() or platform.machine()}"


def provenance(device=None) -> dict:
    import torch
    return {
        "code_version": code_version(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "device": device_description(device),
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
