"""The main job reads simulate's numpy table instead of its DataFrame (issue 14 item 5): the
summary and per-layer rows from a table equal, value and type, those from the DataFrame, and
those the pandas formulation they replace gives (written out here as the reference)."""

import pandas as pd
import pytest

from accelsim.evaluate.simulate import layer_table, to_frame
from accelsim.hardware.arch import load_arch
from accelsim.report import tables
from accelsim.workload.networks import load_workload


def _pandas_parts(df):
    eng = df["engine"]
    gemm = eng == "array"
    pool = eng.isin(["pool", "array-as-pool"])
    return pd.DataFrame({
        "cycles_array": df["compute_cycles"].where(gemm, 0),
        "cycles_pool": df["total_cycles"].where(pool, 0),
        "cycles_vector": df["total_cycles"].where(eng == "vector", 0),
        "cycles_stall": df["stall_cycles"].where(gemm, 0),
    }).astype("int64")


def _pandas_layer_rows(df, arch_name, network, variant):
    parts = _pandas_parts(df)
    full = df.assign(arch=arch_name, network=network, variant=variant,
                     **{c: parts[c] for c in parts.columns})
    cols = [c for c in tables.LAYER_CSV_COLUMNS if c in full.columns]
    return full[cols].to_dict("records")


def _typed(rows):
    return [[(k, type(v), v) for k, v in r.items()] for r in rows]


@pytest.mark.parametrize("arch_name", ["tpu-v1", "scalesim-eyeriss"])  # pool unit, none
@pytest.mark.parametrize("spec", ["resnet18:A", "mobilenetv2:B", "resnet56"])
def test_table_rows_equal_the_frame_rows(arch_name, spec):
    arch = load_arch(arch_name)
    table = layer_table(load_workload(spec), arch)
    df = to_frame(table)
    want = _typed(_pandas_layer_rows(df, arch.name, spec, "v"))
    assert _typed(tables.layer_rows(table, arch.name, spec, "v")) == want
    assert _typed(tables.layer_rows(df, arch.name, spec, "v")) == want
    assert tables.layer_cycle_parts(df).equals(_pandas_parts(df))
    by_frame = tables.summary_row(spec, "v", 7, df, arch)
    by_table = tables.summary_row(spec, "v", 7, table, arch)
    assert _typed([by_table]) == _typed([by_frame])
    want_cycles = {k: int(_pandas_parts(df)[f"cycles_{k}"].sum()) for k in tables.CATEGORIES}
    assert {k: by_table[f"cycles_{k}"] for k in tables.CATEGORIES} == want_cycles
