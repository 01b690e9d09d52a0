"""The page budget (gftheory.report.fit): report.html is fitted to its byte budget by drawing the
figures again at a lower encoding, never by dropping evidence; the figures a redraw produces are
the same figures (each drawing callable is bound to its own data, not to a loop variable)."""
import base64
import io
import re

import numpy as np
import pytest

from gftheory.claims import LiveEvidence, evaluate_claims, load_runs
from gftheory.report import plots
from gftheory.report.build import FigureCache, build_document
from gftheory.report.document import images, render_files
from gftheory.report.fit import embedded_image_bytes, fit_page
from planted import plant

SKIP = "not run in this test"


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    """A planted report with two scales (a late-bound drawing callable would draw the last
    scale's data for both) and every figure kind the claims draw."""
    root = tmp_path_factory.mktemp("fit")
    ms = {"magnitude": {"final_acc": 92}, "loss_preservation": {"final_acc": 90}, "random": {"final_acc": 88},
          "grasp": {"final_acc": 85, "d_grad_norm_sq": 0.5}, "gradient_norm_preservation": {"final_acc": 89}}
    plant(root, measures=ms, scale="cpu")
    plant(root, measures=ms, scale="full", rng_seed=3, noise=1.0)
    runset = load_runs([root], allow_planted=True)
    live = LiveEvidence(checks_error=SKIP, proofs_error=SKIP)
    figures = FigureCache()
    blocks, data = build_document(evaluate_claims(runset, live), live, runset, {"provenance": {}}, figures=figures)
    return blocks, data, figures


def _pngs(blocks) -> dict:
    return {name: png for name, png in images(blocks) if png}


def test_redraw_at_full_quality_reproduces_every_figure(document):
    blocks, _, figures = document
    before = _pngs(blocks)
    assert len(before) >= 8
    again = figures.redraw(plots.FULL)
    assert set(again) == set(before)
    differ = [n for n in before if again[n] != before[n]]
    assert not differ, f"redrawn figures differ from the drawn ones (a late-bound drawing callable?): {differ}"


def test_a_page_within_budget_is_left_at_full_quality(document):
    blocks, data, figures = document
    full = render_files(blocks, data)
    files = fit_page(blocks, dict(data), figures, budget=len(full["report.html"]) + 1)
    assert files["report.html"].decode().count("data:image/png") == len(_pngs(blocks))
    assert b"so that report.html stays within" not in files["report.html"]


def test_an_oversized_page_is_fitted_said_and_keeps_full_plots(document):
    """Budget 80 % of the full page: the page fits, says at which encoding and what size it would
    have had, report.json records it, plots/ keeps the full-quality figures, every figure is still
    embedded once and the verdict colours of the summary figure survive exactly."""
    from matplotlib.colors import to_rgb
    from PIL import Image
    blocks, data, figures = document
    full = render_files(blocks, data)
    full_pngs = {k: v for k, v in full.items() if k.startswith("plots/")}
    budget = int(0.8 * len(full["report.html"]))
    data = dict(data, meta=dict(data.get("meta", {})))
    files = fit_page(blocks, data, figures, budget=budget)
    html = files["report.html"].decode()
    assert len(files["report.html"]) <= budget
    rec = data["meta"]["figures"]
    assert rec["fits"] and rec["encoding"] != plots.FULL.label() and rec["html_bytes"] == len(files["report.html"])
    assert f"drawn at {rec['encoding']}" in html and f"{len(full['report.html']) / 1e6:.2f} MB" in html
    assert '"figures"' in files["report.json"].decode()
    assert {k: v for k, v in files.items() if k.startswith("plots/")} == full_pngs
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == len(full_pngs) == len(set(embedded))
    forest = [b64 for b64 in embedded if base64.b64decode(b64) not in full_pngs.values()]
    assert forest, "no figure was redrawn"
    colours = {plots.verdict_colour(v) for v in ("inconclusive", "confirmed", "contradicted")}
    found = set()
    for b64 in embedded:
        rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))
        for c in colours:
            want = np.round(np.asarray(to_rgb(c)) * 255).astype(np.uint8)
            if np.all(rgb == want, axis=-1).sum() >= 8:
                found.add(c)
    assert found, "no verdict colour survived the lower encoding exactly"
    figures.redraw(plots.FULL)                      # leave the module fixture as drawn


def test_a_page_whose_text_alone_exceeds_the_budget_says_it_does_not_fit(document):
    blocks, data, figures = document
    data = dict(data, meta=dict(data.get("meta", {})))
    files = fit_page(blocks, data, figures, budget=1000)
    rec = data["meta"]["figures"]
    assert not rec["fits"] and rec["dpi"] == plots.LADDER[-1].dpi
    assert len(files["report.html"]) > 1000
    assert embedded_image_bytes(blocks) > 0
    figures.redraw(plots.FULL)


def test_the_ladder_only_lowers_quality():
    rungs = plots.LADDER
    assert rungs[0] == plots.FULL
    assert all(a.dpi >= b.dpi and a.palette >= b.palette and a != b for a, b in zip(rungs, rungs[1:]))
    assert all(r.palette >= len(plots._protected()) for r in rungs)   # every protected colour keeps its entry
