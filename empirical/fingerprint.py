"""Pairing fingerprints: the evidence that two runs share their initialisation and data order.

A cell analyses runs as *paired* only when they provably start from the same network and see the
same data in the same order (rules v4, ``gftheory.claims``). Each run records, computed before
any training step:

* ``init``       — sha256 (16 hex) of every parameter and buffer of the freshly built network
  (after ``seed_everything(seed)``; names, dtypes, shapes and bytes, in ``state_dict`` order), cast to
  float32 first so that the training precision does not enter it;
* ``data_order`` — sha256 (16 hex) of the training loader's draws (permutation, crop offsets,
  flips) for the first ``DATA_EPOCHS`` epochs, plus the training arrays' sha256;
* ``probe``      — sha256 (16 hex) of the probe batch's images and labels (None for a dense run).

Runs of different measures with the same seed have equal fingerprints by construction; a bf16 run
and an fp32 run of the same config also do (the precision changes neither the initialisation nor
the draws). Stage-1 runs predate this record; for them the bit-identical first training loss and
round-1 pre-prune probe loss serve as the fingerprint (``gftheory.claims`` reads both).
"""
from __future__ import annotations

import hashlib

import torch

DATA_EPOCHS = 2
METHOD = ("sha256 of the initial state_dict (float32), of the training loader's permutation/crop/flip draws "
          f"for epochs 1..{DATA_EPOCHS} with the training arrays' sha256, and of the probe batch")


def _update(h, t: torch.Tensor) -> None:
    t = t.detach().to("cpu")
    if t.is_floating_point():
        t = t.to(torch.float32)
    t = t.contiguous()
    h.update(repr((str(t.dtype), tuple(t.shape))).encode())
    h.update(t.numpy().tobytes())


def init_fingerprint(model_or_state) -> str:
    """sha256 (16 hex) of a network's state (a module, or its ``state_dict``)."""
    state = model_or_state.state_dict() if isinstance(model_or_state, torch.nn.Module) else model_or_state
    h = hashlib.sha256()
    for name, t in state.items():
        h.update(name.encode())
        _update(h, t)
    return h.hexdigest()[:16]


def data_order_fingerprint(loader, arrays_sha256: str = "", epochs: int = DATA_EPOCHS) -> str:
    h = hashlib.sha256(arrays_sha256.encode())
    for e in range(1, epochs + 1):
        for t in loader.epoch_draws(e):
            _update(h, t)
    return h.hexdigest()[:16]


def probe_fingerprint(probe) -> str | None:
    if probe is None:
        return None
    h = hashlib.sha256()
    for t in probe:
        _update(h, t)
    return h.hexdigest()[:16]


def run_fingerprint(model_or_state, loader, probe=None, arrays_sha256: str = "") -> dict:
    """The record stored in a run's summary.json under ``fingerprint``."""
    return {"init": init_fingerprint(model_or_state), "data_order": data_order_fingerprint(loader, arrays_sha256),
            "probe": probe_fingerprint(probe), "method": METHOD}
