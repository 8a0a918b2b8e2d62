"""Energy and area: per-op and per-access energies and per-unit areas from a YAML table.

Default table: accelsim/hardware/data/horowitz45.yaml (Horowitz, ISSCC 2014, 45 nm). A user table (a YAML
path in ``Arch.energy``) overrides any entry. Op energies and areas at widths between the table's
follow the power law through the two nearest points (log-log interpolation: an add grows about
linearly with width, a multiply about quadratically); SRAM energies are linear in log2 capacity,
extrapolated above the largest entry and clamped at the smallest. docs/poolunit.md lists the
assumptions (accumulator width, pool adder width, line buffers). The unit costs live here; a
row's energy columns (counts times these) are an evaluation step, evaluate/columns.py.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from accelsim.common.errors import require

DATA = Path(__file__).resolve().parent / "data"
DEFAULT = "horowitz45"
_TABLES = ("add_pj", "mult_pj", "fp_add_pj", "fp_mult_pj", "sram_64bit_pj", "add_area_um2",
           "mult_area_um2", "fp_add_area_um2", "fp_mult_area_um2")
_SCALARS = ("dram_64bit_pj", "sram_area_um2_per_kb", "linebuf_kb", "pool_direct_adders_per_lane",
            "pool_separable_adders_per_lane", "pool_running_adders_per_lane")
_KEYS = ("arithmetic",) + _TABLES + _SCALARS


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _validate(table: dict, src: str) -> dict:
    require(isinstance(table, dict), "energy table must be a mapping", source=src)
    for k, v in table.items():
        require(k in _KEYS, f"unknown key; expected some of {list(_KEYS)}", source=src, field=k,
                value=v)
        if k == "arithmetic":
            require(v in ("int", "fp"), "expected 'int' or 'fp'", source=src, field=k, value=v)
        elif k in _TABLES:
            require(isinstance(v, dict) and v, "expected a mapping {width or KB: value}",
                    source=src, field=k, value=v)
            for x, y in v.items():
                require(_num(x) and x > 0, "table keys (bits or KB) must be numbers > 0",
                        source=src, field=f"{k}.{x}", value=x)
                require(_num(y) and y >= 0, "energies and areas must be numbers >= 0",
                        source=src, field=f"{k}.{x}", value=y)
        else:
            require(_num(v) and v >= 0, "energies and areas must be numbers >= 0", source=src,
                    field=k, value=v)
    return table


@lru_cache(maxsize=32)
def load_table(spec: str = DEFAULT) -> dict:
    """The default table, with a user YAML's entries merged over it."""
    import yaml

    base = yaml.safe_load((DATA / f"{DEFAULT}.yaml").read_text())
    if spec == DEFAULT:
        return base
    path = Path(spec)
    require(path.is_file(), f"no such energy table (a YAML path or '{DEFAULT}')", field="energy",
            value=spec)
    from accelsim.common.yamlio import load_yaml

    # the one strict reader of user YAML (duplicate keys, aliases, size, encoding: docs/errors.md)
    user = load_yaml(path, "energy table") or {}
    for k, v in _validate(user, spec).items():
        base[k] = {**base[k], **v} if k in _TABLES else v
    return base


def interp_width(table: dict, bits: float) -> float:
    """Power-law (log-log) interpolation through the two nearest widths; extrapolated at the
    ends along the end segment; a one-point table scales linearly."""
    pts = sorted((float(k), float(v)) for k, v in table.items())
    if len(pts) == 1:
        return pts[0][1] * bits / pts[0][0]
    i = 0
    while i < len(pts) - 2 and bits > pts[i + 1][0]:
        i += 1
    (x0, y0), (x1, y1) = pts[i], pts[i + 1]
    if y0 <= 0 or y1 <= 0:  # a zeroed entry: no power law, interpolate linearly
        return max(0.0, y0 + (y1 - y0) * (bits - x0) / (x1 - x0))
    k = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (bits / x0) ** k


def interp_capacity(table: dict, kb: float) -> float:
    """Linear in log2(capacity); clamped below the smallest entry, extrapolated above."""
    pts = sorted((float(k), float(v)) for k, v in table.items())
    if kb <= pts[0][0] or len(pts) == 1:
        return pts[0][1] if kb <= pts[0][0] else pts[-1][1]
    i = 0
    while i < len(pts) - 2 and kb > pts[i + 1][0]:
        i += 1
    (x0, y0), (x1, y1) = pts[i], pts[i + 1]
    return max(0.0, y0 + (y1 - y0) * (math.log2(kb) - math.log2(x0))
               / (math.log2(x1) - math.log2(x0)))


def _op(t: dict, op: str, bits: float) -> float:
    return interp_width(t[f"fp_{op}" if t["arithmetic"] == "fp" else op], bits)


def unit_energies(arch) -> dict:
    """pJ per add, per mult, per SRAM word (each SRAM, line buffers), per DRAM word."""
    t = load_table(arch.energy)
    w = arch.word_bits
    scale = w / 64
    return {
        "add": _op(t, "add_pj", w),
        "mult": _op(t, "mult_pj", w),
        # a MAC accumulates its 2w-bit products in an accumulator of at least 32 bits
        "acc_add": _op(t, "add_pj", max(32, 2 * w)),
        # pooled sums grow by log2(window) bits; 2w bits covers windows up to 2^w inputs
        "pool_add": _op(t, "add_pj", 2 * w),
        "sram_ifmap": interp_capacity(t["sram_64bit_pj"], arch.ifmap_sram_kb) * scale,
        "sram_filter": interp_capacity(t["sram_64bit_pj"], arch.filter_sram_kb) * scale,
        "sram_ofmap": interp_capacity(t["sram_64bit_pj"], arch.ofmap_sram_kb) * scale,
        "linebuf": interp_capacity(t["sram_64bit_pj"], t["linebuf_kb"]) * scale,
        "dram": t["dram_64bit_pj"] * scale,
    }


def staging_pj_per_word(cols, arch):
    """pJ per staging-buffer word, charged as an SRAM of the buffer's real size: ``staging_kb``,
    or, for an unbounded buffer, the size each pair actually filled (its staging_peak_words
    column in ``cols``, a table or a DataFrame: one value per row)."""
    import numpy as np

    if arch.pool is None:
        return 0.0
    t = load_table(arch.energy)
    scale = arch.word_bits / 64
    if arch.pool.staging_kb is not None:
        return interp_capacity(t["sram_64bit_pj"], arch.pool.staging_kb) * scale
    kb = np.asarray(cols["staging_peak_words"], dtype=np.float64) * arch.word_bits / 8192
    per = {k: interp_capacity(t["sram_64bit_pj"], k) * scale for k in set(kb.tolist()) if k > 0}
    return np.array([per.get(k, 0.0) for k in kb.tolist()])


ENERGY_PARTS = ("energy_mac_pj", "energy_pool_pj", "energy_vector_pj", "energy_sram_ifmap_pj",
                "energy_sram_filter_pj", "energy_sram_ofmap_pj", "energy_dram_pj")


def arch_area_um2(arch) -> dict:
    """Area by unit: PEs (multiplier + accumulator adder), pool-unit adders, line buffers and
    staging buffer, SRAMs (the vector unit and wiring are not modelled). An unbounded staging
    buffer (staging_kb: null) is an idealization and is given no area."""
    t = load_table(arch.energy)
    w = arch.word_bits
    pe = _op(t, "mult_area_um2", w) + _op(t, "add_area_um2", max(32, 2 * w))
    array = arch.pes * pe
    pool = 0.0
    if arch.pool is not None:
        per_lane = t[f"pool_{arch.pool.tree}_adders_per_lane"]
        pool = arch.pool.lanes * per_lane * _op(t, "add_area_um2", 2 * w)
        if arch.pool.tree in ("separable", "running"):
            pool += t["linebuf_kb"] * t["sram_area_um2_per_kb"]
        if arch.pool.mode == "fused" and arch.pool.staging_kb is not None:
            pool += arch.pool.staging_kb * t["sram_area_um2_per_kb"]
    sram = (arch.ifmap_sram_kb + arch.filter_sram_kb + arch.ofmap_sram_kb) * t["sram_area_um2_per_kb"]
    total = array + pool + sram
    return {"area_array_um2": array, "area_pool_um2": pool, "area_sram_um2": sram,
            "area_mm2": total / 1e6}


def __getattr__(name):
    # the energy columns are an evaluation step (evaluate/columns.py); the old name forwards for
    # one release, looked up by name at call time, since hardware/ imports nothing after it
    if name == "add_energy_columns":
        import importlib
        import warnings

        warnings.warn("accelsim.hardware.energy.add_energy_columns has moved to "
                      "accelsim.evaluate.columns; the old name will be removed in the next "
                      "release", DeprecationWarning, stacklevel=2)
        return importlib.import_module("accelsim.evaluate.columns").add_energy_columns
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
