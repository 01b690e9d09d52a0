"""Event study, second edition (issue 24): the per-unit events, the second-order term and the
BatchNorm diagnostic's train-mode probe (docs/protocol.md, "The event study — second edition").

Per-unit events: at a checkpoint, single units are removed one at a time from the unpruned model
(θ − θ_S with S one unit; the model itself is never changed) and the actual ΔL and Δ‖g‖² on the
per-unit probe (the probe's first ``unit_probe_size`` images, eval mode) are recorded beside
T1's prediction −θ_Sᵀg and T2's −2θ_Sᵀ(Hg) (g and Hg on the same images: one gradient and one
Hessian-vector product serve every unit), for two removal sets: ``weights`` (the unit's filter,
the paper's θ_p) and ``channel`` (the filter with its BatchNorm γ, β and, in MobileNet, the
following depthwise channel: what surgery removes). Δ‖g‖² is given over every coordinate of θ
(the paper's θ − θ_p view) and over the surviving coordinates only (``_surviving``: the physically
pruned network's ‖g‖², equal for the ``channel`` set).

Unit choice (``select_units``), two panels of about half each:
- ``layout``: units drawn by a generator seeded from the layout (group names and widths) alone,
  spread over the groups (at most ⌈n/G⌉ per group), so every seed's checkpoint with the same
  layout gets the same units;
- ``deciles``: stratified over the checkpoint's global deciles of magnitude (equal counts per
  decile) and, inside a magnitude decile, spread evenly over the loss-preservation ranks (so its
  units differ between seeds).
Every unit record carries both deciles, whichever panel chose it.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
from torch import Tensor, nn

from gftheory.objective import Objective


def chunks(batch, size: int | None) -> list:
    """One (x, y) batch as a list of chunks of ``size`` (None: the batch itself)."""
    x, y = batch
    if size is None or size >= len(y):
        return [(x, y)]
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(y), size)]


def hvp_many(obj: Objective, vectors: list[Tensor], flat: Tensor) -> list[Tensor]:
    """[H v for v in vectors] at ``flat``, sharing each batch's first backward pass."""
    flat = flat.detach()
    outs = [torch.zeros_like(flat) for _ in vectors]
    vs = [v.detach().to(flat) for v in vectors]
    for b in obj.batches:
        th = flat.clone().requires_grad_(True)
        lb = obj.batch_loss_sum(th, b) / obj.n_samples
        (gb,) = torch.autograd.grad(lb, th, create_graph=True)
        for k, v in enumerate(vs):
            (hv,) = torch.autograd.grad(gb @ v, th, retain_graph=k < len(vs) - 1)
            outs[k] += hv
    return outs


def train_mode_loss(model: nn.Module, batch, temperature: float) -> float:
    """The probe loss with BatchNorm in train mode (batch statistics of the whole probe, one
    batch); the model's running statistics, parameters and modes are left as they were."""
    from gftheory.state import preserved_modes
    with torch.no_grad(), preserved_modes(model):
        model.train()
        obj = Objective(model, [batch], temperature)
        return float(obj.loss(obj.theta()))


# ------------------------------------------------------------------------------- unit choice
def layout_digest(pruner) -> str:
    """A digest of the unit layout (group names, kinds and widths) the layout panel is seeded by."""
    blob = json.dumps([(g.name, g.kind, pruner.original[g.name]) for g in pruner.groups])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _deciles(x: np.ndarray) -> np.ndarray:
    order = np.lexsort((np.arange(len(x)), x))
    rank = np.empty(len(x), dtype=np.int64)
    rank[order] = np.arange(len(x))
    return (rank * 10) // len(x)


def select_units(pruner, magnitude: dict[str, np.ndarray], loss_preservation: dict[str, np.ndarray],
                 n: int) -> list[dict]:
    """≈ ``n`` units of an unpruned model (see module docstring) as [{group, index, panel,
    magnitude_decile, loss_preservation_decile, score_magnitude, score_loss_preservation}];
    ``magnitude`` / ``loss_preservation`` are ``pruner.unit_scores`` of the two measures."""
    groups = pruner.groups
    keys = [(g.name, i) for g in groups for i in range(len(magnitude[g.name]))]
    if n > len(keys):
        raise ValueError(f"{n} units asked for but the network has {len(keys)}")
    mag = np.concatenate([np.asarray(magnitude[g.name], float) for g in groups])
    lp = np.concatenate([np.asarray(loss_preservation[g.name], float) for g in groups])
    mdec, ldec = _deciles(mag), _deciles(lp)
    pos = {k: j for j, k in enumerate(keys)}
    chosen: dict[int, str] = {}
    n_layout = n // 2
    rng = np.random.default_rng(int(layout_digest(pruner), 16) % (2 ** 63))
    order = rng.permutation(len(groups))
    taken = {g.name: set() for g in groups}
    for k in range(n_layout):
        g = groups[order[k % len(groups)]]
        free = [i for i in range(len(magnitude[g.name])) if i not in taken[g.name]]
        if not free:
            continue
        i = int(free[rng.integers(len(free))])
        taken[g.name].add(i)
        chosen[pos[(g.name, i)]] = "layout"
    n_dec = n - len(chosen)
    lp_rank = np.argsort(np.lexsort((np.arange(len(lp)), lp)))
    for d in range(10):
        c = n_dec // 10 + (1 if d < n_dec % 10 else 0)
        cand = [j for j in np.flatnonzero(mdec == d) if j not in chosen]
        cand.sort(key=lambda j: (lp_rank[j], j))
        for q in range(min(c, len(cand))):
            chosen[int(cand[int((q + 0.5) * len(cand) / c)])] = "deciles"
    out = []
    for j in sorted(chosen):
        name, i = keys[j]
        out.append({"group": name, "index": int(i), "panel": chosen[j],
                    "magnitude_decile": int(mdec[j]), "loss_preservation_decile": int(ldec[j]),
                    "score_magnitude": float(mag[j]), "score_loss_preservation": float(lp[j])})
    return out


# ------------------------------------------------------------------------------- per-unit events
def unit_sets(obj: Objective, model: nn.Module, pruner, unit: dict) -> tuple[Tensor, Tensor]:
    """The ``weights`` and ``channel`` 0/1 vectors over flat θ of one unit of the unpruned model."""
    from empirical.events import _flat_owned
    g = next(gr for gr in pruner.groups if gr.name == unit["group"])
    if g.kind == "physical":
        return _flat_owned(obj, model, {g.space: [unit["index"]]}, {})
    return _flat_owned(obj, model, {}, {g.conv: [unit["index"]]})


def unit_events(model: nn.Module, pruner, units: list[dict], batch, temperature: float, *,
                chunk: int | None = None) -> dict:
    """Remove each unit alone (θ − θ_S, restored after each) and record the actual and predicted
    changes (see module docstring). Returns {"before": {...}, "units": [unit + {"weights": {...},
    "channel": {...}}]}; the model is used in eval mode and left as it was."""
    from gftheory.state import preserved_modes
    with preserved_modes(model):
        model.eval()
        obj = Objective(model, chunks(batch, chunk), temperature)
        theta = obj.theta()
        loss0, g = obj.loss_and_grad(theta)
        (hg,) = hvp_many(obj, [g], theta)
        gn0 = float(g @ g)
        out = []
        for u in units:
            rec = dict(u)
            for name, sel in zip(("weights", "channel"), unit_sets(obj, model, pruner, u)):
                th_s = sel * theta
                loss1, g1 = obj.loss_and_grad(theta - th_s)
                keep = g1 * (1 - sel)
                rec[name] = {"removed_norm_sq": float(th_s @ th_s), "pred_dloss": float(-(th_s @ g)),
                             "pred_dgrad_norm_sq": float(-2 * (th_s @ hg)),
                             "dloss": loss1 - loss0, "dgrad_norm_sq": float(g1 @ g1) - gn0,
                             "dgrad_norm_sq_surviving": float(keep @ keep) - gn0,
                             "n_params": int(sel.sum())}
            out.append(rec)
    return {"before": {"loss": loss0, "grad_norm_sq": gn0, "theta_dot_hvp": float(theta @ hg)},
            "units": out}
