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


BF16_FLAGS = ("avx512_bf16", "amx_bf16")          # x86 instructions that run bf16 natively
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", *BF16_FLAGS)


def cpu_features() -> dict:
    """The processor's instruction sets that decide CPU numerics and speed: which of ``ISA_FLAGS``
    /proc/cpuinfo lists (x86 Linux; ARM's ``bf16`` feature counts as bf16), ``bf16`` = any of them
    runs bf16 natively, and the model name. Elsewhere: flags unknown (None)."""
    flags: set[str] = set()
    model = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"flags": None, "bf16": None, "model": model}
    for line in text.splitlines():
        key, _, val = line.partition(":")
        key = key.strip().lower()
        if key in ("flags", "features") and not flags:
            flags = set(val.split())
        elif key == "model name" and model in ("", platform.machine()):
            model = val.strip()
    have = [f for f in ISA_FLAGS if f in flags]
    bf16 = any(f in flags for f in BF16_FLAGS) or "bf16" in flags
    return {"flags": have, "bf16": bf16, "model": model}


def provenance(device=None) -> dict:
    import torch
    return {
        "cpu_features": cpu_features(),
        "threads": torch.get_num_threads(),
        "code_version": code_version(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "device": device_description(device),
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
