"""The memory engine against SCALE-Sim v2.0.2: every DETAILED_ACCESS / BANDWIDTH column and the
total/stall cycles, on committed reference reports and on tiny layers run through SCALE-Sim here;
plus closed-form checks of the extensions SCALE-Sim lacks (padding, batch, groups, word size)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from accelsim.hardware.arch import Arch, load_scalesim_cfg
from accelsim.engine.memory import simulate_memory
from accelsim.engine.operands import unique_ifmap_words
from accelsim.engine.mapping import map_layer
from accelsim.workload.layer import Layer, read_workload_csv, scalesim_out_hw

DATA = Path(__file__).parent / "data" / "scalesim"
DETAIL = ["ifmap_sram_start_cycle", "ifmap_sram_stop_cycle", "ifmap_sram_reads",
          "filter_sram_start_cycle", "filter_sram_stop_cycle", "filter_sram_reads",
          "ofmap_sram_start_cycle", "ofmap_sram_stop_cycle", "ofmap_sram_writes",
          "dram_ifmap_start_cycle", "dram_ifmap_stop_cycle", "dram_ifmap_reads",
          "dram_filter_start_cycle", "dram_filter_stop_cycle", "dram_filter_reads",
          "dram_ofmap_start_cycle", "dram_ofmap_stop_cycle", "dram_ofmap_writes"]
BW = ["ifmap_sram_bw_words_per_cycle", "filter_sram_bw_words_per_cycle",
      "ofmap_sram_bw_words_per_cycle", "dram_ifmap_bw_words_per_cycle",
      "dram_filter_bw_words_per_cycle", "dram_ofmap_bw_words_per_cycle"]


def _cfg(c: dict) -> str:
    """A SCALE-Sim cfg for one of CONFIGS' machines (arch.to_scalesim_cfg)."""
    from accelsim.hardware.arch import to_scalesim_cfg

    return to_scalesim_cfg(Arch("t", c["rows"], c["cols"], c["df"], c["kb_i"], c["kb_f"],
                                c["kb_o"], bandwidth_mode=c["mode"].lower(),
                                dram_bw_words_per_cycle=c["bw"]))


TOPO_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
               "Num Filter, Strides,\n")


def _read(path: Path) -> list[list[float]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    return [[float(x) for x in r[1:] if x.strip() != ""] for r in rows[1:] if r]


def _assert_layer(mem, compute_row, bw_row, detail_row, where):
    got = [getattr(mem, f) for f in DETAIL]
    assert got == [int(x) for x in detail_row], where
    assert mem.total_cycles == int(compute_row[0]), where
    assert mem.stall_cycles == int(compute_row[1]), where
    assert [getattr(mem, f) for f in BW] == pytest.approx(bw_row, rel=1e-12), where


def _check_reports(topology: Path, cfg: Path, report_dir: Path):
    arch = load_scalesim_cfg(cfg)
    wl = read_workload_csv(topology)
    comp, bw, det = (_read(report_dir / f) for f in (
        "COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"))
    assert len(wl.layers) == len(det)
    for i, layer in enumerate(wl.layers):
        mem = simulate_memory(layer, arch, map_layer(layer, arch, 1))
        _assert_layer(mem, comp[i], bw[i], det[i], f"{report_dir.name} layer {i} {layer.name}")


def test_resnet18_32x32_os_reference_reports():
    """All 21 layers of SCALE-Sim's Resnet18.csv on scale.cfg, every column (incl. the re-fetch
    after set eviction: conv1 DRAM IFMAP 326,046 words for 150,528 unique)."""
    root = Path(__file__).resolve().parents[1] / "workloads" / "scalesim"
    _check_reports(root / "Resnet18.csv", root / "scale.cfg", DATA / "resnet18_32x32_os")


def test_golden_alexnet_part_ws(tmp_path):
    """SCALE-Sim's own regression test: alexnet_part on scale.cfg switched to ws."""
    root = Path(__file__).resolve().parents[1] / "workloads" / "scalesim"
    cfg = tmp_path / "ws.cfg"
    cfg.write_text((root / "scale.cfg").read_text().replace("os", "ws"))
    _check_reports(root / "alexnet_part.csv", cfg, DATA / "golden_alexnet_part_32x32_ws")


# tiny layers: (H, W, R, S, C, N, stride) -- odd H-R at stride 2 exercises the ceil rule
TINY = "a,9,9,3,3,6,10,2,\nb,6,5,2,3,5,7,1,\nc,4,4,1,1,24,40,1,\nd,14,13,3,3,6,9,1,\ne,12,12,1,1,8,20,1,\nf,5,5,3,3,12,8,1,\n"
CONFIGS = [
    dict(rows=4, cols=6, kb_i=1, kb_f=1, kb_o=1, bw=10, df="os", mode="CALC"),
    dict(rows=8, cols=3, kb_i=1, kb_f=2, kb_o=1, bw=10, df="ws", mode="CALC"),
    dict(rows=5, cols=4, kb_i=1, kb_f=1, kb_o=2, bw=10, df="is", mode="CALC"),
    dict(rows=4, cols=4, kb_i=1, kb_f=1, kb_o=1, bw=4, df="os", mode="USER"),
    dict(rows=6, cols=4, kb_i=1, kb_f=1, kb_o=1, bw=3, df="ws", mode="USER"),
    dict(rows=4, cols=5, kb_i=1, kb_f=1, kb_o=1, bw=5, df="is", mode="USER"),
]


@pytest.mark.parametrize("conf", CONFIGS, ids=lambda c: f"{c['df']}-{c['mode']}-{c['rows']}x{c['cols']}")
def test_tiny_layers_against_scalesim(tmp_path, conf):
    """SCALE-Sim 2.0.2 run here on tiny layers (1-2 kB SRAMs force set eviction and re-fetch;
    USER mode stalls on DRAM and on the ofmap drain); every column must match."""
    scale_sim = pytest.importorskip("scalesim.scale_sim")
    cfg = tmp_path / "t.cfg"
    cfg.write_text(_cfg(conf))
    topo = tmp_path / "tiny.csv"
    topo.write_text(TOPO_HEADER + TINY)
    s = scale_sim.scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                           topology=str(topo))
    s.run_scale(top_path=str(tmp_path))
    _check_reports(topo, cfg, tmp_path / "t")


def _arch(**kw) -> Arch:
    d = dict(name="t", rows=8, cols=8, dataflow="os", ifmap_sram_kb=1024, filter_sram_kb=1024,
             ofmap_sram_kb=1024)
    d.update(kw)
    return Arch(**d)


def _mem(layer, arch, batch=1):
    return simulate_memory(layer, arch, map_layer(layer, arch, batch))


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_padding_positions_are_not_read(df):
    """With an SRAM that holds everything, DRAM reads are the compulsory words: padding is
    generated in the array, never fetched (SCALE-Sim would count it if it were in the image)."""
    layer = Layer("p", "conv2d", (3, 10, 10), (8, 10, 10), (3, 3), (1, 1), (1, 1))
    arch = _arch(dataflow=df)
    mem = _mem(layer, arch)
    assert mem.dram_ifmap_reads == 3 * 10 * 10 == unique_ifmap_words(layer)
    assert mem.dram_filter_reads == 8 * 3 * 3 * 3
    # the same layer with the padding written into the image reads the zero border too
    padded = Layer("q", "conv2d", (3, 12, 12), (8, 10, 10), (3, 3), (1, 1))
    assert _mem(padded, arch).dram_ifmap_reads == 3 * 12 * 12
    assert _mem(padded, arch).total_cycles == mem.total_cycles


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_batch_reads_every_sample(df):
    layer = Layer("b", "conv2d", (4, 8, 8), (6, 6, 6), (3, 3))
    arch = _arch(dataflow=df)
    one, four = _mem(layer, arch, 1), _mem(layer, arch, 4)
    assert one.dram_ifmap_reads == 4 * 8 * 8
    assert four.dram_ifmap_reads == 4 * one.dram_ifmap_reads
    assert four.dram_filter_reads == one.dram_filter_reads == 6 * 4 * 9


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_depthwise_is_groups_of_single_channel_gemms(df):
    """groups = C: each group reads its own channel and its own filter, once."""
    layer = Layer("dw", "conv2d", (16, 9, 9), (16, 7, 7), (3, 3), groups=16)
    arch = _arch(dataflow=df)
    mem = _mem(layer, arch)
    assert mem.dram_ifmap_reads == 16 * 9 * 9
    assert mem.dram_filter_reads == 16 * 9
    assert mem.dram_ofmap_writes >= 16 * 7 * 7


def test_word_bits_scale_capacity_not_counts():
    """16-bit words: a 64 kB SRAM holds what a 32 kB one holds at 8 bits; counts stay in words."""
    H, R, st = 57, 3, 2
    E = scalesim_out_hw(H, H, R, st)
    layer = Layer("w", "conv2d", (32, H, H), (64,) + E, (R, R), (st, st))
    a16 = _arch(ifmap_sram_kb=16, filter_sram_kb=16, ofmap_sram_kb=16, word_bits=16)
    a8 = _arch(ifmap_sram_kb=8, filter_sram_kb=8, ofmap_sram_kb=8, word_bits=8)
    m16, m8 = _mem(layer, a16), _mem(layer, a8)
    assert m16 == m8
    # an SRAM too small for the working set re-fetches: more DRAM reads than unique words
    assert m8.dram_ifmap_reads > unique_ifmap_words(layer)


def test_repeated_unit_closed_form_equals_the_walk(monkeypatch):
    """The closed form for re-read units of distinct addresses (1x1 / non-overlapping ifmap
    windows, filters) gives the same counts and cycles as walking every address."""
    import accelsim.engine.memory as mm

    walk = mm._walk
    checked = []

    def both(folds, im2col, bufs, paths):
        fast = walk(folds, im2col, bufs, paths)
        # dist_if, dist_f off: walk everything
        assert list(fast) == list(walk(folds, im2col, bufs,
                                       paths._replace(dist_if=False, dist_f=False)))
        checked.append(1)
        return fast

    monkeypatch.setattr(mm, "_walk", both)
    for df in ("os", "ws", "is"):
        for kb in (1, 4):
            for H, R, st, C, N in ((12, 1, 1, 8, 20), (13, 1, 2, 16, 40), (20, 3, 1, 16, 70),
                                   (9, 2, 2, 6, 33)):
                layer = Layer("x", "conv2d", (C, H, H), (N,) + scalesim_out_hw(H, H, R, st),
                              (R, R), (st, st))
                arch = Arch("t", 4, 6, df, kb, kb, kb)
                mm.simulate_memory(layer, arch, map_layer(layer, arch, 1))
    assert len(checked) == 24


def test_user_mode_needs_whole_words_per_cycle():
    from accelsim.common.errors import InputError

    # refused when the arch is made (before any store or run exists), naming the field;
    # the overlap stall model takes a fractional bandwidth
    with pytest.raises(InputError, match="dram_bw_words_per_cycle"):
        _arch(bandwidth_mode="user", dram_bw_words_per_cycle=2.5)
    layer = Layer("b", "conv2d", (4, 8, 8), (6, 6, 6), (3, 3))
    ok = _arch(bandwidth_mode="user", stall_model="overlap", dram_bw_words_per_cycle=2.5)
    assert _mem(layer, ok).total_cycles > 0


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_overlap_stall_model_bounds(df):
    """stall_model "overlap": the CALC walk's exact traffic over one shared channel. The words
    are the CALC walk's (SCALE-Sim-exact), and the latency obeys both lower bounds, compute and
    transfer (a channel of bw words/cycle moves W words in no less than W / bw cycles); it never
    grows with more bandwidth and stalls vanish once the channel outruns the array."""
    layer = Layer("o", "conv2d", (24, 15, 15), (40, 13, 13), (3, 3))
    calc = _arch(dataflow=df, ifmap_sram_kb=1, filter_sram_kb=1, ofmap_sram_kb=1)
    c = _mem(layer, calc)
    words = c.dram_ifmap_reads + c.dram_filter_reads + c.dram_ofmap_writes
    last = None
    for bw in (0.25, 1, 3, 8, 10_000):
        m = _mem(layer, calc.with_(bandwidth_mode="user", stall_model="overlap",
                                   dram_bw_words_per_cycle=bw))
        assert (m.dram_ifmap_reads, m.dram_filter_reads, m.dram_ofmap_writes) == (
            c.dram_ifmap_reads, c.dram_filter_reads, c.dram_ofmap_writes)
        assert m.stall_cycles >= 0 and m.total_cycles == c.total_cycles + m.stall_cycles
        assert m.total_cycles >= words / bw and m.total_cycles >= c.total_cycles
        if last is not None:
            assert m.total_cycles <= last
        last = m.total_cycles
    assert m.stall_cycles == 0 and m.total_cycles == c.total_cycles


def test_overlap_stall_model_hand_worked():
    """A hand-worked case with both regimes. os with SRAMs that hold everything moves only the
    compulsory words (worked out here from the shape: 24x15x15 ifmap, 40x24x3x3 filters,
    40x13x13 outputs = 5,400 + 8,640 + 6,760 = 20,800 words). At 0.3 words/cycle the transfer
    takes 20,800 / 0.3 = 69,333.3 cycles, far above the array's ~25 k, so the layer takes the
    whole transfer, rounded up to a whole cycle: 69,334. At 1 word/cycle the 20,800-cycle
    transfer hides under compute: no stall, the CALC latency."""
    layer = Layer("o", "conv2d", (24, 15, 15), (40, 13, 13), (3, 3))
    big = _arch(dataflow="os")
    c = _mem(layer, big)
    words = 24 * 15 * 15 + 40 * 24 * 9 + 40 * 13 * 13
    assert words == 20_800
    assert (c.dram_ifmap_reads, c.dram_filter_reads, c.dram_ofmap_writes) == (5400, 8640, 6760)
    assert 20_800 < c.total_cycles < 69_333
    slow = _mem(layer, big.with_(bandwidth_mode="user", stall_model="overlap",
                                 dram_bw_words_per_cycle=0.3))
    assert slow.total_cycles == 69_334 and slow.stall_cycles == 69_334 - c.total_cycles
    fast = _mem(layer, big.with_(bandwidth_mode="user", stall_model="overlap",
                                 dram_bw_words_per_cycle=1))
    assert (fast.total_cycles, fast.stall_cycles) == (c.total_cycles, 0)


def test_unknown_stall_model_is_an_input_error():
    from accelsim.common.errors import InputError

    with pytest.raises(InputError, match="stall_model"):
        _arch(stall_model="magic")
