"""Architecture spec: a frozen, validated ``Arch`` loaded from YAML, a preset, or a SCALE-Sim .cfg.

Separate from the workload and the mapping (Timeloop's three specs); the engines are functions of
(layer, arch, mapping).
"""

from __future__ import annotations

import configparser
import math
from dataclasses import asdict, dataclass, fields, replace
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
PRESET_DIR = Path(__file__).resolve().parent / "presets"


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


_ARCH_FIELDS = {f.name for f in fields(Arch)} - {"source"}
_POOL_FIELDS = {f.name for f in fields(PoolUnit)}


def arch_from_dict(d: dict, source: str) -> Arch:
    require(isinstance(d, dict), "architecture must be a mapping", source=source)
    unknown = sorted(set(d) - _ARCH_FIELDS)
    require(not unknown, f"unknown key; expected some of {sorted(_ARCH_FIELDS)}", source=source,
            field=unknown[0] if unknown else None, value=d.get(unknown[0]) if unknown else None)
    for req in ("rows", "cols", "dataflow", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb"):
        require(req in d, "missing key", source=source, field=req, value=None)
    d = dict(d)
    d.setdefault("name", Path(source).stem)
    from accelsim.common.fsio import safe_name

    safe_name(d["name"], source=source, field="name")  # a loaded arch needs a usable name
    pool = d.get("pool")
    if pool is not None:
        require(isinstance(pool, dict), "pool must be a mapping (or null)", source=source,
                field="pool", value=pool)
        bad = sorted(set(pool) - _POOL_FIELDS)
        require(not bad, f"unknown key; expected some of {sorted(_POOL_FIELDS)}", source=source,
                field=f"pool.{bad[0]}" if bad else None, value=pool.get(bad[0]) if bad else None)
        d["pool"] = PoolUnit(**pool)
    try:
        return Arch(source=source, **d)
    except TypeError as exc:
        raise InputError(f"bad architecture: {exc}", source=source) from None


def arch_to_dict(a: Arch) -> dict:
    d = asdict(a)
    d.pop("source")
    return d


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_yaml_arch(path: Path) -> Arch:
    from accelsim.common.yamlio import load_yaml

    d = load_yaml(path, "arch file")
    src = str(path)
    if not isinstance(d, dict):
        return arch_from_dict(d, src)   # its error
    raw = d
    d = _yaml_defaults(d, src)
    arch = arch_from_dict(d, src)       # every value checked before their combination
    _check_combination(arch, raw, src)
    return arch


# Rules of an arch YAML beyond single values (docs/arch.md): a key the chosen mode would
# ignore, or two keys for one quantity, is an error, not a silent choice.
def _yaml_defaults(d: dict, src: str) -> dict:
    """``d`` with ``dram_gbps`` turned into words/cycle and the user-mode stall model defaulted
    to ``overlap``."""
    d = dict(d)
    if "dram_gbps" in d:
        require("dram_bw_words_per_cycle" not in d, "give the DRAM bandwidth once: "
                "dram_gbps or dram_bw_words_per_cycle", source=src, field="dram_gbps",
                value=d["dram_gbps"])
        gbps = d.pop("dram_gbps")
        require(is_number(gbps) and 0 < gbps <= MAX_DRAM_BW, f"must be a number in (0, "
                f"{MAX_DRAM_BW:g}] (GB/s, 1e9 bytes per second)", source=src,
                field="dram_gbps", value=gbps)
        clock, bits = d.get("clock_mhz", 1000.0), d.get("word_bits", 8)
        if is_number(clock) and clock > 0 and is_int(bits) and bits > 0:
            # GB/s over the clock, in words: 34 GB/s at 700 MHz, 8-bit words = 48.57/cycle
            d["dram_bw_words_per_cycle"] = gbps * 1e9 / (clock * 1e6) / (bits / 8)
    if d.get("bandwidth_mode") == "user":
        d.setdefault("stall_model", "overlap")
    return d


def _check_combination(a: Arch, given: dict, src: str) -> None:
    bw_key = "dram_gbps" if "dram_gbps" in given else "dram_bw_words_per_cycle"
    if a.bandwidth_mode == "calc":
        for k in ("stall_model", bw_key):
            require(k not in given, "ignored in calc bandwidth mode (stall-free, the DRAM "
                    "bandwidth is reported, not enforced): remove it or set bandwidth_mode: "
                    "user", source=src, field=k, value=given.get(k))
        return
    require(bw_key in given, "bandwidth_mode user needs the DRAM bandwidth: "
            "dram_bw_words_per_cycle or dram_gbps", source=src, field="dram_bw_words_per_cycle",
            value=None)
    if a.stall_model == "scalesim" and bw_key == "dram_gbps":
        require(float(a.dram_bw_words_per_cycle).is_integer(),
                f"stall_model scalesim moves whole words per cycle; this is "
                f"{a.dram_bw_words_per_cycle:g} words/cycle (use stall_model: overlap, or "
                "dram_bw_words_per_cycle)", source=src, field="dram_gbps",
                value=given["dram_gbps"])


_CFG_KEYS = {  # SCALE-Sim v2 key -> (Arch field, type)
    "arrayheight": ("rows", int), "arraywidth": ("cols", int),
    "ifmapsramszkb": ("ifmap_sram_kb", float), "filtersramszkb": ("filter_sram_kb", float),
    "ofmapsramszkb": ("ofmap_sram_kb", float), "ifmapoffset": ("ifmap_offset", int),
    "filteroffset": ("filter_offset", int), "ofmapoffset": ("ofmap_offset", int),
    "dataflow": ("dataflow", str), "bandwidth": ("dram_bw_words_per_cycle", float),
}


# SCALE-Sim's spelling of each key, for error messages (configparser lower-cases keys on read,
# so the file may use any case, as SCALE-Sim itself accepts)
_CFG_NAMES = {k: n for n in ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB",
                             "OfmapSramSzkB", "IfmapOffset", "FilterOffset", "OfmapOffset",
                             "Dataflow", "Bandwidth") for k in [n.lower()]}
_CFG_POSITIVE = {"rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
                 "dram_bw_words_per_cycle"}


def load_scalesim_cfg(path: Path) -> Arch:
    """A SCALE-Sim v2 .cfg as it is: 1-byte words, CALC or USER interface bandwidth."""
    from accelsim.common.fsio import read_text_input

    src = str(path)
    # no interpolation: a '%' in a value is a plain character, not a template
    cp = configparser.ConfigParser(interpolation=None)
    text = read_text_input(path, "SCALE-Sim .cfg")
    try:
        cp.read_string(text, source=src)
    except configparser.Error as exc:
        raise InputError(f"malformed cfg: {str(exc).splitlines()[0]}", source=src) from None
    require(cp.has_section("architecture_presets"), "missing section", source=src,
            field="[architecture_presets]", value=None)
    sec = cp["architecture_presets"]
    d = {}
    for key, (fname, typ) in _CFG_KEYS.items():
        raw = sec.get(key)
        require(raw is not None, f"missing key ('{key}', any case, as SCALE-Sim reads it)",
                source=src,
                field=f"[architecture_presets] {_CFG_NAMES[key]}", value=None)
        # SCALE-Sim allows a comma list for Bandwidth and uses the first
        raw = raw.split(",")[0].strip().strip('"')
        if typ is str:
            d[fname] = raw.lower()
            require(d[fname] in DATAFLOWS,
                    f"unknown dataflow; expected one of {DATAFLOWS} (accelsim field 'dataflow')",
                    source=src, field=_CFG_NAMES[key], value=raw)
            continue
        try:
            num = float(raw)
        except ValueError:
            raise InputError("not a number", source=src, field=_CFG_NAMES[key],
                             value=raw) from None
        require(math.isfinite(num), "must be a finite number", source=src,
                field=_CFG_NAMES[key], value=raw)
        if typ is int:
            require(num.is_integer(), "not an integer", source=src, field=_CFG_NAMES[key],
                    value=raw)
            num = int(num)
        if fname in _CFG_POSITIVE:
            require(num > 0, f"must be > 0 (accelsim field '{fname}')", source=src,
                    field=_CFG_NAMES[key], value=raw)
        d[fname] = num
    mode = "calc"
    if cp.has_section("run_presets") and cp["run_presets"].get("interfacebandwidth"):
        mode = cp["run_presets"]["interfacebandwidth"].strip().lower()
        require(mode in BANDWIDTH_MODES, "unknown interface bandwidth; expected CALC or USER",
                source=src, field="InterfaceBandwidth", value=mode)
    name = cp["general"].get("run_name", path.stem).strip().strip('"') if cp.has_section(
        "general") else path.stem
    return Arch(name=name, word_bits=8, bandwidth_mode=mode, source=src, **d)


def to_scalesim_cfg(a: Arch) -> str:
    """``a`` as a SCALE-Sim v2 .cfg (the inverse of ``load_scalesim_cfg``), to run SCALE-Sim on
    the same machine: its keys in its spelling, one memory bank, CALC or USER bandwidth."""
    require(a.word_bits == 8, "SCALE-Sim models 8-bit words only", source=a.source or a.name,
            field="word_bits", value=a.word_bits)

    def num(x):
        return int(x) if isinstance(x, float) and x.is_integer() else x

    lines = ["[general]", f"run_name = {a.name}", "[architecture_presets]"]
    for key, (fname, _) in _CFG_KEYS.items():
        lines.append(f"{_CFG_NAMES[key]}: {num(getattr(a, fname))}")
    lines += ["MemoryBanks: 1", "[run_presets]", f"InterfaceBandwidth: {a.bandwidth_mode.upper()}"]
    return "\n".join(lines) + "\n"


def load_arch(spec: str | Path) -> Arch:
    """A preset name, a YAML file or a SCALE-Sim .cfg file."""
    s = str(spec)
    p = Path(s)
    if p.suffix.lower() == ".cfg":
        require(p.is_file(), "no such file", source=s)
        return load_scalesim_cfg(p)
    if p.suffix.lower() in (".yaml", ".yml"):
        require(p.is_file(), "no such file", source=s)
        return load_yaml_arch(p)
    from accelsim.common.names import resolve

    # a preset name: case-insensitive, '-'/'_' alike, "did you mean" on a near miss
    name = resolve(s, list_presets(), field="arch", what="preset",
                   extra=" or a .yaml/.cfg file")
    return load_yaml_arch(PRESET_DIR / f"{name}.yaml")
