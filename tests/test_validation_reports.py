"""accelsim against every SCALE-Sim 2.0.2 run kept on disk: reports/validation/scalesim/
(produced by bench/validate_scalesim.py --run-scalesim; SCALE-Sim takes minutes to an hour per
topology, so its reports are committed and this test re-checks accelsim against them in
seconds) and SCALE-Sim's own Resnet18 x scale.cfg reference run in tests/data/scalesim/: every
column of COMPUTE, BANDWIDTH and DETAILED_ACCESS reports, every layer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _validator():
    spec = importlib.util.spec_from_file_location("validate_scalesim",
                                                  ROOT / "bench" / "validate_scalesim.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


V = _validator()
# every (topology, config) pair the validation lists, except those SCALE-Sim could not finish
# (SUMMARY.md says so instead of comparing); each must have its reports on disk
PAIRS = [p for p in V.DEFAULT_PAIRS if p not in V.UNFINISHED]


def _reports(pair: str) -> Path:
    d = V.scalesim_reports(*pair.split(":"), run=False)
    if d is None:
        pytest.fail(f"no SCALE-Sim reports on disk for {pair} (bench/validate_scalesim.py "
                    f"--run-scalesim --pairs {pair})")
    return d


def test_every_listed_pair_has_reports():
    missing = [p for p in PAIRS if V.scalesim_reports(*p.split(":"), run=False) is None]
    assert not missing, f"no SCALE-Sim reports for {missing}"
    # an unfinished pair is named with its reason, and is still one of the listed pairs
    assert set(V.UNFINISHED) <= set(V.DEFAULT_PAIRS) and len(PAIRS) >= 15


def test_reports_cover_the_acceptance_configs():
    # issue 3: SCALE-Sim's Resnet18, alexnet and mobilenet topologies on its three example
    # configs and an input-stationary one (CALC), and USER-bandwidth runs with stalls
    calc = {f"{t}:{c}" for t in ("Resnet18", "alexnet", "mobilenet")
            for c in ("scale", "google", "eyeriss", "is32")}
    missing = calc - set(PAIRS)
    assert not missing, f"no SCALE-Sim reports for {sorted(missing)}"
    user = [p for p in PAIRS if V.CONFIGS[p.split(":")[1]]["mode"] == "USER"]
    stalled = [p for p in user if any(row[1] > 0 for row in V.read_report(
        _reports(p) / "COMPUTE_REPORT.csv"))]
    assert len(stalled) >= 2, user


@pytest.mark.parametrize("pair", PAIRS)
def test_every_column_of_every_layer_equals_scalesim(pair):
    topo, cfg = pair.split(":")
    d = _reports(pair)
    theirs_c, theirs_b, theirs_d = (V.read_report(d / f) for f in (
        "COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"))
    mine, _ = V.ours(topo, cfg)
    assert len(mine) == len(theirs_c) == len(theirs_b) == len(theirs_d)
    for i, r in enumerate(mine):
        theirs = dict(zip(V.COMPUTE, theirs_c[i])) | dict(zip(V.BW, theirs_b[i])) | dict(
            zip(V.DETAIL, theirs_d[i]))
        for q in V.COMPUTE + V.DETAIL + V.BW:
            if q in V.FLOATS:
                assert r[q] == pytest.approx(theirs[q], rel=1e-9, abs=1e-9), (pair, i, q)
            else:
                assert int(r[q]) == int(theirs[q]), (pair, i, q)
