"""Report figures (matplotlib, Agg backend) as PNG bytes: 100 dpi, legends below the panels
(never over a title), axes fitted to the values compared, 95 % t bands over seeds, nothing clipped
(the saved canvas is the figure's tight bounding box).

Colours are fixed and documented (``docs/figures.md``), the same in every figure:

- ``MEASURE_COLOURS`` one colour per measure: Paul Tol's colour-blind-safe "muted" scheme (nine
  hues) for the measures, grey for ``random``, black for the dense baseline ``none``; a measure
  outside the list gets the next of ``EXTRA_COLOURS``. No two measure colours are closer than
  ΔE*ab 20 (tests/report/test_plots.py).
- ``VERDICT_COLOURS`` one colour (and one marker, ``VERDICT_MARKERS``) per cell verdict, from the
  Okabe–Ito colour-blind-safe set: confirmed bluish green, contradicted vermillion, inconclusive
  orange, equivalent blue, incomplete reddish purple, not applicable light grey; anything else
  (insufficient, degenerate, pending) dark grey.
- ``PROOF_COLOURS`` a proof's status: proved = the confirmed green, identity-tested sky blue (its own
  colour: evidence, not proof, and not a failure), refuted / failed = the contradicted vermillion.
- ``MARK_COLOURS`` the report's HTML verdict markers (``[[positive]]`` …) in the same colours.

Encoding (``_png``): a figure with at most ``PALETTE_SIZE`` (64) distinct colours is stored as a
lossless palette PNG; otherwise the palette is every protected colour the figure holds (each series
and verdict colour exactly, black, white and the greys of text and grid) and then the figure's most
frequent other colours (anti-aliasing and band blends) up to 64, each pixel mapped to its nearest
palette colour without dithering. Series and verdict colours are therefore never merged (the old
adaptive 32-colour reduction merged them); the report's 37 figures on the committed results take
≈ 0.64 MB (100 dpi) instead of ≈ 0.96 MB (150 dpi, 32 colours).

The page budget (``gftheory.report.fit``): report.html must stay ≤ 2 MB (2,000,000 bytes). Figures are drawn at
``FULL`` (100 dpi, 64 colours); when the page would be larger, every figure is drawn again at the
first rung of ``LADDER`` predicted to fit (fewer blend colours, then fewer dots per inch; the
protected colours are kept exactly at every rung) and the report says which encoding it used.

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
run holding that one event. Each ``*_png`` has a ``*_figure`` twin returning the open Figure (tests
measure its text extents).
"""
from __future__ import annotations

import dataclasses
import io
import math
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import to_hex, to_rgb  # noqa: E402
from scipy import stats as _st  # noqa: E402

from gftheory.claims.metrics import METRICS, layer_fractions  # noqa: E402

DPI = 100
PAD_INCHES = 0.06
PALETTE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Encoding:
    """How figures are rasterised and stored: ``dpi`` and the palette size of ``encode_png``."""
    dpi: int = DPI
    palette: int = PALETTE_SIZE

    def label(self) -> str:
        return f"{self.dpi} dpi, {self.palette}-colour palette"


FULL = Encoding()
# The page budget's ladder (gftheory.report.fit): full quality first, then fewer anti-aliasing
# blends (every protected colour is kept at every rung), then fewer pixels.
LADDER = (FULL, Encoding(DPI, 40), Encoding(90, 40), Encoding(80, 40), Encoding(72, 40), Encoding(64, 40))
_ENCODING = [FULL]


def current_encoding() -> Encoding:
    return _ENCODING[0]


class encoding:
    """``with plots.encoding(Encoding(80, 40)): ...`` draws figures at that encoding."""

    def __init__(self, enc: Encoding):
        self.enc = enc

    def __enter__(self):
        self.prev, _ENCODING[0] = _ENCODING[0], self.enc
        return self.enc

    def __exit__(self, *exc):
        _ENCODING[0] = self.prev
        return False

# Paul Tol, "muted" (https://personal.sron.nl/~pault/), + grey and black: one colour per measure.
MEASURE_COLOURS = {
    "magnitude": "#332288",                      # indigo
    "l1": "#88CCEE",                             # cyan
    "loss_preservation": "#CC6677",              # rose
    "loss_preservation_elementwise": "#44AA99",  # teal
    "biased_loss_preservation": "#AA4499",       # purple
    "grasp": "#117733",                          # green
    "gradient_norm_preservation": "#882255",     # wine
    "fisher": "#999933",                         # olive
    "synflow": "#DDCC77",                        # sand
    "random": "#777777",                         # grey
    "none": "#000000",                           # the dense baseline: black
}
EXTRA_COLOURS = ("#0077BB", "#EE7733", "#EE3377", "#CC3311", "#33BBEE")   # Tol "vibrant"

# Okabe & Ito (2008), the colour-blind-safe set: one colour and one marker per verdict.
VERDICT_COLOURS = {
    "confirmed": "#009E73",        # bluish green
    "contradicted": "#D55E00",     # vermillion
    "inconclusive": "#E69F00",     # orange
    "equivalent": "#0072B2",       # blue
    "incomplete": "#CC79A7",       # reddish purple
    "not applicable": "#BBBBBB",   # light grey
}
OTHER = "#555555"                  # insufficient, degenerate, pending, anything else: dark grey
VERDICT_MARKERS = {"confirmed": "o", "contradicted": "X", "inconclusive": "D", "equivalent": "s",
                   "incomplete": "v", "not applicable": "."}
OTHER_MARKER = "."
PROOF_COLOURS = {"proved": VERDICT_COLOURS["confirmed"], "identity-tested": "#56B4E9",   # sky blue
                 "refuted": VERDICT_COLOURS["contradicted"], "failed": VERDICT_COLOURS["contradicted"]}
# the report's verdict markers ([[positive]], …; gftheory/report/document.py) in the same colours
MARK_COLOURS = {"positive": VERDICT_COLOURS["confirmed"], "negative": VERDICT_COLOURS["contradicted"],
                "open": VERDICT_COLOURS["inconclusive"], "tested": PROOF_COLOURS["identity-tested"],
                "missing": "#999999"}
NEUTRALS = ("#000000", "#FFFFFF", "#222222", "#444444", "#666666", "#999999", "#BBBBBB", "#DDDDDD",
            "#EEEEEE", "#333333")
MAIN_VERDICTS = ("confirmed", "contradicted", "inconclusive")
PALETTE = [MEASURE_COLOURS[m] for m in MEASURE_COLOURS] + list(EXTRA_COLOURS)   # back-compat name


def verdict_colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, OTHER)


def verdict_marker(verdict: str) -> str:
    return VERDICT_MARKERS.get(verdict, OTHER_MARKER)


def _protected() -> list[str]:
    """Every colour a figure is drawn with: kept exactly by the encoder."""
    return list(dict.fromkeys(c.upper() for c in (*MEASURE_COLOURS.values(), *EXTRA_COLOURS,
                                                  *VERDICT_COLOURS.values(), OTHER, *PROOF_COLOURS.values(),
                                                  *NEUTRALS)))


def encode_png(rgb: np.ndarray, palette: int | None = None) -> bytes:
    """(H, W, 3) uint8 → PNG bytes: lossless palette PNG when ≤ ``palette`` colours (default: the
    current encoding's, ``PALETTE_SIZE`` at full quality), else the protected palette (module
    docstring); lossless RGB when Pillow is missing."""
    palette = current_encoding().palette if palette is None else palette
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        import matplotlib.image as mpimg
        buf = io.BytesIO()
        mpimg.imsave(buf, rgb, format="png")
        return buf.getvalue()
    flat = np.ascontiguousarray(rgb[..., :3]).reshape(-1, 3)
    packed = (flat[:, 0].astype(np.uint32) << 16) | (flat[:, 1].astype(np.uint32) << 8) | flat[:, 2]
    values, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
    if len(values) <= palette:
        pal = values
    else:                          # the protected colours the figure holds, then its most frequent others
        keep = np.asarray([int(c[1:], 16) for c in _protected()], np.uint32)
        keep = keep[np.isin(keep, values)]
        rest = values[np.argsort(-counts, kind="stable")]
        rest = rest[~np.isin(rest, keep)][:max(0, palette - len(keep))]
        pal = np.concatenate([keep, rest])
    def split(v):
        return np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], 1).astype(np.int32)
    # exact nearest palette entry of every distinct colour (Pillow's own mapping works on a coarse
    # colour cache and can move even a palette colour to a neighbour)
    dist = ((split(values)[:, None, :] - split(pal)[None, :, :]) ** 2).sum(-1)
    index = dist.argmin(1).astype(np.uint8)[inverse.reshape(-1)].reshape(rgb.shape[:2])
    q = Image.fromarray(index, "P")
    q.putpalette(split(pal).astype(np.uint8).reshape(-1).tolist())
    out = io.BytesIO()
    q.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_rgb(fig) -> np.ndarray:
    """The figure as saved: tight bounding box (nothing clipped), white background, (H, W, 3) uint8."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=current_encoding().dpi, bbox_inches="tight", pad_inches=PAD_INCHES,
                facecolor="white")
    import matplotlib.image as mpimg
    a = mpimg.imread(io.BytesIO(buf.getvalue()), format="png")
    return np.round(a[..., :3] * 255).astype(np.uint8)


def _png(fig) -> bytes | None:
    if fig is None:
        return None
    try:
        return encode_png(render_rgb(fig))
    finally:
        plt.close(fig)


def _wrap(text: str, inches: float, fontsize: float) -> str:
    """Wrap a title to the figure's width (≈ 0.55 em per character)."""
    per_line = max(20, int(inches * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.wrap(text, per_line)) or text


def _legend_below(fig, handles, title: str, ncols: int | None = None) -> None:
    """The legend under the panels, centred: never over the figure's title."""
    width = fig.get_figwidth()
    longest = max((len(h.get_label()) for h in handles), default=10)
    n = ncols or max(1, min(len(handles), int(width * 72 / (0.55 * 7 * (longest + 4)))))
    fig.legend(handles=handles, loc="outside lower center", ncols=n, fontsize=7, frameon=False,
               title=title, title_fontsize=7)


def mean_ci(values) -> tuple[float, float, float]:
    """Mean and the 95 % t interval over seeds (no width for a single value)."""
    v = np.asarray(values, float)
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    h = float(_st.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - h, m + h


def colour_of(measures: list[str]) -> dict[str, str]:
    """Each measure's fixed colour (``MEASURE_COLOURS``); unknown measures take ``EXTRA_COLOURS``
    in order (then repeat, which only a figure of > 17 measures would need)."""
    out, k = {}, 0
    for m in measures:
        if m in MEASURE_COLOURS:
            out[m] = MEASURE_COLOURS[m]
        else:
            out[m] = EXTRA_COLOURS[k % len(EXTRA_COLOURS)]
            k += 1
    return out


# ---------------------------------------------------------------- summary
FOREST_XLABEL = ("effect D in the claimed direction, in units of the rule's minimum meaningful difference δ\n"
                 "(95 % interval; solid line: 0; dotted lines: ±δ; symlog axis: linear within ±2δ)")


FOREST4_XLABEL = ("effect D in the claimed direction, in units of the rule's minimum meaningful difference δ\n"
                  "(one-sided 95 % bounds, as rules v4 decide; solid line: 0; dotted lines: ±δ;\n"
                  "symlog axis: linear within ±2δ)")


def forest_figure(rows: list[dict], xlabel: str = FOREST_XLABEL, legend_title: str = "cell verdict (Holm-adjusted)"):
    """rows: {"label", "group" (claim id), "points": [{"x", "lo", "hi", "verdict", "rule"}]}; x in δ units."""
    rows = [r for r in rows if r["points"]]
    if not rows:
        return None
    heights = [max(1.0, 0.16 * len(r["points"])) for r in rows]     # room for every rule's interval
    tops = np.cumsum(heights[::-1])[::-1]
    ys = tops - np.asarray(heights) / 2
    fig, ax = plt.subplots(figsize=(9, 1.3 + 0.2 * sum(heights)), layout="constrained")
    seen = []
    for y, hgt, r in zip(ys, heights, rows):
        k = len(r["points"])
        offs = np.linspace(-0.36 * hgt, 0.36 * hgt, k) if k > 1 else [0.0]
        for off, pt in zip(offs, r["points"]):
            v = str(pt["verdict"])
            c = verdict_colour(v)
            seen.append(v)
            ax.plot([pt["lo"], pt["hi"]], [y + off, y + off], color=c, lw=1.6, solid_capstyle="butt")
            ax.plot([pt["x"]], [y + off], verdict_marker(v), color=c, ms=4.2, mec=c)
    groups = [r["group"] for r in rows]
    for i in range(1, len(rows)):
        if groups[i] != groups[i - 1]:
            ax.axhline(tops[i], color="#BBBBBB", lw=0.6)
    ax.axvline(0, color="#000000", lw=0.8)
    for x in (-1, 1):
        ax.axvline(x, color="#000000", lw=0.6, ls=":")
    ax.set_xscale("symlog", linthresh=2, linscale=1.5)
    ax.set_yticks(ys)
    ax.set_yticklabels([r["label"] for r in rows], fontsize=7)
    ax.set_ylim(0, tops[0])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.grid(axis="x", color="#EEEEEE", lw=0.5)
    shown = list(dict.fromkeys([*MAIN_VERDICTS, *(v for v in VERDICT_COLOURS if v in seen),
                                *(v for v in seen if v not in VERDICT_COLOURS)]))
    handles = [plt.Line2D([], [], color=verdict_colour(v), marker=verdict_marker(v), lw=1.6, ms=4.2, label=v)
               for v in shown]
    fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 6), fontsize=8,
               frameon=False, title=legend_title, title_fontsize=8)
    return fig


def forest_png(rows: list[dict], **kw) -> bytes | None:
    return _png(forest_figure(rows, **kw))


# ---------------------------------------------------------------- per claim
def _panel_grid(nrows: int, ncols: int, w: float = 2.4, h: float = 1.9):
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(5.0, w * ncols + 0.6), h * nrows + 1.0),
                             layout="constrained", squeeze=False)
    return fig, axes


def _suptitle(fig, text: str) -> None:
    fig.suptitle(_wrap(text, fig.get_figwidth(), 9), fontsize=9)


def compare_figure(panels: dict, measures: list[str], title: str):
    """panels: {(metric, cell): {measure: [values]}}; rows = metrics, columns = cells."""
    metrics = list(dict.fromkeys(k[0] for k in panels))
    cells = list(dict.fromkeys(k[1] for k in panels))
    if not panels:
        return None
    col = colour_of(measures)
    fig, axes = _panel_grid(len(metrics), len(cells), w=max(2.0, 0.42 * len(measures) + 1.0), h=1.65)
    for i, metric in enumerate(metrics):
        for j, cell in enumerate(cells):
            ax = axes[i][j]
            data = panels.get((metric, cell), {})
            for x, m in enumerate(measures):
                vals = data.get(m) or []
                if not vals:
                    continue
                jitter = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else [0.0]
                ax.plot(x + np.asarray(jitter), vals, "o", ms=3.2, color=col[m], mec="none")
                mu, lo, hi = mean_ci(vals)
                ax.plot([x + 0.28] * 2, [lo, hi], color=col[m], lw=1.6)
                ax.plot([x + 0.28], [mu], "_", color=col[m], ms=9, mew=1.6)
            ax.set_xticks(range(len(measures)))
            ax.set_xticklabels([str(k + 1) for k in range(len(measures))], fontsize=7)
            ax.set_xlim(-0.6, len(measures) - 0.2)
            ax.tick_params(axis="y", labelsize=7)
            ax.margins(y=0.15)
            if i == 0:
                ax.set_title(_wrap(cell, fig.get_figwidth() / len(cells), 8), fontsize=8)
            if j == 0:
                ax.set_ylabel(metric, fontsize=7)
    handles = [plt.Line2D([], [], color=col[m], marker="o", ls="", ms=4, label=f"{k + 1} {m}")
               for k, m in enumerate(measures)]
    _legend_below(fig, handles, "measure (x-axis number)")
    _suptitle(fig, title + " — per-seed values (dots), mean and 95 % interval (bar)")
    return fig


def compare_png(panels: dict, measures: list[str], title: str) -> bytes | None:
    return _png(compare_figure(panels, measures, title))


def _band(ax, xs_ys: dict[int, list[float]], colour: str, label: str) -> None:
    xs = sorted(xs_ys)
    stats = [mean_ci(xs_ys[x]) for x in xs]
    ax.plot(xs, [s[0] for s in stats], color=colour, lw=1.4, label=label)
    ax.fill_between(xs, [s[1] for s in stats], [s[2] for s in stats], color=colour, alpha=0.18, lw=0)


def curves_figure(by_cell: dict, measures: list[str], title: str):
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
            ax.set_title(_wrap(cell, 3.2, 8), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("epoch after the last pruning round", fontsize=7)
    if not drawn:
        plt.close(fig)
        return None
    handles = [plt.Line2D([], [], color=col[m], lw=1.5, label=m) for m in measures]
    _legend_below(fig, handles, "measure (band: 95 % over seeds)")
    _suptitle(fig, title)
    return fig


def curves_png(by_cell: dict, measures: list[str], title: str) -> bytes | None:
    return _png(curves_figure(by_cell, measures, title))


FIGURE1_MEASURES = ("magnitude", "loss_preservation_elementwise", "loss_preservation", "none")


def figure1_figure(by_measure: dict, title: str):
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
    _legend_below(fig, handles, "band: 95 % over seeds")
    _suptitle(fig, title)
    return fig


def figure1_png(by_measure: dict, title: str) -> bytes | None:
    return _png(figure1_figure(by_measure, title))


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


def events_figure(by_cell: dict, measures: list[str], metrics: list[str], title: str):
    """Rows: each compared per-event metric (then predicted vs actual if recorded); columns: cells."""
    col = colour_of(measures)
    cells = list(by_cell)
    all_runs = [r for c in cells for rs in by_cell[c].values() for r in rs]
    metrics = [m for m in metrics if event_metric(m, all_runs)]
    preds = [p for p in PREDICTIONS if _predictions(all_runs, p[0], p[1])]
    if not metrics and not preds:
        return None
    fig, axes = _panel_grid(len(metrics) + len(preds), len(cells), w=2.5, h=1.55)
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
            ax.axhline(0, color="#999999", lw=0.6)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(_wrap(cell, 2.5, 8), fontsize=8)
            if j == 0:
                ax.set_ylabel(metric, fontsize=7)
            ax.set_xlabel("pruning round", fontsize=7)
        for i, (pk, key, label) in enumerate(preds, start=len(metrics)):
            ax = axes[i][j]
            for m in measures:
                pts = _predictions(by_cell[cell].get(m) or [], pk, key)
                if pts:
                    ax.plot([p for p, _ in pts], [a for _, a in pts], "o", ms=2.6, color=col[m], mec="none")
            lim = ax.get_xlim()
            ax.plot(lim, lim, color="#666666", lw=0.6, ls="--")
            ax.set_xlabel("predicted", fontsize=7)
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel(_wrap(label, 1.6, 7), fontsize=7)
    handles = [plt.Line2D([], [], color=col[m], lw=1.5, label=m) for m in measures]
    _legend_below(fig, handles, "measure (band: 95 % over seeds)")
    _suptitle(fig, title + " — the compared quantity at each pruning event (probe batch)")
    return fig


def events_png(by_cell: dict, measures: list[str], metrics: list[str], title: str) -> bytes | None:
    return _png(events_figure(by_cell, measures, metrics, title))


def widths_figure(by_cell: dict, measures: list[str], title: str):
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
        ax.set_title(_wrap(cell, 3.0, 8), fontsize=8)
        ax.set_xlabel("prunable layer (network order)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_ylim(0, 1.05)
        if j == 0:
            ax.set_ylabel("fraction of units left", fontsize=7)
    if not drawn:
        plt.close(fig)
        return None
    handles = [plt.Line2D([], [], color=col[m], lw=1.5, label=m) for m in measures]
    _legend_below(fig, handles, "measure")
    _suptitle(fig, title + " — per-layer remaining width after the last round")
    return fig


def widths_png(by_cell: dict, measures: list[str], title: str) -> bytes | None:
    return _png(widths_figure(by_cell, measures, title))
