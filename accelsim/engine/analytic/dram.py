"""The fast tier's DRAM and stall model, per design point (numba over points): SCALE-Sim's
CALC read buffer over the ifmap and filter streams, in closed form or estimated, the ofmap
writes and the USER "overlap" stalls (docs/analytic.md, "The model")."""

from __future__ import annotations

import math

from numba import njit, prange

from accelsim.engine.memory.readbuf import ACTIVE_SETS, SETS


@njit(cache=True, inline="always")
def _valid_and_covered(n_out, stride, pad, kern, size):
    """(sum over window offsets of the outputs whose input index is inside the image, the
    input indices any window covers): engine/operands.py's unique_ifmap_words per axis."""
    valid = 0
    for r in range(kern):
        lo = 0
        if pad - r > 0:
            lo = -(-(pad - r) // stride)
        hi = min(n_out - 1, (size - 1 + pad - r) // stride)
        if hi >= lo:
            valid += hi - lo + 1
    if kern >= stride:        # windows touch or overlap: one run of covered indices
        covered = max(0, min(size, (n_out - 1) * stride - pad + kern) - max(0, -pad))
    else:                     # disjoint windows: every (output, offset) is its own index
        covered = valid
    return valid, covered


@njit(cache=True, inline="always")
def _distinct_unit(s, D, n, E):
    """SCALE-Sim's CALC read buffer over a unit of D distinct words read n times in the same
    order, entered with s new words in the current epoch (< E): (new words, s after). After
    a boundary the next D positions are new, then every position hits until the unit ends
    (readbuf._repeat_closed_form); with E <= D every position is new."""
    if D >= E:
        reads = n * D
    elif E - s > D:
        reads = D
    else:
        reads = min(E - s + D, n * D)
    return reads, (s + reads) % E


@njit(cache=True)
def _distinct_units(s, D, n, E, count):
    """_distinct_unit over ``count`` identical units, in closed form: once a boundary has
    fallen inside a unit the state is D, and from there every ceil(E/D) - 1 units bring
    exactly one boundary and E new words."""
    if count <= 0:
        return 0, s
    if D >= E or n == 1:
        reads = count * n * D if D >= E else count * D
        return reads, (s + reads) % E
    first = -(-(E - s) // D) - 1          # units before the one holding the first boundary
    if count <= first:
        return count * D, s + count * D
    rest = count - first - 1
    cycle = -(-E // D) - 1
    left = rest % cycle
    return E - s + D + (rest // cycle) * E + left * D, D + left * D


@njit(cache=True, inline="always")
def _cut(n, d, q, E, first, step, V):
    """Expected re-fetches of n reuse intervals of d stream slots, q new words a slot, epochs
    of E new words. step <= 0: many passes, boundaries at random offsets: an interval is cut
    with probability d*q / E. step > 0: a single pass of V slots with few boundaries, at
    slots first, first + step, ...: an interval (starting uniformly over the pass) is cut
    only if one falls inside it, so a boundary near the end of the pass, where little is
    left to reuse, cuts few."""
    if n <= 0:
        return 0.0
    if step <= 0:
        return n * min(1.0, d * q / E)
    if d >= V:
        return n
    p = 0.0
    x = first
    while x < V:
        p += (min(x, V - d) - max(0.0, x - d)) / (V - d)
        x += step
    return n * min(1.0, p)


@njit(cache=True, inline="always")
def _grid(n_h, n_v, D, h, v, q, E, first, step, V):
    """Re-fetches of the intervals of words whose uses all lie in one fold. A word's uses
    form a grid, a horizontal x b vertical (a = V / Vh, b = Vh / D), the horizontal ones h
    slots apart, the vertical v. Sorted in time they leave b(a-1) gaps of h and b-1 gaps of
    v - (a-1)h when v > (a-1)h (or the mirror image when h is the longer), else they
    interleave into a*b - 1 gaps of the span / (a*b - 1); the span is (a-1)h + (b-1)v."""
    a = (n_h + n_v + D) / (n_v + D)
    b = (n_v + D) / D
    if h <= v and v > (a - 1.0) * h:
        return (_cut(n_h, h, q, E, first, step, V)
                + _cut(n_v, v - (a - 1.0) * h, q, E, first, step, V))
    if h > v and h > (b - 1.0) * v:
        return (_cut(D * a * (b - 1.0), v, q, E, first, step, V)
                + _cut(D * (a - 1.0), h - (b - 1.0) * v, q, E, first, step, V))
    n = n_h + n_v
    return _cut(n, ((a - 1.0) * h + (b - 1.0) * v) * D / n, q, E, first, step, V)


@njit(cache=True)
def _ifmap_pass(df, V, Vh, D, E, passes, folds, AR, AC, K, M, F, cg, sh, sw, R, S):
    """New words of one pass over a group's ifmap (D distinct words, V valid slots, Vh of them
    distinct within an output row; ``passes`` such passes in the layer; M output pixels of
    the whole batch) with epochs of E words: the fixed point of reads = D + the reuse
    intervals an epoch boundary cuts.

    A word's uses are horizontal neighbours (the next output pixel, sw*cg window elements
    earlier: V - Vh of them) and vertical ones (the next output row, F pixels later, sh*S*cg
    elements earlier: Vh - D). Inside a fold, the dataflow fixes how many stream slots apart
    two such uses are (see the branches); across folds, a fold's length. q new words per
    slot turns slots into new words. A single pass with few boundaries places them: the
    first where E first uses have been made, the next E / reads of the pass later each.
    First uses are spread evenly over an os or is pass, but come early in a ws pass (its
    first window offsets touch most of the image): within the first sh*sw / (R*S) of it."""
    n_h = V - Vh
    n_v = Vh - D
    kh, kv = sw * cg, sh * S * cg        # window elements between the two uses
    split = 1.0 - 1.0 / folds            # folds: of the array dimension the pairs run along
    if df == 0:
        # os: a fold is AR pixels x K elements; pixel j reads element k in row k + j
        # (min(AR, M, K) slots a row on the skewed band), so two uses inside a fold are
        # |pixels - elements| rows apart; the next fold is K rows of AR later
        band = min(AR, M, K)
        h_in, h_out, ph_cut = abs(1 - kh) * band, K * AR, min(1.0, 1.0 / AR) * split
        v_in, v_out, pv_cut = abs(F - kv) * band, F * K, min(1.0, F / AR) * split
    elif df == 1:
        # ws: a fold is AR elements streamed over M pixels; element lane l of pixel m is read
        # in row m + l, so again |pixels - elements| rows of min(AR, K) slots; a use in
        # another fold is its element distance x M pixels later
        band = min(AR, K)
        h_in, h_out, ph_cut = abs(1 - kh) * band, kh * M, min(1.0, kh / AR) * split
        v_in, v_out, pv_cut = abs(F - kv) * band, kv * M, min(1.0, kv / AR) * split
    else:
        # is: stationary AR x AC blocks (AR elements x AC pixels) loaded a row of min(AC, M)
        # pixels per element, pixel blocks outer; the neighbour in the next pixel block reads
        # its word kh (kv) elements earlier in that block's pass: K - kh (K - kv) rows later
        band = min(AC, M)
        blocks = max(1.0, F / AC)          # pixel blocks between vertical neighbours
        h_in, h_out, ph_cut = kh * band, max(1, K - kh) * band, min(1.0, 1.0 / AC) * split
        v_in, v_out, pv_cut = (kv * band, max(1.0, K * blocks - kv) * band,
                               min(1.0, F / AC) * split)
    # *_cut: the fraction of neighbour pairs a fold boundary splits (a pair d apart among
    # folds w wide straddles one with probability d / w, and only where there is more than
    # one fold); *_in: the rest, inside one fold
    ph_in = 1.0 - ph_cut
    pv_in = 1.0 - pv_cut
    both = ph_in * pv_in                 # words whose uses all lie in one fold
    single = passes == 1 and D < 8 * E
    early = min(1.0, sh * sw / (R * S)) if df == 1 else 1.0
    reads = float(D)
    for _ in range(30):
        q = reads / V
        first = step = 0.0
        if single:
            first, step = early * V * E / D, V * E / reads
        extra = both * _grid(n_h, n_v, D, h_in, v_in, q, E, first, step, V)
        if both < 1.0:
            # the rest: each gap on its own, inside its fold or across folds
            rest = ((1.0 - ph_in) * _cut(n_h, h_out, q, E, first, step, V)
                    + (ph_in - both) * _cut(n_h, h_in, q, E, first, step, V)
                    + (1.0 - pv_in) * _cut(n_v, v_out, q, E, first, step, V)
                    + (pv_in - both) * _cut(n_v, v_in, q, E, first, step, V))
            extra += rest
        new = min(float(V), D + extra)
        if abs(new - reads) < 0.5 + 1e-4 * reads:
            return new
        reads = 0.5 * (reads + new)      # damped: the boundary count moves in steps
    return reads


@njit(cache=True)
def _ifmap_dram(df, C, H, W, E_o, F_o, R, S, sh, sw, ph, pw, G, B, AR, AC, K, M, rf, cf, E):
    """CALC ifmap DRAM reads (words) of one point."""
    vh, covh = _valid_and_covered(E_o, sh, ph, R, H)
    vw, covw = _valid_and_covered(F_o, sw, pw, S, W)
    U = B * C * covh * covw            # distinct words any window reads
    if E == 0 or U < E:
        return float(U)                # below one epoch: each word fetched once (exact)
    cg = C // G
    D = U // G                         # distinct words of one group's pass
    V = B * cg * vh * vw               # its valid slots
    Vh = B * cg * vh * covw
    npass = 1 if df == 2 else cf       # os/ws: every column fold re-reads the group's ifmap
    # the folds along the dimension holding the neighbours: os pixels (row folds), ws window
    # elements (row folds), is pixels (column folds)
    folds = cf if df == 2 else rf
    if D < E:
        # a pass fits an epoch: the passes as units of distinct words (exact for a pass of
        # distinct words), plus, at each of their boundaries, the pass's words still to be
        # reused: its live set, (extra of a pass at boundary rate 1/E) * E / D
        units = float(_distinct_units(0, D, npass, E, G)[0])
        if V == D:
            return units
        extra = _ifmap_pass(df, V, Vh, D, E, 2, folds, AR, AC, K, M, F_o, cg, sh, sw, R, S) - D
        return units * (1.0 + extra / D)
    per_pass = _ifmap_pass(df, V, Vh, D, E, G * npass, folds, AR, AC, K, M, F_o, cg, sh, sw,
                           R, S)
    return G * npass * per_pass


@njit(cache=True)
def _filter_dram(df, G, N, K, AC, rf, cf, E):
    """CALC filter DRAM reads (words) of one point: exact (units of distinct words)."""
    space = G * N * K
    if E == 0 or space < E or df == 1:
        return space                   # below one epoch, or ws (every word read once)
    if df == 2:
        # is: a group's N*K filters, re-read by each of the cf column folds
        return _distinct_units(0, N * K, cf, E, G)[0]
    # os: column fold c's filters (cu * K words), re-read by each of the rf row folds; the
    # last column fold may be partial
    if cf == 1:
        return _distinct_units(0, N * K, rf, E, G)[0]
    s = 0
    total = 0
    for _ in range(G):
        r, s = _distinct_units(s, AC * K, rf, E, cf - 1)
        total += r
        r, s = _distinct_unit(s, (N - (cf - 1) * AC) * K, rf, E)
        total += r
    return total


@njit(cache=True, parallel=True)
def _memory_kernel(df_, C_, H_, W_, E_, F_, R_, S_, sh_, sw_, ph_, pw_, G_, B_, AR_, AC_,
                   N_, K_, M_, rf_, cf_, wif_, wf_, user_, bw_, cyc_,
                   out_if, out_f, out_of, out_stall):
    for i in prange(len(df_)):
        df = df_[i]
        G, N, K, M = G_[i], N_[i], K_[i], M_[i]
        rf, cf = rf_[i], cf_[i]
        E_if = ACTIVE_SETS * (wif_[i] // SETS)
        E_f = ACTIVE_SETS * (wf_[i] // SETS)
        d_if = _ifmap_dram(df, C_[i], H_[i], W_[i], E_[i], F_[i], R_[i], S_[i], sh_[i],
                           sw_[i], ph_[i], pw_[i], G, B_[i], AR_[i], AC_[i], K, M, rf, cf,
                           E_if)
        d_f = float(_filter_dram(df, G, N, K, AC_[i], rf, cf, E_f))
        # every word the array writes to the ofmap SRAM leaves once (os adds no real words)
        d_of = float(G * M * N * (1 if df == 0 else rf))
        stall = 0.0
        if user_[i]:
            # memory/__init__.py's "overlap" rule: the transfer time compute cannot hide.
            # For stall_model "scalesim" this is only a stand-in (no error bound; the rows
            # are flagged, see evaluate)
            stall = max(0.0, math.ceil((d_if + d_f + d_of) / bw_[i]) - cyc_[i])
        out_if[i] = d_if
        out_f[i] = d_f
        out_of[i] = d_of
        out_stall[i] = stall
