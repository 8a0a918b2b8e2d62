"""One self-contained HTML page for the speedup report: summary first (headline heatmap, the
ideal-vs-realized figure, findings computed from the numbers), a contents bar, sortable and
filterable tables, per-(arch, network, variant) per-layer tables that open on demand, the arch
parameters, every other plot inline as SVG, and a footer with version, command line and date.

Self-contained: no external file, script, font or stylesheet; it opens offline and prints. The
per-layer rows travel as one JSON block and become tables only when their section is opened
(thousands of rows would otherwise make the page slow to open). The script has no dependency
and the page reads without it (only sorting, filtering and the per-layer tables need it).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
import statistics

from accelsim.report.tables import HEADLINE_COLUMNS, LAYER_COLUMNS, formatted, table_columns

TEXT_COLS = ("arch", "network", "variant", "layer", "op", "engine", "bound", "pool_schedule")
# per-layer columns of the pool unit's schedule, shown when the simulation reports them
POOL_LAYER_COLUMNS = [("pool_schedule", "pool schedule", "{}", 1),
                      ("array_wait_cycles", "array wait cyc", "{}", 1),
                      ("staging_peak_words", "staging peak (words)", "{}", 1),
                      ("fused_cycles", "fused cyc", "{}", 1)]

CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
main { margin: 0 auto; max-width: 1400px; padding: 0 1.5em 2em; }
nav { position: sticky; top: 0; background: #f7f7f7; border-bottom: 1px solid #ccc;
      padding: .45em 1.5em; z-index: 2; font-size: 14px; }
nav a { margin-right: 1.2em; color: #0050a0; text-decoration: none; }
h1 { margin: .6em 0 .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.lede { max-width: 70em; line-height: 1.45; }
table { border-collapse: collapse; font-size: 12px; margin: .4em 0 1.2em; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #eef1f5; position: sticky; top: 2.1em; }
table.sortable th { cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " \\25B2"; font-size: 9px; }
th[aria-sort=descending]::after { content: " \\25BC"; font-size: 9px; }
td.t, th.t { text-align: left; }
tr:hover td { background: #fff8dc; }
td.good { background: #d9ecf7; } td.bad { background: #fbe3cf; }
input.filter { font-size: 13px; padding: 2px 6px; width: 22em; }
figure { margin: 1.2em 0 2em; } figure svg, figure img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 13px; max-width: 70em; line-height: 1.4; }
details { margin: .2em 0; } summary { cursor: pointer; }
.scroll { overflow-x: auto; }
footer { color: #555; font-size: 12px; border-top: 1px solid #ccc; margin-top: 3em;
         padding-top: .6em; }
code { background: #f3f3f3; padding: 0 3px; }
"""

SCRIPT = r"""
(function () {
  function key(td) {
    var s = td.getAttribute('data-v');
    if (s === null) s = td.textContent.trim();
    var n = parseFloat(s.replace(/[%,x]/g, ''));
    return isNaN(n) || !/^[-+]?[\d.]/.test(s) ? s.toLowerCase() : n;
  }
  function sortBy(table, th) {
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      var c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0)
                                      : (typeof x === 'number' ? -1 : 1);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function wire(table) {
    table.querySelectorAll('thead th').forEach(function (th) {
      th.addEventListener('click', function () { sortBy(table, th); });
    });
  }
  document.querySelectorAll('table.sortable').forEach(wire);
  document.querySelectorAll('input.filter').forEach(function (box) {
    box.addEventListener('input', function () {
      var t = document.getElementById(box.getAttribute('data-table'));
      var q = box.value.toLowerCase();
      Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
        r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
      });
    });
  });
  var cache = null;
  function layerData() {  // gzip + base64 JSON: a tenth of the size of the plain tables
    if (!cache) {
      var raw = atob(document.getElementById('layer-data').textContent.trim());
      var bytes = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      var s = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      cache = new Response(s).text().then(JSON.parse);
    }
    return cache;
  }
  document.querySelectorAll('details[data-run]').forEach(function (d) {
    d.addEventListener('toggle', function () {
      if (!d.open || d.querySelector('table')) return;
      layerData().then(function (data) { if (!d.querySelector('table')) build(d, data); });
    });
  });
  function build(d, data) {
      var run = data.runs[d.getAttribute('data-run')];
      var t = document.createElement('table');
      t.className = 'sortable';
      var h = '<thead><tr>' + data.heads.map(function (x, i) {
        return '<th class="' + (data.text[i] ? 't' : '') + '">' + x + '</th>'; }).join('') +
        '</tr></thead><tbody>';
      run.forEach(function (r) {
        h += '<tr>' + r.map(function (c, i) {
          return '<td class="' + (data.text[i] ? 't' : '') + '">' + c + '</td>'; }).join('') +
          '</tr>';
      });
      t.innerHTML = h + '</tbody>';
      var box = document.createElement('div');
      box.className = 'scroll';
      box.appendChild(t);
      d.appendChild(box);
      wire(t);
  }
})();
"""


def _esc(s) -> str:
    return html.escape(str(s), quote=True)


def table(rows, columns, table_id: str, shade: str | None = None) -> str:
    """A sortable table; ``shade`` colours that column's cells (>= 90 % good, < 60 % bad)."""
    heads = "".join(f'<th class="{"t" if c in TEXT_COLS else ""}">{_esc(h)}</th>'
                    for c, h, _, _ in columns)
    body = []
    for r, cells in zip(rows, formatted(rows, columns)):
        tds = []
        for (c, _, _, _), cell in zip(columns, cells):
            cls = "t" if c in TEXT_COLS else ""
            if c == shade:
                v = r[c]
                cls = "good" if v >= 0.9 else "bad" if v < 0.6 else ""
            tds.append(f'<td class="{cls}">{_esc(cell)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (f'<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{heads}'
            f'</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table></div>")


def _filter(table_id: str) -> str:
    return (f'<p><input class="filter" type="search" data-table="{table_id}" '
            f'placeholder="filter rows (e.g. tpu-v1, resnet50, B)"></p>')


def findings(rows, archs) -> str:
    """One paragraph of findings, every number computed from ``rows``."""
    st = [r for r in rows if r["variant"] != "regular"]
    if not st:
        return "No structured variant was simulated."
    roi = [r["realized_over_ideal"] for r in st]
    by_arch = {}
    for r in st:
        by_arch.setdefault(r["arch"], []).append(r["realized_over_ideal"])
    med = {a: statistics.median(v) for a, v in by_arch.items()}
    best = max(med, key=lambda a: (med[a], a))
    worst = min(med, key=lambda a: (med[a], a))
    top = max(st, key=lambda r: (r["realized_over_ideal"], r["arch"], r["network"]))
    low = min(st, key=lambda r: (r["realized_over_ideal"], r["arch"], r["network"]))
    pool = {a.name: a.pool is not None for a in archs}
    with_pool = [v for a, vs in by_arch.items() if pool.get(a) for v in vs]
    without = [v for a, vs in by_arch.items() if not pool.get(a) for v in vs]
    shares = {k: statistics.mean(r[f"share_{k}"] for r in st)
              for k in ("array", "pool", "vector", "stall")}
    main_loss = max(shares, key=lambda k: (shares[k], k))
    names = {"array": "the MAC array's lower utilization", "pool": "the sum-pooling work",
             "vector": "element-wise work that does not shrink", "stall": "DRAM stalls"}
    over = [r for r in st if r["realized_over_ideal"] > 1]
    parts = [
        f"Over {len(st)} structured runs the accelerators realize between {min(roi):.0%} and "
        f"{max(roi):.0%} of the ideal speedup (median {statistics.median(roi):.0%}).",
        f"By median, {best} keeps the most ({med[best]:.0%}) and {worst} the least "
        f"({med[worst]:.0%}).",
    ]
    if with_pool and without:
        parts.append(f"With a pool unit the median is {statistics.median(with_pool):.0%}; "
                     f"without one (sum-pools on the MAC array) {statistics.median(without):.0%}.")
    parts.append(f"Best: {top['network']}:{top['variant']} on {top['arch']} "
                 f"({top['realized_speedup']:.2f}x of an ideal {top['ideal_speedup']:.2f}x); "
                 f"worst: {low['network']}:{low['variant']} on {low['arch']} "
                 f"({low['realized_speedup']:.2f}x of {low['ideal_speedup']:.2f}x).")
    parts.append(f"On average the largest share of the gap is {names[main_loss]} "
                 f"({shares[main_loss]:.0%} of the structured cycles).")
    if over:
        parts.append(f"{len(over)} run(s) beat the ideal: structuring cut something (stalls, "
                     f"re-fetched weights) by more than it cut the MACs.")
    return " ".join(parts)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def arch_table(archs) -> str:
    """Every parameter (rows) of every arch used (columns); a missing pool unit is 'none'."""
    from accelsim.hardware.arch import arch_to_dict

    flat = [_flat(arch_to_dict(a)) for a in archs]
    for f, a in zip(flat, archs):
        if a.pool is None:
            f.pop("pool", None)
            f["pool"] = "none (sum-pools run on the MAC array)"
    params = list(dict.fromkeys(k for f in flat for k in f if k != "name"))
    head = '<th class="t">parameter</th>' + "".join(f"<th>{_esc(a.name)}</th>" for a in archs)
    body = "\n".join(
        f'<tr><td class="t">{_esc(p)}</td>'
        + "".join(f"<td>{_esc('' if f.get(p) is None else f.get(p))}</td>" for f in flat)
        + "</tr>" for p in params)
    return (f'<div class="scroll"><table class="sortable" id="arch-table"><thead><tr>{head}'
            f"</tr></thead><tbody>\n{body}\n</tbody></table></div>")


def _svg_inline(svg: str, fig_id: str) -> str:
    """Strip the XML prolog and doctype, and make matplotlib's element ids unique per figure
    (every figure numbers its groups from 1; duplicate ids would make references ambiguous)."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)  # RDF: no use inline
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{fig_id}-{m.group(1)}"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{fig_id}-{m.group(1)})", svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{fig_id}-{m.group(1)}"', svg)
    return svg


def figure(stem: str, svg: str, cap: str) -> str:
    return (f'<figure id="fig-{_esc(stem)}"><div class="plot">{_svg_inline(svg, stem)}</div>'
            f"<figcaption><b>{_esc(stem)}.</b> {_esc(cap)}</figcaption></figure>")


def layer_runs(layer_rows, columns) -> tuple[dict, list[tuple[str, str]]]:
    """Per-(arch, network, variant) formatted rows, and (run id, title) in report order."""
    runs: dict[str, list] = {}
    order = []
    for r in layer_rows:
        rid = f"{r['arch']}|{r['network']}|{r['variant']}"
        if rid not in runs:
            runs[rid] = []
            order.append((rid, f"{r['network']}:{r['variant']} on {r['arch']}"))
        runs[rid].append(r)
    out = {rid: [[_esc(c) for c in cells] for cells in formatted(rs, columns)]
           for rid, rs in runs.items()}
    return out, order


def render(rows, layer_rows, archs, svgs: dict, title: str, notes: str = "",
           command: str = "", version: str = "", date: str = "") -> str:
    """``svgs``: figure stem -> SVG text (from plots.save's ``svg_sink``), in display order; the
    first two (headline heatmap, speedup) form the summary."""
    return render_parts(rows, layer_rows, archs, title, notes, command, version, date)(svgs)


def render_parts(rows, layer_rows, archs, title: str, notes: str = "", command: str = "",
                 version: str = "", date: str = ""):
    """``render`` in two steps: everything but the figures now (the tables, the findings, the
    compressed per-layer data), returning the function of ``svgs`` that makes the page, so a
    caller whose figures are still being drawn elsewhere can do this part meanwhile."""
    from accelsim.report.figures import caption

    structured = [r for r in rows if r["variant"] != "regular"]
    lcols = LAYER_COLUMNS + [c for c in POOL_LAYER_COLUMNS
                             if layer_rows and c[0] in layer_rows[0]]
    runs, order = layer_runs(layer_rows, lcols)
    data = json.dumps({"heads": [h for _, h, _, _ in lcols],
                       "text": [c in TEXT_COLS for c, _, _, _ in lcols], "runs": runs},
                      separators=(",", ":"), sort_keys=True)
    # mtime=0: the same rows give the same bytes
    data = base64.b64encode(gzip.compress(data.encode(), 9, mtime=0)).decode("ascii")
    details = "\n".join(
        f'<details data-run="{_esc(rid)}"><summary>{_esc(t)} '
        f'({len(runs[rid])} layers)</summary></details>' for rid, t in order)
    nav = [("summary", "Summary"), ("headline", "Headline table"), ("plots", "Plots"),
           ("all", "All counts"), ("layers", "Per layer"), ("archs", "Architectures")]
    lede = _esc(findings(rows, archs))
    headline = table(structured, HEADLINE_COLUMNS, "headline-table", shade="realized_over_ideal")
    everything = table(rows, table_columns(rows), "all-table", shade="realized_over_ideal")
    archs_html = arch_table(archs)
    return lambda svgs: _page(svgs, title, nav, lede, notes, headline, everything, details,
                              archs_html, version, command, date, data, caption)


def _page(svgs, title, nav, lede, notes, headline, everything, details, archs_html, version,
          command, date, data, caption) -> str:
    stems = list(svgs)
    summary_stems = [s for s in ("realized_over_ideal", "speedup") if s in svgs]
    other = [s for s in stems if s not in summary_stems]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{CSS}</style></head><body>
<nav>{''.join(f'<a href="#{i}">{_esc(t)}</a>' for i, t in nav)}</nav>
<main>
<h1>{_esc(title)}</h1>
<section id="summary">
<p class="lede"><b>Findings.</b> {lede}</p>
{''.join(figure(s, svgs[s], caption(s)) for s in summary_stems)}
<p class="lede">Ideal speedup = regular MACs / structured MACs; realized = regular cycles /
structured cycles. The "lost" shares split the gap: realized/ideal + lost (array + pool + vector
+ stalls) = 100 %, each lost share being (structured cycles of that unit &minus; regular cycles
of that unit / ideal) / structured cycles. {_esc(notes)}</p>
</section>
<section id="headline"><h2>Headline table</h2>
<p>Click a header to sort; realized/ideal is shaded blue at 90 % and above, orange below 60 %.</p>
{_filter("headline-table")}
{headline}
</section>
<section id="plots"><h2>Plots</h2>
{''.join(figure(s, svgs[s], caption(s)) for s in other)}
</section>
<section id="all"><h2>All counts</h2>
{_filter("all-table")}
{everything}
</section>
<section id="layers"><h2>Per layer</h2>
<p>Every layer of every run, with its cycles split by unit (open a run to see its table; click a
header to sort). A structured conv's sum-pool is its own row (engine pool or array-as-pool).</p>
{details}
</section>
<section id="archs"><h2>Architectures</h2>
{archs_html}
</section>
<footer>accelsim {_esc(version)} &middot; <code>{_esc(command)}</code> &middot; {_esc(date)}
</footer>
</main>
<script type="application/octet-stream" id="layer-data">{data}</script>
<script>{SCRIPT}</script>
</body></html>
"""


def report_date() -> str:
    """Today (UTC), or SOURCE_DATE_EPOCH's day when set (reproducible builds' convention), so
    two runs on one day write the same page."""
    import datetime as dt
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch and epoch.isdigit()
            else dt.datetime.now(dt.timezone.utc))
    return when.strftime("%Y-%m-%d")
