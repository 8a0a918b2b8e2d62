"""Brute-force, cycle-by-cycle reference of a fused (sumpool, structured conv) pair (issue 10).

Written from the semantics in docs/poolunit.md ("Cycle-level co-simulation") without reading
accelsim/engine/poolsched.py: plain Python, one loop iteration per cycle, every rule applied
literally, for tiny layers only. tests/test_poolsched.py compares the engine against it.

Readings chosen where the text leaves room (the per-cycle description decides):
- An item's words are "all read" when the reader has passed the largest sequence position of
  its own words (the reader reads in sequence order, so that is the same as need'(i)).
- Slot count seen by the unit in cycle tau: used items issued before it (this cycle included)
  whose last row did not issue in an earlier cycle; a row issued in cycle tau frees its items'
  slots only at the end of tau, so the unit cannot reuse them before tau + 1.
- The run ends with the array's last row; items still unmade then (unused values at the end of
  the nhwc/nchw order) do not extend it, but count in items_made (the static sequence length).
- Deadlock: a cycle in which nothing moves (no word read, no item issued, no row issued) while
  every issued item has left the adder pipeline (issued at <= tau - D). Nothing in the state
  can change after such a cycle, so the run can never finish.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.engine.systolic import cycles_per_fold
from accelsim.engine.mapping import map_layer


@dataclass(frozen=True)
class RefSchedule:
    deadlock: bool
    fused_cycles: int
    compute_cycles: int
    array_wait_cycles: int
    staging_peak_words: int
    items_made: int
    input_words_read: int


# ---- the array's demand ---------------------------------------------------------------------
def demand_rows(conv, arch, batch: int = 1) -> list[list[tuple[int, int]]]:
    """For every global demand row t, the (lane, pooled value) pairs it reads, lanes ascending.

    A pooled value is the conv's NHWC ifmap address (channel fastest, sample after sample)."""
    mp = map_layer(conv, arch, batch)
    AR, AC, df = arch.rows, arch.cols, arch.dataflow
    M, K, G = mp.M, mp.K, mp.groups
    rows_per_fold = cycles_per_fold(mp)
    c_tot, Ho, Wo = conv.in_shape
    _, E, F = conv.out_shape
    R, S = conv.kernel
    sh, sw = conv.stride
    ph, pw = conv.padding
    cg = c_tot // G

    def value(g, m, k):
        if not (0 <= m < M and 0 <= k < K):
            return -1
        b, pix = divmod(m, E * F)
        oy, ox = divmod(pix, F)
        rs, ch = divmod(k, cg)
        rr, ss = divmod(rs, S)
        y, x = oy * sh - ph + rr, ox * sw - pw + ss
        if not (0 <= y < Ho and 0 <= x < Wo):
            return -1
        return ((b * Ho + y) * Wo + x) * c_tot + g * cg + ch

    rows = []
    for g in range(G):
        for c in range(mp.col_folds):
            for r in range(mp.row_folds):
                for tau in range(rows_per_fold):
                    row = []
                    if df == "os":
                        for j in range(AR):
                            v = value(g, r * AR + j, tau - j)
                            if v >= 0:
                                row.append((j, v))
                    elif df == "ws":
                        for j in range(AR):
                            v = value(g, tau - AR - j, r * AR + j)
                            if v >= 0:
                                row.append((j, v))
                    elif tau < AR:   # is: the flipped stationary block, then no ifmap reads
                        for j in range(AC):
                            v = value(g, c * AC + j, r * AR + AR - 1 - tau)
                            if v >= 0:
                                row.append((j, v))
                    rows.append(row)
    return rows


def fold_of_rows(conv, arch, batch: int = 1) -> int:
    return cycles_per_fold(map_layer(conv, arch, batch))


# ---- items, input words, the read sequence ----------------------------------------------------
def pool_items(pool, rows, rows_per_fold: int, order: str, batch: int):
    """(items, firstrow, lastrow): the values in production order and each one's use rows
    (-1, -1 when unused)."""
    c_tot, Ho, Wo = pool.out_shape
    nvals = batch * Ho * Wo * c_tot
    if order in ("nhwc", "nchw"):
        first, last = [-1] * nvals, [-1] * nvals
        for t, row in enumerate(rows):
            for _, v in row:
                if first[v] < 0:
                    first[v] = t
                last[v] = t
        if order == "nhwc":
            items = list(range(nvals))
        else:
            items = [((b * Ho + y) * Wo + x) * c_tot + ch for b in range(batch)
                     for ch in range(c_tot) for y in range(Ho) for x in range(Wo)]
        return items, [first[v] for v in items], [last[v] for v in items]
    items, firsts, lasts = [], [], []
    index = {}                       # value -> item index (within the current fold for refold)
    for t, row in enumerate(rows):
        if order == "refold" and t % rows_per_fold == 0:
            index = {}
        for _, v in row:              # lanes ascending: the lowest lane of a row comes first
            i = index.get(v)
            if i is None:
                index[v] = len(items)
                items.append(v)
                firsts.append(t)
                lasts.append(t)
            else:
                lasts[i] = t
    return items, firsts, lasts


def item_words(pool, v: int) -> list[int]:
    """NHWC addresses of the real input words that pooled value v sums, ascending."""
    C, H, W = pool.in_shape
    c_tot, Ho, Wo = pool.out_shape
    bh, bw = pool.kernel
    ph, pw = pool.padding
    bc = pool.pool_channels
    gP = pool.groups
    pix, ch = divmod(v, c_tot)
    b, rest = divmod(pix, Ho * Wo)
    y, x = divmod(rest, Wo)
    cpg_out = c_tot // gP
    gi, k = divmod(ch, cpg_out)
    c0 = gi * (C // gP) + k
    out = []
    for yy in range(y - ph, y - ph + bh):
        if not 0 <= yy < H:
            continue
        for xx in range(x - pw, x - pw + bw):
            if not 0 <= xx < W:
                continue
            for cc in range(c0, c0 + bc):
                out.append(((b * H + yy) * W + xx) * C + cc)
    return out


def read_sequence(pool, items, item_fold, order: str, batch: int):
    """(sequence length, need): need[i] = last sequence position of item i's words, -1 if none."""
    C, H, W = pool.in_shape
    words = [item_words(pool, v) for v in items]
    need = []
    if order in ("nhwc", "nchw"):
        if order == "nhwc":
            seq = list(range(batch * H * W * C))
        else:
            seq = [((b * H + yy) * W + xx) * C + cc for b in range(batch) for cc in range(C)
                   for yy in range(H) for xx in range(W)]
        pos = {a: j for j, a in enumerate(seq)}
        for ws in words:
            need.append(max((pos[a] for a in ws), default=-1))
        return len(seq), need
    n = 0
    pos = {}
    fold = None
    for i, ws in enumerate(words):
        if order == "refold" and item_fold[i] != fold:
            fold = item_fold[i]
            pos = {}                 # each fold reads its windows' words again
        hi = -1
        for a in ws:
            j = pos.get(a)
            if j is None:
                j = pos[a] = n
                n += 1
            hi = max(hi, j)
        need.append(hi)
    return n, need


def line_buffer_words(pool) -> dict:
    C, H, W = pool.in_shape
    bh, _ = pool.kernel
    bc = pool.pool_channels
    return {"nhwc": bh * W * C, "demand": bh * W * C, "refold": bh * W * C,
            "nchw": (bc - 1) * H * W + bh * W}


# ---- the cycle loop ---------------------------------------------------------------------------
def simulate_pair(pool, conv, arch, batch: int = 1) -> RefSchedule:
    pu = arch.pool
    order, L, P, D = pu.order, pu.lanes, pu.input_words_per_cycle, pu.pipeline_depth
    S = pu.staging_words(arch.word_bits)            # None: unbounded
    rows = demand_rows(conv, arch, batch)
    T = len(rows)
    rpf = fold_of_rows(conv, arch, batch)
    items, firsts, lasts = pool_items(pool, rows, rpf, order, batch)
    n = len(items)
    nwords, need = read_sequence(pool, items, [f // rpf for f in firsts], order, batch)
    needp = []
    hi = -1
    for x in need:
        hi = max(hi, x)
        needp.append(hi)
    LB = line_buffer_words(pool)[order]
    first_at = [[] for _ in range(T)]
    last_at = [0] * T
    for i in range(n):
        if firsts[i] >= 0:
            first_at[firsts[i]].append(i)
            last_at[lasts[i]] += 1

    issue = [None] * n
    nread = 0          # words read so far (the reader reads the sequence in order)
    nissued = 0        # items issued so far (in order)
    t = 0              # next demand row
    a_last = -1
    holders = 0
    peak = 0
    last_issue = None
    tau = 0
    cap = 10 * (T + n + nwords + 10) * (D + 2)
    while t < T:
        assert tau < cap, "reference simulator runs away"
        moved = False
        # (1) reader, limited to LB words past what the item being made needs
        istar = nissued
        k = 0
        while k < P and nread < nwords and (istar >= n or nread - LB <= needp[istar]):
            nread += 1
            k += 1
            moved = True
        # (2) unit, in order, at most L per cycle, words read, a staging slot for used items
        k = 0
        while k < L and nissued < n:
            i = nissued
            if need[i] >= nread:
                break
            used = firsts[i] >= 0
            if used and S is not None and holders >= S:
                break
            issue[i] = tau
            nissued += 1
            k += 1
            moved = True
            last_issue = tau
            if used:
                holders += 1
        peak = max(peak, holders)
        # (3) array: row t needs every value it reads first ready, D cycles after its issue
        if all(issue[i] is not None and issue[i] <= tau - D for i in first_at[t]):
            a_last = tau
            moved = True
            # (4) end of the cycle: the items whose last use was this row free their slots
            holders -= last_at[t]
            t += 1
        if not moved and (last_issue is None or last_issue + D <= tau):
            return RefSchedule(True, -1, T - 1, -1, peak, n, nwords)
        tau += 1
    return RefSchedule(False, a_last, T - 1, a_last - (T - 1), peak, n, nwords)
