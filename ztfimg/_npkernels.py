"""numpy versions of the stack and calibration-frame loops of ``ztfimg/_kernel.c``.

Used by :mod:`ztfimg._ckernel` when the compiled library was not built (no C compiler at
install time), so that stacks and calibration frames still work, 1-10x slower (numbers
below). They follow the C code step by step, in the same order of operations, and the test
suite checks that they give the same bits (``tests/test_npkernels.py``).

Cost (``benchmarks/bench_npkernels.py``, this project's 2-core machine; 20 frames x 2e5
pixels, a 512 x 512 tile): :func:`combine` 1.0-1.1x (median) to 2.0-2.2x (clipped mean)
the C time on one thread, 1.7-4.0x on two; :func:`bilinear` 5.3-5.4x one thread, 8.5-9.6x
two. Memory:
:func:`combine` works on blocks of ``_BLOCK_VALUES`` values (frames x columns) and fills
outputs allocated once, so its temporaries stay near 0.5 MB whatever the cube;
:func:`bilinear` holds a few float64 copies of the inside positions (the caller's tiles
bound them). The memory-bound tests of stacks and calibration frames pass on these routes
too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bilinear", "combine"]


def bilinear(section, x, y, x0, y0, ny, nx, snap):
    """Bilinear resampling: the rules and outputs of :func:`ztfimg._ckernel.bilinear`.

    Parameters
    ----------
    section : numpy.ndarray of float32, shape (sh, sw)
        The frame's pixels from frame pixel (``y0``, ``x0``).
    x, y : numpy.ndarray of float64, shape (th, tw)
        Frame positions (0-based pixels).
    x0, y0 : int
        Frame pixel of ``section[0, 0]``.
    ny, nx : int
        The frame's shape.
    snap : float
        Weights closer than this to 0 are 0.

    Returns
    -------
    numpy.ndarray of float32, shape (th, tw)
        NaN more than half a pixel outside the frame, or next to a NaN pixel with a
        non-zero weight.
    """
    sh, sw = section.shape
    out = np.full(x.shape, np.nan, np.float32)
    with np.errstate(invalid="ignore"):
        inside = (x >= -0.5) & (x <= nx - 0.5) & (y >= -0.5) & (y <= ny - 0.5)
    xx = np.clip(x[inside], 0.0, nx - 1.0)
    yy = np.clip(y[inside], 0.0, ny - 1.0)
    ix = np.floor(xx).astype(np.int64)
    iy = np.floor(yy).astype(np.int64)
    fx = xx - ix
    fy = yy - iy
    for f, i in ((fx, ix), (fy, iy)):
        low = f < snap
        high = ~low & (f > 1.0 - snap)
        f[low] = 0.0
        i[high] += 1
        f[high] = 0.0
    ix -= int(x0)
    iy -= int(y0)
    acc = np.zeros(xx.shape)
    bad = np.zeros(xx.shape, bool)
    for dy in (0, 1):
        wy = 1.0 - fy if dy == 0 else fy
        for dx in (0, 1):
            wx = 1.0 - fx if dx == 0 else fx
            j, i = iy + dy, ix + dx
            use = (wx != 0.0) & (wy != 0.0)
            off = use & ((j < 0) | (j >= sh) | (i < 0) | (i >= sw))
            bad |= off
            ok = use & ~off
            v = section[j[ok], i[ok]].astype(np.float64)
            bad[ok] |= np.isnan(v)
            acc[ok] += wx[ok] * wy[ok] * v
    out[inside] = np.where(bad, np.nan, acc).astype(np.float32)
    return out


def _median(values, count):
    """Column medians of the first ``count[j]`` finite values of each column (NaN padding
    sorts last): the C code's rule, 0.5 * (low + high) for an even count."""
    srt = np.sort(values, axis=0)
    hi = np.take_along_axis(srt, (count // 2)[None], 0)[0]
    lo = np.take_along_axis(srt, np.maximum(count // 2 - 1, 0)[None], 0)[0]
    return np.where(count % 2 == 1, hi, 0.5 * (lo + hi))


#: Values (frames x columns) combined at a time: the float64 copy, the masks and the
#: temporaries of one block stay near 0.5 MB, whatever the cube (1 << 16 was 30% faster
#: and 2-3 MB).
_BLOCK_VALUES = 1 << 13


def combine(cube, weights, extra, median, sigma, maxiters):
    """Column combination: the rules and outputs of :func:`ztfimg._ckernel.combine`.

    Parameters
    ----------
    cube : numpy.ndarray of float32 or float64, shape (n, m)
        n frames of m pixels; non-finite values are missing.
    weights : numpy.ndarray of float64, shape (n,)
    extra : numpy.ndarray of float64, shape (n, q)
        Per-frame quantities summed over the values used.
    median : bool
        The median (else the weighted mean after sigma clipping).
    sigma : float
        Clipping threshold around the median, in standard deviations (0: none).
    maxiters : int
        Most clipping iterations.

    Returns
    -------
    out, var, count, wsum, esum
        float32 (m,), float32 (m,), int32 (m,), float32 (m,), float32 (q, m).
    """
    n, m = cube.shape
    nq = extra.shape[1]
    step = max(1, _BLOCK_VALUES // max(n, 1))
    # the outputs are allocated once and filled block by block: no second copy of them
    outs = (np.empty(m, np.float32), np.empty(m, np.float32), np.empty(m, np.int32),
            np.empty(m, np.float32), np.empty((nq, m), np.float32))
    for j in range(0, m, step):
        block = _combine_block(cube[:, j:j + step], weights, extra, median, sigma, maxiters)
        for out, part in zip(outs, block):
            out[..., j:j + step] = part
    return outs


def _combine_block(cube, weights, extra, median, sigma, maxiters):
    """:func:`combine` of a block of columns."""
    m = cube.shape[1]
    nq = extra.shape[1]
    vals = cube.astype(np.float64)
    finite = np.isfinite(vals)
    k = finite.sum(axis=0)
    vals = np.where(finite, vals, np.nan)
    vmin = np.full(m, -np.inf)
    vmax = np.full(m, np.inf)
    if not median and sigma > 0.0:
        active = k > 0
        for _ in range(int(maxiters)):
            if not active.any():
                break
            cols = np.flatnonzero(active)
            v = vals[:, cols]
            lo, hi = vmin[cols], vmax[cols]
            with np.errstate(invalid="ignore"):
                inb = (v >= lo) & (v <= hi)
            cnt = inb.sum(axis=0)
            # sums over the frame axis run frame by frame, the C code's order
            mean = np.where(inb, v, 0.0).sum(axis=0) / cnt
            d = np.where(inb, v - mean, 0.0)
            sd = np.sqrt((d * d).sum(axis=0) / cnt)
            med = _median(np.where(inb, v, np.nan), cnt)
            lo = np.where(med - sigma * sd > lo, med - sigma * sd, lo)
            hi = np.where(med + sigma * sd < hi, med + sigma * sd, hi)
            vmin[cols], vmax[cols] = lo, hi
            with np.errstate(invalid="ignore"):
                nk = ((v >= lo) & (v <= hi)).sum(axis=0)
            active[cols[nk == cnt]] = False
    with np.errstate(invalid="ignore"):
        use = (vals >= vmin) & (vals <= vmax)
    nk = use.sum(axis=0)
    w = weights[:, None]
    s_w = np.where(use, w, 0.0).sum(axis=0)
    s_wv = np.where(use, w * vals, 0.0).sum(axis=0)
    s_v = np.where(use, vals, 0.0).sum(axis=0)
    s_e = np.stack([np.where(use, extra[:, e:e + 1], 0.0).sum(axis=0) for e in range(nq)]) \
        if nq else np.zeros((0, m))
    with np.errstate(invalid="ignore", divide="ignore"):
        if median:
            value = _median(vals, k)
            d = np.where(finite, vals - s_v / nk, 0.0)
            s_d = (d * d).sum(axis=0)
            var = np.where(nk > 1, (np.pi / 2.0) * s_d / (nk - 1) / nk, np.nan)
        else:
            value = np.where(s_w > 0, s_wv / s_w, s_v / nk)
            d = np.where(use, vals - value, 0.0)
            s_d = np.where(use, w * d * d, 0.0).sum(axis=0)
            var = np.where((nk > 1) & (s_w > 0), s_d / (nk - 1) / s_w, np.nan)
    empty = k == 0
    value = np.where(empty, np.nan, value)
    var = np.where(empty, np.nan, var)
    s_w = np.where(empty, 0.0, s_w)
    return (value.astype(np.float32), var.astype(np.float32), nk.astype(np.int32),
            s_w.astype(np.float32), s_e.astype(np.float32))
