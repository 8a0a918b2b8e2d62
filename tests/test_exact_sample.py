"""The exact tier's numbers do not change (issue 14 acceptance): a seeded sample of
(layer, arch, batch) points whose full rows were stored in tests/data/exact_sample.json BEFORE
the engine was made faster (batch that scales linearly, the new-geometry rate) is recomputed and
compared value by value (==, same type).

The sample: random GEMM layers of the shipped networks on random arrays (CALC, USER with both
stall models), ResNet-50's early layers at batch >= 19 (their ifmap streams pass 2^25
positions, where the CALC engine used to fall back to the slot-by-slot walk), and fused
(sumpool, conv) pairs at cycle level (engine/poolsched) in every production order at batch 1-4.

    .venv/bin/python tests/test_exact_sample.py --write    # regenerate (only from a trusted tree)
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accelsim.engine import poolsched  # noqa: E402
from accelsim.evaluate.simulate import simulate_gemm  # noqa: E402
from accelsim.hardware.arch import Arch, PoolUnit, arch_to_dict, load_arch  # noqa: E402
from accelsim.workload.layer import Layer  # noqa: E402
from accelsim.workload.networks import load_workload  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "exact_sample.json"
SEED = 14

NETWORKS = ("resnet18:regular", "resnet50:regular", "mobilenetv2:regular", "resnet56:regular",
            "efficientnet_b0:regular", "resnet18:A", "mobilenetv2:A")
# ResNet-50 layers whose non-distinct ifmap stream passes 2^25 positions at batch >= 19
EARLY = ("conv1", "layer1.0.conv2", "layer1.1.conv2", "layer2.0.conv2")


def _gemms(spec: str) -> list[Layer]:
    return [l for l in load_workload(spec).layers if l.is_gemm]


def _random_arch(rng: random.Random, mode: str) -> Arch:
    d = dict(rows=rng.choice([4, 8, 12, 16, 32, 48, 64, 128, 256]),
             cols=rng.choice([4, 8, 14, 16, 32, 48, 64, 128, 256]),
             dataflow=rng.choice(["os", "ws", "is"]),
             ifmap_sram_kb=rng.choice([2, 8, 16, 36, 64, 256, 1024]),
             filter_sram_kb=rng.choice([2, 8, 16, 36, 64, 256, 1024]),
             ofmap_sram_kb=rng.choice([2, 4, 16, 36, 128]),
             word_bits=rng.choice([8, 8, 16]))
    if mode == "calc":
        return Arch("sample", **d)
    stall = "overlap" if mode == "overlap" else "scalesim"
    return Arch("sample", **d, bandwidth_mode="user", stall_model=stall,
                dram_bw_words_per_cycle=float(rng.choice([2, 4, 8, 16])))


def _gemm_points(rng: random.Random) -> list[tuple]:
    nets = {s: _gemms(s) for s in NETWORKS}
    pts = []
    for i in range(120):
        layer = rng.choice(nets[rng.choice(NETWORKS)])
        mode = "calc" if i % 3 else "overlap"
        pts.append((layer, _random_arch(rng, mode), rng.choice([1, 1, 2, 3, 4])))
    # SCALE-Sim's USER read buffers walk address by address: small layers only
    small = [l for l in nets["resnet56:regular"]] + [l for l in nets["mobilenetv2:regular"]
                                                     if l.out_shape[1] <= 14]
    for _ in range(12):
        pts.append((rng.choice(small), _random_arch(rng, "scalesim"), rng.choice([1, 2])))
    r50 = {l.name: l for l in nets["resnet50:regular"]}
    presets = ["scalesim-eyeriss", "scalesim-32x32-os", "scalesim-google", "edge-npu"]
    for name in EARLY:
        for batch in (19, 32):
            pts.append((r50[name], load_arch("scalesim-eyeriss"), batch))
        pts.append((r50[name], load_arch(rng.choice(presets[1:])), rng.choice([19, 20, 24])))
    return pts


def _pool_points(rng: random.Random) -> list[tuple]:
    pairs = []
    for spec in ("resnet18:A", "mobilenetv2:A"):
        ls = load_workload(spec).layers
        pairs += [(ls[i], ls[i + 1]) for i in range(len(ls) - 1)
                  if ls[i].op == "sumpool" and ls[i + 1].is_gemm and ls[i + 1].structured]
    pts = []
    for i in range(32):
        pool, conv = rng.choice(pairs)
        arch = Arch("sample", rng.choice([8, 16, 32, 64]), rng.choice([8, 16, 32, 64]),
                    rng.choice(["os", "ws", "is"]), 64, 64, 64,
                    pool=PoolUnit(lanes=rng.choice([8, 32]),
                                  input_words_per_cycle=rng.choice([16, 64])))
        order = ("nhwc", "nchw", "demand", "refold")[i % 4]
        staging = rng.choice([None, 256, 4096, 65536])
        pts.append((pool, conv, arch, rng.choice([1, 2, 3, 4]), order, staging))
    return pts


def _plain(v):
    """A row value as JSON keeps it (numpy scalars to Python ones)."""
    if isinstance(v, (str, bool)) or v is None:
        return v
    if isinstance(v, float) or type(v).__name__.startswith("float"):
        return float(v)
    return int(v)


def _layer_dict(l: Layer) -> dict:
    return asdict(l)


def _layer(d: dict) -> Layer:
    d = dict(d)
    for k in ("in_shape", "out_shape", "kernel", "stride", "padding"):
        d[k] = tuple(d[k])
    return Layer(**d)


def _arch(d: dict) -> Arch:
    d = dict(d)
    if d.get("pool") is not None:
        d["pool"] = PoolUnit(**d["pool"])
    return Arch(**d)


def generate() -> dict:
    rng = random.Random(SEED)
    gemm = [{"layer": _layer_dict(l), "arch": arch_to_dict(a), "batch": b,
             "row": {k: _plain(v) for k, v in simulate_gemm(l, a, b).items()}}
            for l, a, b in _gemm_points(rng)]
    pool = [{"pool": _layer_dict(p), "conv": _layer_dict(c), "arch": arch_to_dict(a),
             "batch": b, "order": o, "staging_words": s,
             "row": {k: _plain(v) for k, v in
                     asdict(poolsched.cosim_pair(p, c, a, b, o, s)).items()}}
            for p, c, a, b, o, s in _pool_points(rng)]
    return {"seed": SEED, "gemm": gemm, "pool": pool}


@pytest.fixture(scope="module")
def sample():
    return json.loads(DATA.read_text())


def _same(got: dict, want: dict) -> list[str]:
    got = {k: _plain(v) for k, v in got.items()}
    return [f"{k}: {got.get(k)!r} != {want[k]!r}" for k in want
            if k not in got or got[k] != want[k] or type(got[k]) is not type(want[k])] + \
        [f"{k}: new column" for k in got if k not in want]


def test_sample_covers_the_large_batch_path(sample):
    big = [p for p in sample["gemm"] if p["batch"] >= 19]
    assert len(big) >= 8
    # the ifmap stream of these points is longer than 2^25 positions (M * K slots)
    assert all(p["row"]["M"] * p["row"]["K"] > 1 << 25 for p in big
               if p["layer"]["name"] != "layer2.0.conv2")
    assert {p["arch"]["name"] for p in big} >= {"scalesim-eyeriss"}
    assert {p["order"] for p in sample["pool"]} == {"nhwc", "nchw", "demand", "refold"}


def test_gemm_rows_unchanged(sample):
    bad = []
    for i, p in enumerate(sample["gemm"]):
        diff = _same(simulate_gemm(_layer(p["layer"]), _arch(p["arch"]), p["batch"]), p["row"])
        if diff:
            bad.append(f"point {i} ({p['layer']['name']}, batch {p['batch']}): {diff[:3]}")
    assert not bad, "\n".join(bad)


def test_pool_pairs_unchanged(sample):
    poolsched.clear_caches()
    bad = []
    for i, p in enumerate(sample["pool"]):
        s = poolsched.cosim_pair(_layer(p["pool"]), _layer(p["conv"]), _arch(p["arch"]),
                                 p["batch"], p["order"], p["staging_words"])
        diff = _same(asdict(s), p["row"])
        if diff:
            bad.append(f"pair {i} ({p['conv']['name']}, {p['order']}, batch {p['batch']}): "
                       f"{diff[:3]}")
    assert not bad, "\n".join(bad)


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        DATA.parent.mkdir(exist_ok=True)
        d = generate()
        # one point per line: a changed number shows as a one-line diff
        lines = [f'{{"seed": {d["seed"]},']
        for part in ("gemm", "pool"):
            pts = [json.dumps(p, sort_keys=True, separators=(",", ":")) for p in d[part]]
            end = "," if part == "gemm" else ""
            lines.append(f'"{part}": [\n' + ",\n".join(pts) + f"\n]{end}")
        DATA.write_text("\n".join(lines) + "}\n")
        print(f"wrote {DATA}")
