"""accelsim export: a structured variant as ONNX (sum-pool an explicit ai.accelsim::SumPool node
whose ONNX function computes it: the file passes ONNX's full checker, and where onnxruntime is
installed its output equals torch's), re-imported as the same workload with the same simulated
numbers; and a sweep store as Parquet with every metric a typed column equal to the store."""

import json
import sqlite3

import pytest

import accelsim as acc
from accelsim.cli import main

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")


def _key(l):
    # bias is left out: the exporter folds BatchNorm into the conv before it (a bias input),
    # which changes no simulated count
    return (l.name, l.op, l.in_shape, l.out_shape, l.kernel, l.stride, l.padding, l.groups,
            l.pool_channels, l.c, l.n)


@pytest.fixture(scope="module")
def r56b(tmp_path_factory):
    path = tmp_path_factory.mktemp("x") / "r56b.onnx"
    assert main(["export", "resnet56", "--variant", "B", "-o", str(path)]) == 0
    return path


def test_onnx_sumpool_is_an_explicit_op_and_the_file_is_valid(r56b):
    m = onnx.load(str(r56b))
    onnx.checker.check_model(m, full_check=True)
    ops = [n for n in m.graph.node if n.domain == "ai.accelsim"]
    wl = acc.load_workload("resnet56:B")
    pools = [l for l in wl.layers if l.op == "sumpool"]
    assert len(ops) == len(pools) > 0 and {n.op_type for n in ops} == {"SumPool"}
    assert [f.name for f in m.functions] == ["SumPool"]   # its definition travels with it


def test_onnx_reimports_as_the_same_workload_and_numbers(r56b):
    got = acc.load_workload(r56b)
    want = acc.load_workload("resnet56:B")
    assert [_key(l) for l in got.layers] == [_key(l) for l in want.layers]
    arch = acc.load_arch("edge-npu")
    a = acc.summarize(acc.simulate(got, arch), arch)
    b = acc.summarize(acc.simulate(want, arch), arch)
    for k in ("total_cycles", "macs", "pool_adds", "dram_bytes", "fused_pairs"):
        assert a[k] == b[k], k
    assert a["energy_uj"] == pytest.approx(b["energy_uj"], rel=1e-12)


def test_onnx_runtime_output_equals_torch(r56b):
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    from accelsim.workload.networks import variant_model

    # float32 whatever the default dtype (tests/test_structured.py sets float64 for the session)
    model = variant_model("resnet56", "B").float().eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0),
                    dtype=torch.float32)
    with torch.no_grad():
        want = model(x).numpy()
    sess = ort.InferenceSession(str(r56b), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_sumpool_function_body_is_the_sum(tmp_path):
    """The SumPool function alone, run by ONNX's reference evaluator, against a brute-force sum
    over each output's window (grouped, padded, rectangular)."""
    from onnx.reference import ReferenceEvaluator

    from accelsim.report.export import export_onnx
    from accelsim.workload.structured import StructuredConv2d

    conv = StructuredConv2d(6, 4, (3, 2), c=2, n=2, padding=(1, 1), groups=2).double()
    path = tmp_path / "one.onnx"
    export_onnx(torch.nn.Sequential(conv).float(), (6, 5, 7), path)
    m = onnx.load(str(path))
    node = next(n for n in m.graph.node if n.op_type == "SumPool")
    x = torch.randn(1, 6, 5, 7, generator=torch.Generator().manual_seed(1))
    sub = onnx.helper.make_model(
        onnx.helper.make_graph([node], "g",
                               [onnx.helper.make_tensor_value_info(node.input[0], 1, None)],
                               [onnx.helper.make_tensor_value_info(node.output[0], 1, None)]),
        opset_imports=list(m.opset_import), functions=list(m.functions))
    (y,) = ReferenceEvaluator(sub).run(None, {node.input[0]: x.numpy()})
    # brute force: group g, pooled channel k sums channels k..k+bc-1 of the group over bh x bw
    bc, bh, bw = conv.pool_window
    xp = torch.nn.functional.pad(x, (1, 1, 1, 1))[0]
    cg = 3
    for g in range(2):
        for k in range(conv.c):
            for i in range(y.shape[2]):
                for j in range(y.shape[3]):
                    ref = xp[g * cg + k:g * cg + k + bc, i:i + bh, j:j + bw].sum().item()
                    assert y[0, g * conv.c + k, i, j] == pytest.approx(ref, abs=1e-5)


def test_export_bad_input(tmp_path, capsys):
    assert main(["export", "nonet", "-o", str(tmp_path / "m.onnx")]) == 2
    assert main(["export", "resnet56", "--variant", "C", "-o", str(tmp_path / "m.onnx")]) == 2
    assert main(["export", "resnet56", "-o", str(tmp_path / "m.txt")]) == 2
    assert main(["export", str(tmp_path / "none.db"), "-o", str(tmp_path / "t.parquet")]) == 2
    assert "error" in capsys.readouterr().err


def test_store_as_parquet_with_metrics_as_columns(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\nbase: edge-npu\naxes:\n  rows: [8, 16]\n"
                    "networks: [resnet56]\nvariants: [regular, A]\nbatch: 1\n"
                    "objectives: [latency_ms, energy_uj]\n")
    db = tmp_path / "r.db"
    assert main(["sweep", str(spec), "--out", str(db), "--no-progress"]) == 0
    capsys.readouterr()
    out = tmp_path / "t.parquet"
    assert main(["export", str(db), "--parquet", "-o", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == 4
    t = pd.read_parquet(out)
    assert len(t) == 4 and {"rows", "network", "variant", "total_cycles", "energy_uj"} <= set(t)
    assert t["total_cycles"].dtype.kind in "iu" and t["energy_uj"].dtype.kind == "f"
    # the store's own JSON text, read with sqlite3 alone: the same numbers per point
    con = sqlite3.connect(db)
    table = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    cols = {t_: [r[1] for r in con.execute(f"PRAGMA table_info({t_})")] for t_ in table}
    tname = next(t_ for t_, c in cols.items() if "key" in c and "metrics" in c)
    raw = {k: json.loads(m) for k, m in con.execute(f"SELECT key, metrics FROM {tname}")}
    con.close()
    for _, row in t.iterrows():
        assert row["total_cycles"] == raw[row["key"]]["total_cycles"]
        assert row["energy_uj"] == pytest.approx(raw[row["key"]]["energy_uj"], rel=1e-15)
    # same store, same bytes
    again = tmp_path / "u.parquet"
    assert main(["export", str(db), "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
