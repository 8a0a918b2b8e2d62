"""docs/arch.md against the code: every Arch and PoolUnit field documented, nothing extra, each
literal default equal to the dataclass's; the page's example loads; and the YAML rules the page
states (no ignored or contradictory keys, dram_gbps, the user-mode stall model default) hold."""

import dataclasses
import re
from pathlib import Path

import pytest

from accelsim.hardware.arch import Arch, PoolUnit, load_arch
from accelsim.common.errors import InputError

DOC = Path(__file__).resolve().parents[1] / "docs" / "arch.md"
BASE = ("rows: 8\ncols: 8\ndataflow: os\nifmap_sram_kb: 64\nfilter_sram_kb: 64\n"
        "ofmap_sram_kb: 64\n")


def _tables() -> list[dict[str, list[str]]]:
    """Each Markdown table of the page whose header starts with 'key': key -> its cells."""
    tables, cur = [], None
    for line in DOC.read_text().splitlines():
        if not line.startswith("|"):
            cur = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells[0] == "key":
            cur = {}
            tables.append(cur)
        elif cur is not None and not set(cells[0]) <= set("-"):
            cur[cells[0].strip("`")] = cells[1:]
    return tables


def test_every_field_documented_and_nothing_else():
    top, pool = _tables()
    arch_fields = {f.name for f in dataclasses.fields(Arch)} - {"source"}  # not a YAML key
    assert set(top) == arch_fields | {"dram_gbps"}
    assert set(pool) == {f.name for f in dataclasses.fields(PoolUnit)}


@pytest.mark.parametrize("cls,table", [(Arch, 0), (PoolUnit, 1)])
def test_documented_defaults_equal_the_dataclass(cls, table):
    rows = _tables()[table]
    checked = 0
    for f in dataclasses.fields(cls):
        if f.name not in rows or f.default is dataclasses.MISSING:
            continue
        doc = rows[f.name][2]          # type, unit, default, what
        first = doc.split(" ")[0]
        if f.default is None:
            assert first == "null", f.name
        elif isinstance(f.default, str):
            if f.name == "stall_model":   # YAML and dataclass differ, and the page says so
                assert "scalesim for a `.cfg` and the dataclass" in doc
                continue
            assert first == f.default, f.name
        elif f.name == "dram_bw_words_per_cycle":
            assert f"{f.default:g} in the dataclass" in doc
        else:
            assert float(first) == f.default, f.name
        checked += 1
    assert checked >= 6


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "a.yaml"
    p.write_text(BASE + text)
    return p


def test_the_page_example_loads_and_dram_gbps_converts(tmp_path):
    text = DOC.read_text()
    yml = text[text.index("```yaml") + 7:text.rindex("```")]
    p = tmp_path / "ex.yaml"
    p.write_text(yml)
    a = load_arch(p)
    # 12.8e9 bytes/s over 800e6 cycles/s, one byte a word
    assert a.dram_bw_words_per_cycle == pytest.approx(12.8e9 / 800e6)
    assert a.stall_model == "overlap" and a.pool.staging_kb == 128


def test_user_mode_yaml_defaults_to_overlap_and_cfg_keeps_scalesim(tmp_path):
    a = load_arch(_write(tmp_path, "bandwidth_mode: user\ndram_bw_words_per_cycle: 8\n"))
    assert a.stall_model == "overlap"
    cfg = tmp_path / "u.cfg"
    cfg.write_text("[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\n"
                   "FilterSramSzkB: 64\nOfmapSramSzkB: 64\nIfmapOffset: 0\nFilterOffset: 10000000\n"
                   "OfmapOffset: 20000000\nDataflow: os\nBandwidth: 8\n"
                   "[run_presets]\nInterfaceBandwidth: USER\n")
    c = load_arch(cfg)
    assert (c.bandwidth_mode, c.stall_model) == ("user", "scalesim")
    s = load_arch(_write(tmp_path, "bandwidth_mode: user\nstall_model: scalesim\n"
                                   "dram_gbps: 8\n"))       # 8 GB/s at 1 GHz = 8 words/cycle
    assert s.stall_model == "scalesim" and s.dram_bw_words_per_cycle == 8


@pytest.mark.parametrize("extra,field", [
    ("stall_model: overlap\n", "stall_model"),                       # ignored in calc mode
    ("dram_bw_words_per_cycle: 8\n", "dram_bw_words_per_cycle"),     # ignored in calc mode
    ("dram_gbps: 8\n", "dram_gbps"),
    ("bandwidth_mode: user\n", "dram_bw_words_per_cycle"),           # no silent bandwidth
    ("bandwidth_mode: user\ndram_gbps: 8\ndram_bw_words_per_cycle: 8\n", "dram_gbps"),
    ("bandwidth_mode: user\nstall_model: scalesim\ndram_gbps: 34\nclock_mhz: 700\n",
     "(dram_gbps|dram_bw_words_per_cycle)"),                         # 48.57 words: not whole
    ("bandwidth_mode: user\ndram_gbps: -1\n", "dram_gbps"),
    ("colour: red\n", "colour"),
])
def test_ignored_or_contradictory_keys_are_errors(tmp_path, extra, field):
    with pytest.raises(InputError, match=f"field '{field}'"):
        load_arch(_write(tmp_path, extra))


def test_presets_state_their_vector_unit():
    presets = Path(__file__).resolve().parents[1] / "accelsim" / "presets"
    for p in presets.glob("*.yaml"):
        assert re.search(r"^vector_lanes: \d+$", p.read_text(), re.M), p.name
        load_arch(p.stem)   # and every preset obeys the rules above
