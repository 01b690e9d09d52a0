"""A tiny document model rendered to Markdown and to one self-contained HTML page.

Blocks: ("h", level, text, anchor) · ("p", text) · ("ul", [text]) · ("table", header, rows) ·
("code", text) · ("img", caption, png_bytes, filename) · ("details", summary, [blocks]) ·
("md", markdown_text) (e.g. a proof's derivation). Inline text may use `code` and **bold**.
HTML embeds images as base64 PNG and references nothing outside the page.
"""
from __future__ import annotations

import base64
import html
import re

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.4;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f3f3f3}code,pre{background:#f6f6f6;font-size:.85em}pre{padding:.6em;overflow-x:auto}
.positive{background:#d9f2d9}.negative{background:#f7d4d4}.open{background:#fff3c4}.missing{background:#e8e8e8}
details{margin:.4em 0}summary{cursor:pointer;color:#345}img{max-width:100%}h2{border-top:1px solid #ddd;padding-top:.6em}"""

_VERDICT_CLASS = re.compile(r"^\[\[(positive|negative|open|missing)\]\]")


def _inline_html(text: str) -> str:
    t = html.escape(str(text))
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"\[([^\]]+)\]\(#([\w-]+)\)", r'<a href="#\2">\1</a>', t)
    return t


def _cell_html(text: str, tag: str = "td") -> str:
    m = _VERDICT_CLASS.match(str(text))
    if m:
        return f'<{tag} class="{m.group(1)}">{_inline_html(str(text)[m.end():])}</{tag}>'
    return f"<{tag}>{_inline_html(text)}</{tag}>"


def _cell_md(text: str) -> str:
    return _VERDICT_CLASS.sub("", str(text)).replace("|", "\\|").replace("\n", " ")


def markdown_to_html(md: str) -> str:
    """Minimal Markdown: headings, fenced code, bullet lists, paragraphs, inline code/bold."""
    out, para, in_code, code, in_list = [], [], False, [], False

    def flush():
        nonlocal para, in_list
        if para:
            out.append("<p>" + _inline_html(" ".join(para)) + "</p>")
            para = []
        if in_list:
            out.append("</ul>")
            in_list = False

    for line in md.splitlines():
        if line.strip().startswith("```"):
            if in_code:
                out.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
                in_code, code = False, []
            else:
                flush()
                in_code = True
            continue
        if in_code:
            code.append(line)
            continue
        m = re.match(r"^(#{1,6})\s+(.*)", line)
        if m:
            flush()
            lvl = min(6, len(m.group(1)) + 3)
            out.append(f"<h{lvl}>{_inline_html(m.group(2))}</h{lvl}>")
        elif re.match(r"^\s*([-*]|\d+\.)\s+", line):
            if para:
                out.append("<p>" + _inline_html(" ".join(para)) + "</p>")
                para = []
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append("<li>" + _inline_html(re.sub(r"^\s*([-*]|\d+\.)\s+", "", line)) + "</li>")
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
    if in_code:
        out.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
    flush()
    return "\n".join(out)


def to_markdown(blocks: list, images_dir: str = "plots") -> str:
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            _, level, text, anchor = b
            out.append(("<a id=\"%s\"></a>\n" % anchor if anchor else "") + "#" * level + " " + text)
        elif kind == "p":
            out.append(str(b[1]))
        elif kind == "ul":
            out.append("\n".join(f"- {_cell_md(x)}" for x in b[1]))
        elif kind == "table":
            _, header, rows = b
            lines = ["| " + " | ".join(_cell_md(h) for h in header) + " |",
                     "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "code":
            out.append("```\n" + b[1] + "\n```")
        elif kind == "img":
            _, caption, _png, filename = b
            out.append(f"![{caption}]({images_dir}/{filename})")
        elif kind == "details":
            out.append(f"<details><summary>{html.escape(b[1])}</summary>\n\n" + to_markdown(b[2], images_dir)
                       + "\n\n</details>")
        elif kind == "md":
            out.append(b[1])
    return "\n\n".join(out) + "\n"


def _html_blocks(blocks: list) -> str:
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            _, level, text, anchor = b
            aid = f' id="{html.escape(anchor)}"' if anchor else ""
            out.append(f"<h{level}{aid}>{_inline_html(text)}</h{level}>")
        elif kind == "p":
            out.append(f"<p>{_inline_html(b[1])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline_html(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            _, header, rows = b
            out.append("<table><tr>" + "".join(_cell_html(h, "th") for h in header) + "</tr>" +
                       "".join("<tr>" + "".join(_cell_html(c) for c in row) + "</tr>" for row in rows) +
                       "</table>")
        elif kind == "code":
            out.append(f"<pre>{html.escape(b[1])}</pre>")
        elif kind == "img":
            _, caption, png, _fn = b
            data = base64.b64encode(png).decode("ascii")
            out.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{_inline_html(caption)}</figcaption></figure>")
        elif kind == "details":
            out.append(f"<details><summary>{_inline_html(b[1])}</summary>{_html_blocks(b[2])}</details>")
        elif kind == "md":
            out.append(markdown_to_html(b[1]))
    return "\n".join(out)


def to_html(blocks: list, title: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{_html_blocks(blocks)}\n</body></html>\n")


def images(blocks: list):
    """Every (filename, png) in the document, nested ones included."""
    for b in blocks:
        if b[0] == "img":
            yield b[3], b[2]
        elif b[0] == "details":
            yield from images(b[2])
