"""CALC mode, each read buffer's epochs from its own address stream, described once per
re-read unit (the previous occurrence of every position) and scanned in blocks; and the rows
of the fold where a stream position lies (calc.py maps rows to cycles)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import (_addr, _fold_coords, _fold_extent, _lanes, _lanes_in,
                        _offset_counts, _slot_mk, _window_extent)
from .calc_stream import _epochs_streamed
from .framed import _framed_layout
from .is_epochs import _epochs_is
from .os_epochs import _epochs_os
from .ws_epochs import _epochs_ws

_BSH = 6                         # scan blocks of 64 stream positions
# a non-distinct ifmap unit above this many positions is not stored position by position
# (4 bytes each) but summarized per block and walked where mixed (calc_stream.py): memory
# bounded by the ifmap, not by the stream (issue 14: ResNet-50 at batch 32 under 300 MB)
_STREAM_POSITIONS = 1 << 23
# reuse-distance classes of a stored unit's positions (q - pp[q] below 2^10, below 2^16,
# beyond), summarized per block for units re-read at least this many times
_CLASS_SHIFTS = (10, 16)
_CLASS_UNITS = 3


@njit(cache=True)
def _valid_prefix(folds, im2col):
    """Prefix sums over m of the valid window elements of pixel m, and over k of the valid
    pixels of window element k (valid = inside the image)."""
    M, K = folds.pixels, folds.window
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    R, S = _window_extent(im2col, K)
    cnt = np.zeros((R, S), dtype=np.int64)
    for k in range(K):
        cnt[wr[k], wc[k]] += 1
    pm = np.zeros(M + 1, dtype=np.int64)
    per_rs = _offset_counts(im2col, 0, M, R, S, cnt, pm)
    pk = np.zeros(K + 1, dtype=np.int64)
    for k in range(K):
        pk[k + 1] = pk[k] + per_rs[wr[k], wc[k]]
    return pm, pk


@njit(cache=True)
def _fold_count(folds, im2col, ifmap, g, c, r, pm, pk):
    """Valid slots of an operand in fold (g, c, r)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cu, ru = _fold_extent(folds, c, r)
    if ifmap:
        if df == 0:
            return pm[r * AR + ru] - pm[r * AR]
        if df == 1:
            return pk[r * AR + ru] - pk[r * AR]
        # is: the stationary block of pixels [c*AC, +cu) x window elements [r*AR, +ru). The
        # window index is k = (r*S + s)*cg + channel (operands.py), so validity changes only
        # every cg = goff elements: count whole runs of channels, not slots (none to count
        # when every slot of the operand is a word)
        if pm[M] == M * K:
            return cu * ru
        k0, k1 = r * AR, r * AR + ru
        n = 0
        for m in range(c * AC, c * AC + cu):
            k = k0
            while k < k1:
                run_end = min(k1, (k // goff + 1) * goff)
                y = rb[m] + wr[k]
                x = cb[m] + wc[k]
                if 0 <= y < H and 0 <= x < W:
                    n += run_end - k
                k = run_end
        return n
    if df == 0:
        return K * cu
    if df == 1:
        return ru * cu
    return ru * N


@njit(cache=True)
def _row_valid(folds, im2col, ifmap, g, c, r, tau, any_only):
    """Valid slots in row tau of fold (g, c, r) (with any_only: 1 if there is one)."""
    lo, hi = _lanes_in(folds, ifmap, tau, c, r)
    n = 0
    for j in range(lo, hi + 1):
        if _addr(folds, im2col, ifmap, g, c, r, tau, j) >= 0:
            n += 1
            if any_only:
                break
    return n


@njit(cache=True, inline="always")
def _k_first(rb, cb, wr, wc, H, W, goff, m, k_lo, k_hi):
    """The first window element in [k_lo, k_hi) that pixel m reads inside the image, -1 if
    none: validity changes only every goff elements (k = (r*S + s)*cg + channel), so one
    test per run of channels."""
    k = k_lo
    while k < k_hi:
        y = rb[m] + wr[k]
        x = cb[m] + wc[k]
        if 0 <= y < H and 0 <= x < W:
            return k
        k = (k // goff + 1) * goff
    return -1


@njit(cache=True, inline="always")
def _k_last(rb, cb, wr, wc, H, W, goff, m, k_lo, k_hi):
    """The last window element in [k_lo, k_hi) that pixel m reads inside the image, -1 if
    none (one test per run of channels, see _k_first)."""
    k = k_hi - 1
    while k >= k_lo:
        y = rb[m] + wr[k]
        x = cb[m] + wc[k]
        if 0 <= y < H and 0 <= x < W:
            return k
        k = (k // goff) * goff - 1
    return -1


@njit(cache=True)
def _ifmap_first_last(folds, im2col, c, r):
    """(first, last) row with a real ifmap word in fold (c, r), (-1, -1) if none, per lane
    in closed form: os lane j (pixel r*AR + j) reads element k in row j + k, ws lane j
    (element r*AR + j) reads pixel m in row AR + j + m, is lane j (pixel c*AC + j) reads
    element r*AR + AR - 1 - tau in stored row tau. Per lane its first / last valid element
    (runs of channels) or pixel (scanned only while it can still beat the best lane)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cu, ru = _fold_extent(folds, c, r)
    first, last = -1, -1
    if df == 0:
        for j in range(ru):
            m = r * AR + j
            hi = K if first < 0 else min(K, first - j)      # rows j + k < first only
            k = _k_first(rb, cb, wr, wc, H, W, goff, m, 0, hi)
            if k >= 0:
                first = j + k
            lo = max(0, last - j + 1)                       # rows j + k > last only
            k = _k_last(rb, cb, wr, wc, H, W, goff, m, lo, K)
            if k >= 0:
                last = j + k
    elif df == 1:
        for j in range(ru):
            k = r * AR + j
            hi = M if first < 0 else min(M, first - AR - j)
            for m in range(hi):
                y = rb[m] + wr[k]
                x = cb[m] + wc[k]
                if 0 <= y < H and 0 <= x < W:
                    first = AR + j + m
                    break
            lo = max(0, last - AR - j + 1)
            for m in range(M - 1, lo - 1, -1):
                y = rb[m] + wr[k]
                x = cb[m] + wc[k]
                if 0 <= y < H and 0 <= x < W:
                    last = AR + j + m
                    break
    else:
        k0, k1 = r * AR, r * AR + ru
        kmin, kmax = K, -1
        for j in range(cu):
            m = c * AC + j
            k = _k_last(rb, cb, wr, wc, H, W, goff, m, max(k0, kmax + 1), k1)
            if k >= 0:
                kmax = k
            k = _k_first(rb, cb, wr, wc, H, W, goff, m, k0, min(k1, kmin))
            if k >= 0:
                kmin = k
        if kmax >= 0:
            first, last = AR - 1 - (kmax - k0), AR - 1 - (kmin - k0)
    return first, last


@njit(cache=True)
def _fold_first_last(folds, im2col, ifmap, f, rows_fold):
    """(first, last) row with a valid slot in fold f (walk order), (-1, -1) if none; the
    ifmap per lane (_ifmap_first_last), the filter in closed form: every slot inside the
    operand is a word, so its rows are those with lanes (os: element tau - j of filter j,
    ws: the stationary block's rows with an element, is: filter tau - AR - j of element j)."""
    g, c, r = _fold_coords(folds, f)
    if ifmap:
        return _ifmap_first_last(folds, im2col, c, r)
    df, AR, AC, M, N, K, G, rf, cf = folds
    cu, ru = _fold_extent(folds, c, r)
    if df == 0:
        return 0, K + cu - 2
    if df == 1:
        return AR - ru, AR - 1
    return AR, AR + N + ru - 2


@njit(cache=True)
def _locate(folds, im2col, ifmap, f0, q, rstart, rows_fold, pm, pk):
    """Row (stall-free, global) of valid stream position q counted from the start of fold f0.
    ``rstart`` (from _build_unit: the unit's valid positions before each of its rows) finds
    the row by bisection. Without it (a single entry) the folds are counted (closed forms, or
    runs of channels for an input-stationary ifmap), then the rows of the fold: by their lane
    counts where every slot of the fold is a real word, else slot by slot."""
    if rstart.shape[0] > 1:
        lo, hi = 0, rstart.shape[0] - 2       # the last row i with rstart[i] <= q
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if rstart[mid] <= q:
                lo = mid
            else:
                hi = mid - 1
        return f0 * rows_fold + lo
    df, AR, AC, M, N, K, G, rf, cf = folds
    f = f0
    if not ifmap and df == 1:
        # a weight-stationary filter unit is every fold of a group: its column fold c (rf
        # folds in a row) holds all K rows of its cu filters, so whole column folds are
        # skipped at once (ResNet-50 on a 4-row array: ~37,000 folds a unit)
        while f % rf == 0:
            g, c, r = _fold_coords(folds, f)
            words = K * min(AC, N - c * AC)
            if q < words:
                break
            q -= words
            f += rf
    if ifmap and df == 2:
        # an input-stationary unit is every fold of a group: column fold c (rf folds in a
        # row) holds all window elements of its cu pixels, their valid slots pm's difference
        while f % rf == 0:
            g, c, r = _fold_coords(folds, f)
            m0 = c * AC
            words = pm[m0 + min(AC, M - m0)] - pm[m0]
            if q < words:
                break
            q -= words
            f += rf
    while True:
        g, c, r = _fold_coords(folds, f)
        n = _fold_count(folds, im2col, ifmap, g, c, r, pm, pk)
        if q < n:
            break
        q -= n
        f += 1
    cu, ru = _fold_extent(folds, c, r)
    if ifmap:
        slots = ru * K if df == 0 else (M * ru if df == 1 else cu * ru)
    else:
        slots = K * cu if df == 0 else (ru * cu if df == 1 else ru * N)
    # a streamed operand's lanes in a row are exactly its slots (_lanes bounds the streamed
    # index); a stationary block (ws filter, is ifmap) stores window element r*AR + AR-1-tau
    # in row tau < AR, none past K (a partial row fold's first AR - ru rows). Rows are
    # counted, not their lanes tested one call each: a call per lane with the im2col arrays
    # cost ~100 ns (an is 1x1 layer's last epoch boundary on a 192x192 array: 4 ms)
    streamed = not ((df == 1 and not ifmap) or (df == 2 and ifmap))
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    for tau in range(rows_fold):
        lo, hi = _lanes_in(folds, ifmap, tau, c, r)
        if streamed and n == slots:
            n_row = max(0, hi - lo + 1)
        elif not streamed and (n == slots or ifmap):
            n_row = 0
            if hi >= lo and tau >= AR - ru:
                if n == slots:
                    n_row = hi - lo + 1
                else:                  # an is block with padding: the element's inside pixels
                    k = r * AR + AR - 1 - tau
                    for j in range(lo, hi + 1):
                        m = c * AC + j
                        y = rb[m] + wr[k]
                        x = cb[m] + wc[k]
                        n_row += 1 if (0 <= y < H and 0 <= x < W) else 0
        else:
            n_row = _row_valid(folds, im2col, ifmap, g, c, r, tau, False)
        if q < n_row:
            return f * rows_fold + tau
        q -= n_row
    return -1


@njit(cache=True)
def _build_unit(folds, im2col, uf, L, space, rows_fold):
    """For the ifmap stream of unit 0 (folds 0..uf-1), per valid position q the position of
    the previous occurrence of its address: in the unit, or for its first occurrence
    (last occurrence in the unit) - L, i.e. in the previous repeat. Plus per-block min/max,
    and, for a streamed ifmap (os, ws), the valid positions before each row of the unit
    (every unit has the same row counts), so that _locate bisects instead of scanning."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    last = np.full(space, -1, dtype=np.int32)
    # int32 throughout (positions < 2^31, calc._MAX_UNIT): at batch 32 a unit holds ~6e7
    # positions, so every byte per position is 60 MB of peak memory
    rstart = np.zeros(uf * rows_fold + 1 if df != 2 else 1, dtype=np.int32)
    pp = np.empty(L, dtype=np.int32)
    q = 0
    for f in range(uf):
        c = (f // rf) % cf
        r = f % rf
        for tau in range(rows_fold):
            if df != 2:
                rstart[f * rows_fold + tau] = q
            lo, hi = _lanes(folds, True, tau)
            for j in range(lo, hi + 1):
                m, k = _slot_mk(df, True, c, r, tau, j, AR, AC)
                if m >= M or k >= K:             # written out (see addresses.py)
                    continue
                y = rb[m] + wr[k]
                x = cb[m] + wc[k]
                if y < 0 or y >= H or x < 0 or x >= W:
                    continue
                a = pb[m] + wo[k]                # group 0's words
                p = last[a]
                # a first occurrence holds its address (as -1 - a) until the unit's last
                # occurrences are known: no list of first positions (2 x 4 bytes per word)
                pp[q] = p if p >= 0 else -1 - a
                last[a] = q
                q += 1
    if df != 2:
        rstart[uf * rows_fold] = q
    for i in range(L):
        v = pp[i]
        if v < 0:
            pp[i] = last[-1 - v] - L
    nb = (L + (1 << _BSH) - 1) >> _BSH
    bmin = np.empty(nb, dtype=np.int32)
    bmax = np.empty(nb, dtype=np.int32)
    for b in range(nb):
        lo_ = b << _BSH
        hi_ = min(L, lo_ + (1 << _BSH))
        mn = pp[lo_]
        mx = pp[lo_]
        for i in range(lo_ + 1, hi_):
            v = pp[i]
            if v < mn:
                mn = v
            if v > mx:
                mx = v
        bmin[b] = mn
        bmax[b] = mx
    return pp, bmin, bmax, rstart


@njit(cache=True, inline="always")
def _row_run(df, AR, AC, c, r, tau):
    """(m0, dm, k0, dk): lane j of row tau of fold (c, r) reads pixel m0 + dm*j and window
    element k0 + dk*j (_slot_mk for the ifmap, as a line in j)."""
    if df == 0:
        return r * AR, 1, tau, -1
    if df == 1:
        return tau - AR, -1, r * AR, 1
    return c * AC, 1, r * AR + AR - 1 - tau, 0


@njit(cache=True)
def _build_unit_framed(folds, im2col, uf, L, rows_fold):
    """_build_unit from the framed layout (_framed_layout; the same pp, bmin, bmax, rstart, pp
    with one entry past its end), ok False if the layout does not apply. Per slot two
    sequential loads, the inside flag and the table: no branch, a padding slot writes its
    entry and does not advance the position (the next slot overwrites it; its frame word's
    table entry is never a real word's). The lanes past the last pixel / window element are
    cut per row (_lanes_in), not per slot. The first occurrences' fix-up and the block
    min / max are one pass. 1.2-1.4x _build_unit on ResNet-50's large layers; slower (1.5x)
    on its 7x7 x 512-channel input-stationary ones, left so."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    ok, pbf, wof, inside = _framed_layout(folds, im2col)
    rstart = np.zeros(uf * rows_fold + 1 if df != 2 else 1, dtype=np.int32)
    nb = (L + (1 << _BSH) - 1) >> _BSH
    bmin = np.empty(nb, dtype=np.int32)
    bmax = np.empty(nb, dtype=np.int32)
    if not ok:
        return False, np.empty(0, dtype=np.int32), bmin, bmax, rstart
    last = np.full(inside.shape[0], -1, dtype=np.int32)
    pp = np.empty(L + 1, dtype=np.int32)      # + 1: a padding slot after the last position
    q = 0
    for f in range(uf):
        c = (f // rf) % cf
        r = f % rf
        for tau in range(rows_fold):
            if df != 2:
                rstart[f * rows_fold + tau] = q
            lo, hi = _lanes_in(folds, True, tau, c, r)
            m0, dm, k0, dk = _row_run(df, AR, AC, c, r, tau)
            if dk == 0 and k0 >= K:           # is: a window element past the last
                continue
            for j in range(lo, hi + 1):
                a = pbf[m0 + dm * j] + wof[k0 + dk * j]
                p = last[a]
                # a first occurrence holds its address (as -1 - a) until the unit's last
                # occurrences are known (as _build_unit)
                pp[q] = p if p >= 0 else -1 - a
                last[a] = q
                q += inside[a]
    if df != 2:
        rstart[uf * rows_fold] = q
    for b in range(nb):
        lo_ = b << _BSH
        hi_ = min(L, lo_ + (1 << _BSH))
        mn = np.iinfo(np.int32).max
        mx = np.iinfo(np.int32).min
        for i in range(lo_, hi_):
            v = pp[i]
            if v < 0:
                v = last[-1 - v] - L
                pp[i] = v
            mn = min(mn, v)
            mx = max(mx, v)
        bmin[b] = mn
        bmax[b] = mx
    # pp itself (L + 1 entries), not pp[:L]: a slice is typed as any-layout, and _epochs'
    # scan over it then loses its contiguous loads (1.5x slower)
    return True, pp, bmin, bmax, rstart


@njit(cache=True)
def _reuse_classes(pp, L):
    """Per block of 64 positions and class of reuse distance q - pp[q] (below 2^10: the same
    rows of a fold; below 2^16: some rows back; beyond: a fold or a unit back), the min, max
    and count of pp (cs[block, 3 * class + 0 / 1 / 2]). A block's new positions against an
    epoch start then come from the classes whose pp all lie on one side of it, and pp is
    read only where a class straddles the start. In a unit re-read n_u times a block mixes
    near and far reuses against almost every start (hits a few rows back, news from the
    previous fold), so the scan read all of pp per repeat: 7 MB x 16 repeats on ResNet-50's
    stem on 128 rows, memory-bound (3-4x slower when other jobs load the memory bus); the
    classes are 36 B a block and stay in cache."""
    nb = (L + (1 << _BSH) - 1) >> _BSH
    cs = np.empty((nb, 9), dtype=np.int32)
    big = np.iinfo(np.int32).max
    small = np.iinfo(np.int32).min
    for b in range(nb):
        m0, x0, n0 = big, small, 0
        m1, x1, n1 = big, small, 0
        m2, x2, n2 = big, small, 0
        for q in range(b << _BSH, min(L, (b + 1) << _BSH)):
            v = pp[q]
            d = q - v
            if d < (1 << _CLASS_SHIFTS[0]):
                m0, x0, n0 = min(m0, v), max(x0, v), n0 + 1
            elif d < (1 << _CLASS_SHIFTS[1]):
                m1, x1, n1 = min(m1, v), max(x1, v), n1 + 1
            else:
                m2, x2, n2 = min(m2, v), max(x2, v), n2 + 1
        cs[b, 0], cs[b, 1], cs[b, 2] = m0, x0, n0
        cs[b, 3], cs[b, 4], cs[b, 5] = m1, x1, n1
        cs[b, 6], cs[b, 7], cs[b, 8] = m2, x2, n2
    return cs


@njit(cache=True, inline="always")
def _classes_lt(cs, b, thr):
    """Positions of block b with pp < thr from its reuse classes, -1 if a class straddles."""
    n = 0
    for c in range(3):
        k = cs[b, 3 * c + 2]
        if k == 0 or cs[b, 3 * c] >= thr:
            continue
        if cs[b, 3 * c + 1] < thr:
            n += k
        else:
            return -1
    return n


@njit(cache=True)
def _count_lt(pp, lo, hi, thr):
    n = 0
    for i in range(lo, hi):
        n += 1 if pp[i] < thr else 0
    return n


@njit(cache=True, inline="always")
def _os_budget(L, nunits):
    """Lane-offset visits os_epochs may spend before the stored unit is the cheaper way: about
    what the build (~2.5 ns a position) and the block scan (4-30 ns a block of 64 per unit, as
    many blocks are mixed; 20 taken) cost, at ~5 ns a visit (measured on bench_batch's heavy
    points: of the constants 4, 8, 15, 25, 40 ns a block, 15-25 spent the least)."""
    return (L * 5 + nunits * (L >> 6) * 40) // 10


@njit(cache=True, inline="always")
def _ws_budget(L, nunits):
    """Lane visits ws_epochs may spend: _os_budget's stored-unit cost at ~5 ns a visit."""
    return _os_budget(L, nunits)


@njit(cache=True, inline="always")
def _is_budget(L, nunits):
    """Lane-offset visits is_epochs may spend: _os_budget's stored-unit cost at ~1 ns a visit
    (its inner loop runs over contiguous pixels of one offset: 0.7-0.9 ns a visit where the
    visits dominate, on bench_batch's heavy input-stationary points)."""
    return _os_budget(L, nunits) * 5


@njit(cache=True, inline="always")
def _new_epoch(nsh, u, q):
    """An epoch boundary at position q of unit u: (boundaries, its unit and position, words
    recorded since, the new epoch's start, the next position)."""
    return nsh + 1, u, q, 0, q + 1, q + 1


@njit(cache=True)
def _epochs(folds, im2col, ifmap, distinct, E, rows_fold, pm, pk, space, tables=True):
    """CALC read buffer over the whole stream: (epoch boundaries, words recorded since the last
    one, row of the last boundary or -1). ``tables`` False: no per-(offset, pixel) tables
    (ws_epochs.py, os_epochs.py), the stored unit or the streamed scan (the tests' reference)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    # units: runs of uf folds, n_u consecutive units (a segment) re-read the same addresses,
    # segments have disjoint addresses
    if ifmap:
        if df == 2:
            uf, n_u = cf * rf, 1
        else:
            uf, n_u = rf, cf
    else:
        if df == 0:
            uf, n_u = 1, rf
        elif df == 1:
            uf, n_u = cf * rf, 1
        else:
            uf, n_u = rf, cf
    nunits = G * cf * rf // uf
    if ifmap:
        L0 = pm[M]
    else:
        L0 = N * K
    pp = np.zeros(1, dtype=np.int32)
    bmin = pp
    bmax = pp
    rstart = np.zeros(1, dtype=np.int32)
    if not distinct:
        if ifmap and tables:
            # from per-(offset, pixel) tables where a word's reads come in an order of the
            # offsets that the channel does not change: weight stationary (ws_epochs.py: AR
            # dividing the channels per group, or above them per class of channels that
            # share folds), output stationary (os_epochs.py: AR <= channels per group), input
            # stationary (is_epochs.py: any AR, per class of channels that share folds)
            if df == 1:
                ok, nsh, cnt, row = _epochs_ws(folds, im2col, E, rows_fold,
                                               _ws_budget(L0, nunits))
            elif df == 0:
                ok, nsh, cnt, row = _epochs_os(folds, im2col, E, rows_fold,
                                               _os_budget(L0, nunits))
            else:
                ok, nsh, cnt, row = _epochs_is(folds, im2col, E, rows_fold,
                                               _is_budget(L0, nunits))
            if ok:
                return nsh, cnt, row
        if L0 > _STREAM_POSITIONS:
            return _epochs_streamed(folds, im2col, E, rows_fold, L0, space, uf, n_u, nunits)
        ok, pp, bmin, bmax, rstart = _build_unit_framed(folds, im2col, uf, L0, rows_fold)
        if not ok:
            pp, bmin, bmax, rstart = _build_unit(folds, im2col, uf, L0, space, rows_fold)
    use_cs = not distinct and nunits >= _CLASS_UNITS
    cs = _reuse_classes(pp, L0) if use_cs else np.zeros((1, 9), dtype=np.int32)
    th = 0          # epoch start relative to the current unit's first position
    cnt = 0
    nsh = 0
    lu, lq = -1, -1
    for u in range(nunits):
        if not ifmap and df == 0:
            c = (u // rf) % cf
            L = K * min(AC, N - c * AC)
        else:
            L = L0
        first = u % n_u == 0
        if distinct:
            nnew = L if first else min(L, max(0, th + L))
            if cnt + nnew < E:
                cnt += nnew
            else:
                q1 = E - cnt - 1
                k = (L - 1 - q1) // E
                lu, lq = u, q1 + k * E
                nsh += 1 + k
                cnt = L - 1 - lq
                th = lq + 1
        else:
            thr = max(th, 0) if first else th
            q = 0
            while q < L:
                bi = q >> _BSH
                bend = min(L, (bi + 1) << _BSH)
                if q == (bi << _BSH):
                    if bmin[bi] >= thr:
                        q = bend
                        continue
                    if bmax[bi] < thr:
                        n = bend - q
                        if cnt + n < E:
                            cnt += n
                            q = bend
                            continue
                        nsh, lu, lq, cnt, th, q = _new_epoch(nsh, u, q + (E - cnt) - 1)
                        thr = th
                        continue
                    n = _classes_lt(cs, bi, thr) if use_cs else -1
                    if n < 0:
                        n = _count_lt(pp, q, bend, thr)
                    if cnt + n < E:
                        cnt += n
                        q = bend
                        continue
                while q < bend:
                    if pp[q] < thr:
                        cnt += 1
                        if cnt == E:
                            nsh, lu, lq, cnt, th, q = _new_epoch(nsh, u, q)
                            thr = th
                            break
                    q += 1
        th -= L
    row = -1
    if lu >= 0:
        row = _locate(folds, im2col, ifmap, lu * uf, lq, rstart, rows_fold, pm, pk)
    return nsh, cnt, row
