"""Energy and area tables: Horowitz points, sums, word-width scaling, user overrides, bad input."""

import pytest

from accelsim.hardware.arch import Arch, PoolUnit
from accelsim.hardware.energy import (ENERGY_PARTS, arch_area_um2, interp_capacity, interp_width,
                             load_table, unit_energies)
from accelsim.common.errors import InputError
from accelsim.evaluate.simulate import simulate
from accelsim.workload.layer import Layer, Workload


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


# ---- each energy term on its own, from Horowitz's published points and the row's counts -------
# Horowitz ISSCC 2014, 45 nm (design.md section 3), restated here rather than read from
# unit_energies(): int add 0.03 pJ at 8 bits and 0.1 pJ at 32 bits; int mult 0.2 pJ at 8 bits;
# a 64-bit SRAM access 10 / 20 / 100 pJ at 8 KB / 32 KB / 1 MB; DRAM 1.3-2.6 nJ per 64 bits.
ADD8, ADD32, MULT8 = 0.03, 0.1, 0.2
SRAM_8KB, SRAM_32KB, SRAM_1MB = 10.0, 20.0, 100.0
# a 16-bit add sits at the log2 midpoint of 8 and 32 bits: on the power law through the two
# published points it is their geometric mean (derived here, not taken from interp_width)
ADD16 = (ADD8 * ADD32) ** 0.5


def _sram_64bit_pj(kb: float) -> float:
    """docs/poolunit.md's rule on Horowitz's three points, written out: flat below 8 KB, then
    linear in log2(capacity): +5 pJ per doubling from 8 to 32 KB, +16 pJ per doubling above."""
    import math

    if kb <= 8:
        return SRAM_8KB
    if kb <= 32:
        return SRAM_8KB + (SRAM_32KB - SRAM_8KB) / 2 * math.log2(kb / 8)
    return SRAM_32KB + (SRAM_1MB - SRAM_32KB) / 5 * math.log2(kb / 32)


def _dram_64bit_pj() -> float:
    import yaml

    from accelsim.hardware.energy import DATA

    pj = yaml.safe_load((DATA / "horowitz45.yaml").read_text())["dram_64bit_pj"]
    assert 1300 <= pj <= 2600     # inside Horowitz's published range
    return pj


def _hand_workload():
    """A structured pair, an activation, a max-pool, a residual add and an SE multiply; every
    count below is worked out by hand in _check_hand_counts."""
    pool = Layer("s", "sumpool", (8, 6, 6), (8, 7, 7), (2, 2), (1, 1), (1, 1), c=8, n=2)
    conv = Layer("c", "conv2d", (8, 7, 7), (8, 6, 6), (2, 2), (1, 1), (0, 0), c=8, n=2)
    act = Layer("r", "act", (8, 6, 6), (8, 6, 6))
    mx = Layer("m", "maxpool", (8, 6, 6), (8, 3, 3), (2, 2), (2, 2))
    add = Layer("a", "add", (8, 3, 3), (8, 3, 3))
    mul = Layer("u", "mul", (8, 3, 3), (8, 3, 3))
    return Workload("t", "A", (pool, conv, act, mx, add, mul), (8, 6, 6))


def _hand_arch(pool=True):
    # SRAM sizes on the published points, all different, so that charging one SRAM's accesses
    # at another's energy changes the number: ifmap 8 KB, filter 32 KB, ofmap 1 MB
    return Arch("t", 4, 4, "os", 8, 32, 1024, word_bits=8, pool=PoolUnit() if pool else None)


def _staging_pj(arch, word):
    """pJ per word of a fused pool unit's staging buffer: an SRAM of its size (staging_kb), or,
    when unbounded, of the words the pair filled (staging_peak_words)."""
    def per_row(row):
        if arch.pool is None:
            return 0.0
        kb = arch.pool.staging_kb
        if kb is None:
            kb = row.get("staging_peak_words", 0) * arch.word_bits / 8192
            if kb <= 0:
                return 0.0
        return _sram_64bit_pj(kb) * word
    return per_row


def _check_hand_counts(df, pool_unit: bool):
    r = df.set_index("layer")
    # conv 8->8, 2x2 kernel, 6x6 outputs: 8*36 outputs of 8*4 products each
    assert r.at["c", "mults_array"] == 8 * 36 * 32 and r.at["c", "mac_adds"] == 8 * 36 * 31
    # max-pool 2x2 stride 2 on 8x6x6: 8*3*3 outputs, 3 comparisons each
    assert r.at["m", "comparisons"] == 8 * 9 * 3
    # residual add and SE multiply: one op per output element
    assert r.at["a", "adds"] == 72 and r.at["u", "mults"] == 72
    # vector SRAM words: an activation reads and writes each of its 8*36 elements; a max-pool
    # reads 4 per output; the add reads both operands; the SE multiply reads its 72 elements and
    # the 8 per-channel scales; each writes its outputs
    assert [r.at[k, "vector_sram_reads"] for k in "rmau"] == [288, 8 * 9 * 4, 144, 72 + 8]
    assert [r.at[k, "vector_sram_writes"] for k in "rmau"] == [288, 72, 72, 72]
    if pool_unit:
        # separable sum-pool of the padded 8x8 map, 1 channel x 2x2 window: no channel adds,
        # 8*7*8 height adds and 8*7*7 width adds (each counted by hand: one add per pair)
        assert r.at["s", "pool_adds"] == 8 * 7 * 8 + 8 * 7 * 7
    else:
        # the sumpool as an all-ones 8-channel conv: 8 outputs x 7x7 x (8 channels x 2x2)
        assert r.at["s", "mults_array"] == 8 * 49 * 32


def _expected_terms(row, e) -> dict:
    """One energy term per component, each from its own counts and its own unit energy."""
    return {
        "energy_mac_pj": row["mults_array"] * e["mult"] + row["mac_adds"] * e["acc_add"],
        "energy_pool_pj": row["pool_adds"] * e["pool_add"]
        + (row["linebuf_reads"] + row["linebuf_writes"]) * e["linebuf"]
        + (row.get("staging_reads", 0) + row.get("staging_writes", 0)) * e["staging"](row),
        "energy_vector_pj": (row["adds"] - row["mac_adds"] - row["pool_adds"]) * e["add"]
        + (row["mults"] - row["mults_array"]) * e["mult"] + row["comparisons"] * e["add"],
        "energy_sram_ifmap_pj": (row["ifmap_sram_reads"] + row["pool_sram_reads"]
                                 + row["pool_sram_writes"] + row["vector_sram_reads"])
        * e["sram_ifmap"],
        "energy_sram_filter_pj": row["filter_sram_reads"] * e["sram_filter"],
        "energy_sram_ofmap_pj": (row["ofmap_sram_writes"] + row["vector_sram_writes"])
        * e["sram_ofmap"],
        "energy_dram_pj": (row["dram_ifmap_reads"] + row["dram_filter_reads"]
                           + row["dram_ofmap_writes"]) * e["dram"],
    }


@pytest.mark.parametrize("pool_unit", [True, False], ids=["pool-unit", "no-pool-unit"])
def test_each_energy_term_from_published_entries(pool_unit):
    df = simulate(_hand_workload(), _hand_arch(pool_unit))
    _check_hand_counts(df, pool_unit)
    word = 8 / 64      # an 8-bit word is 8/64 of a 64-bit access
    e = {"mult": MULT8, "acc_add": ADD32, "add": ADD8, "pool_add": ADD16,
         "sram_ifmap": SRAM_8KB * word, "sram_filter": SRAM_32KB * word,
         "sram_ofmap": SRAM_1MB * word, "linebuf": SRAM_8KB * word,
         "dram": _dram_64bit_pj() * word, "staging": _staging_pj(_hand_arch(pool_unit), word)}
    seen = dict.fromkeys(ENERGY_PARTS, 0.0)
    for _, row in df.iterrows():
        want = _expected_terms(row, e)
        for part in ENERGY_PARTS:
            assert row[part] == pytest.approx(want[part], rel=1e-12, abs=1e-12), (row["layer"],
                                                                                   part)
            seen[part] += want[part]
        assert row["energy_pj"] == pytest.approx(sum(want.values()), rel=1e-12)
    # every term is exercised by some row (the pool term only where a pool unit exists)
    assert all(v > 0 for k, v in seen.items() if pool_unit or k != "energy_pool_pj"), seen


def test_energy_terms_on_a_preset_between_table_points():
    """tpu-v1 (8-bit words; SRAMs 16 MB / 4 MB / 4 MB, above Horowitz's largest point): the SRAM
    energy is extrapolated linearly in log2 capacity along the 32 KB -> 1 MB segment, 80 pJ over
    5 doublings = 16 pJ per doubling; a ResNet-18 A layer pair, each term on its own."""
    from accelsim.hardware.arch import load_arch
    from accelsim.workload.networks import load_workload

    arch = load_arch("tpu-v1")
    wl = load_workload("resnet18:A")
    i = next(k for k, l in enumerate(wl.layers) if l.op == "sumpool")
    df = simulate(Workload("r18", "A", wl.layers[i:i + 2], wl.layers[i].in_shape), arch)
    per_doubling = (SRAM_1MB - SRAM_32KB) / 5
    assert _sram_64bit_pj(16384) == pytest.approx(SRAM_1MB + 4 * per_doubling)
    assert _sram_64bit_pj(16) == pytest.approx(15.0) and _sram_64bit_pj(1) == SRAM_8KB
    word = 8 / 64
    e = {"mult": MULT8, "acc_add": ADD32, "add": ADD8, "pool_add": ADD16,
         "sram_ifmap": (SRAM_1MB + 4 * per_doubling) * word,        # 16 MB = 1 MB * 2^4
         "sram_filter": (SRAM_1MB + 2 * per_doubling) * word,       # 4 MB = 1 MB * 2^2
         "sram_ofmap": (SRAM_1MB + 2 * per_doubling) * word,
         "linebuf": SRAM_8KB * word, "dram": _dram_64bit_pj() * word,
         "staging": _staging_pj(arch, word)}
    for _, row in df.iterrows():
        want = _expected_terms(row, e)
        for part in ENERGY_PARTS:
            assert row[part] == pytest.approx(want[part], rel=1e-12, abs=1e-12), (row["layer"],
                                                                                   part)
    assert (df["energy_pool_pj"].iloc[0] > 0 and df["energy_dram_pj"].sum() > 0
            and df["energy_sram_filter_pj"].iloc[1] > 0)
