"""Arch spec: presets, SCALE-Sim .cfg import, YAML validation."""

from dataclasses import fields
from pathlib import Path

import pytest

from accelsim.hardware.arch import Arch, PoolUnit, list_presets, load_arch
from accelsim.common.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "workloads" / "scalesim"
SCALE_CFG = (CFG / "scale.cfg").read_text()

# the fields a SCALE-Sim v2 .cfg sets (clock, name, pool, vector lanes, energy are accelsim's)
CFG_FIELDS = ("rows", "cols", "dataflow", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb",
              "ifmap_offset", "filter_offset", "ofmap_offset", "bandwidth_mode",
              "dram_bw_words_per_cycle", "word_bits")


@pytest.mark.parametrize("preset, cfg", [("scalesim-32x32-os", "scale.cfg"),
                                         ("scalesim-google", "google.cfg"),
                                         ("scalesim-eyeriss", "eyeriss.cfg")])
def test_scalesim_presets_equal_shipped_cfg(preset, cfg):
    a, b = load_arch(preset), load_arch(CFG / cfg)
    assert {f: getattr(a, f) for f in CFG_FIELDS} == {f: getattr(b, f) for f in CFG_FIELDS}
    assert a.pool is None and b.pool is None


def test_cfg_values_as_scalesim_reads_them():
    g = load_arch(CFG / "google.cfg")
    assert (g.rows, g.cols, g.dataflow) == (256, 256, "ws")
    assert (g.ifmap_sram_kb, g.filter_sram_kb, g.ofmap_sram_kb) == (6144, 6144, 2048)
    e = load_arch(CFG / "eyeriss.cfg")
    assert (e.rows, e.cols, e.ifmap_sram_kb) == (12, 14, 36)
    # SCALE-Sim's word is one byte: 64 kB = 65,536 words
    assert load_arch(CFG / "scale.cfg").sram_words("ifmap") == 65536


def test_other_presets_have_a_pool_unit_and_sane_numbers():
    names = list_presets()
    assert {"scalesim-32x32-os", "scalesim-google", "scalesim-eyeriss", "tpu-v1",
            "edge-npu"} <= set(names)
    for n in names:
        a = load_arch(n)
        assert a.name == n
        assert (a.pool is None) == n.startswith("scalesim-")
    tpu = load_arch("tpu-v1")
    assert (tpu.rows, tpu.cols, tpu.word_bits, tpu.clock_mhz) == (256, 256, 8, 700)
    # Jouppi et al. 2017: 24 MiB unified buffer, 34 GB/s DRAM at 700 MHz
    assert tpu.ifmap_sram_kb + tpu.filter_sram_kb + tpu.ofmap_sram_kb == 24 * 1024
    assert tpu.bandwidth_mode == "user"
    assert tpu.dram_bw_words_per_cycle == int(34e9 / 700e6)


def test_cfg_keys_are_case_insensitive(tmp_path):
    p = tmp_path / "c.cfg"
    p.write_text(SCALE_CFG.replace("ArrayHeight", "ARRAYHEIGHT").replace("Dataflow", "dataflow"))
    assert load_arch(p).rows == 32


@pytest.mark.parametrize("old, new, field", [
    ("ArrayHeight:    32", "", "ArrayHeight"),
    ("ArrayHeight:    32", "ArrayHeight: 0", "ArrayHeight"),
    ("ArrayWidth:     32", "ArrayWidth: -4", "ArrayWidth"),
    ("ArrayWidth:     32", "ArrayWidth: 3.5", "ArrayWidth"),
    ("IfmapSramSzkB:   64", "IfmapSramSzkB: lots", "IfmapSramSzkB"),
    ("Dataflow : os", "Dataflow : rs", "Dataflow"),
])
def test_bad_cfg_raises_input_error_naming_file_field_value(tmp_path, old, new, field):
    assert old in SCALE_CFG
    p = tmp_path / "bad.cfg"
    p.write_text(SCALE_CFG.replace(old, new))
    with pytest.raises(InputError) as exc:
        load_arch(p)
    msg = str(exc.value)
    assert "bad.cfg" in msg and field in msg
    if new:
        assert new.split(":")[1].strip() in msg


def test_yaml_unknown_key_and_bad_values(tmp_path):
    base = "rows: 8\ncols: 8\ndataflow: os\nifmap_sram_kb: 8\nfilter_sram_kb: 8\nofmap_sram_kb: 8\n"
    ok = tmp_path / "ok.yaml"
    ok.write_text(base + "pool:\n  lanes: 4\n  tree: direct\n  mode: two_pass\n")
    a = load_arch(ok)
    assert a.name == "ok" and a.pool == PoolUnit(lanes=4, tree="direct", mode="two_pass")
    for extra, field in [("colls: 9\n", "colls"), ("pool:\n  lane: 4\n", "pool.lane"),
                         ("pool:\n  tree: hex\n", "pool.tree"), ("word_bits: 0\n", "word_bits"),
                         ("bandwidth_mode: fast\n", "bandwidth_mode")]:
        p = tmp_path / "bad.yaml"
        p.write_text(base + extra)
        with pytest.raises(InputError, match=field.replace(".", r"\.")):
            load_arch(p)
    (tmp_path / "broken.yaml").write_text("rows: [1, 2\n")
    with pytest.raises(InputError, match="broken.yaml"):
        load_arch(tmp_path / "broken.yaml")


def test_unknown_preset_and_missing_file():
    with pytest.raises(InputError, match="no-such-preset"):
        load_arch("no-such-preset")
    with pytest.raises(InputError, match="missing.cfg"):
        load_arch("missing.cfg")


def test_arch_is_frozen_and_validated():
    a = Arch("a", 4, 4, "ws", 1, 1, 1)
    with pytest.raises(Exception):
        a.rows = 8
    with pytest.raises(InputError, match="dataflow"):
        a.with_(dataflow="xs")
    with pytest.raises(InputError, match="rows"):
        a.with_(rows=0)
    assert {f.name for f in fields(Arch)} >= {"name", "rows", "cols", "dataflow", "word_bits",
                                               "clock_mhz", "pool", "energy", "vector_lanes"}


@pytest.mark.parametrize("mode", ["calc", "user"])
def test_to_scalesim_cfg_round_trips(tmp_path, mode):
    from accelsim.hardware.arch import Arch, load_scalesim_cfg, to_scalesim_cfg

    a = Arch("rt", 12, 14, "ws", 36, 20.5, 8, bandwidth_mode=mode, dram_bw_words_per_cycle=6)
    p = tmp_path / "rt.cfg"
    p.write_text(to_scalesim_cfg(a))
    assert load_scalesim_cfg(p).with_(source="") == a
    with pytest.raises(InputError, match="word_bits"):
        to_scalesim_cfg(a.with_(word_bits=16))
