"""Report figures (matplotlib, Agg backend) as PNG bytes: 150 dpi, legends outside the data, axes
fitted to the values compared, 95 % t bands over seeds, palette-quantised to keep the page small.

- ``forest_png``   the summary: every decided cell's effect D with its 95 % interval, in units of
                   the rule's minimum meaningful difference δ, against 0 and ±δ, coloured by verdict;
- ``compare_png``  per claim and scale: for each metric its rules compare, the per-seed values of
                   each compared measure with mean ± 95 % interval, one panel per cell;
- ``curves_png``   train loss and evaluation accuracy over the final-training epochs (after the
                   last pruning round), compared measures only;
- ``events_png``   the compared per-event quantity (e.g. |ΔL|/L, |Δθᵀg|/(‖θ‖‖g‖), Δ‖g‖²/‖g‖²) at
                   every pruning round, and predicted vs actual where the records hold a prediction;
- ``widths_png``   remaining fraction of units per prunable layer after the last round.
Every plotter is generic over metrics: a metric's per-event value is the metric evaluated on a
run holding that one event.
"""
from __future__ import annotations

import dataclasses
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats as _st  # noqa: E402

from gftheory.claims.metrics import METRICS, layer_fractions  # noqa: E402

DPI = 150
COLOURS = {"confirmed": "#2e8b3e", "contradicted": "#c0392b", "inconclusive": "#d4a017"}
OTHER = "#8a8a8a"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    try:                      # adaptive palette: line plots lose nothing visible, the page ~3× smaller
        from PIL import Image
        im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB").quantize(colors=32, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        im.save(out, format="PNG", optimize=True)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - Pillow missing: the plain PNG
        return buf.getvalue()


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and the 95 % t interval over seeds (no width for a single value)."""
    v = np.asarray(values, float)
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    h = float(_st.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - h, m + h


def colour_of(measures: list[str]) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(measures)}


# ---------------------------------------------------------------- summary
def forest_png(rows: list[dict]) -> bytes | None:
    """rows: {"label", "group" (claim id), "points": [{"x", "lo", "hi", "verdict", "rule"}]}; x in δ units."""
    rows = [r for r in rows if r["points"]]
    if not rows:
        return None
    heights = [max(1.0, 0.16 * len(r["points"])) for r in rows]     # room for every rule's interval
    tops = np.cumsum(heights[::-1])[::-1]
    ys = tops - np.asarray(heights) / 2
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.2 * sum(heights)), layout="constrained")
    for y, hgt, r in zip(ys, heights, rows):
        k = len(r["points"])
        offs = np.linspace(-0.36 * hgt, 0.36 * hgt, k) if k > 1 else [0.0]
        for off, p in zip(offs, r["points"]):
            c = COLOURS.get(p["verdict"], OTHER)
            ax.plot([p["lo"], p["hi"]], [y + off, y + off], color=c, lw=1.4, solid_capstyle="butt")
            ax.plot([p["x"]], [y + off], "o", color=c, ms=3.2)
    groups = [r["group"] for r in rows]
    for i in range(1, len(rows)):
        if groups[i] != groups[i - 1]:
            ax.axhline(tops[i], color="#bbb", lw=0.6)
    ax.axvline(0, color="black", lw=0.8)
    for x in (-1, 1):
        ax.axvline(x, color="black", lw=0.6, ls=":")
    ax.set_xscale("symlog", linthresh=2, linscale=1.5)
    ax.set_yticks(ys)
    ax.set_yticklabels([r["label"] for r in rows], fontsize=7)
    ax.set_ylim(0, tops[0])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("effect D in the claimed direction, in units of the rule's minimum meaningful difference δ "
                  "(95 % interval; dotted: ±δ; symlog axis)", fontsize=8)
    ax.grid(axis="x", color="#eee", lw=0.5)
    handles = [plt.Line2D([], [], color=c, marker="o", lw=1.4, ms=3.2, label=k) for k, c in COLOURS.items()]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, fontsize=8, frameon=False,
               title="cell verdict (Holm-adjusted)", title_fontsize=8)
    return _png(fig)


# ---------------------------------------------------------------- per claim
def _panel_grid(nrows: int, ncols: int, w: float = 2.4, h: float = 1.9):
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(5.0, w * ncols + 1.6), h * nrows + 0.6),
                             layout="constrained", squeeze=False)
    return fig, axes


def compare_png(panels: dict, measures: list[str], title: str) -> bytes | None:
    """panels: {(metric, cell): {measure: [values]}}; rows = metrics, columns = cells."""
    metrics = list(dict.fromkeys(k[0] for k in panels))
    cells = list(dict.fromkeys(k[1] for k in panels))
    if not panels:
        return None
    col = colour_of(measures)
    fig, axes = _panel_grid(len(metrics), len(cells), w=max(2.0, 0.42 * len(measures) + 1.0))
    for i, metric in enumerate(metrics):
        for j, cell in enumerate(cells):
            ax = axes[i][j]
            data = panels.get((metric, cell), {})
            for x, m in enumerate(measures):
                vals = data.get(m) or []
                if not vals:
                    continue
                jitter = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else [0.0]
                ax.plot(x + np.asarray(jitter), vals, "o", ms=3, color=col[m], alpha=0.55, mec="none")
                mu, lo, hi = mean_ci(vals)
                ax.plot([x + 0.28] * 2, [lo, hi], color=col[m], lw=1.6)
                ax.plot([x + 0.28], [mu], "_", color=col[m], ms=9, mew=1.6)
            ax.set_xticks(range(len(measures)))
            ax.set_xticklabels([str(k + 1) for k in range(len(measures))], fontsize=7)
            ax.set_xlim(-0.6, len(measures) - 0.2)
            ax.tick_params(axis="y", labelsize=7)
            ax.margins(y=0.15)
            if i == 0:
                ax.set_title(cell, fontsize=8)
            if j == 0:
                ax.set_ylabel(metric, fontsize=7)
    handles = [plt.Line2D([], [], color=col[m], marker="o", ls="", ms=4, label=f"{k + 1} {m}")
               for k, m in enumerate(measures)]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False, title="measure",
               title_fontsize=7)
    fig.suptitle(title + " — per-seed values (dots), mean and 95 % interval (bar)", fontsize=9)
    return _png(fig)


def _band(ax, xs_ys: dict[int, list[float]], colour: str, label: str) -> None:
    xs = sorted(xs_ys)
    stats = [mean_ci(xs_ys[x]) for x in xs]
    ax.plot(xs, [s[0] for s in stats], color=colour, lw=1.3, label=label)
    ax.fill_between(xs, [s[1] for s in stats], [s[2] for s in stats], color=colour, alpha=0.18, lw=0)


def curves_png(by_cell: dict, measures: list[str], title: str) -> bytes | None:
    """by_cell: {cell: {measure: [runs]}}; final-training epochs only (the phase the rules compare)."""
    col = colour_of(measures)
    cells = list(by_cell)
    fig, axes = _panel_grid(len(cells), 2, w=3.2, h=1.45)
    drawn = False
    for i, cell in enumerate(cells):
        for m in measures:
            runs = by_cell[cell].get(m) or []
            if not runs:
                continue
            ekey = "test_acc" if any(e.get("test_acc") is not None for r in runs for e in r.epochs()) else "val_acc"
            for ax, key in zip(axes[i], ("train_loss", ekey)):
                pts: dict[int, list[float]] = {}
                for r in runs:
                    train = [e for e in r.epochs() if e.get("phase") == "train"]
                    for j, e in enumerate(train, 1):
                        if e.get(key) is not None:
                            pts.setdefault(j, []).append(float(e[key]))
                if pts:
                    _band(ax, pts, col[m], f"{m} (n={len(runs)})")
                    ax.set_ylabel(key, fontsize=7)
                    drawn = True
        for ax in axes[i]:
            ax.set_title(cell, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("epoch after the last pruning round", fontsize=7)
    if not drawn:
        plt.close(fig)
        return None
    handles = [plt.Line2D([], [], color=col[m], lw=1.5, label=m) for m in measures]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False,
               title="measure (band: 95 % over seeds)", title_fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


FIGURE1_MEASURES = ("magnitude", "loss_preservation_elementwise", "loss_preservation", "none")


def figure1_png(by_measure: dict, title: str) -> bytes | None:
    """The paper's Figure 1 view: train and held-out accuracy over every record (pruning rounds, then
    epochs) against data epochs, mean and 95 % band over seeds, the dense baseline ("none") beside
    the pruned models. ``by_measure``: {measure: [runs of one protocol]}."""
    measures = [m for m in FIGURE1_MEASURES if by_measure.get(m)]
    if not measures:
        return None
    col = colour_of(measures)
    fig, axes = _panel_grid(1, 2, w=3.6, h=2.2)
    for m in measures:
        runs = by_measure[m]
        ekey = "test_acc" if any(e.get("test_acc") is not None for r in runs for e in r.epochs()) else "val_acc"
        for ax, key in zip(axes[0], ("train_acc", ekey)):
            pts: dict = {}
            for r in runs:
                for e in r.epochs():
                    if e.get(key) is not None and e.get("data_epochs") is not None:
                        pts.setdefault(round(float(e["data_epochs"]), 4), []).append(100 * float(e[key]))
            if pts:
                _band(ax, pts, col[m], m)
                ax.set_ylabel(f"{key} (%)", fontsize=7)
    for ax in axes[0]:
        ax.set_xlabel("data epochs (pruning rounds first)", fontsize=7)
        ax.tick_params(labelsize=7)
    handles = [plt.Line2D([], [], color=col[m], lw=1.5,
                          label=("dense baseline" if m == "none" else m) + f" (n={len(by_measure[m])})")
               for m in measures]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False,
               title="band: 95 % over seeds", title_fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def per_event(run, metric: str) -> dict[int, float]:
    """The metric on each pruning event alone: {round: value}."""
    fn = METRICS[metric].fn
    out = {}
    others = [m for m in run.metrics if m.get("kind") != "prune_event"]
    for ev in run.prune_events():
        v, _ = fn(dataclasses.replace(run, metrics=others + [ev]))
        if v is not None:
            out[int(ev.get("round", len(out) + 1))] = float(v)
    return out


def event_metric(metric: str, runs) -> bool:
    """True when the metric is read from the pruning events: defined on these runs' events and
    undefined on the same runs without them (so final accuracy is not an event metric)."""
    if metric not in METRICS:
        return False
    fn = METRICS[metric].fn
    for r in runs:
        if r.prune_events() and per_event(r, metric):
            bare = dataclasses.replace(r, metrics=[m for m in r.metrics if m.get("kind") != "prune_event"])
            return fn(bare)[0] is None
    return False


# event-study records: "pred" holds the first-order predictions for the removed set S (empirical.events)
PREDICTIONS = (("dloss_weights", "loss", "ΔL: predicted −θ_Sᵀg (T1) vs actual"),
               ("dgrad_norm_sq_weights", "grad_norm_sq", "Δ‖g‖²: predicted −2θ_Sᵀ(Hg) (T2) vs actual"))


def _predictions(runs, pred_key: str, key: str) -> list[tuple[float, float]]:
    pts = []
    for r in runs:
        for ev in r.prune_events():
            b, a = ev.get("before") or {}, ev.get("after") or {}
            p = (ev.get("pred") or {}).get(pred_key)
            if p is not None and b.get(key) is not None and a.get(key) is not None:
                pts.append((float(p), float(a[key]) - float(b[key])))
    return pts


def events_png(by_cell: dict, measures: list[str], metrics: list[str], title: str) -> bytes | None:
    """Rows: each compared per-event metric (then predicted vs actual if recorded); columns: cells."""
    col = colour_of(measures)
    cells = list(by_cell)
    all_runs = [r for c in cells for rs in by_cell[c].values() for r in rs]
    metrics = [m for m in metrics if event_metric(m, all_runs)]
    preds = [p for p in PREDICTIONS if _predictions(all_runs, p[0], p[1])]
    if not metrics and not preds:
        return None
    fig, axes = _panel_grid(len(metrics) + len(preds), len(cells), w=2.5, h=1.75)
    for j, cell in enumerate(cells):
        for i, metric in enumerate(metrics):
            ax = axes[i][j]
            for m in measures:
                runs = by_cell[cell].get(m) or []
                pts: dict[int, list[float]] = {}
                for r in runs:
                    for k, v in per_event(r, metric).items():
                        pts.setdefault(k, []).append(v)
                if pts:
                    _band(ax, pts, col[m], m)
            ax.axhline(0, color="#999", lw=0.6)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(cell, fontsize=8)
            if j == 0:
                ax.set_ylabel(metric, fontsize=7)
            ax.set_xlabel("pruning round", fontsize=7)
        for i, (pk, key, label) in enumerate(preds, start=len(metrics)):
            ax = axes[i][j]
            for m in measures:
                pts = _predictions(by_cell[cell].get(m) or [], pk, key)
                if pts:
                    ax.plot([p for p, _ in pts], [a for _, a in pts], "o", ms=2.5, color=col[m], alpha=0.6)
            lim = ax.get_xlim()
            ax.plot(lim, lim, color="#666", lw=0.6, ls="--")
            ax.set_xlabel("predicted", fontsize=7)
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel(label, fontsize=7)
    handles = [plt.Line2D([], [], color=col[m], lw=1.5, label=m) for m in measures]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False,
               title="measure (band: 95 % over seeds)", title_fontsize=7)
    fig.suptitle(title + " — the compared quantity at each pruning event (probe batch)", fontsize=9)
    return _png(fig)


def widths_png(by_cell: dict, measures: list[str], title: str) -> bytes | None:
    col = colour_of(measures)
    cells = list(by_cell)
    fig, axes = _panel_grid(1, len(cells), w=3.0, h=2.3)
    drawn = False
    for j, cell in enumerate(cells):
        ax = axes[0][j]
        for m in measures:
            fr = [f for f in (layer_fractions(r) for r in by_cell[cell].get(m) or []) if f]
            if not fr:
                continue
            n = len(fr[0])
            pts = {i: [f[i][1] for f in fr if len(f) == n] for i in range(n)}
            _band(ax, pts, col[m], m)
            drawn = True
        ax.set_title(cell, fontsize=8)
        ax.set_xlabel("prunable layer (network order)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_ylim(0, 1.05)
        if j == 0:
            ax.set_ylabel("fraction of units left", fontsize=7)
    if not drawn:
        plt.close(fig)
        return None
    handles = [plt.Line2D([], [], color=col[m], lw=1.5, label=m) for m in measures]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False, title="measure",
               title_fontsize=7)
    fig.suptitle(title + " — per-layer remaining width after the last round", fontsize=9)
    return _png(fig)
