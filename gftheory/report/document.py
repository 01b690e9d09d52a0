"""A small document model rendered to Markdown (``report.md``) and to one self-contained HTML page
(``report.html``) by well-kept libraries: markdown-it-py (CommonMark + tables) with the dollarmath
plugin of mdit-py-plugins, maths as MathML from latex2mathml (rendered natively by browsers, no
network, no script), and a Jinja2 page template.

Blocks: ("h", level, text, anchor) · ("p", text) · ("ul", [text]) · ("table", header, rows) ·
("code", text) · ("img", caption, png_bytes, filename, first) · ("details", summary, [blocks][, anchor]) ·
("md", markdown_text) (e.g. a proof's derivation) · ("toc", [(level, text, anchor)]).
Text is Markdown (inline code, bold, links, ``$…$`` maths). A table cell or text may start with a
verdict marker ``[[positive|negative|open|missing]]``: Markdown drops it, HTML colours the cell.
An image block with ``first`` False is a reference to a figure shown earlier (a link, never a second
copy). HTML embeds each image once as base64 PNG and references nothing outside the page.
``render_files(blocks, data)`` gives the report's files as bytes (report.md, plots/, report.html,
report.json); ``write_atomically(out, files)`` swaps them into the folder ``out`` in one step.
"""
from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from gftheory.errors import UsageError

_MARK = re.compile(r"\[\[(positive|negative|open|tested|missing)\]\]")
# The markers' colours: the figures' (gftheory/report/plots.py MARK_COLOURS; a test keeps them equal)
MARK_COLOURS = {"positive": "#009E73", "negative": "#D55E00", "open": "#E69F00", "tested": "#56B4E9",
                "missing": "#999999"}
_CELL_TINT = {"positive": "#d5efe6", "negative": "#f6dccb", "open": "#fbecd0", "tested": "#dceefb",
              "missing": "#ececec"}

CSS = """body{font-family:system-ui,sans-serif;max-width:1180px;margin:1.5em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f3f3f3}code,pre{background:#f6f6f6;font-size:.88em}pre{padding:.6em;overflow-x:auto}
.vm{display:inline-block;width:.75em;height:.75em;border-radius:50%;margin-right:.35em;vertical-align:-.05em}
""" + "".join(f".vm.{k}{{background:{c}}}" for k, c in MARK_COLOURS.items()) + "\n" + "".join(
    f"td:has(>.vm.{k}){{background:{c}}}" for k, c in _CELL_TINT.items()) + """
details{margin:.5em 0;border-left:3px solid #dde;padding-left:.6em}summary{cursor:pointer;color:#345}
figure{margin:.8em 0}img{max-width:100%;height:auto}figcaption{font-size:.85em;color:#444}
h1{font-size:1.7em}h2{font-size:1.4em;border-top:1px solid #ddd;padding-top:.6em}h3{font-size:1.15em}
h4{font-size:1.05em}h5,h6{font-size:1em}.back{font-size:.85em;margin-left:.6em;font-weight:normal}
nav.toc{background:#f8f8fb;border:1px solid #e3e3ea;padding:.4em 1em;font-size:.9em}
nav.toc ul{margin:.2em 0;padding-left:1.2em}nav.toc li.l3{display:inline-block;margin-right:.9em}
math[display=block]{overflow-x:auto;overflow-y:hidden;margin:.5em 0;padding:.2em 0}"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><style>{{ css }}</style></head>
<body>
{{ body }}
</body></html>
"""


# ---------------------------------------------------------------- Markdown
def _md_text(text) -> str:
    return _MARK.sub("", str(text))


def _cell_md(text) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def _figure_anchor(filename: str) -> str:
    return "fig-" + re.sub(r"[^\w-]", "-", filename.rsplit(".", 1)[0])


def to_markdown(blocks: list, images_dir: str = "plots") -> str:
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            _, level, text, anchor = b
            out.append((f'<a id="{anchor}"></a>\n' if anchor else "") + "#" * level + " " + _md_text(text))
        elif kind == "p":
            out.append(_md_text(b[1]))
        elif kind == "ul":
            out.append("\n".join(f"- {_cell_md(x)}" for x in b[1]))
        elif kind == "toc":
            out.append("\n".join("  " * (lvl - 2) + f"- [{_cell_md(t)}](#{a})" for lvl, t, a in b[1]))
        elif kind == "table":
            _, header, rows = b
            lines = ["| " + " | ".join(_cell_md(h) for h in header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "code":
            out.append("```\n" + b[1] + "\n```")
        elif kind == "img":
            _, caption, _png, filename, first = b
            out.append(f"![{caption}]({images_dir}/{filename})" if first
                       else f"Figure: [{caption}]({images_dir}/{filename}) (shown above).")
        elif kind == "details":
            aid = f' id="{b[3]}"' if len(b) > 3 and b[3] else ""
            out.append(f"<details{aid}><summary>{html.escape(_md_text(b[1]))}</summary>\n\n"
                       + to_markdown(b[2], images_dir) + "\n\n</details>")
        elif kind == "md":
            out.append(b[1])
    return "\n\n".join(out) + "\n"


# ---------------------------------------------------------------- HTML
def _math(content: str, opts: dict) -> str:
    """LaTeX → MathML (latex2mathml); an expression it cannot parse stays visible as code."""
    import latex2mathml.converter
    display = "block" if opts.get("display_mode") else "inline"
    try:
        out = latex2mathml.converter.convert(content, display=display)
    except Exception:  # noqa: BLE001 - shown as source rather than lost
        return f'<code class="tex">{html.escape(content)}</code>'
    # smaller page, same rendering: no namespace in HTML, characters instead of numeric entities
    out = out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "").replace(' display="inline"', "")
    for attr in (' fence="true"', ' fence="false"', ' form="prefix"', ' form="postfix"', ' stretchy="true"'):
        out = out.replace(attr, "")   # defaults or ignored by MathML Core renderers
    out = _ENTITY.sub(lambda m: m.group(0) if int(m.group(1), 16) in _KEEP else chr(int(m.group(1), 16)), out)
    while True:                       # an <mrow> around one token element renders as the token alone
        shorter = _LONE_MROW.sub(r"\1", out)
        if shorter == out:
            return out
        out = shorter


_LONE_MROW = re.compile(r"<mrow>(<(mi|mn|mo|mtext)(?: [^>]*)?>[^<]*</\2>)</mrow>")


_ENTITY = re.compile(r"&#x([0-9A-Fa-f]+);")
_KEEP = {ord(c) for c in "<>&\"'"}


def _verdict_mark_plugin(md) -> None:
    """Inline rule: ``[[positive]]`` etc. → an empty ``<span class="vm positive">`` (a coloured
    dot; a table cell holding one is coloured by CSS)."""

    def rule(state, silent):
        m = _MARK.match(state.src, state.pos)
        if not m:
            return False
        if not silent:
            tok = state.push("verdict_mark", "span", 0)
            tok.meta = {"cls": m.group(1)}
        state.pos = m.end()
        return True

    md.inline.ruler.before("link", "verdict_mark", rule)
    md.add_render_rule("verdict_mark", lambda self, tokens, idx, options, env:
                       f'<span class="vm {tokens[idx].meta["cls"]}"></span>')


_MD = None


def markdown_renderer():
    """The project's markdown-it instance (CommonMark, tables, $…$ / $$…$$ maths, raw HTML off)."""
    global _MD
    if _MD is None:
        from markdown_it import MarkdownIt
        from mdit_py_plugins.dollarmath import dollarmath_plugin
        md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
        dollarmath_plugin(md, allow_space=True, allow_digits=False, double_inline=True, renderer=_math)
        _verdict_mark_plugin(md)
        _MD = md
    return _MD


def markdown_to_html(text: str, shift: int = 0) -> str:
    """Markdown (with maths) → HTML; ``shift`` demotes headings (a derivation's ### inside a claim)."""
    md = markdown_renderer()
    tokens = md.parse(text)
    if shift:
        for t in tokens:
            if t.type in ("heading_open", "heading_close"):
                t.tag = f"h{min(6, int(t.tag[1]) + shift)}"
    return md.renderer.render(tokens, md.options, {})


def _inline(text) -> str:
    return markdown_renderer().renderInline(str(text))


def _html_blocks(blocks: list) -> str:
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            _, level, text, anchor = b
            aid = f' id="{html.escape(anchor)}"' if anchor else ""
            back = ' <a class="back" href="#summary">↑ summary</a>' if anchor and anchor.startswith("claim-") else ""
            out.append(f"<h{level}{aid}>{_inline(text)}{back}</h{level}>")
        elif kind == "p":
            out.append(markdown_to_html(str(b[1])))
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "toc":
            out.append('<nav class="toc"><b>Contents</b><ul>' + "".join(
                f'<li class="l{lvl}"><a href="#{html.escape(a)}">{_inline(t)}</a></li>' for lvl, t, a in b[1])
                + "</ul></nav>")
        elif kind == "table":
            _, header, rows = b
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in header) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
                       + "</tbody></table>")
        elif kind == "code":
            out.append(f"<pre><code>{html.escape(b[1])}</code></pre>")
        elif kind == "img":
            _, caption, png, filename, first = b
            anchor = _figure_anchor(filename)
            if first:
                data = base64.b64encode(png).decode("ascii")
                out.append(f'<figure id="{anchor}"><img alt="{html.escape(_md_text(caption))}" '
                           f'src="data:image/png;base64,{data}"><figcaption>{_inline(caption)}</figcaption></figure>')
            else:
                out.append(f'<p class="figref">Figure: <a href="#{anchor}">{_inline(caption)}</a> (shown above).</p>')
        elif kind == "details":
            aid = f' id="{html.escape(b[3])}"' if len(b) > 3 and b[3] else ""
            out.append(f"<details{aid}><summary>{_inline(b[1])}</summary>{_html_blocks(b[2])}</details>")
        elif kind == "md":
            out.append(markdown_to_html(b[1], shift=1))
    return "\n".join(out)


def to_html(blocks: list, title: str) -> str:
    import jinja2
    from markupsafe import Markup
    env = jinja2.Environment(autoescape=True)
    return env.from_string(PAGE).render(title=title, css=Markup(CSS), body=Markup(_html_blocks(blocks)))


def images(blocks: list):
    """Every (filename, png) drawn for the document (each once), nested ones included."""
    for b in blocks:
        if b[0] == "img" and b[4]:
            yield b[3], b[2]
        elif b[0] == "details":
            yield from images(b[2])


def write_atomically(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative path → bytes) into a fresh temp dir next to ``out``, then swap it in."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} exists and is not a directory; fix: choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)          # mkdtemp makes 0700; the report is an ordinary folder
    try:
        for rel, data in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "x")
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


DERIVATIONS_PAGE = "derivations.html"
DERIVATION_ANCHOR = "deriv-"


def split_derivations(blocks: list) -> tuple[list, list]:
    """(report blocks, derivation blocks): every derivation (a ``details`` block whose anchor starts
    with ``deriv-``) moves to its own page, derivations.html, and leaves a link in its place; links to
    a derivation elsewhere in the report point there too. Keeps report.html small (the derivations'
    MathML is most of the page) while every derivation stays one click away, self-contained."""
    moved: list = []

    def walk(bs):
        out = []
        for b in bs:
            if b[0] == "details" and len(b) > 3 and str(b[3] or "").startswith(DERIVATION_ANCHOR):
                moved.append(("h", 2, b[1], b[3]))
                moved.extend(b[2])
                out.append(("p", f"{b[1][0].upper() + b[1][1:]}: [open it]({DERIVATIONS_PAGE}#{b[3]}) "
                                 f"(in {DERIVATIONS_PAGE}, next to this page; numbered sympy-checked steps)"))
            elif b[0] == "details":
                out.append((b[0], b[1], walk(b[2]), *b[3:]))
            elif b[0] == "p":
                out.append(("p", str(b[1]).replace(f"](#{DERIVATION_ANCHOR}", f"]({DERIVATIONS_PAGE}#{DERIVATION_ANCHOR}")))
            else:
                out.append(b)
        return out

    main = walk(blocks)
    return main, moved


def render_files(blocks: list, data: dict) -> dict[str, bytes]:
    """report.md (+ plots/) with everything, the self-contained report.html, derivations.html (the
    proofs' derivations, linked from report.html) and report.json, as bytes."""
    main, derivs = split_derivations(blocks)
    files = {"report.md": to_markdown(blocks).encode(),
             "report.html": to_html(main, "gftheory report").encode(),
             "report.json": json.dumps(data, indent=1, ensure_ascii=False, default=str).encode()}
    if derivs:
        head = [("h", 1, "gftheory — machine-checked derivations", "top"),
                ("p", "The sympy-checked derivations of every proof the report cites (`gftheory prove`; "
                      "[back to the report](report.html)). Each step is an equality, sign or non-vanishing "
                      "checked symbolically, or by the numeric identity test where a step says so.")]
        files[DERIVATIONS_PAGE] = to_html(head + derivs, "gftheory derivations").encode()
    for name, png in images(blocks):
        if png:
            files[f"plots/{name}"] = png
    return files
