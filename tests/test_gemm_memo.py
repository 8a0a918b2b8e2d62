"""The shortcuts in the Python around the exact tier's kernel (evaluate/layers.simulate_gemm,
engine/operands.ifmap_addressing_memo): each against the plain computation it replaces, on
random layers and archs, with the edges each relies on (memo size limit, grouped/strided/padded
layers, batch, USER mode, a caller that edits the row it got)."""

import dataclasses
import random

import numpy as np
import pytest

from accelsim.engine import operands
from accelsim.engine.mapping import map_layer
from accelsim.evaluate import layers as LY
from accelsim.hardware.arch import Arch, PoolUnit
from accelsim.workload.layer import Layer, accumulate_adds, macs


def _random_layer(rng: random.Random) -> Layer:
    g = rng.choice([1, 1, 2, 4])
    C, K = g * rng.randint(1, 6), g * rng.randint(1, 5)
    R, S = rng.randint(1, 4), rng.randint(1, 4)
    sh, sw = rng.randint(1, 3), rng.randint(1, 3)
    ph, pw = rng.randint(0, R - 1), rng.randint(0, S - 1)
    H, W = rng.randint(R, 14), rng.randint(S, 14)
    E, F = (H + 2 * ph - R) // sh + 1, (W + 2 * pw - S) // sw + 1
    return Layer(f"l{rng.random()}", "conv2d", (C, H, W), (K, E, F), (R, S), (sh, sw), (ph, pw),
                 groups=g)


def _same_addressing(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


def test_addressing_memo_equals_the_plain_vectors():
    rng = random.Random(5)
    for _ in range(200):
        layer, batch = _random_layer(rng), rng.choice([1, 1, 2, 3])
        _same_addressing(operands.ifmap_addressing_memo(layer, batch),
                         operands.ifmap_addressing(layer, batch))


def test_addressing_memo_keys_on_shape_and_keeps_only_small_layers(monkeypatch):
    operands._addressing_memo.cache_clear()
    a = Layer("a", "conv2d", (8, 10, 10), (4, 8, 8), (3, 3))
    b = dataclasses.replace(a, name="b")                     # equal shape, another object
    first = operands.ifmap_addressing_memo(a, 2)
    assert operands.ifmap_addressing_memo(b, 2) is first     # shared by shape, not by name
    assert operands.ifmap_addressing_memo(a, 3) is not first  # batch is part of the key
    # a layer of more pixels (x batch) than the limit is built fresh every call
    monkeypatch.setattr(operands, "_MEMO_PIXELS", 2 * 8 * 8 - 1)
    big = operands.ifmap_addressing_memo(a, 2)
    assert big is not operands.ifmap_addressing_memo(a, 2)
    _same_addressing(big, first)
    # exactly at the limit it is memoized
    monkeypatch.setattr(operands, "_MEMO_PIXELS", 2 * 8 * 8)
    assert operands.ifmap_addressing_memo(a, 2) is first


@pytest.mark.parametrize("mode", ["calc", "user"])
def test_arch_projection_equals_a_validated_copy(mode):
    rng = random.Random(7 if mode == "calc" else 8)
    for _ in range(50):
        arch = Arch(f"x{rng.random()}", rng.randint(1, 64), rng.randint(1, 64),
                    rng.choice(["os", "ws", "is"]), rng.choice([1, 8, 64.5]), 16, 8,
                    word_bits=rng.choice([8, 16]), clock_mhz=rng.choice([200.0, 1000.0]),
                    bandwidth_mode=mode, dram_bw_words_per_cycle=rng.choice([2.0, 10.0, 16.0]),
                    stall_model=rng.choice(["scalesim", "overlap"]), vector_lanes=32,
                    pool=rng.choice([None, PoolUnit(lanes=8)]), source="s.yaml")
        proj = LY._gemm_arch.__wrapped__(arch)
        user = mode == "user"
        ref = dataclasses.replace(
            arch, name="", source="", clock_mhz=1000.0, vector_lanes=16, pool=None,
            energy="horowitz45",
            dram_bw_words_per_cycle=arch.dram_bw_words_per_cycle if user else 10.0,
            stall_model=arch.stall_model if user else "scalesim")
        assert type(proj) is Arch and proj == ref and hash(proj) == hash(ref)
        assert vars(proj) == vars(ref)


def test_row_macs_equal_the_layer_counts_and_memo_rows_stay_unchanged():
    rng = random.Random(11)
    for _ in range(60):
        layer, batch = _random_layer(rng), rng.choice([1, 2, 3])
        arch = Arch("p", rng.choice([2, 4, 8]), rng.choice([2, 4, 8]),
                    rng.choice(["os", "ws", "is"]), 4, 4, 4)
        mp = map_layer(layer, arch, batch)
        row = LY.simulate_gemm(layer, arch, batch)
        assert row["macs"] == row["mults"] == batch * macs(layer)
        assert row["mac_adds"] == row["adds"] == batch * accumulate_adds(layer)
        assert (row["M"], row["N"], row["K"]) == (mp.M, mp.N, mp.K)
        # the memo's row is read-only: a caller editing its copy changes no later answer
        row["macs"] = -1
        row["extra"] = 1
        again = LY.simulate_gemm(layer, arch, batch)
        assert again["macs"] == batch * macs(layer) and "extra" not in again
        assert list(again) == list(dict(LY._gemm_row.__wrapped__(layer, arch, batch)))
