"""Open a report in Debian's headless Chromium (no extra Python packages, bounded in time).

``inspect_page`` loads a *test copy* of the page with a probe script injected (the report itself
holds no script): it records load errors (window 'error' events, resource failures included),
opens every <details>, then checks every image (complete, naturalWidth > 0), every internal link
(its target id exists), the visible text (no LaTeX delimiters or commands left) and the rendered
MathML (boxes of non-zero size), and writes the result as JSON into the DOM, read back from
``--dump-dom``. ``screenshot`` takes a PNG of the unmodified page.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 120

PROBE_HEAD = """<script>window.__errors=[];window.addEventListener('error',function(e){
var t=e.target;window.__errors.push(t&&t!==window&&t.tagName?('resource failed: '+t.tagName+' '+(t.alt||t.src||'').slice(0,80))
:String(e.message));},true);</script>"""

PROBE_BODY = """<script>window.addEventListener('load',function(){
document.querySelectorAll('details').forEach(function(d){d.open=true;});
var r={errors:window.__errors};
r.images=Array.from(document.images).map(function(i){return {ok:i.complete&&i.naturalWidth>0,w:i.naturalWidth,alt:i.alt.slice(0,60)};});
r.broken_links=Array.from(document.querySelectorAll('a[href^="#"]')).map(function(a){return a.getAttribute('href');})
 .filter(function(h){return !document.getElementById(decodeURIComponent(h.slice(1)));});
r.links=document.querySelectorAll('a[href^="#"]').length;
var text=document.body.innerText;r.text_len=text.length;
r.latex_left=(text.match(/\\$\\$|\\\\frac|\\\\left|\\\\theta|\\\\sum/g)||[]).slice(0,5);
r.check_literal=(text.match(/\\*check/g)||[]).length;
var ms=Array.from(document.querySelectorAll('math'));r.math=ms.length;
r.math_unrendered=ms.filter(function(m){var b=m.getBoundingClientRect();return !(b.width>0&&b.height>0);}).length;
r.tex_fallbacks=document.querySelectorAll('code.tex').length;
r.ordered_lists=document.querySelectorAll('ol').length;
var pre=document.createElement('pre');pre.id='__probe';pre.textContent=JSON.stringify(r);document.body.appendChild(pre);});
</script>"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str]) -> subprocess.CompletedProcess:
    exe = chromium()
    with tempfile.TemporaryDirectory(prefix="gft-chromium-") as profile:
        cmd = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
               "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)


def inspect_page(html_path: Path, workdir: Path) -> dict:
    page = Path(html_path).read_text()
    assert "<script" not in page.lower(), "the report must not hold scripts"
    page = page.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_BODY + "</body>", 1)
    probe = Path(workdir) / "probe.html"
    probe.write_text(page)
    out = _run(["--window-size=1280,2000", "--dump-dom", probe.resolve().as_uri()])
    m = re.search(r'<pre id="__probe">(.*?)</pre>', out.stdout, re.S)
    assert m, f"no probe result in the DOM dump (rc {out.returncode}); stderr: {out.stderr[-2000:]}"
    import html
    return json.loads(html.unescape(m.group(1)))


def screenshot(html_path: Path, png_path: Path, height: int = 2000, fragment: str = "") -> Path:
    out = _run([f"--window-size=1280,{height}", f"--screenshot={png_path}",
                Path(html_path).resolve().as_uri() + fragment])
    assert Path(png_path).is_file(), f"no screenshot (rc {out.returncode}); stderr: {out.stderr[-2000:]}"
    return Path(png_path)


def blank_fraction(png_path: Path) -> tuple[float, float]:
    """(fraction of non-white pixels, pixel standard deviation) of a screenshot."""
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(png_path).convert("L"), float)
    return float((a < 245).mean()), float(a.std())
