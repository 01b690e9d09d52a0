"""Refresh the README's generated parts from a report that `gftheory report` wrote:

    python docs/make_readme_assets.py REPORT_DIR [--readme README.md] [--no-screenshot]

- the table of what the claims came out as, between the README's ``<!-- verdicts:begin``
  and ``<!-- verdicts:end -->`` lines, from REPORT_DIR/report.json (never typed by hand);
- docs/report-summary.png: the top of REPORT_DIR/report.html in headless Chromium (1280 px wide),
  stored as a 64-colour palette PNG (gftheory.report.plots.encode_png).

The table states the report's code version, rules version and digest and the number of runs, so a
stale table is visibly stale; rerun this after `gftheory report` to refresh it.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"^<!-- verdicts:begin.*-->$", re.M)
END = "<!-- verdicts:end -->"
SCREENSHOT = ROOT / "docs" / "report-summary.png"
SHOT_WIDTH, SHOT_HEIGHT, SHOT_KEEP = 1280, 1400, 1150     # window, then the top SHOT_KEEP px kept


def _cell(text) -> str:
    return str(text if text not in (None, "") else "—").replace("|", "\\|").replace("\n", " ")


def verdict_table(report: dict) -> str:
    """The Markdown block: one line of provenance, then one row per claim in the report's order."""
    meta = report.get("meta", {})
    prov = meta.get("provenance", {})
    titles = {c["id"]: c.get("title", "") for c in report.get("claims", [])}
    runs = report.get("runs")
    done = runs.get("completed") if isinstance(runs, dict) else runs
    n_runs = len(done) if isinstance(done, list) else (done if isinstance(done, int) else "?")
    lines = [f"Generated from `report.json` of `{meta.get('command', 'gftheory report')}` "
             f"({prov.get('time_utc', '?')}; code {prov.get('code_version', '?')}; rules version "
             f"{meta.get('rules_version', '?')}, digest `{meta.get('rules_digest', '?')}`; {n_runs} completed run(s)"
             + ("; PLANTED DATA — not evidence" if meta.get("planted_in_use") else "") + "). "
             "Why, claim by claim: report.html (its Summary and each claim's section).",
             "",
             "| claim | stage 1 (exploratory, rules v3) | scale | seeds | coverage | stage 2 (confirmatory, rules v4) "
             "| the claim |",
             "|---|---|---|---|---|---|---|"]
    v4_only = {c["id"] for c in report.get("claims", [])
               if not c.get("judged_at_stage1", c.get("registered", "3") == "3")}
    for row in report.get("summary", []):
        stage1 = ((row.get("verdict"), row.get("scale"), row.get("seeds"), row.get("coverage"))
                  if row.get("id") not in v4_only else ("— (a rules-v4 claim: stage 2 only)", "", "", ""))
        lines.append("| " + " | ".join(_cell(x) for x in (row.get("id"), *stage1,
                                                           stage2_verdict(report, row.get("id")),
                                                           titles.get(row.get("id"), ""))) + " |")
    return "\n".join(lines)


def stage2_verdict(report: dict, cid) -> str:
    """The claim's stage-2 (confirmatory) verdict from report.json's ``v4``: the plan's word for it;
    "" (shown "—") for a claim decided by proof and checks alone (no empirical part, no components);
    'not in the plan' for another claim the plan names no cell of; 'no confirmatory plan' without a plan."""
    v4 = report.get("v4") or {}
    s2 = (v4.get("stage2") or {}).get(cid)
    if s2:
        return str(s2.get("verdict"))
    claim = next((c for c in report.get("claims", []) if c.get("id") == cid), {})
    if not claim.get("empirical") and not claim.get("components"):
        return ""
    return "not in the plan" if v4.get("plan") else "no confirmatory plan"


def table_rows(block: str) -> list[list[str]]:
    """The table's data rows as cells ("—" read as "", escaped pipes unescaped)."""
    rows = []
    for line in block.splitlines():
        if not line.startswith("| ") or line.startswith("| claim ") or line.startswith("|---"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        rows.append(["" if c == "—" else c for c in cells])
    return rows


def replace_block(readme: str, block: str) -> str:
    m = BEGIN.search(readme)
    end = readme.find(END)
    if m is None or end < m.end():
        raise SystemExit("README has no '<!-- verdicts:begin ... -->' … '<!-- verdicts:end -->' block")
    return readme[:m.end()] + "\n" + block + "\n" + readme[end:]


def read_block(readme: str) -> str:
    """The text between the markers (empty when only the placeholder is there)."""
    m = BEGIN.search(readme)
    end = readme.find(END)
    if m is None or end < m.end():
        return ""
    return readme[m.end():end].strip()


def screenshot(html: Path, out: Path = SCREENSHOT) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import chromium, screenshot as shoot   # tests/browser.py: Debian's headless Chromium
    if chromium() is None:
        raise SystemExit("chromium is not installed (apt-get install chromium); rerun with --no-screenshot")
    import numpy as np
    from PIL import Image

    from gftheory.report.plots import encode_png
    raw = out.with_suffix(".raw.png")
    try:
        shoot(html, raw, height=SHOT_HEIGHT)
        rgb = np.asarray(Image.open(raw).convert("RGB"))[:SHOT_KEEP, :SHOT_WIDTH]
    finally:
        raw.unlink(missing_ok=True)
    out.write_bytes(encode_png(np.ascontiguousarray(rgb)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report_dir", type=Path)
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    ap.add_argument("--no-screenshot", action="store_true")
    args = ap.parse_args(argv)
    report = json.loads((args.report_dir / "report.json").read_text(encoding="utf-8"))
    args.readme.write_text(replace_block(args.readme.read_text(encoding="utf-8"), verdict_table(report)),
                           encoding="utf-8")
    print(f"{args.readme}: verdict table from {args.report_dir / 'report.json'}")
    if not args.no_screenshot:
        png = screenshot(args.report_dir / "report.html")
        print(f"{png}: {png.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
