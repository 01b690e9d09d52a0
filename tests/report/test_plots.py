"""The report's figures keep their colours and their text (gftheory/report/plots.py, docs/figures.md).

- the fixed palettes: every measure colour and every verdict colour is at least ΔE*ab 20 from every
  other one of its kind (CIE 1976 on sRGB, D65), verdict colours ≥ 10 from every measure colour,
  identity-tested proofs not in the negative colour; docs/figures.md documents exactly these;
- the encoder: an image with more colours than the palette keeps every protected colour exactly,
  at exactly its pixels (no adaptive reduction that merges series);
- every figure type, drawn from planted runs: decoding the PNG finds each drawn series or verdict
  colour (≥ MIN_PIXELS pixels of exactly that colour), the saved canvas has a blank border (nothing
  cut at the edge), and with matplotlib's renderer every visible text lies inside the figure and
  the legend overlaps no title, no axes and no other text.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from gftheory.claims import load_runs
from gftheory.report import plots
from planted import plant

ROOT = Path(__file__).resolve().parents[2]
MIN_DE_SAME_KIND = 20.0      # CIE76 ΔE*ab between two measures, or between two verdicts
MIN_DE_ACROSS = 10.0         # between a verdict colour and a measure colour
MIN_PIXELS = 8               # pixels of exactly one series colour that a drawn series leaves
BORDER_PX = 2                # the saved canvas's outermost pixels: background only


def lab(colour) -> np.ndarray:
    """sRGB → CIE L*a*b* (D65)."""
    c = np.asarray(to_rgb(colour), float)
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ c / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a, b) -> float:
    return float(np.linalg.norm(lab(a) - lab(b)))


def _closest_pair(colours: dict) -> tuple[float, str, str]:
    keys = list(colours)
    return min((delta_e(colours[a], colours[b]), a, b) for i, a in enumerate(keys) for b in keys[i + 1:])


def rgb_of(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def pixels_of(rgb: np.ndarray, colour: str) -> int:
    want = np.round(np.asarray(to_rgb(colour)) * 255).astype(np.uint8)
    return int(np.all(rgb == want, axis=-1).sum())


# ---------------------------------------------------------------- palettes
def test_measure_colours_are_distinct_and_fixed():
    d, a, b = _closest_pair(plots.MEASURE_COLOURS)
    assert d >= MIN_DE_SAME_KIND, f"{a} and {b} are only ΔE {d:.1f} apart"
    d, a, b = _closest_pair({f"extra{i}": c for i, c in enumerate(plots.EXTRA_COLOURS)}
                            | {k: c for k, c in plots.MEASURE_COLOURS.items() if k not in ("random", "none")})
    assert d >= 10, (d, a, b)
    # the same measure gets the same colour whatever else is drawn beside it, and in any order
    assert plots.colour_of(["grasp", "magnitude"])["magnitude"] == plots.colour_of(["magnitude"])["magnitude"]
    col = plots.colour_of(["my_measure", "magnitude", "other_new"])
    assert col["magnitude"] == plots.MEASURE_COLOURS["magnitude"]
    assert col["my_measure"] != col["other_new"] and not {col["my_measure"], col["other_new"]} & set(
        plots.MEASURE_COLOURS.values())


def test_verdict_colours_are_distinct_from_each_other_and_from_the_measures():
    verdicts = dict(plots.VERDICT_COLOURS, other=plots.OTHER,
                    identity_tested=plots.PROOF_COLOURS["identity-tested"])
    d, a, b = _closest_pair(verdicts)
    assert d >= MIN_DE_SAME_KIND, f"verdict colours {a} and {b} are only ΔE {d:.1f} apart"
    d, v, m = min((delta_e(vc, mc), v, m) for v, vc in verdicts.items() for m, mc in plots.MEASURE_COLOURS.items())
    assert d >= MIN_DE_ACROSS, f"verdict {v} and measure {m} are only ΔE {d:.1f} apart"
    assert set(plots.VERDICT_COLOURS) == {"confirmed", "contradicted", "inconclusive", "equivalent",
                                          "not applicable", "incomplete"}
    assert len(set(plots.VERDICT_MARKERS.values())) == len(plots.VERDICT_MARKERS)   # a second cue


def test_identity_tested_proofs_have_their_own_colour():
    tested, negative = plots.PROOF_COLOURS["identity-tested"], plots.MARK_COLOURS["negative"]
    assert delta_e(tested, negative) >= MIN_DE_SAME_KIND
    assert delta_e(tested, plots.PROOF_COLOURS["proved"]) >= MIN_DE_SAME_KIND
    assert plots.MARK_COLOURS["tested"] == tested
    assert plots.PROOF_COLOURS["refuted"] == plots.VERDICT_COLOURS["contradicted"] == negative
    assert plots.MARK_COLOURS["positive"] == plots.VERDICT_COLOURS["confirmed"] == plots.PROOF_COLOURS["proved"]


def test_docs_document_exactly_the_colours_in_use():
    """docs/figures.md's tables: `| name | #RRGGBB | ...` rows, one per measure, verdict, proof status."""
    text = (ROOT / "docs" / "figures.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2).upper() for m in re.finditer(r"^\|\s*`?([\w :-]+?)`?\s*\|\s*`?(#[0-9A-Fa-f]{6})`?",
                                                               text, re.M)}
    want = {**plots.MEASURE_COLOURS, **plots.VERDICT_COLOURS, "other verdicts": plots.OTHER,
            **{f"proof: {k}": v for k, v in plots.PROOF_COLOURS.items()}}
    assert {k: v.upper() for k, v in want.items()} == rows


# ---------------------------------------------------------------- encoder
def test_encoder_keeps_every_protected_colour_at_its_pixels():
    rng = np.random.default_rng(0)
    protected = list(plots.MEASURE_COLOURS.values()) + list(plots.VERDICT_COLOURS.values())
    img = rng.integers(200, 256, size=(60, 40 * len(protected), 3), dtype=np.uint8)   # > 64 pale colours
    for i, c in enumerate(protected):
        img[10:50, 40 * i + 5:40 * i + 35] = np.round(np.asarray(to_rgb(c)) * 255).astype(np.uint8)
    out = rgb_of(plots.encode_png(img))
    assert out.shape == img.shape
    for i, c in enumerate(protected):
        assert pixels_of(out, c) == 40 * 30, c            # every pixel of that colour, and no other
    packed = lambda a: (a[..., 0].astype(np.int64) << 16) | (a[..., 1].astype(np.int64) << 8) | a[..., 2]  # noqa: E731
    in_palette = np.isin(packed(img), np.unique(packed(out)))
    assert np.array_equal(out[in_palette], img[in_palette])   # a palette colour is never moved
    assert len(np.unique(packed(out))) == plots.PALETTE_SIZE
    few = np.zeros((4, 4, 3), np.uint8)
    few[:2] = 255
    assert np.array_equal(rgb_of(plots.encode_png(few)), few)   # ≤ 64 colours: lossless


# ---------------------------------------------------------------- figures
VERDICTS = ["confirmed", "contradicted", "inconclusive", "equivalent", "incomplete", "not applicable",
            "insufficient"]


def _forest_rows():
    rows = []
    for i, v in enumerate(VERDICTS):
        rows.append({"label": f"E{i} · resnet56/cifar10 · cpu · n=3 · 2 rule(s) with a long label", "group": f"E{i}",
                     "points": [{"x": 0.5 + i, "lo": -1.0 - i, "hi": 3.0 + 2 * i, "verdict": v, "rule": "r"},
                                {"x": -3.0 * i, "lo": -20.0 * i - 1, "hi": 2.0, "verdict": v, "rule": "s"}]})
    return rows


@pytest.fixture(scope="module")
def planted_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("plots")
    measures = {"magnitude": {"final_acc": 92, "early_keep": 0.6}, "loss_preservation": {"final_acc": 90},
                "loss_preservation_elementwise": {"final_acc": 90.5, "d_loss": 0.02},
                "grasp": {"final_acc": 85, "d_grad_norm_sq": 0.5, "early_keep": 0.2},
                "gradient_norm_preservation": {"final_acc": 89}, "random": {"final_acc": 88, "d_loss": 0.5},
                "none": {"final_acc": 93}}
    plant(root, measures=measures, arch="resnet56", dataset="cifar10", rng_seed=1)
    plant(root, measures=measures, arch="vgg13", dataset="cifar10", rng_seed=2)
    runs = load_runs([root], allow_planted=True).runs
    by_cell: dict = {}
    for r in runs:
        by_cell.setdefault(f"{r.config['arch']}/{r.config['dataset']}", {}).setdefault(r.measure, []).append(r)
    return by_cell


def _figures(by_cell):
    """(name, figure builder, colours that must be drawn) for every figure type."""
    compared = ["magnitude", "loss_preservation", "loss_preservation_elementwise", "grasp",
                "gradient_norm_preservation", "random"]
    cell = next(iter(by_cell))
    panels = {(metric, c): {m: [float(v) for v in np.linspace(0.1, 0.3, 3) + k]
                            for k, m in enumerate(compared)}
              for metric in ("final_acc", "event_rel_abs_dloss") for c in by_cell}
    colours = [plots.MEASURE_COLOURS[m] for m in compared]
    return [
        ("forest", lambda: plots.forest_figure(_forest_rows()),
         [plots.VERDICT_COLOURS[v] for v in VERDICTS if v in plots.VERDICT_COLOURS] + [plots.OTHER]),
        ("forest4", lambda: plots.forest_figure(_forest_rows(), xlabel=plots.FOREST4_XLABEL,
                                                legend_title="rule verdict, stage 2 (rules v4; each claim cell's Holm "
                                                             "step: its claim's table)"),
         [plots.VERDICT_COLOURS[v] for v in VERDICTS if v in plots.VERDICT_COLOURS] + [plots.OTHER]),
        ("compare", lambda: plots.compare_figure(panels, compared, "E9, cpu scale: a long title " * 3), colours),
        ("curves", lambda: plots.curves_figure(by_cell, compared, "cpu scale: final training " * 4), colours),
        ("figure1", lambda: plots.figure1_figure(by_cell[cell], "ResNet-56 / CIFAR-10, cpu scale"),
         [plots.MEASURE_COLOURS[m] for m in plots.FIGURE1_MEASURES if by_cell[cell].get(m)]),
        ("events", lambda: plots.events_figure(by_cell, compared, ["event_rel_abs_dloss", "event_rel_abs_dtheta_g"],
                                               "events scale"), colours),
        ("widths", lambda: plots.widths_figure(by_cell, compared, "cpu scale"), colours),
    ]


def _overlap(a, b, tol=0.5) -> bool:
    return a.x0 + tol < b.x1 and b.x0 + tol < a.x1 and a.y0 + tol < b.y1 and b.y0 + tol < a.y1


@pytest.mark.parametrize("kind", ["forest", "forest4", "compare", "curves", "figure1", "events", "widths"])
def test_figure_keeps_colours_and_text(planted_runs, kind):
    name, build, colours = next(f for f in _figures(planted_runs) if f[0] == kind)
    assert len(set(colours)) == len(colours) >= 2
    fig = build()
    assert fig is not None, name
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    drawn = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)   # what the renderer drew, in px
    assert drawn.x0 >= box.x0 - 1 and drawn.x1 <= box.x1 + 1 and drawn.y0 >= box.y0 - 1 \
        and drawn.y1 <= box.y1 + 1, f"{name}: drawn extent {drawn} outside the figure {box}"   # no reliance on the crop
    (legend,) = fig.legends
    leg = legend.get_window_extent(renderer)
    others = [ax.get_tightbbox(renderer) for ax in fig.axes]          # ticks, tick labels, axis labels, titles
    if fig._suptitle is not None:
        others.append(fig._suptitle.get_window_extent(renderer))
    for i, other in enumerate(others):
        assert not _overlap(leg, other), f"{name}: the legend overlaps {'the title' if i == len(fig.axes) else 'an axes'}"
    if fig._suptitle is not None:
        title = fig._suptitle.get_window_extent(renderer)
        assert not [ax for ax in fig.axes if _overlap(title, ax.get_tightbbox(renderer))], f"{name}: title over a panel"
    png = plots._png(fig)
    rgb = rgb_of(png)
    for c in colours:
        assert pixels_of(rgb, c) >= MIN_PIXELS, (name, c, pixels_of(rgb, c))
    white = np.array([255, 255, 255], np.uint8)
    border = np.concatenate([rgb[:BORDER_PX].reshape(-1, 3), rgb[-BORDER_PX:].reshape(-1, 3),
                             rgb[:, :BORDER_PX].reshape(-1, 3), rgb[:, -BORDER_PX:].reshape(-1, 3)])
    assert np.all(border == white), f"{name}: ink on the saved canvas's edge (clipped)"


def test_the_old_adaptive_reduction_would_fail_the_colour_check(planted_runs):
    """The check is not vacuous: the former 32-colour median-cut reduction loses series colours."""
    fig = plots.events_figure(planted_runs, ["magnitude", "loss_preservation", "loss_preservation_elementwise",
                                             "grasp", "gradient_norm_preservation", "random"],
                              ["event_rel_abs_dloss"], "t")
    rgb = plots.render_rgb(fig)
    old = np.asarray(Image.fromarray(rgb).quantize(colors=32, method=Image.Quantize.MEDIANCUT).convert("RGB"))
    lost = [m for m in ("magnitude", "loss_preservation", "loss_preservation_elementwise", "grasp",
                        "gradient_norm_preservation", "random")
            if pixels_of(old, plots.MEASURE_COLOURS[m]) < MIN_PIXELS]
    assert lost, "the adaptive reduction kept every colour: the check above proves nothing"
    new = rgb_of(plots.encode_png(rgb))
    assert all(pixels_of(new, plots.MEASURE_COLOURS[m]) >= MIN_PIXELS for m in lost)


def test_html_markers_use_the_figures_colours_and_identity_tested_is_not_negative():
    """The report's HTML verdict markers are drawn in the figures' colours, and an identity-tested
    proof row is marked [[tested]] (sky blue), not [[negative]] (the refuted colour)."""
    from gftheory.report import build, document
    assert document.MARK_COLOURS == plots.MARK_COLOURS
    for k, c in plots.MARK_COLOURS.items():
        assert f".vm.{k}{{background:{c}}}" in document.CSS
    src = open(build.__file__).read()
    assert '"identity-tested": "[[tested]]"' in src
    page = document.to_html([("p", "[[tested]]identity-tested")], "t")
    assert '<span class="vm tested"></span>identity-tested' in page
