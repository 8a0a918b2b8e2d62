"""One self-contained HTML page: the headline and full speedup tables, and every plot inlined as
a base64 PNG (no external file, script or font: it opens offline and prints)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .report import HEADLINE_COLUMNS, formatted, table_columns


def _table(rows, columns) -> str:
    heads = "".join(f"<th>{html.escape(h)}</th>" for _, h, _, _ in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
                     for cells in formatted(rows, columns))
    return f"<table><thead><tr>{heads}</tr></thead><tbody>\n{body}\n</tbody></table>"


def render(rows, folder: Path, pngs: list[tuple[str, str]], title: str, notes: str = "") -> str:
    """``pngs``: (file name in ``folder``, caption)."""
    structured = [r for r in rows if r["variant"] != "regular"]
    figs = "\n".join(
        f'<figure><img alt="{html.escape(cap)}" src="data:image/png;base64,'
        f'{base64.b64encode((folder / f).read_bytes()).decode("ascii")}">'
        f"<figcaption>{html.escape(cap)} ({html.escape(f)})</figcaption></figure>"
        for f, cap in pngs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1400px; }}
table {{ border-collapse: collapse; font-size: 12px; margin-bottom: 2em; }}
th, td {{ border-bottom: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
th {{ background: #f0f0f0; }}
th:nth-child(-n+3), td:nth-child(-n+3) {{ text-align: left; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; height: auto; }}
figcaption {{ color: #555; font-size: 13px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Ideal speedup = regular MACs / structured MACs; realized = regular cycles / structured cycles.
The "lost" shares split the gap: realized/ideal + lost (array + pool + vector + stalls) = 100%,
each lost share being (structured cycles of that unit &minus; regular cycles of that unit / ideal)
/ structured cycles. {html.escape(notes)}</p>
<h2>Headline</h2>
{_table(structured, HEADLINE_COLUMNS)}
<h2>All counts</h2>
{_table(rows, table_columns(rows))}
<h2>Plots</h2>
{figs}
</body></html>
"""
