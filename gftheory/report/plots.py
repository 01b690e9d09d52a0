"""Report figures (matplotlib, Agg backend), returned as PNG bytes for base64 embedding.

- curves: train loss and evaluation accuracy vs epoch, mean over seeds per measure (band = min–max);
- events: ‖g‖² and θᵀg on the probe batch just before and just after each pruning event;
- widths: remaining fraction of units per prunable layer after the last round.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gftheory.claims.metrics import layer_fractions  # noqa: E402

DPI = 80


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def _maybe_log(ax) -> None:
    """Log scale only when the positive data span more than a factor of 20."""
    ys = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.get_lines()] or [np.array([])])
    ys = ys[np.isfinite(ys)]
    if ys.size and ys.min() > 0 and ys.max() / ys.min() > 20:
        ax.set_yscale("log")


def _mean_curve(runs, key):
    by_epoch: dict[int, list[float]] = {}
    for r in runs:
        for e in r.epochs():
            if e.get(key) is not None:
                by_epoch.setdefault(int(e["epoch"]), []).append(float(e[key]))
    if not by_epoch:
        return None
    xs = sorted(by_epoch)
    ys = [by_epoch[x] for x in xs]
    return np.array(xs), np.array([np.mean(y) for y in ys]), np.array([min(y) for y in ys]), \
        np.array([max(y) for y in ys])


def curves_png(runs_by_measure: dict, title: str) -> bytes | None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    drawn = False
    prune_end = None
    for measure, runs in runs_by_measure.items():
        ekey = "test_acc" if any(e.get("test_acc") is not None for r in runs for e in r.epochs()) else "val_acc"
        for ax, key in zip(axes, ("train_loss", ekey)):
            c = _mean_curve(runs, key)
            if c is None:
                continue
            x, m, lo, hi = c
            (line,) = ax.plot(x, m, label=f"{measure} (n={len(runs)})", lw=1.2)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15)
            ax.set_ylabel(key)
            drawn = True
        pe = [e["epoch"] for r in runs for e in r.epochs() if e.get("phase") == "prune"]
        if pe:
            prune_end = max(pe) if prune_end is None else max(prune_end, max(pe))
    if not drawn:
        plt.close(fig)
        return None
    for ax in axes:
        ax.set_xlabel("epoch record")
        if prune_end:
            ax.axvline(prune_end + 0.5, color="grey", ls=":", lw=0.8)
    _maybe_log(axes[0])
    axes[1].legend(fontsize=7)
    fig.suptitle(title + " (dotted: end of pruning)", fontsize=9)
    return _png(fig)


def events_png(runs_by_measure: dict, title: str) -> bytes | None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    drawn = False
    for measure, runs in runs_by_measure.items():
        for ax, key in zip(axes, ("grad_norm_sq", "theta_dot_grad")):
            per_round: dict[int, tuple[list, list]] = {}
            for r in runs:
                for ev in r.prune_events():
                    b, a = (ev.get("before") or {}).get(key), (ev.get("after") or {}).get(key)
                    if b is None or a is None:
                        continue
                    slot = per_round.setdefault(int(ev["round"]), ([], []))
                    slot[0].append(float(b))
                    slot[1].append(float(a))
            if not per_round:
                continue
            xs, ys = [], []
            for k in sorted(per_round):
                xs += [k - 0.2, k + 0.2]
                ys += [np.mean(per_round[k][0]), np.mean(per_round[k][1])]
            ax.plot(xs, ys, marker=".", ms=3, lw=1, label=f"{measure} (n={len(runs)})")
            ax.set_ylabel(f"{key} (before → after)")
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    for ax in axes:
        ax.set_xlabel("pruning round")
    _maybe_log(axes[0])
    axes[1].legend(fontsize=7)
    fig.suptitle(title + ": probe-batch values just before / after each pruning event", fontsize=9)
    return _png(fig)


def widths_png(runs_by_measure: dict, title: str) -> bytes | None:
    fig, ax = plt.subplots(figsize=(9, 3.2))
    drawn = False
    names = None
    for measure, runs in runs_by_measure.items():
        fr = [layer_fractions(r) for r in runs]
        fr = [f for f in fr if f]
        if not fr:
            continue
        names = [n for n, _ in fr[0]]
        m = np.mean([[v for _, v in f] for f in fr if len(f) == len(names)], axis=0)
        ax.plot(range(len(names)), m, marker="o", ms=3, lw=1, label=f"{measure} (n={len(fr)})")
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([str(i) for i in range(len(names))], fontsize=6)
    ax.set_xlabel("prunable layer (network order)")
    ax.set_ylabel("fraction of units left")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    fig.suptitle(title + ": per-layer remaining width after the last round", fontsize=9)
    return _png(fig)


PLOTTERS = {"curves": curves_png, "events": events_png, "widths": widths_png}
