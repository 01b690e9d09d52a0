"""The page budget: report.html (self-contained, every figure embedded as base64) stays within
``MAX_HTML_BYTES`` (2 MB = 2,000,000 bytes: "under 2 MB" read strictly, not 2 MiB) however many runs
``results/`` holds.

``fit_page(blocks, data, figures)`` renders the files (``document.render_files``); when report.html
is larger than the budget, every figure is drawn again at the first rung of ``plots.LADDER``
predicted to fit (embedded image bytes scale with (dpi / 100)² and, below the full palette, with the
ratio measured at the first redraw) and the page is rendered again; a rung that still does not fit
moves on to the next. The report then says so in one paragraph under "Summary" (encoding, the size it
would have had, the budget) and ``report.json`` records it (``meta.figures``). ``plots/`` beside
report.md always holds the figures at full quality: only the page is fitted. If even the last rung
does not fit (the text alone over budget), the smallest page is written and ``meta.figures.fits``
is False: the size test fails loudly rather than the report dropping evidence.
"""
from __future__ import annotations

import base64

from gftheory.report import plots
from gftheory.report.document import images, render_files

MAX_HTML_BYTES = 2_000_000


def embedded_image_bytes(blocks: list) -> int:
    """Bytes the page spends on its figures (base64, each embedded once)."""
    return sum(len(base64.b64encode(png)) for _, png in images(blocks) if png)


def replace_images(blocks: list, new: dict[str, bytes]) -> list:
    """``blocks`` with every image whose filename is in ``new`` replaced (nested blocks included)."""
    out = []
    for b in blocks:
        if b[0] == "img" and b[3] in new:
            b = (b[0], b[1], new[b[3]], *b[3:])
        elif b[0] == "details":
            b = (b[0], b[1], replace_images(b[2], new), *b[3:])
        out.append(b)
    return out


def _with_note(blocks: list, note: str) -> list:
    """The note as the first paragraph of the "Summary" section (else at the top)."""
    for i, b in enumerate(blocks):
        if b[0] == "h" and len(b) > 3 and b[3] == "summary":
            return blocks[:i + 1] + [("p", note)] + blocks[i + 1:]
    return [("p", note)] + blocks


def fit_page(blocks: list, data: dict, figures, budget: int = MAX_HTML_BYTES) -> dict[str, bytes]:
    """The report's files with report.html within ``budget`` bytes (module docstring); ``figures``
    is the ``build.FigureCache`` the blocks were drawn with."""
    files = render_files(blocks, data)
    full_html = len(files["report.html"])
    record = {"encoding": plots.FULL.label(), "html_bytes": full_html, "html_bytes_full_quality": full_html,
              "budget_bytes": budget, "fits": full_html <= budget}
    data.setdefault("meta", {})["figures"] = record
    if full_html <= budget:
        return render_files(blocks, data)
    full_plots = {k: v for k, v in files.items() if k.startswith("plots/")}
    img = embedded_image_bytes(blocks)
    rest = full_html - img
    palette_ratio = 1.0                                   # measured at the first redraw below full palette
    tried = None
    for i, enc in enumerate(plots.LADDER[1:], 1):
        last = i == len(plots.LADDER) - 1
        predicted = rest + img * (enc.dpi / plots.DPI) ** 2 * (palette_ratio if enc.palette < plots.PALETTE_SIZE else 1)
        if predicted > budget and not last and tried is not None:
            continue
        new = figures.redraw(enc)
        blocks = replace_images(blocks, new)
        tried = enc
        now = embedded_image_bytes(blocks)
        if enc.palette < plots.PALETTE_SIZE and enc.dpi == plots.DPI and img:
            palette_ratio = now / img
        note = (f"Figures on this page are drawn at {enc.label()} (full quality: {plots.FULL.label()}) so that "
                f"report.html stays within its {budget / 1e6:.2f} MB budget; at full quality it would be "
                f"{full_html / 1e6:.2f} MB. `plots/` beside report.md holds every figure at full quality.")
        record.update(encoding=enc.label(), dpi=enc.dpi, palette=enc.palette)
        files = render_files(_with_note(blocks, note), data)
        record["html_bytes"] = len(files["report.html"])
        record["fits"] = record["html_bytes"] <= budget
        if record["fits"] or last:
            break
    files = render_files(_with_note(blocks, note), data)   # report.json with the final record
    files.update(full_plots)
    return files
