"""Exact circle/pixel overlap and aperture sums, compiled with numba, parallel over positions.

:func:`circle_sums` and :func:`annulus_sums` (and :func:`aperture_sums`, several circles
plus an annulus per position in one pass) sum an image in circles and annuli with the
exact area of overlap of each pixel with the aperture as weight, and return in the same
single pass the in-image aperture area and the part of it that is masked (so a caller
gets the sum, the unmasked area and the masked fraction without a second call).
``method="center"`` instead takes the whole pixels whose centre lies in the aperture.
They are an alternative to ``sep.sum_circle`` / ``sep.sum_circann`` (``subpix=0``),
with three differences:

* masked pixels (and non-finite data) are **left out** of the sum, not rescaled;
* the work is spread over positions on several threads (numba ``prange``) with the GIL
  released, where sep holds it for the whole call;
* a circle of radius <= 0.7 px centred exactly on a pixel centre gets ``pi r**2``
  (sep 1.4 gives the whole pixel).

Pixel convention (as sep and photutils): 0-based, ``x`` = column; pixel ``(i, j)``
(``data[i, j]``) covers ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. Apertures partly or
wholly off the image contribute their in-image part only.

The geometry (:func:`pixel_overlap`): the intersection of a disc of radius ``r`` centred
at the origin with an axis-aligned rectangle is split along the axes into pieces in the
first quadrant. In a piece ``[x0, x1] x [y0, y1]`` (``0 <= x0``, ``0 <= y0``) the columns
``u < sqrt(r**2 - y1**2)`` are wholly covered, the columns ``u > sqrt(r**2 - y0**2)`` not
at all, and in between the area under the arc is a trapezoid (under the chord) plus a
circular segment ``r**2 / 2 (theta - sin theta)``, with ``sin theta`` from the cross
product of the chord's end points (a series in it for small angles). Large numbers are
never subtracted from each other, so the result is accurate relative to the pixel area
(checked against 50-digit arithmetic: errors <= ~1e-13 of a pixel) for radii from 1e-3
px to 1000 px.

numba is optional. Importing this module neither imports numba nor compiles anything;
the kernel is compiled on its first call (about 4-5 s per data dtype, float32 or float64)
and the machine code is cached on disk (numba ``cache=True``: in ``__pycache__`` next to
this file, or under ``$NUMBA_CACHE_DIR`` when that is set; numba falls back to a per-user
cache directory when the package directory is read-only), so a later process loads it in
about 0.6 s, numba's own import included (:func:`compile_kernels` does it up front). Without numba the functions raise
:class:`~ztfimg.errors.InvalidParameterError`; :data:`HAVE_NUMBA` tells in advance.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections import namedtuple

import numpy as np

from .errors import InvalidParameterError, ShapeMismatchError

__all__ = ["HAVE_NUMBA", "ApertureSums", "circle_sums", "annulus_sums", "aperture_sums",
           "pixel_overlap", "compile_kernels", "kernels_loaded", "METHODS", "PARALLEL_MIN",
           "engine_setting", "ENGINE_SETTINGS"]

#: True when numba can be imported (checked without importing it).
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

#: Calls with fewer positions run on the calling thread alone unless ``n_threads`` is given.
PARALLEL_MIN = 128

#: Accepted values of ``method``.
METHODS = ("exact", "center")

#: Result of :func:`circle_sums` / :func:`annulus_sums`, one float64 array per field.
ApertureSums = namedtuple("ApertureSums", ["sum", "area", "masked_area", "var_sum"])
ApertureSums.__doc__ = """Aperture sums of one call (each a float64 array, one value per position).

Attributes
----------
sum : numpy.ndarray
    Sum of ``data * weight`` over the unmasked, finite pixels.
area : numpy.ndarray
    In-image aperture area, pixels (masked pixels included): sum of the weights.
masked_area : numpy.ndarray
    The part of ``area`` on masked or non-finite pixels. The unmasked area is
    ``area - masked_area``.
var_sum : numpy.ndarray or None
    Sum of ``var * weight`` over the unmasked pixels (sep's convention, weights to the
    first power), or None when no ``var`` map was given.
"""

# ---------------------------------------------------------------------------- geometry
# Plain Python functions, compiled by numba on first use (see _kernels). The kernel refers
# to the helpers by their module-global names, which _kernels rebinds to the compiled
# versions before compiling the kernel.

# series of asin(u) - u = sum_n>=1 C(2n, n) / (4^n (2n + 1)) u^(2n+1)
_A1, _A2, _A3, _A4 = 2.0 / 12.0, 6.0 / 80.0, 20.0 / 448.0, 70.0 / 2304.0
_A5, _A6, _A7 = 252.0 / 11264.0, 924.0 / 53248.0, 3432.0 / 245760.0
_SERIES_MAX = 0.1  # the first term left out is < 1e-15 of the sum below this


def _segment(cross, dot, r2):
    """Circular segment area ``r^2 / 2 (theta - sin theta)`` of the chord between two points
    of the circle whose position vectors have cross product ``cross`` and dot ``dot``."""
    u = max(cross, 0.0) / r2  # sin(theta)
    if u < _SERIES_MAX:
        t = u * u
        g = u * t * (_A1 + t * (_A2 + t * (_A3 + t * (_A4 + t * (_A5 + t * (_A6 + t * _A7))))))
    else:
        g = math.atan2(cross, dot) - u
    return 0.5 * r2 * g


def _quadrant(x0, x1, y0, y1, a, b, r, r2):
    """Area of the disc ``u^2 + v^2 <= r^2`` in ``[x0, x1] x [y0, y1]``, 0 <= x0, 0 <= y0.

    ``a`` and ``b`` come from :func:`_piece` (they depend on the row only): the columns
    ``u <= a`` are covered up to ``y1``, the columns ``u >= b`` are empty.
    """
    if x0 >= b:
        return 0.0
    if x1 <= a:
        return (x1 - x0) * (y1 - y0)
    full = 0.0
    if a > x0:
        ua = a
        full = (a - x0) * (y1 - y0)
        ha = y1
    else:
        ua = x0
        ha = math.sqrt(max(r2 - x0 * x0, 0.0))
    if b < x1:
        ub = b
        hb = y0
    else:
        ub = x1
        hb = math.sqrt(max(r2 - x1 * x1, 0.0))
    if ub <= ua:
        return full
    # under the arc: the trapezoid under its chord plus the circular segment
    trapezoid = 0.5 * ((ha - y0) + (hb - y0)) * (ub - ua)
    return full + trapezoid + _segment(ha * ub - ua * hb, ua * ub + ha * hb, r2)


def _piece(y0, y1, r2):
    """``(a, b)`` of a first-quadrant row piece ``[y0, y1]``; ``b = -1`` when it misses."""
    a = math.sqrt(r2 - y1 * y1) if y1 * y1 < r2 else 0.0
    b = math.sqrt(r2 - y0 * y0) if y0 * y0 < r2 else -1.0
    return a, b


def _row_pieces(y0, y1, r2):
    """A row ``[y0, y1]`` (relative to the centre) folded into at most two pieces y >= 0.

    Returns ``(p0, p1, pa, pb, q0, q1, qa, qb)``; the second piece is empty (``qb = -1``)
    unless the row straddles the centre.
    """
    if y0 >= 0.0:
        p0, p1, q0, q1 = y0, y1, 0.0, 0.0
    elif y1 <= 0.0:
        p0, p1, q0, q1 = -y1, -y0, 0.0, 0.0
    else:
        p0, p1, q0, q1 = 0.0, -y0, 0.0, y1
    pa, pb = _piece(p0, p1, r2)
    if q1 > 0.0:
        qa, qb = _piece(q0, q1, r2)
    else:
        qa, qb = 0.0, -1.0
    return p0, p1, pa, pb, q0, q1, qa, qb


def _overlap_x(x0, x1, r, r2, rp):
    """Overlap of ``[x0, x1]`` (0 <= x0) x the row ``rp`` (:func:`_row_pieces`)."""
    return (_quadrant(x0, x1, rp[0], rp[1], rp[2], rp[3], r, r2)
            + _quadrant(x0, x1, rp[4], rp[5], rp[6], rp[7], r, r2))


def _overlap_row(x0, x1, r, r2, rp):
    """Area of the disc of radius r at the origin in ``[x0, x1]`` x the row ``rp``."""
    if x0 >= 0.0:
        return _overlap_x(x0, x1, r, r2, rp)
    if x1 <= 0.0:
        return _overlap_x(-x1, -x0, r, r2, rp)
    return _overlap_x(0.0, -x0, r, r2, rp) + _overlap_x(0.0, x1, r, r2, rp)


def _column_range(lo, hi, nmax):
    """Pixels ``[j0, j1]`` whose extent ``[j - 0.5, j + 0.5]`` meets the open ``(lo, hi)``.

    Clipped to ``[0, nmax - 1]``; ``(0, -1)`` when empty. Works for rows too.
    """
    j0 = math.floor(lo - 0.5) + 1.0
    j1 = math.ceil(hi + 0.5) - 1.0
    j0 = max(j0, 0.0)
    j1 = min(j1, nmax - 1.0)
    if j0 > j1:
        return 0, -1
    return int(j0), int(j1)


def _centre_range(lo, hi, nmax):
    """Pixels ``[j0, j1]`` whose centre ``j`` is in the open ``(lo, hi)``, clipped to the image."""
    j0 = max(math.floor(lo) + 1.0, 0.0)
    j1 = min(math.ceil(hi) - 1.0, nmax - 1.0)
    if j0 > j1:
        return 0, -1
    return int(j0), int(j1)


def _inside_range(lo, hi, nmax):
    """Columns whose whole pixel lies in ``[lo, hi]``, clipped to ``[-1, nmax]``."""
    j0 = math.ceil(lo + 0.5)
    j1 = math.floor(hi - 0.5)
    j0 = min(max(j0, -1.0), nmax * 1.0)
    j1 = min(max(j1, -1.0), nmax * 1.0)
    return int(j0), int(j1)


def _full_run(data, mask, var, i, ja, jb, has_mask, has_var, s, vsum):
    """Add the whole pixels ``ja..jb`` of row ``i`` (weight 1): new (s, vsum, n_masked)."""
    nbad = 0
    for j in range(ja, jb + 1):
        val = data[i, j]
        ok = val - val == 0.0  # finite
        if has_mask:
            ok = ok and mask[i, j] == 0
        if ok:
            s += val
            if has_var:
                vsum += var[i, j]
        else:
            nbad += 1
    return s, vsum, nbad


def _one(data, mask, var, cx, cy, ri, ro, has_mask, has_var, exact):
    """(sum, area, masked area, var sum) of the annulus ``ri < d < ro`` at ``(cx, cy)``.

    A circle when ``ri == 0``. Each row is cut into runs: pixels wholly in the aperture
    (weight 1, a tight loop), boundary pixels (exact overlap) and the pixels wholly
    inside the inner circle (skipped).
    """
    ny, nx = data.shape
    none_lo = nx + 2  # an empty range [none_lo, none_lo - 1] beyond every column
    ro2 = ro * ro
    ri2 = ri * ri
    s = 0.0
    area = 0.0
    marea = 0.0
    vsum = 0.0
    i0, i1 = _column_range(cy - ro, cy + ro, ny)
    for i in range(i0, i1 + 1):
        dyc = i - cy
        y0 = dyc - 0.5
        y1 = dyc + 0.5
        if exact:
            ymin2 = 0.0 if (y0 < 0.0 < y1) else min(y0 * y0, y1 * y1)
            ymax2 = max(y0 * y0, y1 * y1)
        else:  # pixel centres
            ymin2 = dyc * dyc
            ymax2 = ymin2
        if ymin2 >= ro2:
            continue
        ho = math.sqrt(ro2 - ymin2)
        if exact:
            j_lo, j_hi = _column_range(cx - ho, cx + ho, nx)
        else:  # centre strictly inside: |j - cx| < ho
            j_lo, j_hi = _centre_range(cx - ho, cx + ho, nx)
        if j_lo > j_hi:
            continue
        # outer circle: pixels wholly inside (f)
        f_lo, f_hi = none_lo, none_lo - 1
        if not exact:
            f_lo, f_hi = j_lo, j_hi
        elif ymax2 < ro2:
            hf = math.sqrt(ro2 - ymax2)
            f_lo, f_hi = _inside_range(cx - hf, cx + hf, nx)
            if f_lo > f_hi:
                f_lo, f_hi = none_lo, none_lo - 1
        # inner circle: pixels touched (t, exact mode) and wholly inside (k, skipped)
        t_lo, t_hi = none_lo, none_lo - 1
        k_lo, k_hi = none_lo, none_lo - 1
        if ri > 0.0 and (ymin2 < ri2 or (ymin2 == ri2 and not exact)):
            hi_ = math.sqrt(ri2 - ymin2)
            if exact:
                t_lo, t_hi = _column_range(cx - hi_, cx + hi_, nx)
                if t_lo > t_hi:
                    t_lo, t_hi = none_lo, none_lo - 1
                if ymax2 < ri2:
                    hk = math.sqrt(ri2 - ymax2)
                    k_lo, k_hi = _inside_range(cx - hk, cx + hk, nx)
            else:  # a centre at d <= ri is out of the annulus
                kl = math.ceil(cx - hi_)
                kh = math.floor(cx + hi_)
                k_lo = int(min(max(kl, -1.0), nx * 1.0))
                k_hi = int(min(max(kh, -1.0), nx * 1.0))
            if k_lo > k_hi:
                k_lo, k_hi = none_lo, none_lo - 1
        rpo = _row_pieces(y0, y1, ro2)
        rpi = _row_pieces(y0, y1, ri2)
        j = j_lo
        while j <= j_hi:
            if k_lo <= j <= k_hi:
                j = k_hi + 1
                continue
            in_t = t_lo <= j <= t_hi
            in_f = f_lo <= j <= f_hi
            if in_f and not in_t:
                jend = min(f_hi, t_lo - 1) if j < t_lo else f_hi
                jend = min(jend, k_lo - 1) if j < k_lo else jend
                jend = min(jend, j_hi)
                s, vsum, nbad = _full_run(data, mask, var, i, j, jend, has_mask, has_var,
                                          s, vsum)
                area += jend - j + 1
                marea += nbad
                j = jend + 1
                continue
            dxc = j - cx
            w = 1.0 if in_f else _overlap_row(dxc - 0.5, dxc + 0.5, ro, ro2, rpo)
            if in_t:
                w -= _overlap_row(dxc - 0.5, dxc + 0.5, ri, ri2, rpi)
            val = data[i, j]
            area += w
            if (has_mask and mask[i, j] != 0) or not (val - val == 0.0):
                marea += w
            else:
                s += w * val
                if has_var:
                    vsum += w * var[i, j]
            j += 1
    return s, area, marea, vsum


def _touch(data, mask, cx, cy, r, has_mask):
    """Read a few pixels of every row of the bounding box of a circle; returns their sum.

    Independent loads, so the cache and TLB misses of all the rows are in flight at once
    (apertures at random positions on a large image are memory bound otherwise). The
    caller stores the value so that the loads are not optimised away.
    """
    ny, nx = data.shape
    i0, i1 = _column_range(cy - r, cy + r, ny)
    j0, j1 = _column_range(cx - r, cx + r, nx)
    acc = 0.0
    if j0 <= j1:
        jm = (j0 + j1) // 2
        for i in range(i0, i1 + 1):
            acc += data[i, j0] + data[i, jm] + data[i, j1]
            if has_mask:
                acc += mask[i, j0] + mask[i, j1]
    return acc


def _kernel(data, mask, var, xs, ys, rin, rout, order, has_mask, has_var, exact, out, touch):
    """Sums of the annuli ``rin[q] < d < rout[q]`` (circles when rin == 0) at every position.

    ``rin`` and ``rout`` are (m, n): m apertures per position, ``exact`` (m,) their
    sampling (1 exact overlap, 0 pixel centres), done in one visit of the position (the largest first, so the others find their pixels in the cache). ``out``
    is (4, m, n): sum, area, masked area, var sum. Positions are visited in ``order``
    (neighbours together); each result goes to its own slot, so the outputs do not
    depend on the order or on the number of threads.
    """
    n = order.shape[0]
    m = rin.shape[0]
    for t in _prange(n):
        k = order[t]
        cx = xs[k]
        cy = ys[k]
        rmax = 0.0
        ok = math.isfinite(cx) and math.isfinite(cy)
        for q in range(m):
            if math.isfinite(rout[q, k]):
                rmax = max(rmax, rout[q, k])
        touch[k] = _touch(data, mask, cx, cy, rmax, has_mask) if ok else 0.0
        for qq in range(m):
            q = m - 1 - qq
            ri = rin[q, k]
            ro = rout[q, k]
            if not (ok and math.isfinite(ri) and math.isfinite(ro)):
                for f in range(4):
                    out[f, q, k] = np.nan
                continue
            s, a, ma, v = _one(data, mask, var, cx, cy, ri, ro, has_mask, has_var,
                               exact[q] != 0)
            out[0, q, k] = s
            out[1, q, k] = a
            out[2, q, k] = ma
            out[3, q, k] = v


def _prange(n):  # replaced by numba.prange inside the compiled kernel
    return range(n)


# ----------------------------------------------------------------------- compilation
_OPTS = dict(nogil=True, cache=True, fastmath=False)
_compiled = {}
_lock = threading.Lock()


def _kernels():
    """The compiled kernel (compiled lazily, once per process; machine code cached on disk)."""
    if "kernel" in _compiled:
        return _compiled["kernel"]
    if not HAVE_NUMBA:
        raise InvalidParameterError(
            "the compiled aperture kernel needs numba, which is not installed; install it "
            "(`pip install numba`) or use the sep engine")
    with _lock:
        if "kernel" not in _compiled:
            import numba

            g = globals()
            for name in ("_segment", "_quadrant", "_piece", "_row_pieces", "_overlap_x",
                         "_overlap_row", "_column_range",
                         "_centre_range", "_inside_range", "_full_run", "_one", "_touch"):
                g[name] = numba.njit(**_OPTS)(g[name])
            g["_prange"] = numba.prange
            g["_kernel"] = numba.njit(parallel=True, **_OPTS)(_kernel)
            _compiled["numba"] = numba
            _compiled["kernel"] = g["_kernel"]
    return _compiled["kernel"]


#: Values of the ``ZTFIMG_ENGINE`` environment variable.
ENGINE_SETTINGS = ("auto", "numba", "sep")


def engine_setting():
    """``ZTFIMG_ENGINE`` (str: 'auto' when unset, 'numba' or 'sep'; else InvalidParameterError).

    The one reading of the variable for every compiled route (aperture sums, mask bits).
    """
    import os
    value = os.environ.get("ZTFIMG_ENGINE", "auto").strip().lower() or "auto"
    if value not in ENGINE_SETTINGS:
        raise InvalidParameterError(f"the ZTFIMG_ENGINE environment variable must be one of "
                                    f"{ENGINE_SETTINGS}; got {value!r}")
    return value


def kernels_loaded():
    """True when the compiled kernel is ready in this process (no compile or load to pay).

    Returns
    -------
    bool
    """
    return "kernel" in _compiled


def compile_kernels(dtypes=("float32", "float64")):
    """Compile (or load from the disk cache) the kernel for these dtypes, e.g. at start-up.

    Parameters
    ----------
    dtypes : sequence of str, optional
        Data dtypes to prepare. Default ``("float32", "float64")``.

    Returns
    -------
    float
        Seconds spent.

    Raises
    ------
    InvalidParameterError
        numba is not installed.
    """
    import time

    t0 = time.perf_counter()
    for dt in dtypes:
        circle_sums(np.zeros((4, 4), dtype=dt), [1.0], [1.0], 1.0)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------- public API
def _as_image(data, name="data"):
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ShapeMismatchError(f"{name} must be a 2-D image; got {arr.ndim} dimension(s)")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _as_vector(value, n, name):
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.ndim != 1 or (a.shape[0] != n):
        raise ShapeMismatchError(f"{name} must be a scalar or have one value per position "
                                 f"({n}); got shape {a.shape}")
    return np.ascontiguousarray(a)


def _positions(x, y):
    try:
        xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
        ys = np.atleast_1d(np.asarray(y, dtype=np.float64))
    except (TypeError, ValueError):
        raise InvalidParameterError("x and y must be numbers or 1-D arrays of numbers") from None
    if xs.ndim != 1 or ys.ndim != 1:
        raise ShapeMismatchError(f"x and y must be 1-D; got shapes {xs.shape}, {ys.shape}")
    if xs.shape != ys.shape:
        if xs.size == 1:
            xs = np.full(ys.shape, xs[0])
        elif ys.size == 1:
            ys = np.full(xs.shape, ys[0])
        else:
            raise ShapeMismatchError(f"x and y have different lengths ({xs.size}, {ys.size})")
    return np.ascontiguousarray(xs), np.ascontiguousarray(ys)


def _visit_order(xs, ys, shape, sort=True):
    """Order to visit the positions in: by 64 x 64 px tile (cache reuse), else input order."""
    n = xs.size
    if not sort or n < 256:
        return np.arange(n, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        ty = np.clip(np.nan_to_num(ys, nan=0.0) / 64.0, -1, shape[0] / 64.0 + 1).astype(np.int64)
        tx = np.clip(np.nan_to_num(xs, nan=0.0) / 64.0, -1, shape[1] / 64.0 + 1).astype(np.int64)
    key = (ty + 1) * (shape[1] // 64 + 4) + (tx + 1)
    return np.argsort(key, kind="stable").astype(np.int64)


_NO_MASK = np.zeros((1, 1), dtype=np.uint8)
_NO_VAR = np.zeros((1, 1), dtype=np.float64)


def _check_threads(n_threads):
    """``n_threads``: None or an integer >= 1 (the one check, for aperture.py too)."""
    if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(
            n_threads, (int, np.integer)) or n_threads < 1):
        raise InvalidParameterError(f"n_threads must be an integer >= 1; got {n_threads!r}")


def _prepare(data, x, y, mask, var, method, n_threads):
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}; got {method!r}")
    _check_threads(n_threads)
    arr = _as_image(data)
    xs, ys = _positions(x, y)
    if mask is None:
        m = _NO_MASK
    else:
        m = np.asarray(mask)
        if m.shape != arr.shape:
            raise ShapeMismatchError(f"mask has shape {m.shape}, data {arr.shape}")
        m = m.view(np.uint8) if m.dtype == np.bool_ else (m != 0).view(np.uint8)
        m = np.ascontiguousarray(m)
    if var is None:
        v = _NO_VAR
    else:
        v = np.ascontiguousarray(np.asarray(var, dtype=np.float64))
        if v.shape != arr.shape:
            raise ShapeMismatchError(f"var has shape {v.shape}, data {arr.shape}")
    return arr, xs, ys, m, v


def _check_radii(rin, rout):
    if np.any(rin < 0) or np.any(rout < 0):
        raise InvalidParameterError("radii must be >= 0")
    if np.any(rin > rout):
        raise InvalidParameterError("the inner radius of an annulus must be <= the outer one")


def _execute(arr, xs, ys, rin, rout, m, v, has_mask, has_var, method, n_threads):
    """Run the kernel on (m, n) radii; returns a list of m ApertureSums.

    ``method`` is one of METHODS for every aperture, or a sequence of m of them.
    """
    kernel = _kernels()
    nap, n = rin.shape
    out = np.empty((4, nap, n))
    if n:
        touch = np.empty(n)
        numba = _compiled["numba"]
        old = numba.get_num_threads()
        if n_threads is None and n < PARALLEL_MIN:
            # a few positions are done before a second thread would be woken (which costs
            # milliseconds when the other core is busy)
            n_threads = 1
        if n_threads is not None:
            numba.set_num_threads(min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
        methods = [method] * nap if isinstance(method, str) else list(method)
        exact = np.array([mt == "exact" for mt in methods], dtype=np.uint8)
        try:
            kernel(arr, m, v, xs, ys, rin, rout, _visit_order(xs, ys, arr.shape), has_mask,
                   has_var, exact, out, touch)
        finally:
            numba.set_num_threads(old)
    return [ApertureSums(out[0, q], out[1, q], out[2, q], out[3, q] if has_var else None)
            for q in range(nap)]


def _run(data, x, y, rin, rout, mask, var, method, n_threads):
    arr, xs, ys, m, v = _prepare(data, x, y, mask, var, method, n_threads)
    n = xs.size
    rin = _as_vector(rin, n, "rin")
    rout = _as_vector(rout, n, "radius" if not rin.any() else "rout")
    _check_radii(rin, rout)
    return _execute(arr, xs, ys, rin[None, :], rout[None, :], m, v, mask is not None,
                    var is not None, method, n_threads)[0]


def aperture_sums(data, x, y, radii, annulus=None, mask=None, *, var=None, method="exact",
                  annulus_method=None, n_threads=None):
    """Circles of several radii and an optional annulus at each position, in one pass.

    The same sums as :func:`circle_sums` for each radius and :func:`annulus_sums` for
    the annulus (bit-identical), but each position is visited once: the pixels are read
    from memory once for all the apertures, which is faster than separate calls.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, as in :func:`circle_sums`.
    x, y : float or array_like
        Centres, 0-based pixels.
    radii : float or sequence of float
        Circle radii, pixels (>= 0), the same for every position.
    annulus : (float, float), optional
        ``(rin, rout)`` of an annulus, pixels, ``0 <= rin <= rout``. Default None.
    mask, var, method, n_threads
        As in :func:`circle_sums` (``method`` for the circles).
    annulus_method : {"exact", "center"}, optional
        Pixel weights of the annulus. Default None: ``method``. (A centre-sampled sky
        annulus around exact circles is still one pass.)

    Returns
    -------
    (list of ApertureSums, ApertureSums or None)
        One :class:`ApertureSums` per radius (in the order of ``radii``), and the
        annulus' (None without ``annulus``).

    Raises
    ------
    InvalidParameterError, ShapeMismatchError
        As :func:`circle_sums` and :func:`annulus_sums`.
    """
    arr, xs, ys, m, v = _prepare(data, x, y, mask, var, method, n_threads)
    if annulus_method is None:
        annulus_method = method
    elif annulus_method not in METHODS:
        raise InvalidParameterError(
            f"annulus_method must be one of {METHODS}; got {annulus_method!r}")
    n = xs.size
    rad = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    if rad.ndim != 1:
        raise ShapeMismatchError(f"radii must be a number or a 1-D sequence; got {rad.shape}")
    rin = [0.0] * rad.size
    rout = list(rad)
    if annulus is not None:
        try:
            a_in, a_out = (float(v_) for v_ in annulus)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"annulus must be (rin, rout); got {annulus!r}") from None
        rin.append(a_in)
        rout.append(a_out)
    rin = np.repeat(np.asarray(rin, dtype=np.float64)[:, None], n, axis=1)
    rout = np.repeat(np.asarray(rout, dtype=np.float64)[:, None], n, axis=1)
    _check_radii(rin, rout)
    methods = [method] * rad.size + ([annulus_method] if annulus is not None else [])
    res = _execute(arr, xs, ys, rin, rout, m, v, mask is not None, var is not None, methods,
                   n_threads)
    if annulus is None:
        return res, None
    return res[:-1], res[-1]


def circle_sums(data, x, y, r, mask=None, *, var=None, method="exact", n_threads=None):
    """Sum an image in circles, with the in-image and the masked area, in one pass.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image (float32 or float64 are used as they are; other dtypes are converted to
        float64). Never modified. Non-finite pixels count as masked.
    x, y : float or array_like
        Circle centres, 0-based pixels (``x`` = column). A scalar goes with every value
        of the other. Non-finite positions give NaN in every output.
    r : float or array_like
        Radius, pixels (>= 0), one for all positions or one per position.
    mask : numpy.ndarray, optional
        Pixels to leave out (bool, or integer with non-zero = masked), shape of ``data``.
        Default None (none).
    var : numpy.ndarray, optional
        Variance map (data units squared), shape of ``data``; its weighted sum over the
        unmasked pixels is returned as ``var_sum``. Converted to float64. Default None.
    method : {"exact", "center"}, optional
        Pixel weights: the exact overlap area of pixel and circle (default, as sep
        ``subpix=0`` and photutils ``method="exact"``), or 1 for the pixels whose centre
        is strictly inside the circle (as sep ``subpix=1``).
    n_threads : int, optional
        Threads to spread the positions over (numba). Default None: numba's current
        setting (all cores, or ``NUMBA_NUM_THREADS``), and one thread for calls of fewer
        than :data:`PARALLEL_MIN` positions. Results do not depend on it.

    Returns
    -------
    ApertureSums
        ``sum`` (data * weight over unmasked pixels), ``area`` (in-image area, pixels),
        ``masked_area`` (its masked part, pixels), ``var_sum`` (or None); float64 arrays
        with one value per position.

    Raises
    ------
    InvalidParameterError
        numba is not installed, a negative radius, an unknown ``method`` or a bad
        ``n_threads``.
    ShapeMismatchError
        ``data`` is not 2-D, ``mask``/``var`` do not match it, or ``x``/``y``/``r``
        lengths differ.

    Examples
    --------
    >>> import numpy as np
    >>> from ztfimg.overlap import circle_sums
    >>> res = circle_sums(np.ones((20, 20)), [10.0], [10.0], 0.3)   # doctest: +SKIP
    >>> float(res.area[0]), np.pi * 0.3**2                             # doctest: +SKIP
    (0.282743338823081..., 0.282743338823081...)
    """
    return _run(data, x, y, 0.0, r, mask, var, method, n_threads)


def annulus_sums(data, x, y, rin, rout, mask=None, *, var=None, method="exact",
                 n_threads=None):
    """Sum an image in annuli, with the in-image and the masked area, in one pass.

    The weight of a pixel is its overlap with the circle of radius ``rout`` less its
    overlap with the circle of radius ``rin`` (``method="exact"``), or 1 for the pixels
    whose centre is at a distance ``rin < d < rout`` (``method="center"``, as sep
    ``subpix=1``).

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, as in :func:`circle_sums`.
    x, y : float or array_like
        Annulus centres, 0-based pixels.
    rin, rout : float or array_like
        Inner and outer radius, pixels, ``0 <= rin <= rout``; scalars or one per position.
    mask : numpy.ndarray, optional
        Pixels to leave out, as in :func:`circle_sums`.
    var : numpy.ndarray, optional
        Variance map, as in :func:`circle_sums`.
    method : {"exact", "center"}, optional
        Pixel weights. Default "exact".
    n_threads : int, optional
        Threads, as in :func:`circle_sums`.

    Returns
    -------
    ApertureSums
        As :func:`circle_sums`, for the annuli.

    Raises
    ------
    InvalidParameterError
        numba is not installed, negative radii, ``rin > rout``, unknown ``method``.
    ShapeMismatchError
        As :func:`circle_sums`.
    """
    return _run(data, x, y, rin, rout, mask, var, method, n_threads)


def pixel_overlap(x0, x1, y0, y1, r):
    """Exact area of the disc of radius ``r`` centred at the origin inside a rectangle.

    The same code as the kernels' (pure Python until the kernels are compiled, then the
    compiled functions); no numba needed.

    Parameters
    ----------
    x0, x1 : float
        Rectangle's x extent, ``x0 <= x1`` (any sign).
    y0, y1 : float
        Rectangle's y extent, ``y0 <= y1``.
    r : float
        Disc radius, >= 0.

    Returns
    -------
    float
        The overlap area.

    Raises
    ------
    InvalidParameterError
        ``r < 0`` or an empty rectangle.

    Examples
    --------
    >>> from ztfimg.overlap import pixel_overlap
    >>> round(pixel_overlap(-0.5, 0.5, -0.5, 0.5, 0.3), 12)
    0.282743338823
    """
    x0, x1, y0, y1, r = (float(v) for v in (x0, x1, y0, y1, r))
    if not r >= 0 or not x0 <= x1 or not y0 <= y1:
        raise InvalidParameterError("need r >= 0, x0 <= x1 and y0 <= y1; got "
                                    f"r={r}, x=({x0}, {x1}), y=({y0}, {y1})")
    if r == 0.0:
        return 0.0
    r2 = r * r
    return float(_overlap_row(x0, x1, r, r2, _row_pieces(y0, y1, r2)))
