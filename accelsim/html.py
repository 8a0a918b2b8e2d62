"""One self-contained HTML page: the speedup table and the plots (SVG inline), viewable offline."""

from __future__ import annotations

import html
from pathlib import Path

from .report import TABLE_COLUMNS, formatted


def render(rows, folder: Path, svgs: list[str], title: str) -> str:
    heads = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in TABLE_COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
                     for cells in formatted(rows))
    figs = "\n".join(
        f"<figure>{(folder / s).read_text().split('?>', 1)[-1]}<figcaption>{html.escape(s)}"
        "</figcaption></figure>" for s in svgs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; font-size: 12px; }}
th, td {{ border-bottom: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
th:nth-child(-n+3), td:nth-child(-n+3) {{ text-align: left; }}
figure {{ margin: 2em 0; }} svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Ideal speedup = regular MACs / structured MACs; realized = regular cycles / structured cycles.
The "lost" columns split the gap, structured cycles minus regular cycles / ideal, by unit.</p>
<table><thead><tr>{heads}</tr></thead><tbody>
{body}
</tbody></table>
{figs}
</body></html>
"""
