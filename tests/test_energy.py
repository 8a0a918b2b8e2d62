"""Energy and area tables: Horowitz points, sums, word-width scaling, user overrides, bad input."""

import pytest

from accelsim.arch import Arch, PoolUnit
from accelsim.energy import (ENERGY_PARTS, arch_area_um2, interp_capacity, interp_width,
                             load_table, unit_energies)
from accelsim.errors import InputError
from accelsim.simulate import simulate
from accelsim.workload import Layer, Workload


def _wl():
    pool = Layer("s", "sumpool", (8, 6, 6), (8, 7, 7), (2, 2), (1, 1), (1, 1), c=8, n=2)
    conv = Layer("c", "conv2d", (8, 7, 7), (8, 6, 6), (2, 2), (1, 1), (0, 0), c=8, n=2)
    act = Layer("r", "act", (8, 6, 6), (8, 6, 6))
    return Workload("t", "A", (pool, conv, act), (8, 6, 6))


def _arch(**kw):
    return Arch("t", 4, 4, "os", 8, 32, 1024, pool=PoolUnit(), **kw)


def test_table_points_are_horowitz():
    t = load_table()
    assert interp_width(t["add_pj"], 8) == pytest.approx(0.03)
    assert interp_width(t["mult_pj"], 32) == pytest.approx(3.1)
    for kb, pj in ((8, 10), (32, 20), (1024, 100)):
        assert interp_capacity(t["sram_64bit_pj"], kb) == pytest.approx(pj)
    # between points: monotone; log2 midpoint of 8 and 32 KB is 16 KB
    assert interp_capacity(t["sram_64bit_pj"], 16) == pytest.approx(15)
    assert interp_capacity(t["sram_64bit_pj"], 1) == pytest.approx(10)
    assert 0.2 < interp_width(t["mult_pj"], 16) < 3.1
    e = unit_energies(_arch())
    # an 8-bit word is 8/64 of a 64-bit access
    assert e["sram_ifmap"] == pytest.approx(10 * 8 / 64)
    assert e["sram_ofmap"] == pytest.approx(100 * 8 / 64)
    assert 1300 * 8 / 64 <= e["dram"] <= 2600 * 8 / 64


def test_totals_equal_sum_of_components_and_width_scaling():
    df8 = simulate(_wl(), _arch())
    assert (df8["energy_pj"] - df8[list(ENERGY_PARTS)].sum(axis=1)).abs().max() < 1e-6
    assert (df8[list(ENERGY_PARTS)] >= 0).all().all()
    assert df8["energy_pool_pj"].iloc[0] > 0 and df8["energy_mac_pj"].iloc[1] > 0
    df32 = simulate(_wl(), _arch(word_bits=32))
    assert df8["energy_pj"].sum() < df32["energy_pj"].sum()
    assert (df8["energy_mac_pj"] <= df32["energy_mac_pj"]).all()
    a8, a32 = arch_area_um2(_arch()), arch_area_um2(_arch(word_bits=32))
    assert a8["area_mm2"] < a32["area_mm2"]
    assert a8["area_mm2"] * 1e6 == pytest.approx(
        a8["area_array_um2"] + a8["area_pool_um2"] + a8["area_sram_um2"])
    assert arch_area_um2(_arch().with_(pool=None))["area_pool_um2"] == 0


def test_user_yaml_overrides(tmp_path):
    y = tmp_path / "e.yaml"
    y.write_text("dram_64bit_pj: 0\nmult_pj: {8: 2.0}\n")
    base, over = _arch(), _arch(energy=str(y))
    df0, df1 = simulate(_wl(), base), simulate(_wl(), over)
    assert df1["energy_dram_pj"].sum() == 0 < df0["energy_dram_pj"].sum()
    assert unit_energies(over)["mult"] == pytest.approx(2.0)
    assert unit_energies(over)["add"] == unit_energies(base)["add"]  # untouched entries stay
    fp = tmp_path / "fp.yaml"
    fp.write_text("arithmetic: fp\n")
    assert unit_energies(_arch(word_bits=16, energy=str(fp)))["mult"] == pytest.approx(1.1)


@pytest.mark.parametrize("text, field", [("add_pj: {8: -1}\n", "add_pj.8"),
                                         ("dram_64bit_pj: -5\n", "dram_64bit_pj"),
                                         ("bogus: 1\n", "bogus"),
                                         ("arithmetic: analog\n", "arithmetic"),
                                         ("sram_64bit_pj: 3\n", "sram_64bit_pj")])
def test_bad_tables(tmp_path, text, field):
    y = tmp_path / "bad.yaml"
    y.write_text(text)
    with pytest.raises(InputError) as ei:
        load_table(str(y))
    assert str(y) in str(ei.value) and field in str(ei.value)
    with pytest.raises(InputError):
        load_table(str(tmp_path / "missing.yaml"))
