"""What the report's figures are, without drawing them (no matplotlib import: the HTML page,
``--formats`` checks and ``accelsim speedup --no-plots`` stay light): formats, palette, captions
and the SVG ids of plotted elements. The drawing is in ``plotkit`` (shared helpers), ``plots``
(the summary figures) and ``layer_plots`` (per-layer and roofline)."""

from __future__ import annotations

import re

DPI = 200
# Okabe & Ito (2008), "Color Universal Design": safe for deuteranopia, protanopia, tritanopia
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000")
PALETTE = {"array": "#0072B2", "pool": "#E69F00", "vector": "#009E73", "stall": "#D55E00",
           "ideal": "#BBBBBB", "realized": "#0072B2", "measured": "#CC79A7"}
COLORS = PALETTE  # older name, used by other commands' plots
CAT_LABEL = {"array": "MAC array", "pool": "pool unit", "vector": "vector unit",
             "stall": "memory stalls"}
ENERGY_PARTS = ("mac", "pool", "vector", "sram_ifmap", "sram_filter", "sram_ofmap", "dram")
ENERGY_MARKERS = ("o", "s", "D", "^", "v", "<", "X")
FORMATS = ("png", "svg")

CAPTIONS = {
    "realized_over_ideal": (
        "Share of the ideal speedup that each accelerator delivers (realized / ideal, colour and "
        "top number; the realized speedup below it). 100 % means the cycles fall as much as the "
        "MACs; above 100 %, structuring saved more than its MACs (e.g. DRAM stalls that vanish)."),
    "speedup": (
        "Speedup of each structured variant over its regular network. The wide grey bar is the "
        "ideal speedup (regular MACs / structured MACs), the same on every accelerator, so drawn "
        "once; the coloured bars inside it are the realized speedups (regular cycles / "
        "structured cycles), one per accelerator. A coloured bar reaching the top of the grey "
        "one realizes the whole saving; the black line is 1x (no gain)."),
    "cycle_breakdown": (
        "Cycles of each network normalized to its regular variant = 1 (linear axis), split by "
        "the unit that spends them. A structured bar's height is 1 / realized speedup; the "
        "black tick on it is 1 / ideal speedup, where the bar would end if the cycles fell as "
        "much as the MACs. The segments above the tick show where the gap is spent."),
    "energy_breakdown": (
        "Energy per inference of each component on a log axis, so small components stay "
        "visible: one marker per component, the black bar is the total. Read a component's "
        "share as its distance below the total (one decade = 10 %)."),
    "layers": (
        "Cycles per layer (horizontal bars, network order top to bottom), regular beside each "
        "structured variant on a shared axis, split by unit. A structured conv's sum-pool is "
        "added to its conv's bar."),
    "roofline": (
        "Each conv/linear layer at its arithmetic intensity (MACs per DRAM byte) and achieved "
        "MACs per cycle, under the roofs that bind on this accelerator (the DRAM roof only "
        "where DRAM bandwidth is enforced). The layers farthest below their roof are labelled."),
}


def caption(stem: str) -> str:
    for key in sorted(CAPTIONS, key=len, reverse=True):
        if stem == key or stem.startswith(key + "_"):
            return CAPTIONS[key]
    return ""


def parse_formats(text: str) -> tuple[str, ...]:
    from accelsim.common.errors import require

    fmts = tuple(dict.fromkeys(f.strip().lower() for f in str(text).split(",") if f.strip()))
    require(fmts and all(f in FORMATS for f in fmts), "expected a comma list of png, svg",
            field="--formats", value=text)
    return fmts


def gid(*parts) -> str:
    """An XML-id-safe name for a plotted element."""
    return "__".join(re.sub(r"[^A-Za-z0-9_.-]", "_", str(p)) for p in parts)
