"""SRAM address traces (engine/sram_trace.py, ``accelsim simulate --trace``) against SCALE-Sim 2.0.2
run here: IFMAP/FILTER/OFMAP_SRAM_TRACE.csv must be byte-identical, os/ws/is, CALC and USER
(small SRAMs, so USER mode stalls), non-square arrays, stride 2 with odd H-R, non-default
address offsets, several blocks per file. Layers beyond SCALE-Sim (padding, batch, groups) are
checked against the memory engine's own start/stop cycles and closed forms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import accelsim.engine.sram_trace as trace
from accelsim.hardware.arch import Arch, load_scalesim_cfg, to_scalesim_cfg
from accelsim.cli import main
from accelsim.engine.memory import simulate_memory
from accelsim.engine.operands import unique_ifmap_words
from accelsim.engine.systolic import cycles_per_fold
from accelsim.common.errors import InputError
from accelsim.engine.mapping import map_layer
from accelsim.workload.layer import Layer, Workload, read_workload_csv, workload_to_csv

TOPO_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
               "Num Filter, Strides,\n")
# (H, W, R, S, C, N, stride): a has H-R = 7 (odd) at stride 2 (SCALE-Sim's ceil rule adds a
# pixel whose window leaves the image), b non-square everything, c a 1x1 with several folds,
# g stalls in every USER config below
TINY = "a,10,10,3,3,3,10,2,\nb,6,5,2,3,5,7,1,\nc,4,4,1,1,24,40,1,\ng,9,9,3,3,8,16,2,\n"
CONFIGS = [
    dict(rows=4, cols=6, kb=(1, 1, 1), bw=10, df="os", mode="calc", block=64,
         offsets=(0, 10_000_000, 20_000_000)),
    dict(rows=8, cols=3, kb=(1, 2, 1), bw=10, df="ws", mode="calc", block=trace.BLOCK_VALUES,
         offsets=(7, 5_000, 90_000)),
    dict(rows=5, cols=4, kb=(1, 1, 2), bw=10, df="is", mode="calc", block=64,
         offsets=(0, 10_000_000, 20_000_000)),
    dict(rows=4, cols=4, kb=(1, 1, 1), bw=4, df="os", mode="user", block=64,
         offsets=(0, 10_000_000, 20_000_000)),
    dict(rows=6, cols=4, kb=(1, 1, 1), bw=3, df="ws", mode="user", block=trace.BLOCK_VALUES,
         offsets=(3, 10_000_000, 20_000_000)),
    dict(rows=4, cols=5, kb=(1, 1, 1), bw=5, df="is", mode="user", block=64,
         offsets=(0, 10_000_000, 20_000_000)),
]


def _arch(c: dict) -> Arch:
    i, f, o = c["offsets"]
    return Arch("t", c["rows"], c["cols"], c["df"], *c["kb"], bandwidth_mode=c["mode"],
                dram_bw_words_per_cycle=c["bw"], ifmap_offset=i, filter_offset=f,
                ofmap_offset=o)


@pytest.mark.parametrize("conf", CONFIGS,
                         ids=lambda c: f"{c['df']}-{c['mode']}-{c['rows']}x{c['cols']}")
def test_traces_byte_identical_to_scalesim(tmp_path, monkeypatch, conf):
    scale_sim = pytest.importorskip("scalesim.scale_sim")
    cfg, topo = tmp_path / "t.cfg", tmp_path / "tiny.csv"
    cfg.write_text(to_scalesim_cfg(_arch(conf)))
    topo.write_text(TOPO_HEADER + TINY)
    s = scale_sim.scalesim(save_disk_space=False, verbose=False, config=str(cfg),
                           topology=str(topo))
    s.run_scale(top_path=str(tmp_path))
    monkeypatch.setattr(trace, "BLOCK_VALUES", conf["block"])   # many blocks per file
    arch = load_scalesim_cfg(cfg)                                # offsets read from the .cfg
    assert (arch.ifmap_offset, arch.filter_offset, arch.ofmap_offset) == conf["offsets"]
    stalls = 0
    for i, layer in enumerate(read_workload_csv(topo).layers):
        rows = trace.write_sram_traces(layer, arch, tmp_path / "acc" / layer.name)
        for name in trace.TRACE_FILES:
            ref = (tmp_path / "t" / f"layer{i}" / name).read_bytes()
            assert (tmp_path / "acc" / layer.name / name).read_bytes() == ref, (layer.name, name)
            assert ref.count(b"\n") == rows
        stalls += simulate_memory(layer, arch, map_layer(layer, arch)).stall_cycles
    if conf["mode"] == "user":
        assert stalls > 0          # the read buffers did stall: service cycles carry the waits


def test_csv_bytes_are_savetxt_bytes(tmp_path):
    rng = np.random.default_rng(0)
    block = rng.integers(-1, 3 * 10 ** 9, size=(50, 7), dtype=np.int64)
    block[::3, 2] = -1
    block[1, :] = 0
    np.savetxt(tmp_path / "ref.csv", block, fmt="%i", delimiter=",")
    buf = np.empty(block.size * 21, dtype=np.uint8)
    n = trace._csv_bytes(block, buf)
    assert buf[:n].tobytes() == (tmp_path / "ref.csv").read_bytes()


def _load(folder: Path, name: str) -> np.ndarray:
    return np.loadtxt(folder / name, delimiter=",", dtype=np.int64, ndmin=2)


def _first_last_cycles(tr: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero((tr[:, 1:] >= 0).any(axis=1))
    return int(tr[rows[0], 0]), int(tr[rows[-1], 0])


EXTENSIONS = [   # (layer, batch): padding, batch, groups, depthwise
    (Layer("pad", "conv2d", (3, 7, 6), (5, 7, 6), (3, 3), (1, 1), (1, 1)), 1),
    (Layer("batch", "conv2d", (4, 6, 6), (6, 4, 4), (3, 3)), 3),
    (Layer("grp", "conv2d", (8, 6, 6), (6, 6, 6), (3, 3), (1, 1), (1, 1), groups=2), 1),
    (Layer("dw", "conv2d", (6, 7, 7), (6, 4, 4), (3, 3), (2, 2), (1, 1), groups=6), 2),
]


def _plain_walk(monkeypatch):
    """simulate_memory through the memory engine's plain walk, every fold and address visited
    (its fast paths off: memory.FastPaths), the reference tests/test_memory_speedpaths.py
    checks the fast paths against."""
    import accelsim.engine.memory as mm

    walk = mm._walk

    def plain(folds, im2col, bufs, paths):
        return walk(folds, im2col, bufs, paths._replace(
            nowalk_if=False, nowalk_f=False, dist_if=False, dist_f=False, events=False))

    monkeypatch.setattr(mm, "_walk", plain)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("mode", ["calc", "user"])
def test_extension_layers_agree_with_the_memory_engine(tmp_path, monkeypatch, df, mode):
    """accelsim's own addressing (docs/memory.md "SRAM traces"): every real word appears,
    padding never does, and the service cycles are the memory engine's walk's (SRAM start /
    stop, total cycles)."""
    _plain_walk(monkeypatch)
    arch = Arch("t", 5, 3, df, 1, 1, 1, bandwidth_mode=mode, dram_bw_words_per_cycle=4)
    for layer, batch in EXTENSIONS:
        out = tmp_path / layer.name
        rows = trace.write_sram_traces(layer, arch, out, batch)
        mp = map_layer(layer, arch, batch)
        mem = simulate_memory(layer, arch, mp)
        tif, tf, tof = (_load(out, n) for n in trace.TRACE_FILES)
        assert len(tif) == len(tf) == len(tof) == rows
        assert rows == mp.folds * cycles_per_fold(mp)
        assert int(tof[-1, 0]) == mem.total_cycles
        assert _first_last_cycles(tif) == (mem.ifmap_sram_start_cycle, mem.ifmap_sram_stop_cycle)
        assert _first_last_cycles(tf) == (mem.filter_sram_start_cycle,
                                          mem.filter_sram_stop_cycle)
        assert _first_last_cycles(tof) == (mem.ofmap_sram_start_cycle, mem.ofmap_sram_stop_cycle)
        i_addr = np.unique(tif[:, 1:][tif[:, 1:] >= 0]) - arch.ifmap_offset
        assert len(i_addr) == unique_ifmap_words(layer, batch)     # padding is never read
        assert i_addr.max() < batch * int(np.prod(layer.in_shape))
        f_addr = np.unique(tf[:, 1:][tf[:, 1:] >= 0]) - arch.filter_offset
        assert np.array_equal(f_addr, np.arange(mp.groups * mp.N * mp.K))
        o_addr = tof[:, 1:][tof[:, 1:] >= 0] - arch.ofmap_offset
        assert np.array_equal(np.unique(o_addr), np.arange(batch * int(np.prod(layer.out_shape))))


def test_overlap_stall_model_traces_the_calc_schedule(tmp_path):
    layer = Layer("x", "conv2d", (4, 8, 8), (6, 6, 6), (3, 3))
    calc = Arch("t", 4, 4, "ws", 1, 1, 1)
    trace.write_sram_traces(layer, calc, tmp_path / "calc")
    trace.write_sram_traces(layer, calc.with_(bandwidth_mode="user", stall_model="overlap",
                                              dram_bw_words_per_cycle=0.5), tmp_path / "ov")
    for name in trace.TRACE_FILES:
        assert (tmp_path / "ov" / name).read_bytes() == (tmp_path / "calc" / name).read_bytes()


def test_bad_layers_and_bandwidth_are_input_errors(tmp_path):
    add = Layer("add", "add", (4, 6, 6), (4, 6, 6))
    with pytest.raises(InputError, match="only conv/linear"):
        trace.write_sram_traces(add, Arch("t", 4, 4, "os", 1, 1, 1), tmp_path)
    # a fractional USER bandwidth under SCALE-Sim's stall model is refused when the arch is made
    with pytest.raises(InputError, match="dram_bw_words_per_cycle"):
        Arch("t", 4, 4, "os", 1, 1, 1, bandwidth_mode="user", dram_bw_words_per_cycle=2.5)


# ---- CLI ------------------------------------------------------------------------------------
def _tiny_workload(tmp_path: Path) -> str:
    layers = [Layer("c1", "conv2d", (3, 10, 10), (8, 10, 10), (3, 3), (1, 1), (1, 1)),
              Layer("c2.sumpool", "sumpool", (8, 10, 10), (8, 11, 11), (2, 2), (1, 1), (1, 1),
                    c=8, n=2),
              Layer("c2", "conv2d", (8, 11, 11), (8, 10, 10), (2, 2), c=8, n=2),
              Layer("add", "add", (8, 10, 10), (8, 10, 10)),
              Layer("fc", "linear", (800, 1, 1), (10, 1, 1))]
    path = tmp_path / "tiny.csv"
    path.write_text(workload_to_csv(Workload("tiny", "regular", layers, (3, 10, 10))))
    return str(path)


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("extra, needle", [
    (["--trace", "c1"], "--out"),                                   # no --out
    (["--out", "OUT", "--trace", "c1", "nope"], "'nope'"),           # unknown layer
    (["--out", "OUT", "--trace", "add"], "vector unit"),             # not on the array
    (["--out", "OUT", "--trace", "c2.sumpool"], "pool unit"),        # edge-npu has one
])
def test_cli_trace_errors_exit_2_one_line(capsys, tmp_path, extra, needle):
    wl = _tiny_workload(tmp_path)
    extra = [str(tmp_path / "o") if a == "OUT" else a for a in extra]
    code, _, err = _run(capsys, "simulate", "--arch", "edge-npu", "--workload", wl, *extra)
    assert code == 2 and needle in err and "--trace" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_writes_deterministic_traces_atomically(capsys, tmp_path, monkeypatch):
    wl = _tiny_workload(tmp_path)
    out = tmp_path / "sim"
    # no pool unit: the sumpool runs on the array as an all-ones conv, so it has traces
    argv = ["simulate", "--arch", "scalesim-32x32-os", "--workload", wl, "--out", str(out),
            "--trace", "c1", "c2.sumpool", "fc"]
    assert _run(capsys, *argv)[0] == 0
    tdir = out / "traces"
    files = sorted(p.relative_to(tdir).as_posix() for p in tdir.rglob("*.csv"))
    assert files == sorted(f"{n}/{f}" for n in ("c1", "c2.sumpool", "fc")
                           for f in trace.TRACE_FILES)
    first = {f: (out / "traces" / f).read_bytes() for f in files}
    summary = json.loads((out / "summary.json").read_text())
    assert _run(capsys, *argv)[0] == 0
    assert {f: (out / "traces" / f).read_bytes() for f in files} == first
    # the last ofmap row is served at the layer's total cycles (layers.csv)
    import pandas as pd

    df = pd.read_csv(out / "layers.csv").set_index("layer")
    last = (out / "traces" / "c1" / "OFMAP_SRAM_TRACE.csv").read_text().splitlines()[-1]
    assert int(last.split(",")[0]) == df.loc["c1", "total_cycles"]
    assert summary["total_cycles"] == int(df["total_cycles"].sum())

    # a failure while writing traces leaves the previous output untouched
    def broken(layer, arch, folder, batch=1):
        Path(folder).mkdir(parents=True)
        (Path(folder) / trace.TRACE_FILES[0]).write_text("partial")
        raise InputError("disk full", source=str(folder))

    monkeypatch.setattr(trace, "write_sram_traces", broken)
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "disk full" in err
    assert {f: (out / "traces" / f).read_bytes() for f in files} == first
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
