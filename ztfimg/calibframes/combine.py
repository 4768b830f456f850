"""Pixel-by-pixel combination of many frames: sigma-clipped mean or median (level 1).

:func:`combine_cube` is the kernel: an ``(n_frames, n_pixels)`` (or ``(n, ny, nx)``) float
array with NaN where a frame has no valid value; for each pixel it takes the finite values,
and either

* ``'mean'``: clips them around their median at ``sigma`` times their standard deviation
  (astropy's :func:`~astropy.stats.sigma_clip` rule: centre = median, scale = population
  standard deviation of the values still kept, bounds re-computed until nothing changes or
  ``maxiters`` iterations), then takes the **weighted** mean of what is left; or
* ``'median'``: the plain median of the finite values (no clipping).

It also returns, per pixel, the number of values used, the sum of their weights, the sum
of a second per-frame quantity over them (an exposure time, for an exposure map) and the
variance of the combined value estimated from the scatter of the values themselves
(``sum w (v - m)^2 / ((n - 1) sum w)`` for the weighted mean, which is ``s^2 / n`` for
equal weights; ``pi/2`` times that for the median).

:func:`combine` applies the kernel to a list of frames (arrays or FITS files) in blocks of
rows, so that only ``n_frames x block_rows x ncols`` values are in memory at a time, with
per-frame offsets and scales applied on the fly (bias subtraction, flat normalisation).

The kernel is C (``ztfimg/_kernel.c``, built at install time with the aperture kernel;
threads over pixels, each pixel's result in its own slot).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from .reader import as_reader

__all__ = ["combine_cube", "combine", "Combined", "METHODS", "block_rows"]

#: Accepted ``method`` values.
METHODS = ("mean", "median")

#: Result of :func:`combine` and :func:`combine_cube`.
Combined = namedtuple("Combined", ["data", "variance", "count", "weight", "extra"])
Combined.__doc__ = """The combination of a set of frames, pixel by pixel.

Attributes
----------
data : numpy.ndarray of float32
    The combined value (NaN where no frame had a valid value).
variance : numpy.ndarray of float32
    Variance of ``data`` estimated from the scatter of the values combined (NaN where
    fewer than two values were used).
count : numpy.ndarray of int32
    Number of values used (after clipping).
weight : numpy.ndarray of float32
    Sum of the weights of the values used.
extra : numpy.ndarray of float32
    Sum of the per-frame ``extra`` quantity over the values used (e.g. exposure time).

Examples
--------
>>> import numpy as np
>>> combine_cube(np.ones((3, 2, 2))).count.tolist()
[[3, 3], [3, 3]]
"""


# --------------------------------------------------------------------------- the kernel
# The per-pixel loop is C (``ztfimg/_kernel.c``, ``ztf_combine``; threads over pixels).


# ------------------------------------------------------------------------- validation
def _check_method(method):
    if not (isinstance(method, str) and method in METHODS):
        raise InvalidParameterError(f"method must be 'mean' (sigma-clipped) or 'median'; "
                                    f"got {method!r}")
    return method


def _check_sigma(sigma):
    if sigma is None:
        return 0.0
    if isinstance(sigma, (bool, np.bool_)) or not isinstance(sigma, (int, float, np.number)) \
            or not math.isfinite(float(sigma)) or float(sigma) <= 0:
        raise InvalidParameterError(f"sigma must be a positive number (clipping threshold in "
                                    f"standard deviations) or None (no clipping); got "
                                    f"{sigma!r}")
    return float(sigma)


def _check_maxiters(maxiters):
    if isinstance(maxiters, (bool, np.bool_)) or not isinstance(maxiters, (int, np.integer)) \
            or maxiters < 1:
        raise InvalidParameterError(f"maxiters must be a positive integer; got {maxiters!r}")
    return int(maxiters)


def _per_frame(values, n, name, default):
    if values is None:
        return np.full(n, default, np.float64)
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ShapeMismatchError(f"{name} must have one value per frame ({n}); got shape "
                                 f"{arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} must be finite; got {arr}")
    return arr


def _per_frame_extra(extra, n):
    """(n, q) float64 array of the per-frame extra quantities, and whether it was 1-D."""
    if extra is None:
        return np.zeros((n, 1)), True
    arr = np.asarray(extra, dtype=np.float64)
    one = arr.ndim <= 1
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] < 1:
        raise ShapeMismatchError(f"extra must have one value (or one row of values) per "
                                 f"frame ({n}); got shape {np.shape(extra)}")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError("extra must be finite")
    return np.ascontiguousarray(arr), one


# ------------------------------------------------------------------------- public API
def combine_cube(cube, method="mean", *, sigma=3.0, maxiters=5, weights=None, extra=None):
    """Combine a cube of frames pixel by pixel (the kernel; everything in memory).

    Parameters
    ----------
    cube : array_like, shape (n_frames, ...)
        The frames stacked on the first axis (``(n, ny, nx)`` or ``(n, n_pixels)``), any
        float type; NaN (or inf) marks a missing or masked value. Not modified.
    method : {'mean', 'median'}, default 'mean'
        ``'mean'``: weighted mean after sigma clipping; ``'median'``: median of the finite
        values (``sigma`` and ``weights`` do not change the value, only ``weight``).
    sigma : float or None, default 3.0
        Clipping threshold in standard deviations around the median (``'mean'`` only);
        None: no clipping (plain weighted mean).
    maxiters : int, default 5
        Maximum number of clipping iterations.
    weights : array_like of float, shape (n_frames,), optional
        Per-frame weights of the mean (e.g. inverse variances); default 1.
    extra : array_like of float, shape (n_frames,) or (n_frames, q), optional
        Per-frame quantities summed over the values used (e.g. exposure time, s); default 0.

    Returns
    -------
    Combined
        ``data``, ``variance``, ``count``, ``weight``, ``extra``, each of the shape of one
        frame (``cube.shape[1:]``; ``extra`` has a leading axis of length ``q`` when
        ``extra`` was 2-D).

    Raises
    ------
    InvalidParameterError
        Unknown method, bad sigma/maxiters, non-finite weights.
    ShapeMismatchError
        ``cube`` has fewer than 2 dimensions, or ``weights``/``extra`` do not have one value
        per frame.

    Examples
    --------
    >>> import numpy as np
    >>> from ztfimg.calibframes import combine_cube
    >>> cube = np.ones((5, 2, 2)); cube[0, 0, 0] = 100.0      # one outlier
    >>> res = combine_cube(cube, "mean", sigma=1.5)
    >>> float(res.data[0, 0]), int(res.count[0, 0])
    (1.0, 4)
    """
    method = _check_method(method)
    sigma = _check_sigma(sigma)
    maxiters = _check_maxiters(maxiters)
    arr = np.asarray(cube)
    if arr.ndim < 2:
        raise ShapeMismatchError(f"cube must have the frames on its first axis and at least 2 "
                                 f"dimensions; got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise InvalidParameterError(f"cube must be numeric; got dtype {arr.dtype}")
    n = arr.shape[0]
    if n == 0:
        raise InvalidParameterError("cube holds no frame (its first axis has length 0)")
    shape = arr.shape[1:]
    flat = arr.reshape(n, -1)
    if flat.dtype not in (np.float32, np.float64):
        flat = flat.astype(np.float32)
    flat = np.ascontiguousarray(flat)   # the kernel reads float32 or float64
    w = _per_frame(weights, n, "weights", 1.0)
    if np.any(w < 0):
        raise InvalidParameterError(f"weights must be >= 0; got {w}")
    e, one = _per_frame_extra(extra, n)
    from .._ckernel import combine as _ccombine
    out, var, count, wsum, esum = _ccombine(
        flat, np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(e, dtype=np.float64), method == "median", sigma, maxiters)
    esum = esum.reshape((e.shape[1],) + shape)
    return Combined(out.reshape(shape), var.reshape(shape), count.reshape(shape),
                    wsum.reshape(shape), esum[0] if one else esum)


def block_rows(n_frames, ncols, mem_limit, bytes_per_value=4, overhead=3):
    """Rows per block so that a block of all frames stays within ``mem_limit`` bytes.

    Parameters
    ----------
    n_frames, ncols : int
        Frames combined and columns per row.
    mem_limit : float
        Bytes for one block: the ``n_frames x rows x ncols`` cube of ``bytes_per_value``
        values plus ``overhead`` per-pixel output arrays of 8 bytes.
    bytes_per_value : int, default 4
    overhead : int, default 3

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> block_rows(100, 3072, 256e6)
    196
    """
    per_row = max(1, int(ncols)) * (int(n_frames) * bytes_per_value + 8 * overhead)
    return max(1, int(float(mem_limit) // per_row))


def _check_mem_limit(mem_limit):
    if isinstance(mem_limit, (bool, np.bool_)) or not isinstance(
            mem_limit, (int, float, np.number)) or not float(mem_limit) > 0 \
            or not math.isfinite(float(mem_limit)):
        raise InvalidParameterError(f"mem_limit must be a positive number of bytes; got "
                                    f"{mem_limit!r}")
    return float(mem_limit)


def combine(frames, method="mean", *, sigma=3.0, maxiters=5, weights=None, scales=None,
            offsets=None, extra=None, hdu=0, section=None, mem_limit=256e6, prepare=None):
    """Combine 2-D frames (arrays or FITS files) pixel by pixel, in blocks of rows.

    Each frame is used as ``(frame - offset) * scale`` (after ``prepare``, when given), so
    a bias can be subtracted or a flat normalised on the fly, and read only one block of
    rows at a time: the memory in use is about ``mem_limit`` whatever the number of
    frames (FITS files are read row block by row block, never whole).

    Parameters
    ----------
    frames : sequence of 2-D array_like, str or path-like, or a 3-D array
        The frames, all of the same shape (after ``section``). FITS files are read from HDU
        ``hdu`` (see :class:`SectionReader`).
    method : {'mean', 'median'}, default 'mean'
        Sigma-clipped weighted mean, or median (see :func:`combine_cube`).
    sigma : float or None, default 3.0
        Clipping threshold (standard deviations), None for no clipping.
    maxiters : int, default 5
    weights : array_like, shape (n_frames,), optional
        Per-frame weights of the mean.
    scales : array_like, shape (n_frames,), optional
        Per-frame multiplicative factors, applied after subtracting ``offsets``; default 1.
    offsets : sequence, optional
        Per frame: a scalar, a 1-D array of one value per row (an overscan level), or a 2-D
        array of the frame's shape (a master bias); subtracted first. Default 0.
    extra : array_like, shape (n_frames,), optional
        Per-frame quantity summed over the values used (:attr:`Combined.extra`).
    hdu : int or str, default 0
        HDU of FITS frames (a 0-size primary HDU falls through to the first extension).
    section : tuple of slice or str, optional
        The part of each frame to combine: ``(rows, cols)`` slices, or a FITS/IRAF section
        string ``'[x1:x2,y1:y2]'`` (1-based, inclusive). Default the whole frame.
    mem_limit : float, default 256e6
        Bytes for one block of rows of all frames (see :func:`block_rows`).
    prepare : callable, optional
        ``prepare(i, block, rows) -> block``: a per-frame hook applied to each block
        (float32 ``(nrows, ncols)``; ``rows`` the ``slice`` of rows in the section),
        before ``offsets`` and ``scales``.

    Returns
    -------
    Combined
        Arrays of one frame's shape.

    Raises
    ------
    InvalidParameterError
        No frame, a bad option, or a frame that is not 2-D.
    ShapeMismatchError
        Frames of different shapes, or per-frame values not one per frame.
    MissingFileError, FileFormatError
        A FITS frame cannot be read.

    Examples
    --------
    >>> import numpy as np
    >>> from ztfimg.calibframes import combine
    >>> rng = np.random.default_rng(0)
    >>> frames = [100 + rng.normal(0, 2, (64, 64)) for _ in range(9)]
    >>> res = combine(frames, "mean", sigma=3.0, mem_limit=1e5)     # a few rows per block
    >>> res.data.shape, bool(abs(res.data.mean() - 100) < 0.1)
    ((64, 64), True)
    """
    method = _check_method(method)
    sigma = _check_sigma(sigma)
    maxiters = _check_maxiters(maxiters)
    mem_limit = _check_mem_limit(mem_limit)
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = list(frames)
    if isinstance(frames, (str, bytes)) or not np.iterable(frames):
        raise InvalidParameterError(f"frames must be a sequence of 2-D arrays or FITS files; "
                                    f"got {type(frames).__name__}")
    readers = [as_reader(f, hdu=hdu, section=section) for f in frames]
    n = len(readers)
    if n == 0:
        raise InvalidParameterError("frames is empty: give at least one frame to combine")
    shape = readers[0].shape
    for i, r in enumerate(readers):
        if r.shape != shape:
            raise ShapeMismatchError(f"frame {i} has shape {r.shape}, frame 0 {shape}: all "
                                     f"frames must have the same shape")
    w = _per_frame(weights, n, "weights", 1.0)
    s = _per_frame(scales, n, "scales", 1.0)
    e = _per_frame(extra, n, "extra", 0.0)
    if offsets is None:
        offsets = [0.0] * n
    if len(offsets) != n:
        raise ShapeMismatchError(f"offsets must have one entry per frame ({n}); got "
                                 f"{len(offsets)}")
    offs = [_check_offset(o, shape, i) for i, o in enumerate(offsets)]
    ny, nx = shape
    step = block_rows(n, nx, mem_limit)
    outs = [np.empty(shape, np.float32) for _ in range(3)] + [np.empty(shape, np.int32),
                                                             np.empty(shape, np.float32)]
    data, var, wsum, count, esum = outs
    cube = np.empty((n, min(step, ny), nx), np.float32)
    for r0 in range(0, ny, step):
        r1 = min(ny, r0 + step)
        rows = slice(r0, r1)
        block = cube[:, : r1 - r0]
        for i, reader in enumerate(readers):
            b = reader.read(r0, r1)
            if prepare is not None:
                b = np.asarray(prepare(i, b, rows), dtype=np.float32)
                if b.shape != (r1 - r0, nx):
                    raise ShapeMismatchError(f"prepare returned a block of shape {b.shape}; "
                                             f"expected {(r1 - r0, nx)}")
            o = offs[i]
            if np.ndim(o) == 0:
                if o != 0.0:
                    b = b - np.float32(o)
            elif o.ndim == 1:
                b = b - o[rows, None]
            else:
                b = b - o[rows]
            if s[i] != 1.0:
                b = b * np.float32(s[i])
            block[i] = b
        res = combine_cube(block, method, sigma=sigma or None, maxiters=maxiters, weights=w,
                           extra=e)
        data[rows], var[rows], count[rows] = res.data, res.variance, res.count
        wsum[rows], esum[rows] = res.weight, res.extra
    return Combined(data, var, count, wsum, esum)


def _check_offset(o, shape, i):
    if o is None:
        return 0.0
    arr = np.asarray(o, dtype=np.float32)
    if arr.ndim == 0:
        return float(arr)
    if arr.ndim == 1 and arr.shape == (shape[0],):
        return arr
    if arr.shape == shape:
        return arr
    raise ShapeMismatchError(f"offset of frame {i} must be a scalar, one value per row "
                             f"({shape[0]}) or an array of the frame's shape {shape}; got "
                             f"shape {arr.shape}")

