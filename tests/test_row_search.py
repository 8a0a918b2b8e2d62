"""row_search: the interpolating search for the row where an ifmap epoch ends, against a
brute-force scan of the same counts, on random non-decreasing count profiles (bursts, flat
stretches, a short range, a known or unknown whole-range count, good and bad rate guesses)."""

import random

import numpy as np
import pytest

from accelsim.engine.memory.row_search import (_search_feed, _search_next, _search_result,
                                               _search_start, _search_state)


def _run(per_row, t0, t_end, need, known, rate):
    """The search over rows [t0, t_end) whose new words are per_row[t]; returns its result
    and the number of counts it asked for (each checked to be a range after the last)."""
    pre = np.concatenate([[0], np.cumsum(per_row)])
    st = _search_state()
    c_end = int(pre[t_end] - pre[t0]) if known else -1
    _search_start(st, t0, t_end, need, c_end, rate)
    counts = 0
    a, b = _search_next(st)
    while b >= 0:
        assert t0 <= a < b <= t_end
        _search_feed(st, int(pre[b] - pre[a]))
        counts += 1
        assert counts < 200
        a, b = _search_next(st)
    return _search_result(st), counts, pre


def _brute(pre, t0, t_end, need):
    for t1 in range(t0 + 1, t_end + 1):
        if pre[t1] - pre[t0] >= need:
            return True, t1 - 1, int(pre[t1 - 1] - pre[t0])
    return False, t_end, int(pre[t_end] - pre[t0])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_search_finds_the_row_brute_force_finds(seed):
    rng = random.Random(seed)
    kinds = {"reached": 0, "short": 0, "known": 0, "bad rate": 0, "flat": 0}
    for _ in range(400):
        n = rng.randint(1, 300)
        shape = rng.choice(["uniform", "bursts", "flat start", "sparse"])
        if shape == "uniform":
            per_row = [rng.randint(2, 6) for _ in range(n)]
        elif shape == "bursts":
            per_row = [rng.choice([0, 0, 0, 40]) for _ in range(n)]
        elif shape == "flat start":
            k = rng.randint(0, n)
            per_row = [0] * k + [rng.randint(0, 9) for _ in range(n - k)]
            kinds["flat"] += 1
        else:
            per_row = [1 if rng.random() < 0.05 else 0 for _ in range(n)]
        t0 = rng.randint(0, n - 1)
        total = sum(per_row[t0:])
        need = rng.randint(1, max(1, total + rng.choice([0, 0, 5])))
        known = rng.random() < 0.5
        rate = rng.choice([0.0, 0.01, 1.0, 4.0, 100.0])
        (reached, t, got, _), counts, pre = _run(per_row, t0, n, need, known, rate)
        assert (reached, t, got) == _brute(pre, t0, n, need)
        kinds["reached" if reached else "short"] += 1
        kinds["known"] += known
        kinds["bad rate"] += rate in (0.01, 100.0)
    assert min(kinds.values()) > 0, kinds


def test_search_with_a_fair_rate_takes_few_counts():
    """Even words per row and the rate of the last epoch: the row in a handful of counts,
    where galloping and bisection take about 2 log2(rows) (here ~20)."""
    per_row = [4] * 5000
    (reached, t, got, rate), counts, _ = _run(per_row, 0, 5000, 4 * 700 + 1, False, 4.0)
    assert (reached, t, got) == (True, 700, 2800)
    assert counts <= 4
    assert rate == pytest.approx(4.0, rel=0.01)
