"""accelsim against every SCALE-Sim 2.0.2 run kept in reports/validation/scalesim/ (produced by
bench/validate_scalesim.py --run-scalesim; SCALE-Sim takes minutes to an hour per topology, so
its reports are committed and this test re-checks accelsim against them in seconds): every
column of COMPUTE, BANDWIDTH and DETAILED_ACCESS reports, every layer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "reports" / "validation" / "scalesim"
PAIRS = sorted(p.name for p in CACHE.glob("*_*") if (p / "DETAILED_ACCESS_REPORT.csv").is_file())


def _validator():
    spec = importlib.util.spec_from_file_location("validate_scalesim",
                                                  ROOT / "bench" / "validate_scalesim.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reports_cover_the_acceptance_configs():
    # the four CALC configs and both USER configs of the validation script are represented
    cfgs = {p.rsplit("_", 1)[1] if not p.startswith("test_user") else p[5:] for p in PAIRS}
    assert {"scale", "google"} <= cfgs, PAIRS


@pytest.mark.parametrize("pair", PAIRS)
def test_every_column_of_every_layer_equals_scalesim(pair):
    v = _validator()
    topo, cfg = pair.split("_", 1)
    d = CACHE / pair
    theirs_c, theirs_b, theirs_d = (v.read_report(d / f) for f in (
        "COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"))
    mine, _ = v.ours(topo, cfg)
    assert len(mine) == len(theirs_c) == len(theirs_b) == len(theirs_d)
    for i, r in enumerate(mine):
        theirs = dict(zip(v.COMPUTE, theirs_c[i])) | dict(zip(v.BW, theirs_b[i])) | dict(
            zip(v.DETAIL, theirs_d[i]))
        for q in v.COMPUTE + v.DETAIL + v.BW:
            if q in v.FLOATS:
                assert r[q] == pytest.approx(theirs[q], rel=1e-9, abs=1e-9), (pair, i, q)
            else:
                assert int(r[q]) == int(theirs[q]), (pair, i, q)
