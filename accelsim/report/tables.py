"""Speedup tables: ideal (MAC ratio) against realized (cycle ratio), and where the rest is lost.

Every count comes from ``simulate``'s DataFrame and ``result.summarize``; this module only
selects, sums and divides (one formula, one place).

Cycle categories. Each layer row's ``total_cycles`` splits into four parts that sum to it:
    array   MAC-array compute cycles of conv/linear rows (fill, drain, folds included)
    pool    the sum-pooling work: a pool-unit row's cycles (in fused mode only what the tree
            adds beyond its conv), or the whole row when the MAC array stands in for the unit
    vector  element-wise rows (add, act, pooling, gap, SE mul) on the vector unit
    stall   DRAM stall cycles of conv/linear rows

Loss decomposition. With T_reg, T_str the regular and structured cycles and S_ideal the MAC
ratio, a machine that realized the ideal would take T_reg / S_ideal. Per category k,
    lost_k = T_str,k - T_reg,k / S_ideal
and the four add up exactly to T_str - T_reg / S_ideal (because the T_k add up to T). Dividing
by T_str gives shares that close the books with realized/ideal:
    realized/ideal + share_array + share_pool + share_vector + share_stall = 1
(realized/ideal = (T_reg / S_ideal) / T_str). A share is negative where structuring saved more
than the ideal in that category (e.g. stalls that vanish with the smaller weights).
    lost_array   the smaller convs use the array less well (fill/drain and folds do not shrink)
    lost_pool    the sum-pooling work the regular network does not have
    lost_vector  element-wise work that structuring does not shrink
    lost_stall   DRAM stalls that do not shrink with the MACs
"""

from __future__ import annotations

CATEGORIES = ("array", "pool", "vector", "stall")


def _cycle_parts(cols) -> dict:
    """Per-row cycles by category as int64 arrays (cycles_<k>, summing to total_cycles) of
    ``simulate``'s DataFrame or of a ``layer_table`` (no DataFrame needed)."""
    import numpy as np

    eng = np.asarray(cols["engine"], dtype=object)
    gemm = eng == "array"
    pool = (eng == "pool") | (eng == "array-as-pool")
    total = np.asarray(cols["total_cycles"])
    out = {"cycles_array": np.where(gemm, np.asarray(cols["compute_cycles"]), 0),
           "cycles_pool": np.where(pool, total, 0),
           "cycles_vector": np.where(eng == "vector", total, 0),
           "cycles_stall": np.where(gemm, np.asarray(cols["stall_cycles"]), 0)}
    out = {k: v.astype("int64") for k, v in out.items()}
    assert (sum(out.values()) == total).all(), "cycle categories must sum to total"
    return out


def layer_cycle_parts(df):
    """Per-row cycles by category (DataFrame with cycles_<k> columns summing to total_cycles)."""
    import pandas as pd

    return pd.DataFrame(_cycle_parts(df), index=getattr(df, "index", None))


def cycle_breakdown(df) -> dict:
    """Network cycles by category; they sum to the network's total cycles (``df``: simulate's
    DataFrame or a layer_table)."""
    parts = _cycle_parts(df)
    return {k: int(parts[f"cycles_{k}"].sum()) for k in CATEGORIES}


def summary_row(network: str, variant: str, params: int, df, arch) -> dict:
    from accelsim.evaluate.columns import summarize

    s = summarize(df, arch)
    b = cycle_breakdown(df)
    return {
        "arch": arch.name, "network": network, "variant": variant, "params": params,
        "macs": s["macs"], "mults": s["mults"], "adds": s["adds"], "mac_adds": s["mac_adds"],
        "pool_adds": s["pool_adds"], "sram_bytes": s["sram_bytes"],
        "dram_bytes": s["dram_bytes"], "cycles": s["total_cycles"],
        "latency_ms": s["latency_ms"], "energy_uj": s["energy_uj"],
        **{k: v for k, v in s.items() if k.startswith("energy_") and k != "energy_uj"},
        **{f"cycles_{k}": v for k, v in b.items()},
    }


def add_speedups(rows: list[dict]) -> list[dict]:
    """Ideal/realized speedups and the loss decomposition against each row's regular twin."""
    base = {(r["arch"], r["network"]): r for r in rows if r["variant"] == "regular"}
    out = []
    for r in rows:
        reg = base[(r["arch"], r["network"])]
        ideal = reg["macs"] / r["macs"]
        realized = reg["cycles"] / r["cycles"]
        r = dict(r, ideal_speedup=ideal, realized_speedup=realized,
                 realized_over_ideal=realized / ideal,
                 energy_saving=reg["energy_uj"] / r["energy_uj"])
        for k in CATEGORIES:
            r[f"lost_{k}"] = r[f"cycles_{k}"] - reg[f"cycles_{k}"] / ideal
        for k in CATEGORIES:
            r[f"share_{k}"] = r[f"lost_{k}"] / r["cycles"]
        out.append(r)
    return out


def add_measured(rows: list[dict], measured: list[dict]) -> list[dict]:
    """The measured torch timings (accelsim.check.measure) beside each arch's row."""
    m = {(x["network"], x["variant"]): x for x in measured}
    return [dict(r, measured_ms=m[(r["network"], r["variant"])]["measured_ms"],
                 measured_speedup=m[(r["network"], r["variant"])]["measured_speedup"])
            for r in rows]


# (column, header, format, scale): the full per-network table
TABLE_COLUMNS = [
    ("arch", "arch", "{}", 1), ("network", "network", "{}", 1), ("variant", "variant", "{}", 1),
    ("params", "params (M)", "{:.3f}", 1e6), ("macs", "MACs (G)", "{:.3f}", 1e9),
    ("mults", "mults (G)", "{:.3f}", 1e9), ("mac_adds", "array adds (G)", "{:.3f}", 1e9),
    ("pool_adds", "pool adds (G)", "{:.4f}", 1e9), ("sram_bytes", "SRAM (MB)", "{:.2f}", 1e6),
    ("dram_bytes", "DRAM (MB)", "{:.2f}", 1e6), ("cycles", "cycles (M)", "{:.3f}", 1e6),
    ("latency_ms", "latency (ms)", "{:.3f}", 1), ("energy_uj", "energy (uJ)", "{:.1f}", 1),
    ("ideal_speedup", "ideal x", "{:.2f}", 1), ("realized_speedup", "realized x", "{:.2f}", 1),
    ("realized_over_ideal", "realized/ideal", "{:.2f}", 1),
    ("lost_array", "lost: array (Mcyc)", "{:.3f}", 1e6),
    ("lost_pool", "lost: pool (Mcyc)", "{:.3f}", 1e6),
    ("lost_vector", "lost: vector (Mcyc)", "{:.3f}", 1e6),
    ("lost_stall", "lost: stalls (Mcyc)", "{:.3f}", 1e6),
]
MEASURED_COLUMNS = [("measured_ms", "torch CPU (ms)", "{:.1f}", 1),
                    ("measured_speedup", "measured x", "{:.2f}", 1)]
# the compact table for a README: speedups and the shares of the gap (they sum to 1 with r/i)
HEADLINE_COLUMNS = [
    ("arch", "arch", "{}", 1), ("network", "network", "{}", 1), ("variant", "variant", "{}", 1),
    ("ideal_speedup", "ideal x", "{:.2f}", 1), ("realized_speedup", "realized x", "{:.2f}", 1),
    ("realized_over_ideal", "realized/ideal", "{:.0%}", 1),
    ("share_array", "lost: array", "{:.0%}", 1), ("share_pool", "lost: pool", "{:.0%}", 1),
    ("share_vector", "lost: vector", "{:.0%}", 1), ("share_stall", "lost: stalls", "{:.0%}", 1),
    ("energy_saving", "energy x", "{:.2f}", 1),
]
# the per-layer detail table
LAYER_COLUMNS = [
    ("variant", "variant", "{}", 1), ("layer", "layer", "{}", 1), ("op", "op", "{}", 1),
    ("engine", "engine", "{}", 1), ("macs", "MACs (M)", "{:.3f}", 1e6),
    ("pool_adds", "pool adds (M)", "{:.3f}", 1e6), ("cycles_array", "array cyc", "{}", 1),
    ("cycles_pool", "pool cyc", "{}", 1), ("cycles_vector", "vector cyc", "{}", 1),
    ("cycles_stall", "stall cyc", "{}", 1), ("total_cycles", "total cyc", "{}", 1),
    ("compute_util", "util %", "{:.1f}", 1), ("dram_bytes", "DRAM (kB)", "{:.1f}", 1e3),
    ("energy_pj", "energy (nJ)", "{:.1f}", 1e3), ("bound", "bound", "{}", 1),
]
LAYER_CSV_COLUMNS = ["arch", "network", "variant", "layer", "op", "engine", "M", "N", "K",
                     "folds", "macs", "mults", "adds", "mac_adds", "pool_adds",
                     "cycles_array", "cycles_pool", "cycles_vector", "cycles_stall",
                     "compute_cycles", "pool_cycles", "vector_cycles", "stall_cycles",
                     "total_cycles", "compute_util", "sram_bytes", "dram_bytes", "latency_us",
                     "energy_pj", "bound", "pool_schedule", "array_wait_cycles",
                     "staging_peak_words", "fused_cycles"]


def table_columns(rows: list[dict]) -> list[tuple]:
    return TABLE_COLUMNS + (MEASURED_COLUMNS if rows and "measured_speedup" in rows[0] else [])


def _cell(value, fmt: str, scale: float) -> str:
    if isinstance(value, str):
        return value
    return fmt.format(value / scale if scale != 1 else value)


def formatted(rows: list[dict], columns=None) -> list[list[str]]:
    columns = columns or table_columns(rows)
    return [[_cell(r[c], fmt, sc) for c, _, fmt, sc in columns] for r in rows]


def to_csv(rows: list[dict], columns: list[str] | None = None) -> str:
    """Every column, unscaled; floats with 6 significant digits (stable bytes)."""
    import csv
    import io

    buf = io.StringIO()
    cols = columns or list(rows[0])
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([f"{r[c]:.6g}" if isinstance(r[c], float) else r[c] for c in cols])
    return buf.getvalue()


def to_markdown(rows: list[dict], columns=None) -> str:
    columns = columns or table_columns(rows)
    heads = [h for _, h, _, _ in columns]
    text = {c for c, _, fmt, _ in columns if fmt == "{}" and c in
            ("arch", "network", "variant", "layer", "op", "engine", "bound")}
    lines = ["| " + " | ".join(heads) + " |",
             "|" + "|".join("---" if c in text else "---:" for c, _, _, _ in columns) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in formatted(rows, columns)]
    return "\n".join(lines) + "\n"


def _tex(s: str) -> str:
    s = s.replace("\\", r"\textbackslash{}")
    for a, b in (("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        s = s.replace(a, b)
    return s.replace(" x", r" $\times$") if s.endswith(" x") else s


def to_latex(rows: list[dict], columns=None, group=("arch", "network")) -> str:
    """A booktabs tabular (needs \\usepackage{booktabs}); a thin space between groups."""
    columns = columns or table_columns(rows)
    text = {c for c, _, fmt, _ in columns if fmt == "{}" and c in
            ("arch", "network", "variant", "layer", "op", "engine", "bound")}
    spec = "".join("l" if c in text else "r" for c, _, _, _ in columns)
    out = [r"\begin{tabular}{" + spec + "}", r"\toprule",
           " & ".join(_tex(h) for _, h, _, _ in columns) + r" \\", r"\midrule"]
    prev = None
    for r, cells in zip(rows, formatted(rows, columns)):
        key = tuple(r.get(g) for g in group)
        if prev is not None and key != prev:
            out.append(r"\addlinespace")
        prev = key
        out.append(" & ".join(_tex(c) for c in cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(out) + "\n"


def layer_rows(df, arch_name: str, network: str, variant: str) -> list[dict]:
    """Per-layer rows of one simulation with the cycle categories (for the detail tables);
    ``df``: simulate's DataFrame or a layer_table. Values are Python scalars, as a DataFrame's
    records."""
    import numpy as np

    parts = _cycle_parts(df)
    n = len(np.asarray(df["layer"]))
    named = {"arch": arch_name, "network": network, "variant": variant}
    have = set(df.keys()) | set(named) | set(parts)
    # the pool unit's schedule columns come from simulate when it models them
    cols = [c for c in LAYER_CSV_COLUMNS if c in have]
    lists = [[named[c]] * n if c in named else
             (parts[c] if c in parts else np.asarray(df[c])).tolist() for c in cols]
    return [dict(zip(cols, vals)) for vals in zip(*lists)]
