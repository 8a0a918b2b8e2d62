"""Reading and writing an ``Arch``: from a mapping, an arch YAML (with its rules beyond single
values, docs/arch.md), a shipped preset, or a SCALE-Sim v2 .cfg; back to a dict or a .cfg."""

from __future__ import annotations

import configparser
import math
from dataclasses import asdict, fields
from pathlib import Path

from accelsim.common.errors import MAX_DRAM_BW, InputError, is_int, is_number, require
from accelsim.hardware.arch_spec import BANDWIDTH_MODES, DATAFLOWS, Arch, PoolUnit

PRESET_DIR = Path(__file__).resolve().parent / "presets"

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
