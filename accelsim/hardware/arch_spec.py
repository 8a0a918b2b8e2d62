"""The machine: the frozen, validated ``Arch`` and ``PoolUnit`` dataclasses, the names of their
choices (dataflows, pool trees and modes, bandwidth modes, stall models) and the limits of every
field (docs/errors.md). The readers (YAML, presets, SCALE-Sim .cfg) are in ``arch_io``.

Separate from the workload and the mapping (Timeloop's three specs); the engines are functions of
(layer, arch, mapping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

from accelsim.common.errors import (MAX_ARRAY_DIM, MAX_CLOCK_MHZ, MAX_DRAM_BW, MAX_LANES, MAX_OFFSET,
                     MAX_SRAM_KB, MAX_WORD_BITS, MIN_CLOCK_MHZ, InputError, is_int, is_number,
                     require)

DATAFLOWS = ("os", "ws", "is")
POOL_TREES = ("direct", "separable", "running")
POOL_MODES = ("fused", "two_pass")
# the order in which the pool unit makes pooled values (docs/poolunit.md "Production orders")
POOL_ORDERS = ("nhwc", "nchw", "demand", "refold")
# what a fused pair does when its staging buffer deadlocks (full of values needed only after one
# not yet made): spill the pooled map to ifmap SRAM, re-make values per array fold, or refuse
POOL_ON_DEADLOCK = ("two_pass", "refold", "error")
BANDWIDTH_MODES = ("calc", "user")
# how USER-mode stalls are modelled: SCALE-Sim 2.0.2's prefetching read buffers, walked exactly
# (parity with SCALE-Sim USER runs), or double-buffered overlap of the layer's exact DRAM
# traffic with its compute on one shared DRAM channel (fast; docs/memory.md)
STALL_MODELS = ("scalesim", "overlap")


@dataclass(frozen=True)
class PoolUnit:
    """The dedicated sum-pooling adder tree in front of the MAC array (design.md section 3)."""

    lanes: int = 16                      # pooled outputs per cycle
    tree: str = "separable"              # direct | separable | running
    mode: str = "fused"                  # fused | two_pass
    input_words_per_cycle: int = 64      # SRAM read ports feeding the tree
    pipeline_depth: int | None = None    # None: derived from the tree (poolunit.pipeline_depth)
    order: str = "demand"                # production order: nhwc | nchw | demand | refold
    staging_kb: float | None = 64.0      # staging buffer between unit and array; None: unbounded
    on_deadlock: str = "two_pass"        # two_pass | refold | error

    def staging_words(self, word_bits: int) -> int | None:
        """Staging-buffer capacity in words (None: unbounded)."""
        if self.staging_kb is None:
            return None
        return int(self.staging_kb * 1024 * 8 // word_bits)


@dataclass(frozen=True)
class Arch:
    name: str
    rows: int
    cols: int
    dataflow: str
    ifmap_sram_kb: float
    filter_sram_kb: float
    ofmap_sram_kb: float
    word_bits: int = 8
    clock_mhz: float = 1000.0
    bandwidth_mode: str = "calc"          # calc: stall-free, report the needed DRAM bandwidth
    dram_bw_words_per_cycle: float = 10.0  # used in user mode
    stall_model: str = "scalesim"         # user mode only: see STALL_MODELS
    ifmap_offset: int = 0
    filter_offset: int = 10_000_000
    ofmap_offset: int = 20_000_000
    vector_lanes: int = 16                # element-wise ops per cycle (adds, acts, pooling)
    pool: PoolUnit | None = None          # None: sum-pooling runs on the MAC array
    energy: str = "horowitz45"            # energy/area table name or YAML path
    source: str = ""

    def __post_init__(self):
        validate_arch(self)

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def word_bytes(self) -> float:
        return self.word_bits / 8

    def sram_words(self, which: str) -> int:
        kb = getattr(self, f"{which}_sram_kb")
        return int(kb * 1024 * 8 // self.word_bits)

    def with_(self, **changes) -> "Arch":
        """A copy with ``changes``. A changed machine is not the preset it came from, so unless
        ``name`` is given, the name records what changed (``tpu-v1+rows=128``; reports and file
        names then never show a preset's name for other numbers). ``source`` alone keeps it."""
        if "name" not in changes and self.name:
            diff = {k: v for k, v in changes.items()
                    if k != "source" and getattr(self, k, v) != v}
            if diff:
                changes["name"] = _derived_name(self.name, diff)
        return replace(self, **changes)


def _derived_name(base: str, diff: dict) -> str:
    """``base+field=value,...``: a name (and file name) for a preset with changed fields; a
    pool unit shows the fields that differ from PoolUnit()'s defaults."""
    def text(v):
        if v is None:
            return "none"
        if isinstance(v, PoolUnit):
            d = {f.name: getattr(v, f.name) for f in fields(PoolUnit)
                 if getattr(v, f.name) != f.default}
            return "(" + ",".join(f"{k}={text(x)}" for k, x in d.items()) + ")"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).replace("/", ":").replace("\\", ":")
    name = base + "".join(f"+{k}={text(v)}" for k, v in sorted(diff.items()))
    return name if len(name) <= 200 else name[:190] + "+..."


# integer fields: (lowest, highest); number fields: (lowest, highest), both inclusive. The upper
# limits (docs/errors.md) keep every count the engines derive inside int64 and every run finite.
_INT_RANGES = {"rows": (1, MAX_ARRAY_DIM), "cols": (1, MAX_ARRAY_DIM),
               "word_bits": (1, MAX_WORD_BITS), "vector_lanes": (1, MAX_LANES),
               "ifmap_offset": (0, MAX_OFFSET), "filter_offset": (0, MAX_OFFSET),
               "ofmap_offset": (0, MAX_OFFSET)}
_NUM_RANGES = {"ifmap_sram_kb": (0, MAX_SRAM_KB), "filter_sram_kb": (0, MAX_SRAM_KB),
               "ofmap_sram_kb": (0, MAX_SRAM_KB), "clock_mhz": (MIN_CLOCK_MHZ, MAX_CLOCK_MHZ),
               "dram_bw_words_per_cycle": (0, MAX_DRAM_BW)}
_POOL_INT_MAX = {"lanes": MAX_LANES, "input_words_per_cycle": MAX_LANES,
                 "pipeline_depth": MAX_LANES}


def validate_arch(a: Arch) -> None:
    src = a.source or (a.name if isinstance(a.name, str) else "arch")
    from accelsim.common.fsio import safe_name

    # it becomes file names in reports; the engines' memo keys use an empty name (they never
    # write files), so only a non-empty name is checked here (the loaders require one)
    if a.name != "":
        safe_name(a.name, source=src, field="name")
    require(isinstance(a.source, str), "must be a string", source=src, field="source",
            value=a.source)
    require(isinstance(a.energy, str) and a.energy.strip() != "",
            "must be an energy table name or a YAML path", source=src, field="energy",
            value=a.energy)
    from accelsim.hardware.energy import DEFAULT, load_table

    try:  # a table that does not load is an arch error now, not a failed run later
        if a.energy != DEFAULT and Path(a.energy).is_file():
            from accelsim.common.yamlio import load_yaml

            load_yaml(a.energy, "energy table")  # UTF-8, duplicate keys, aliases, size
        load_table(a.energy)
    except InputError as exc:
        raise InputError(f"{exc}", source=src) from None
    for f, (lo, hi) in _INT_RANGES.items():
        v = getattr(a, f)
        require(is_int(v) and lo <= v <= hi, f"must be an integer in {lo}..{hi:,}", source=src,
                field=f, value=v)
    for f, (lo, hi) in _NUM_RANGES.items():
        v = getattr(a, f)
        above = is_number(v) and (v > lo if lo == 0 else v >= lo)
        require(above and v <= hi, f"must be a number in {'(0' if lo == 0 else f'[{lo:g}'}, "
                f"{hi:g}]", source=src, field=f, value=v)
    for f in ("ifmap", "filter", "ofmap"):
        # each SRAM is double-buffered: two halves of at least one word (with one word in all,
        # the memory walk never advances)
        require(a.sram_words(f) >= 2, f"holds {a.sram_words(f)} {a.word_bits}-bit word(s); "
                "at least 2 are needed (a double-buffered SRAM)", source=src,
                field=f"{f}_sram_kb", value=getattr(a, f"{f}_sram_kb"))
    require(a.dataflow in DATAFLOWS, f"unknown dataflow; expected one of {DATAFLOWS}",
            source=src, field="dataflow", value=a.dataflow)
    require(a.bandwidth_mode in BANDWIDTH_MODES,
            f"unknown bandwidth mode; expected one of {BANDWIDTH_MODES}", source=src,
            field="bandwidth_mode", value=a.bandwidth_mode)
    require(a.stall_model in STALL_MODELS,
            f"unknown stall model; expected one of {STALL_MODELS}", source=src,
            field="stall_model", value=a.stall_model)
    # SCALE-Sim's USER-mode buffers move whole DRAM lines (engine/memory.py user_line_words):
    # checked here, so a sweep point with a fractional bandwidth fails before the store exists
    require(not (a.bandwidth_mode == "user" and a.stall_model == "scalesim")
            or float(a.dram_bw_words_per_cycle).is_integer(),
            "bandwidth_mode user with stall_model scalesim moves whole words per cycle (use "
            "stall_model overlap for a fractional bandwidth)", source=src,
            field="dram_bw_words_per_cycle", value=a.dram_bw_words_per_cycle)
    if a.pool is not None:
        p = a.pool
        for f in ("lanes", "input_words_per_cycle"):
            v = getattr(p, f)
            require(isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                    "must be an integer >= 1", source=src, field=f"pool.{f}", value=v)
        require(p.tree in POOL_TREES, f"unknown adder tree kind; expected one of {POOL_TREES}",
                source=src, field="pool.tree", value=p.tree)
        require(p.mode in POOL_MODES, f"unknown pool mode; expected one of {POOL_MODES}",
                source=src, field="pool.mode", value=p.mode)
        require(p.pipeline_depth is None or (isinstance(p.pipeline_depth, int)
                                             and not isinstance(p.pipeline_depth, bool)
                                             and p.pipeline_depth >= 1),
                "must be an integer >= 1", source=src, field="pool.pipeline_depth",
                value=p.pipeline_depth)
        require(p.order in POOL_ORDERS, f"unknown production order; expected one of "
                f"{POOL_ORDERS}", source=src, field="pool.order", value=p.order)
        require(p.on_deadlock in POOL_ON_DEADLOCK, f"unknown deadlock policy; expected one of "
                f"{POOL_ON_DEADLOCK}", source=src, field="pool.on_deadlock", value=p.on_deadlock)
        v = p.staging_kb
        require(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                              and math.isfinite(v) and v > 0),
                "must be a number > 0 (KB), or null for an unbounded buffer", source=src,
                field="pool.staging_kb", value=v)
        if v is not None:
            require(p.staging_words(a.word_bits) >= 1, "holds no word at this word_bits",
                    source=src, field="pool.staging_kb", value=v)
        _check_pool_limits(p, src)


def _check_pool_limits(p: PoolUnit, src: str) -> None:
    """Upper limits of the pool unit's integer fields (docs/errors.md)."""
    for f, hi in _POOL_INT_MAX.items():
        v = getattr(p, f)
        require(v is None or v <= hi, f"must be at most {hi:,}", source=src,
                field=f"pool.{f}", value=v)
    require(p.staging_kb is None or p.staging_kb <= MAX_SRAM_KB,
            f"must be at most {MAX_SRAM_KB:g}", source=src, field="pool.staging_kb",
            value=p.staging_kb)
