"""Master bias, dark and flat frames, and their application to raw frames (level 1).

The classical CCD reduction, with the variance carried through every step:

* :func:`master_bias`: overscan-corrected bias frames, sigma-clipped mean (or median);
* :func:`master_dark`: ``(raw - overscan - bias) / exptime``, combined: a dark-current
  **rate** (DN/s) that scales to any exposure time;
* :func:`master_flat`: ``raw - overscan - bias - dark * exptime``, each frame divided by
  its own median, combined (weighted by the frames' levels), then normalised to a median
  of 1;
* :func:`calibrate`: ``(raw - overscan - bias - dark * t) / flat`` with its variance:
  read noise and Poisson noise of the raw frame (or a variance map given in), plus the
  variances of the overscan level and of each master frame.

Every master is built in blocks of rows (:func:`~ztfimg.calibframes.combine`), so memory
stays near ``mem_limit`` whatever the number of frames; FITS inputs are never read whole.
"""

from __future__ import annotations

import math
import os
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from ..errors import HeaderKeywordError, InvalidParameterError, ShapeMismatchError
from ..fitsio import check_fits_path, read_fits
from .combine import _check_mem_limit, combine
from .raw import RawLayout, frame_level

__all__ = ["MasterFrame", "master_bias", "master_dark", "master_flat", "calibrate",
           "Calibrated", "KINDS"]

#: Kinds of master frame and the unit of their pixels.
KINDS = {"bias": "DN", "dark": "DN/s", "flat": "relative"}

Calibrated = namedtuple("Calibrated", ["data", "variance"])
Calibrated.__doc__ = """A calibrated frame (:func:`calibrate`).

Attributes
----------
data : numpy.ndarray of float32
    ``(raw - overscan - bias - dark * exptime) / flat``, DN (NaN where the flat is <= 0).
variance : numpy.ndarray of float32
    Its variance, DN^2.

Examples
--------
>>> out = calibrate(raw, bias=bias, gain=6.0, readnoise=9.0)          # doctest: +SKIP
>>> err = np.sqrt(out.variance)                                         # doctest: +SKIP
"""


def _readonly(a, dtype):
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class MasterFrame:
    """A master calibration frame with its variance.

    Parameters
    ----------
    kind : {'bias', 'dark', 'flat'}
    data : 2-D array_like
        Bias level (DN), dark-current rate (DN/s) or flat (relative, median 1).
    variance : 2-D array_like
        Variance of ``data`` (units squared), from the scatter of the frames combined.
    count : 2-D array_like of int
        Frames used per pixel (after clipping).
    nframes : int
        Frames combined.
    method : str, default 'mean'
    sigma : float or None, default 3.0
    norm : float, default 1.0
        For a flat: the median level (DN) divided out.

    Notes
    -----
    The arrays are read-only copies.

    Examples
    --------
    >>> import numpy as np
    >>> m = MasterFrame("bias", np.zeros((2, 2)), np.ones((2, 2)), np.full((2, 2), 9), 9)
    >>> m
    <MasterFrame bias 2x2 from 9 frames (mean, sigma=3.0), DN>
    """

    kind: str
    data: np.ndarray
    variance: np.ndarray
    count: np.ndarray
    nframes: int
    method: str = "mean"
    sigma: float | None = 3.0
    norm: float = 1.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InvalidParameterError(f"kind must be one of {tuple(KINDS)}; got "
                                        f"{self.kind!r}")
        data = _readonly(self.data, np.float32)
        if data.ndim != 2:
            raise ShapeMismatchError(f"a master frame is 2-D; got shape {data.shape}")
        var = _readonly(self.variance, np.float32)
        count = _readonly(self.count, np.int32)
        if var.shape != data.shape or count.shape != data.shape:
            raise ShapeMismatchError(f"data {data.shape}, variance {var.shape} and count "
                                     f"{count.shape} must have the same shape")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "variance", var)
        object.__setattr__(self, "count", count)
        object.__setattr__(self, "nframes", int(self.nframes))

    @property
    def shape(self):
        """tuple of int: (rows, columns)."""
        return self.data.shape

    @property
    def unit(self):
        """str: unit of :attr:`data` (``'DN'``, ``'DN/s'`` or ``'relative'``)."""
        return KINDS[self.kind]

    def __repr__(self):
        ny, nx = self.shape
        return (f"<MasterFrame {self.kind} {ny}x{nx} from {self.nframes} frames "
                f"({self.method}, sigma={self.sigma}), {self.unit}>")

    def write(self, path, overwrite=False):
        """Write the master as FITS: data in the primary HDU, VARIANCE and COUNT after it.

        Parameters
        ----------
        path : str or path-like
        overwrite : bool, default False

        Returns
        -------
        str
            The path written.

        Raises
        ------
        OSError
            The file exists and ``overwrite`` is False, or cannot be written.

        Examples
        --------
        >>> bias.write("master_bias.fits")                         # doctest: +SKIP
        """
        h = fits.Header()
        h["IMAGETYP"] = (f"master {self.kind}", "ztfimg.calibframes master frame")
        h["MKIND"] = (self.kind, "bias, dark (rate) or flat (normalised)")
        h["BUNIT"] = (self.unit, "unit of the pixels")
        h["NFRAMES"] = (self.nframes, "frames combined")
        h["COMBINE"] = (self.method, "combination")
        h["SIGCLIP"] = (-1.0 if self.sigma is None else float(self.sigma),
                        "clipping threshold (sigma), -1: none")
        h["FLATNORM"] = (float(self.norm), "median level divided out (flat), DN")
        hdus = fits.HDUList([fits.PrimaryHDU(self.data, header=h),
                             fits.ImageHDU(self.variance, name="VARIANCE"),
                             fits.ImageHDU(self.count, name="COUNT")])
        path = os.fspath(path)
        hdus.writeto(path, overwrite=overwrite)
        return path

    @classmethod
    def from_file(cls, path):
        """Read a master written by :meth:`write`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        MasterFrame

        Raises
        ------
        MissingFileError
            No such file.
        FileFormatError
            Not a master frame written by ztfimg.

        Examples
        --------
        >>> bias = MasterFrame.from_file("master_bias.fits")        # doctest: +SKIP
        """
        from ..errors import FileFormatError
        path = check_fits_path(path)
        data, h = read_fits(path, dtype=np.float32)
        try:
            with fits.open(path, memmap=False) as hdul:
                var = np.asarray(hdul["VARIANCE"].data, np.float32)
                count = np.asarray(hdul["COUNT"].data, np.int32)
            kind = h["MKIND"]
            sig = float(h.get("SIGCLIP", 3.0))
        except KeyError as exc:
            raise FileFormatError(f"{path!r} is not a ztfimg master frame (missing {exc}); "
                                  "write one with MasterFrame.write") from None
        return cls(kind, data, var, count, int(h.get("NFRAMES", 0)), h.get("COMBINE", "mean"),
                   None if sig < 0 else sig, float(h.get("FLATNORM", 1.0)))


# ---------------------------------------------------------------------------- helpers
def _frames_list(frames):
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = list(frames)
    if isinstance(frames, (str, bytes, os.PathLike)) or not np.iterable(frames):
        raise InvalidParameterError(f"frames must be a sequence of raw frames (2-D arrays or "
                                    f"FITS files); got {type(frames).__name__}")
    frames = list(frames)
    if not frames:
        raise InvalidParameterError("frames is empty: a master needs at least one frame")
    return frames


def _inputs(frames, layout):
    if layout is not None and not isinstance(layout, RawLayout):
        raise InvalidParameterError(f"layout must be a RawLayout or None; got "
                                    f"{type(layout).__name__}")
    out = [frame_level(f, layout) for f in _frames_list(frames)]
    shape = out[0][0].shape
    for i, (r, _, _) in enumerate(out):
        if r.shape != shape:
            raise ShapeMismatchError(f"raw frame {i} has a data section of shape {r.shape}, "
                                     f"frame 0 {shape}: all frames must match")
    return out


def _master(value, shape, name):
    """(data, variance) of a master given as MasterFrame, (data, var), array or scalar."""
    if value is None:
        return None, None
    if isinstance(value, MasterFrame):
        data, var = value.data, value.variance
    elif isinstance(value, tuple) and len(value) == 2:
        data, var = (np.asarray(v, dtype=np.float32) for v in value)
    else:
        data = np.asarray(value, dtype=np.float32)
        var = np.zeros((), np.float32)
    for a, what in ((data, name), (var, f"{name} variance")):
        if a.ndim and a.shape != tuple(shape):
            raise ShapeMismatchError(f"{what} has shape {a.shape}; the frames' data section "
                                     f"is {tuple(shape)}")
    return data, var


def _exptimes(inputs, exptime, name):
    n = len(inputs)
    if exptime is None:
        out = []
        for i, (r, _, _) in enumerate(inputs):
            h = r.header
            if h is None or "EXPTIME" not in h:
                raise HeaderKeywordError(f"{name}: frame {i} has no EXPTIME card; give "
                                         f"exptime= (seconds, one per frame or one for all)")
            out.append(float(h["EXPTIME"]))
        t = np.array(out)
    else:
        t = np.asarray(exptime, dtype=np.float64)
        t = np.full(n, float(t)) if t.ndim == 0 else t
        if t.shape != (n,):
            raise ShapeMismatchError(f"exptime must be one number or one per frame ({n}); "
                                     f"got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise InvalidParameterError(f"exposure times must be positive seconds; got {t}")
    return t


def _preparer(inputs, bias, dark=None, exptimes=None):
    levels = [lvl for _, lvl, _ in inputs]

    def prepare(i, block, rows):
        if levels[i] is not None:
            block -= levels[i][rows, None]
        if bias is not None:
            block -= bias[rows] if np.ndim(bias) else bias
        if dark is not None:
            block -= np.float32(exptimes[i]) * (dark[rows] if np.ndim(dark) else dark)
        return block
    return prepare


def _sample_median(reader, prepare, i, region, nrows=64):
    """Median of a prepared frame over ``region`` from about ``nrows`` evenly spaced rows."""
    rows_sl, cols_sl = region
    r0, r1 = rows_sl.start, rows_sl.stop
    step = max(1, (r1 - r0) // nrows)
    vals = []
    for r in range(r0, r1, step):
        b = prepare(i, reader.read(r, r + 1), slice(r, r + 1))
        vals.append(b[0, cols_sl])
    v = np.concatenate(vals)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise InvalidParameterError(f"flat frame {i} has no finite pixel in the normalisation "
                                    "region")
    return float(np.median(v))


# --------------------------------------------------------------------------- masters
def master_bias(frames, *, layout=None, method="mean", sigma=3.0, maxiters=5,
                mem_limit=256e6):
    """A master bias: overscan-corrected bias frames, combined pixel by pixel.

    Parameters
    ----------
    frames : sequence of str, path-like or 2-D array
        Bias frames (zero-second exposures, shutter closed).
    layout : RawLayout, optional
        Data section and overscan of the frames (default: the whole frame, no overscan).
    method : {'mean', 'median'}, default 'mean'
        Sigma-clipped mean (rejects cosmic rays and glitches) or median.
    sigma : float or None, default 3.0
    maxiters : int, default 5
    mem_limit : float, default 256e6
        Bytes for one block of rows of all frames.

    Returns
    -------
    MasterFrame
        ``kind='bias'``, DN above the overscan level (the bias *structure* when an overscan
        is used, the full level otherwise).

    Raises
    ------
    InvalidParameterError
        No frames or a bad option.
    ShapeMismatchError
        Frames of different shapes.
    MissingFileError, FileFormatError
        A file cannot be read.

    Examples
    --------
    >>> from ztfimg import simraw
    >>> cam = simraw.RawCamera(shape=(64, 64), seed=0)
    >>> bias = master_bias([cam.bias(seed=s).data for s in range(10)], layout=cam.layout)
    >>> bias.nframes, bias.unit
    (10, 'DN')
    """
    inputs = _inputs(frames, layout)
    res = combine([r for r, _, _ in inputs], method, sigma=sigma, maxiters=maxiters,
                  mem_limit=_check_mem_limit(mem_limit), prepare=_preparer(inputs, None))
    return MasterFrame("bias", res.data, res.variance, res.count, len(inputs), method, sigma)


def master_dark(frames, exptime=None, *, bias, layout=None, method="mean", sigma=3.0,
                maxiters=5, weights=None, mem_limit=256e6):
    """A master dark-current **rate**: ``(raw - overscan - bias) / exptime``, combined.

    The rate (DN/s) is what :func:`calibrate` scales by each frame's exposure time, so
    darks of any exposure times combine into one master.

    Parameters
    ----------
    frames : sequence of str, path-like or 2-D array
        Dark frames (shutter closed, exposed).
    exptime : float or array_like, optional
        Exposure time(s), seconds (default: each file's EXPTIME card).
    bias : MasterFrame, 2-D array or float
        The master bias (``0`` when the frames are already bias-subtracted). Required.
    layout : RawLayout, optional
    method : {'mean', 'median'}, default 'mean'
    sigma : float or None, default 3.0
    maxiters : int, default 5
    weights : array_like, optional
        Per-frame weights of the mean; default ``exptime**2`` (inverse variance of a rate
        limited by read noise).
    mem_limit : float, default 256e6

    Returns
    -------
    MasterFrame
        ``kind='dark'``, DN/s.

    Raises
    ------
    InvalidParameterError
        No frames, non-positive exposure times, or a bad option.
    HeaderKeywordError
        ``exptime`` not given and a frame has no EXPTIME.
    ShapeMismatchError
        Frames or bias of different shapes.

    Examples
    --------
    >>> dark = master_dark(darks, 300.0, bias=bias, layout=cam.layout)  # doctest: +SKIP
    """
    inputs = _inputs(frames, layout)
    shape = inputs[0][0].shape
    b, vb = _master(bias, shape, "bias")
    t = _exptimes(inputs, exptime, "master_dark")
    w = t**2 if weights is None else np.asarray(weights, dtype=np.float64)
    res = combine([r for r, _, _ in inputs], method, sigma=sigma, maxiters=maxiters,
                  weights=w, scales=1.0 / t, mem_limit=_check_mem_limit(mem_limit),
                  prepare=_preparer(inputs, b))
    var = res.variance
    if vb is not None:
        # the master bias is common to all frames: its error does not average down
        var = var + vb * float(np.sum(w / t) / np.sum(w)) ** 2
    return MasterFrame("dark", res.data, var, res.count, len(inputs), method, sigma)


def master_flat(frames, *, bias, dark=None, exptime=None, layout=None, method="mean",
                sigma=3.0, maxiters=5, region=None, mem_limit=256e6):
    """A master flat, normalised to a median of 1.

    Each frame, ``raw - overscan - bias - dark * exptime``, is divided by its own median
    (measured on ~64 evenly spaced rows of ``region``), the frames are combined with
    weights proportional to their levels (Poisson noise), and the result is divided by its
    own median over ``region``.

    Parameters
    ----------
    frames : sequence of str, path-like or 2-D array
        Flat-field exposures (dome or twilight), all of one filter.
    bias : MasterFrame, 2-D array or float
        Master bias. Required (``0`` for frames already bias-subtracted).
    dark : MasterFrame or 2-D array, optional
        Dark-current rate (DN/s), subtracted times each frame's exposure time.
    exptime : float or array_like, optional
        Exposure time(s), s; only needed with ``dark`` (default: the EXPTIME cards).
    layout : RawLayout, optional
    method : {'mean', 'median'}, default 'mean'
    sigma : float or None, default 3.0
    maxiters : int, default 5
    region : str or (slice, slice), optional
        Part of the frame whose median normalises (default the whole data section).
    mem_limit : float, default 256e6

    Returns
    -------
    MasterFrame
        ``kind='flat'``; ``norm`` is the median level of the frames, DN.

    Raises
    ------
    InvalidParameterError
        No frames, a frame with no finite pixel, a non-positive median, a bad option.
    ShapeMismatchError
        Frames or masters of different shapes.

    Examples
    --------
    >>> flat = master_flat(flats, bias=bias, layout=cam.layout)    # doctest: +SKIP
    """
    from .sections import as_section
    inputs = _inputs(frames, layout)
    shape = inputs[0][0].shape
    b, vb = _master(bias, shape, "bias")
    d, vd = _master(dark, shape, "dark")
    t = _exptimes(inputs, exptime, "master_flat") if d is not None else None
    region = as_section(region, shape)
    prepare = _preparer(inputs, b, d, t)
    levels = np.array([_sample_median(r, prepare, i, region) for i, (r, _, _) in
                       enumerate(inputs)])
    if np.any(levels <= 0):
        bad = np.flatnonzero(levels <= 0)
        raise InvalidParameterError(f"flat frame(s) {bad.tolist()} have a median <= 0 after "
                                    f"bias/dark subtraction ({levels[bad]}): not flat fields")
    res = combine([r for r, _, _ in inputs], method, sigma=sigma, maxiters=maxiters,
                  weights=levels, scales=1.0 / levels, mem_limit=_check_mem_limit(mem_limit),
                  prepare=prepare)
    var = res.variance
    # the masters are common to all frames: their errors do not average down
    if vb is not None:
        var = var + vb * float(np.sum(levels / levels) / np.sum(levels)) ** 2
    if vd is not None:
        var = var + vd * float(np.sum(t) / np.sum(levels)) ** 2
    sub = res.data[region]
    norm = float(np.median(sub[np.isfinite(sub)]))
    return MasterFrame("flat", res.data / norm, var / norm**2, res.count,
                       len(inputs), method, sigma, norm=float(np.median(levels)) * norm)


# ------------------------------------------------------------------------- calibrate
def _positive(value, name, unit):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise InvalidParameterError(f"{name} must be a number >= 0 ({unit}); got {value!r}")
    return float(value)


def calibrate(raw, *, bias=None, dark=None, flat=None, exptime=None, gain=None,
              readnoise=None, variance=None, layout=None):
    """Calibrate one raw frame and propagate its variance.

    ``data = (raw - overscan - bias - dark * exptime) / flat`` and, with ``S`` the
    numerator and ``F`` the flat::

        var(S) = var_raw + var(overscan) + var(bias) + exptime^2 var(dark)
        var    = var(S) / F^2 + S^2 var(F) / F^4

    where ``var_raw = (readnoise/gain)^2 + max(raw - overscan - bias, 0) / gain`` (read
    noise, and Poisson noise of the dark and light electrons; DN^2), or the ``variance``
    given.

    Parameters
    ----------
    raw : str, path-like or 2-D array
        The raw frame (with its overscan, per ``layout``).
    bias, dark, flat : MasterFrame, 2-D array, (array, variance) or float, optional
        Masters (a plain array has no variance). ``dark`` is a rate, DN/s.
    exptime : float, optional
        Exposure time, s (needed with ``dark``; default the file's EXPTIME).
    gain : float, optional
        e-/DN (default the file's GAIN). Needed unless ``variance`` is given.
    readnoise : float, optional
        e- (default the file's READNOI). Needed unless ``variance`` is given.
    variance : 2-D array or float, optional
        Variance of the raw pixels, DN^2 ("variance in"): replaces the read-noise and
        Poisson model.
    layout : RawLayout, optional
        Data section and overscan of ``raw``.

    Returns
    -------
    Calibrated
        ``data`` (DN, float32) and ``variance`` (DN^2, float32).

    Raises
    ------
    InvalidParameterError
        Missing gain/read noise (and no variance), missing exposure time with a dark, bad
        values.
    ShapeMismatchError
        Masters or variance not of the data section's shape.
    MissingFileError, FileFormatError
        The file cannot be read.

    Examples
    --------
    >>> out = calibrate(frame.data, bias=bias, dark=dark, flat=flat, exptime=30.0,
    ...                 gain=6.0, readnoise=9.0, layout=cam.layout)  # doctest: +SKIP
    >>> pull = (out.data - frame.truth) / np.sqrt(out.variance)         # doctest: +SKIP
    """
    from .raw import read_raw
    rawd = read_raw(raw, layout)
    header = rawd.header if rawd.header is not None else {}
    data = rawd.data.astype(np.float64)
    shape = data.shape
    b, vb = _master(bias, shape, "bias")
    d, vd = _master(dark, shape, "dark")
    f, vf = _master(flat, shape, "flat")
    if variance is None:
        for name, key, val in (("gain", "GAIN", gain), ("readnoise", "READNOI", readnoise)):
            if val is None and key not in header:
                raise InvalidParameterError(f"calibrate needs {name} ({key}) for the read and "
                                            f"Poisson noise; give {name}= or variance=")
        gain = _positive(header["GAIN"] if gain is None else gain, "gain", "e-/DN")
        readnoise = _positive(header["READNOI"] if readnoise is None else readnoise,
                              "readnoise", "e-")
        if gain == 0:
            raise InvalidParameterError("gain must be > 0 e-/DN")
    if d is not None:
        if exptime is None:
            if "EXPTIME" not in header:
                raise InvalidParameterError("a dark needs the frame's exposure time: give "
                                            "exptime= (s)")
            exptime = header["EXPTIME"]
        exptime = _positive(exptime, "exptime", "s")
    s = data
    var = np.zeros(shape)
    if rawd.level is not None:
        s = s - rawd.level[:, None]
        var += rawd.level_variance[:, None]
    if b is not None:
        s = s - b
        var = var + vb
    if variance is None:
        var = var + (readnoise / gain) ** 2 + np.maximum(s, 0.0) / gain
    else:
        v = np.asarray(variance, dtype=np.float64)
        if v.ndim and v.shape != shape:
            raise ShapeMismatchError(f"variance has shape {v.shape}; the data section is "
                                     f"{shape}")
        var = var + v
    if d is not None:
        s = s - exptime * d
        var = var + exptime**2 * vd
    if f is not None:
        f64 = np.asarray(f, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = np.isfinite(f64) & (f64 > 0)
            out = np.where(ok, s / f64, np.nan)
            var = np.where(ok, var / f64**2 + s**2 * vf / f64**4, np.nan)
    else:
        out = s
    return Calibrated(np.asarray(out, np.float32), np.broadcast_to(
        np.asarray(var, np.float32), shape).copy())
