"""Exact circle/pixel overlap and aperture sums: a compiled kernel, parallel over positions.

:func:`circle_sums` and :func:`annulus_sums` (and :func:`aperture_sums`, several circles
plus an annulus per position in one pass) sum an image in circles and annuli with the
exact area of overlap of each pixel with the aperture as weight, and return in the same
single pass the in-image aperture area and the part of it that is masked (so a caller
gets the sum, the unmasked area and the masked fraction without a second call).
``method="center"`` instead takes the whole pixels whose centre lies in the aperture.
They are an alternative to ``sep.sum_circle`` / ``sep.sum_circann`` (``subpix=0``),
with three differences:

* masked pixels (and non-finite data) are **left out** of the sum, not rescaled;
* the work is spread over positions on several threads with the GIL released, where sep
  holds it for the whole call;
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
circular segment ``r**2 / 2 (theta - sin theta)``, with ``sin theta = u`` from the cross
product of the chord's end points and ``theta - sin theta = asin(u) - u`` from its series
for ``u < 0.3`` (14 terms, evaluated by Estrin's scheme), ``atan2`` above. Large numbers
are never subtracted from each other, so the result is accurate relative to the pixel
area (checked against 50-digit arithmetic: errors <= ~1e-13 of a pixel) for radii from
1e-3 px to 1000 px.

The kernel is C (``ztfimg/_kernel.c``, built at install time, loaded through
:mod:`ctypes`, which releases the GIL; POSIX threads, each position's results in its own
slot, so the numbers do not depend on the number of threads). Loading it costs about a
millisecond, nothing is compiled at run time and it adds no measurable memory. Without it
(an install with no C compiler) the functions raise
:class:`~ztfimg.errors.InvalidParameterError`; :data:`HAVE_KERNEL` tells in advance.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._ckernel import HAVE_KERNEL, default_threads, library, ptr
from .errors import InvalidParameterError, ShapeMismatchError

__all__ = ["HAVE_KERNEL", "ApertureSums", "circle_sums", "annulus_sums", "aperture_sums",
           "pixel_overlap", "METHODS", "PARALLEL_MIN", "engine_setting", "ENGINE_SETTINGS",
           "default_threads"]

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

#: Values of the ``ZTFIMG_ENGINE`` environment variable.
ENGINE_SETTINGS = ("auto", "kernel", "sep")


def engine_setting():
    """``ZTFIMG_ENGINE`` (str: 'auto' when unset, 'kernel' or 'sep'; else InvalidParameterError).

    The one reading of the variable for every compiled route (aperture sums, mask bits).
    """
    import os
    value = os.environ.get("ZTFIMG_ENGINE", "auto").strip().lower() or "auto"
    if value not in ENGINE_SETTINGS:
        raise InvalidParameterError(f"the ZTFIMG_ENGINE environment variable must be one of "
                                    f"{ENGINE_SETTINGS}; got {value!r}")
    return value


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


def _check_threads(n_threads):
    """``n_threads``: None or an integer >= 1 (the one check, for aperture.py too)."""
    if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(
            n_threads, (int, np.integer)) or n_threads < 1):
        raise InvalidParameterError(f"n_threads must be an integer >= 1; got {n_threads!r}")


def _prepare(data, x, y, mask, var, method, n_threads, rms=None):
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}; got {method!r}")
    _check_threads(n_threads)
    arr = _as_image(data)
    xs, ys = _positions(x, y)
    m = None
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != arr.shape:
            raise ShapeMismatchError(f"mask has shape {m.shape}, data {arr.shape}")
        m = m.view(np.uint8) if m.dtype == np.bool_ else (m != 0).view(np.uint8)
        m = np.ascontiguousarray(m)
    if var is not None and rms is not None:
        raise InvalidParameterError("give var or rms, not both")
    kind = 0
    v = None
    if var is not None:
        v, kind = np.ascontiguousarray(np.asarray(var, dtype=np.float64)), 1
    elif rms is not None:
        # an rms map is squared pixel by pixel in the kernel (no full-frame variance map)
        v = np.asarray(rms)
        v = np.ascontiguousarray(v if v.dtype == np.float32 else v.astype(np.float64))
        kind = 2 if v.dtype == np.float32 else 3
    if kind and v.shape != arr.shape:
        raise ShapeMismatchError(f"{'var' if kind == 1 else 'rms'} has shape {v.shape}, "
                                 f"data {arr.shape}")
    return arr, xs, ys, m, v, kind


def _check_radii(rin, rout):
    if np.any(rin < 0) or np.any(rout < 0):
        raise InvalidParameterError("radii must be >= 0")
    if np.any(rin > rout):
        raise InvalidParameterError("the inner radius of an annulus must be <= the outer one")


def _execute(arr, xs, ys, rin, rout, m, v, var_kind, method, n_threads):
    """Run the kernel on (m, n) radii; returns a list of m ApertureSums.

    ``m`` (the mask bytes) and ``v`` (variance or rms map, ``var_kind`` as in the C code)
    may be None. ``method`` is one of METHODS for every aperture, or a sequence of m of them.
    """
    lib = library()
    nap, n = rin.shape
    out = np.empty((4, nap, n))
    if n:
        if n_threads is None:
            # a few positions are done before a second thread would be started
            n_threads = 1 if n < PARALLEL_MIN else default_threads()
        methods = [method] * nap if isinstance(method, str) else list(method)
        exact = np.array([mt == "exact" for mt in methods], dtype=np.uint8)
        order = _visit_order(xs, ys, arr.shape)
        rin = np.ascontiguousarray(rin, dtype=np.float64)
        rout = np.ascontiguousarray(rout, dtype=np.float64)
        lib.ztf_aperture_sums(ptr(arr), int(arr.dtype == np.float32), arr.shape[0],
                              arr.shape[1], ptr(m), ptr(v), int(var_kind), ptr(xs),
                              ptr(ys), n, ptr(rin), ptr(rout), nap, ptr(exact), ptr(order),
                              ptr(out), int(n_threads))
    return [ApertureSums(out[0, q], out[1, q], out[2, q], out[3, q] if var_kind else None)
            for q in range(nap)]


def _run(data, x, y, rin, rout, mask, var, method, n_threads):
    arr, xs, ys, m, v, kind = _prepare(data, x, y, mask, var, method, n_threads)
    n = xs.size
    rin = _as_vector(rin, n, "rin")
    rout = _as_vector(rout, n, "radius" if not rin.any() else "rout")
    _check_radii(rin, rout)
    return _execute(arr, xs, ys, rin[None, :], rout[None, :], m, v, kind, method,
                    n_threads)[0]


def aperture_sums(data, x, y, radii, annulus=None, mask=None, *, var=None, method="exact",
                  annulus_method=None, n_threads=None, rms=None):
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
    rms : numpy.ndarray, optional
        A noise map (data units, shape of ``data``; float32 kept as it is) instead of
        ``var``: ``var_sum`` is then the weighted sum of its squares, computed pixel by
        pixel (no frame-sized variance map is made). Default None; not with ``var``.

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
    arr, xs, ys, m, v, kind = _prepare(data, x, y, mask, var, method, n_threads, rms=rms)
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
    res = _execute(arr, xs, ys, rin, rout, m, v, kind, methods,
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
        Threads to spread the positions over. Default None: :func:`default_threads`
        (``ZTFIMG_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the usable cores), and
        one thread for calls of fewer than :data:`PARALLEL_MIN` positions. Results do
        not depend on it.

    Returns
    -------
    ApertureSums
        ``sum`` (data * weight over unmasked pixels), ``area`` (in-image area, pixels),
        ``masked_area`` (its masked part, pixels), ``var_sum`` (or None); float64 arrays
        with one value per position.

    Raises
    ------
    InvalidParameterError
        The compiled kernel is not installed, a negative radius, an unknown ``method``
        or a bad ``n_threads``.
    ShapeMismatchError
        ``data`` is not 2-D, ``mask``/``var`` do not match it, or ``x``/``y``/``r``
        lengths differ.

    Examples
    --------
    >>> import numpy as np
    >>> from ztfimg.overlap import circle_sums
    >>> res = circle_sums(np.ones((20, 20)), [10.0], [10.0], 0.3)
    >>> round(float(res.area[0]), 12), round(np.pi * 0.3**2, 12)
    (0.282743338823, 0.282743338823)
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
        The compiled kernel is not installed, negative radii, ``rin > rout``, unknown
        ``method``.
    ShapeMismatchError
        As :func:`circle_sums`.
    """
    return _run(data, x, y, rin, rout, mask, var, method, n_threads)


def pixel_overlap(x0, x1, y0, y1, r):
    """Exact area of the disc of radius ``r`` centred at the origin inside a rectangle.

    The kernel's own geometry (the same compiled function the aperture sums call per
    boundary pixel).

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
        ``r < 0`` or an empty rectangle, or the compiled kernel is not installed.

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
    return float(library().ztf_pixel_overlap(x0, x1, y0, y1, r))
