"""Speedup tables: ideal (MAC ratio) against realized (cycle ratio), and where the rest is lost.

Every number comes from ``simulate``'s DataFrame and ``summarize``; this module only selects,
sums and divides.

Loss decomposition. With T_reg and T_str the regular and structured cycles and S_ideal the MAC
ratio, a hardware that realized the ideal would take T_reg / S_ideal. Each cycle category
(array compute, pool unit, vector unit, memory stalls) is compared with its regular count scaled
by 1/S_ideal; the differences add up exactly to T_str - T_reg / S_ideal:
    lost_array   array under-utilization of the smaller convs (fill/drain, folds, shapes)
    lost_pool    the sum-pooling work (pool unit, or the MAC array standing in for one)
    lost_vector  element-wise work that structuring does not shrink
    lost_stall   DRAM stalls that do not shrink with the MACs
"""

from __future__ import annotations

CATEGORIES = ("array", "pool", "vector", "stall")


def cycle_breakdown(df) -> dict:
    """Cycles by category; they sum to the network's total cycles."""
    eng = df["engine"]
    gemm = eng == "array"
    pool = eng.isin(["pool", "array-as-pool"])
    out = {
        "array": int(df.loc[gemm, "compute_cycles"].sum()),
        "pool": int(df.loc[pool, "total_cycles"].sum()),
        "vector": int(df.loc[eng == "vector", "total_cycles"].sum()),
        "stall": int(df.loc[gemm, "stall_cycles"].sum()),
    }
    assert sum(out.values()) == int(df["total_cycles"].sum())
    return out


def summary_row(network: str, variant: str, params: int, df, arch) -> dict:
    from .result import summarize

    s = summarize(df, arch)
    b = cycle_breakdown(df)
    return {
        "arch": arch.name, "network": network, "variant": variant, "params": params,
        "macs": s["macs"], "mults": s["mults"], "adds": s["adds"], "mac_adds": s["mac_adds"],
        "pool_adds": s["pool_adds"], "sram_bytes": s["sram_bytes"],
        "dram_bytes": s["dram_bytes"], "cycles": s["total_cycles"],
        "latency_ms": s["latency_ms"], "energy_uj": s["energy_uj"],
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
        out.append(r)
    return out


TABLE_COLUMNS = [  # (column, header, format)
    ("arch", "arch", "{}"), ("network", "network", "{}"), ("variant", "variant", "{}"),
    ("params", "params (M)", "{:.2f}"), ("macs", "MACs (G)", "{:.3f}"),
    ("adds", "adds (G)", "{:.3f}"), ("dram_bytes", "DRAM (MB)", "{:.2f}"),
    ("cycles", "cycles (M)", "{:.3f}"), ("latency_ms", "latency (ms)", "{:.3f}"),
    ("energy_uj", "energy (uJ)", "{:.1f}"), ("ideal_speedup", "ideal x", "{:.2f}"),
    ("realized_speedup", "realized x", "{:.2f}"), ("realized_over_ideal", "realized/ideal", "{:.2f}"),
    ("lost_array", "lost: array (Mcyc)", "{:.3f}"), ("lost_pool", "lost: pool (Mcyc)", "{:.3f}"),
    ("lost_vector", "lost: vector (Mcyc)", "{:.3f}"), ("lost_stall", "lost: stalls (Mcyc)", "{:.3f}"),
]
_SCALE = {"params": 1e6, "macs": 1e9, "adds": 1e9, "dram_bytes": 1e6, "cycles": 1e6,
          "lost_array": 1e6, "lost_pool": 1e6, "lost_vector": 1e6, "lost_stall": 1e6}


def formatted(rows: list[dict]) -> list[list[str]]:
    return [[fmt.format(r[c] / _SCALE.get(c, 1) if c in _SCALE else r[c])
             for c, _, fmt in TABLE_COLUMNS] for r in rows]


def to_csv(rows: list[dict]) -> str:
    import csv
    import io

    buf = io.StringIO()
    cols = list(rows[0])
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([f"{r[c]:.6g}" if isinstance(r[c], float) else r[c] for c in cols])
    return buf.getvalue()


def to_markdown(rows: list[dict]) -> str:
    heads = [h for _, h, _ in TABLE_COLUMNS]
    lines = ["| " + " | ".join(heads) + " |",
             "|" + "|".join("---" if i < 3 else "---:" for i in range(len(heads))) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in formatted(rows)]
    return "\n".join(lines) + "\n"


def to_latex(rows: list[dict]) -> str:
    heads = [h.replace("_", r"\_").replace("x", r"$\times$") if h.endswith(" x") else h
             for _, h, _ in TABLE_COLUMNS]
    esc = lambda s: s.replace("_", r"\_").replace("%", r"\%")
    out = [r"\begin{tabular}{lll" + "r" * (len(heads) - 3) + "}", r"\toprule",
           " & ".join(esc(h) for h in heads) + r" \\", r"\midrule"]
    prev = None
    for r, cells in zip(rows, formatted(rows)):
        if prev is not None and (r["arch"], r["network"]) != prev:
            out.append(r"\addlinespace")
        prev = (r["arch"], r["network"])
        out.append(" & ".join(esc(c) for c in cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(out) + "\n"
