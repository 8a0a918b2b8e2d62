"""Energy and area: per-op and per-access energies and per-unit areas from a YAML table.

Default table: accelsim/data/horowitz45.yaml (Horowitz, ISSCC 2014, 45 nm). A user table (a YAML
path in ``Arch.energy``) may override any entry. Op energies for widths between the table's are
interpolated linearly in width; SRAM energies in log2 of capacity.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from .errors import InputError, require

DATA = Path(__file__).resolve().parent / "data"
_KEYS = ("add_pj", "mult_pj", "sram_64bit_pj", "dram_64bit_pj", "add_area_um2", "mult_area_um2",
         "sram_area_um2_per_kb")


@lru_cache(maxsize=32)
def load_table(spec: str) -> dict:
    import yaml

    base = yaml.safe_load((DATA / "horowitz45.yaml").read_text())
    if spec == "horowitz45":
        return base
    path = Path(spec)
    if not path.is_file():
        raise InputError("no such energy table (a YAML path or 'horowitz45')", field="energy",
                         value=spec)
    try:
        user = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {str(exc).splitlines()[0]}", source=spec) from None
    require(isinstance(user, dict), "energy table must be a mapping", source=spec)
    for k, v in user.items():
        require(k in _KEYS, f"unknown key; expected some of {list(_KEYS)}", source=spec, field=k,
                value=v)
        vals = v.values() if isinstance(v, dict) else [v]
        for x in vals:
            require(isinstance(x, (int, float)) and x >= 0, "energies and areas must be >= 0",
                    source=spec, field=k, value=x)
        base[k] = {**base[k], **v} if isinstance(v, dict) and isinstance(base[k], dict) else v
    return base


def _interp(table: dict, x: float, log: bool = False) -> float:
    pts = sorted((float(k), float(v)) for k, v in table.items())
    f = (lambda t: math.log2(t)) if log else (lambda t: t)
    if x <= pts[0][0]:
        return pts[0][1] * (x / pts[0][0] if not log else 1.0)
    if x >= pts[-1][0]:
        return pts[-1][1] * (x / pts[-1][0] if not log else 1.0)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (f(x) - f(x0)) / (f(x1) - f(x0))
    raise AssertionError  # pragma: no cover


def unit_energies(arch) -> dict:
    """pJ per add, per mult, per SRAM word (each SRAM), per DRAM word."""
    t = load_table(arch.energy)
    w = arch.word_bits
    scale = w / 64
    return {
        "add": _interp(t["add_pj"], w),
        "mult": _interp(t["mult_pj"], w),
        # a MAC's accumulation runs at the wider partial-sum width (4x the operand width)
        "acc_add": _interp(t["add_pj"], 4 * w),
        "sram_ifmap": _interp(t["sram_64bit_pj"], arch.ifmap_sram_kb, log=True) * scale,
        "sram_filter": _interp(t["sram_64bit_pj"], arch.filter_sram_kb, log=True) * scale,
        "sram_ofmap": _interp(t["sram_64bit_pj"], arch.ofmap_sram_kb, log=True) * scale,
        "dram": t["dram_64bit_pj"] * scale,
    }


def add_energy_columns(df, arch):
    e = unit_energies(arch)
    df = df.copy()
    df["energy_mac_pj"] = df["mults_array"] * e["mult"] + df["mac_adds"] * e["acc_add"]
    df["energy_pool_pj"] = df["pool_adds"] * e["add"] + (
        df["linebuf_reads"] + df["linebuf_writes"]) * e["sram_ifmap"] / 8
    df["energy_vector_pj"] = (df["adds"] - df["mac_adds"] - df["pool_adds"]) * e["add"] + (
        df["mults"] - df["mults_array"]) * e["mult"]
    df["energy_sram_ifmap_pj"] = (df["ifmap_sram_reads"] + df["pool_sram_reads"]
                                  + df["pool_sram_writes"] + df["vector_sram_reads"]) * e["sram_ifmap"]
    df["energy_sram_filter_pj"] = df["filter_sram_reads"] * e["sram_filter"]
    df["energy_sram_ofmap_pj"] = (df["ofmap_sram_writes"] + df["vector_sram_writes"]) * e["sram_ofmap"]
    df["energy_dram_pj"] = (df["dram_ifmap_reads"] + df["dram_filter_reads"]
                            + df["dram_ofmap_writes"]) * e["dram"]
    parts = [c for c in df.columns if c.startswith("energy_") and c != "energy_pj"]
    df["energy_pj"] = df[parts].sum(axis=1)
    return df


def arch_area_um2(arch) -> dict:
    t = load_table(arch.energy)
    w = arch.word_bits
    array = arch.pes * (_interp(t["mult_area_um2"], w) + _interp(t["add_area_um2"], 4 * w))
    pool = 0.0
    if arch.pool is not None:
        # a separable tree needs a few adders per lane per stage; direct, a window-wide tree
        adders_per_lane = 3 if arch.pool.tree == "separable" else 16
        pool = arch.pool.lanes * adders_per_lane * _interp(t["add_area_um2"], 2 * w)
    sram = (arch.ifmap_sram_kb + arch.filter_sram_kb + arch.ofmap_sram_kb) * t["sram_area_um2_per_kb"]
    total = array + pool + sram
    return {"area_array_um2": array, "area_pool_um2": pool, "area_sram_um2": sram,
            "area_mm2": total / 1e6}
