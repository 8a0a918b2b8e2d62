"""matplotlib for the report's figures (Agg, deterministic bytes: a fixed SVG hash salt, no
date/software metadata) and the helpers every figure shares: ``save`` (each figure drawn once
per format written), labelled bars, the title-and-legend band."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from accelsim.report.figures import DPI, FORMATS, gid  # noqa: E402

plt.rcParams["svg.hashsalt"] = "accelsim"
plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, faster, searchable
plt.rcParams["font.size"] = 9


def save(fig, folder: Path, stem: str, formats=FORMATS, svg_sink: dict | None = None) -> list[str]:
    """Write the figure in ``formats``; with ``svg_sink`` also keep its SVG text there (for
    inlining in the HTML report) without writing a file unless svg is among ``formats``."""
    out = []
    _drop_placeholder_layout(fig)
    if "png" in formats:
        fig.savefig(folder / f"{stem}.png", dpi=DPI, metadata={"Software": None})
        out.append(f"{stem}.png")
    if "svg" in formats or svg_sink is not None:
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        text = buf.getvalue()
        if "svg" in formats:
            (folder / f"{stem}.svg").write_text(text)
            out.append(f"{stem}.svg")
        if svg_sink is not None:
            svg_sink[stem] = text
    plt.close(fig)
    return out


def _drop_placeholder_layout(fig) -> None:
    """``tight_layout`` leaves a placeholder layout engine on the figure, and savefig then draws
    the whole figure once more (with rendering disabled) before each format to let that engine
    run, though it does nothing: a third of the save time. The figure keeps the positions
    tight_layout set; without the engine the saved bytes are the same (tests compare them)."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if (isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine)
            and not plt.rcParams["figure.autolayout"]
            and not plt.rcParams["figure.constrained_layout.use"]):
        fig.set_layout_engine(None)   # with both rc flags off: no engine at all


def _bars(ax, xs, heights, width, series, labels, color, bottom=None, label=None, **kw):
    bars = ax.bar(xs, heights, width, bottom=bottom, color=color, label=label, **kw)
    for patch, lab in zip(bars.patches, labels):
        patch.set_gid(gid(series, lab))
    return bars


def _structured(rows):
    return [r for r in rows if r["variant"] != "regular"]


def _order(rows, key):
    return list(dict.fromkeys(key(r) for r in rows))


def _top_legend(fig, axes, ncol: int, title: str, handles=None, labels=None) -> None:
    """Title and legend in a band above the panels (never over the data); the legend has
    every series of ``axes`` (a component may be missing from one arch's panel)."""
    if handles is None:
        handles, labels = [], []
        for a in axes:
            for h, lab in zip(*a.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
    h = fig.get_figheight()
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.62 / h))  # before the band: it must not count it
    fig.suptitle(title, y=1 - 0.06 / h, va="top", fontsize=10)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.27 / h),
               ncol=ncol, frameon=False)
