"""Raw frames: where the pixels and the overscan are, and the overscan level (level 1).

A :class:`RawLayout` says which HDU holds the light-sensitive pixels (and which part of
it), where the overscan is (the same HDU or another one), whether the readout is stored
rotated by 180 degrees, and how the overscan level is modelled per row.

Generic FITS: the IRAF keywords ``DATASEC`` and ``BIASSEC`` describe many cameras'
frames (:meth:`RawLayout.from_header`); without them, give the sections yourself, or no
overscan at all.

ZTF raw quadrants: the project's facts (``docs/ZTF.md``) say nothing about raw frames. The
science headers only record that IPAC corrected a *floating bias* (``HISTORY executed
CorrectFloatingBias``) and used calibration images ``CIDBIAS``, ``CIDHIFLT`` (pixel-to-pixel
flat) and ``CIDLOFLT`` (large-scale flat), with no dark (``DARKCUR`` = 1 e-/s is only
quoted).  :func:`ztf_raw_layout` encodes the layout that the raw-image reader of the
earlier ``ztfimg`` package (M. Rigault, github.com/MickaelRigault/ztfimg, ``raw.py``)
assumes: one file per CCD, quadrant ``q`` in HDU ``q`` and its overscan, 30 columns by the
quadrant's rows, in HDU ``q + 4``; columns 5 to 25 of the overscan used; a per-row level
smoothed by a cubic polynomial; data flipped on both axes to reach the science frames'
orientation.  **It has not been checked on a real ZTF raw file here** (none is in the
project's data); check it on one before trusting it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from .reader import SectionReader, as_reader

__all__ = ["RawLayout", "ztf_raw_layout", "overscan_level", "read_raw", "RawData",
           "OVERSCAN_MODELS", "frame_level"]

#: Accepted overscan models.
OVERSCAN_MODELS = ("median", "mean", "poly", "constant")


@dataclass(frozen=True)
class RawLayout:
    """Where the pixels and the overscan of a raw frame are.

    Parameters
    ----------
    hdu : int or str, default 0
        HDU of the pixels.
    data : str or (slice, slice), optional
        Light-sensitive part of that HDU (FITS/IRAF ``'[x1:x2,y1:y2]'`` or 0-based
        slices); default the whole HDU.
    overscan : str or (slice, slice), optional
        Overscan region (columns beside the data, one level per row); default none. In
        ``overscan_hdu`` when that is given, else in ``hdu``.
    overscan_hdu : int or str, optional
        HDU of the overscan when it is stored apart.
    flip : bool, default False
        Both axes of the stored pixels (and overscan) reversed on reading.
    overscan_model : {'median', 'mean', 'poly', 'constant'}, default 'median'
        How the level is estimated (see :func:`overscan_level`).
    overscan_degree : int, default 3
        Degree of the ``'poly'`` model.

    Examples
    --------
    >>> lay = RawLayout(data="[1:2048,1:4096]", overscan="[2049:2080,1:4096]")
    >>> lay.overscan_model
    'median'
    """

    hdu: object = 0
    data: object = None
    overscan: object = None
    overscan_hdu: object = None
    flip: bool = False
    overscan_model: str = "median"
    overscan_degree: int = 3

    def __post_init__(self):
        if self.overscan_model not in OVERSCAN_MODELS:
            raise InvalidParameterError(f"overscan_model must be one of {OVERSCAN_MODELS}; "
                                        f"got {self.overscan_model!r}")
        d = self.overscan_degree
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 0:
            raise InvalidParameterError(f"overscan_degree must be an integer >= 0; got {d!r}")

    @classmethod
    def from_header(cls, header, **kwargs):
        """The layout written in a header's ``DATASEC`` and ``BIASSEC`` cards.

        Parameters
        ----------
        header : astropy.io.fits.Header or mapping
        **kwargs
            Other :class:`RawLayout` fields (``hdu``, ``flip``, ``overscan_model`` ...).

        Returns
        -------
        RawLayout
            ``data`` from DATASEC (or TRIMSEC), ``overscan`` from BIASSEC; None for a
            missing card.

        Examples
        --------
        >>> RawLayout.from_header({"DATASEC": "[1:100,1:50]", "BIASSEC": "[101:110,1:50]"})
        ... # doctest: +ELLIPSIS
        RawLayout(hdu=0, data='[1:100,1:50]', overscan='[101:110,1:50]', ...)
        """
        data = header.get("DATASEC", header.get("TRIMSEC"))
        return cls(data=data, overscan=header.get("BIASSEC"), **kwargs)

    def readers(self, source):
        """The :class:`SectionReader` of the pixels and of the overscan (or None).

        Parameters
        ----------
        source : str, path-like or 2-D array
            The raw frame (a FITS file, or one array holding data and overscan).

        Returns
        -------
        (SectionReader, SectionReader or None)

        Raises
        ------
        InvalidParameterError
            ``overscan_hdu`` for an array source.
        ShapeMismatchError
            An overscan with another number of rows than the data.

        Examples
        --------
        >>> import numpy as np
        >>> lay = RawLayout(data="[1:6,1:4]", overscan="[7:8,1:4]")
        >>> data, over = lay.readers(np.zeros((4, 8)))
        >>> data.shape, over.shape
        ((4, 6), (4, 2))
        """
        data = as_reader(source, hdu=self.hdu, section=self.data, flip=self.flip)
        if self.overscan is None and self.overscan_hdu is None:
            return data, None
        if self.overscan_hdu is not None:
            if not isinstance(source, (str, bytes)) and not hasattr(source, "__fspath__"):
                raise InvalidParameterError("overscan_hdu needs a FITS file source; for an "
                                            "array give the overscan section of that array")
            over = SectionReader(source, hdu=self.overscan_hdu, section=self.overscan,
                                 flip=self.flip)
        else:
            over = as_reader(source, hdu=self.hdu, section=self.overscan, flip=self.flip)
        if over.shape[0] != data.shape[0]:
            raise ShapeMismatchError(f"the overscan has {over.shape[0]} rows, the data "
                                     f"{data.shape[0]}: a per-row overscan needs one row "
                                     f"per data row")
        return data, over


def ztf_raw_layout(qid):
    """The layout of quadrant ``qid`` in a ZTF raw CCD file, as the earlier ztfimg read it.

    **Unverified here** (see the module notes): HDU ``qid`` holds the quadrant, HDU
    ``qid + 4`` its 30-column overscan, of which columns 5-25 (0-based, end excluded) are
    used; level per row smoothed by a cubic; both axes flipped to the science orientation.

    Parameters
    ----------
    qid : int
        Quadrant, 1-4.

    Returns
    -------
    RawLayout

    Raises
    ------
    InvalidParameterError
        ``qid`` not in 1-4.

    Examples
    --------
    >>> ztf_raw_layout(3).overscan_hdu
    7
    """
    if isinstance(qid, (bool, np.bool_)) or not isinstance(qid, (int, np.integer)) \
            or not 1 <= qid <= 4:
        raise InvalidParameterError(f"qid must be 1, 2, 3 or 4; got {qid!r}")
    return RawLayout(hdu=int(qid), overscan=(slice(None), slice(5, 25)),
                     overscan_hdu=int(qid) + 4, flip=True, overscan_model="poly",
                     overscan_degree=3)


def _robust_std(values):
    v = values[np.isfinite(values)]
    if v.size < 2:
        return float("nan")
    med = np.median(v)
    return float(1.4826 * np.median(np.abs(v - med)))


def overscan_level(overscan, model="median", *, degree=3, sigma=3.0):
    """The bias level of each row from the overscan columns, and its variance.

    Parameters
    ----------
    overscan : 2-D array_like
        The overscan region, ``(n_rows, n_columns)``, DN.
    model : {'median', 'mean', 'poly', 'constant'}, default 'median'
        ``'median'``: the median of each row; ``'mean'``: the mean of each row after
        rejecting pixels more than ``sigma`` robust standard deviations from the row's
        median; ``'poly'``: those row means fitted by a polynomial of ``degree`` in the row
        number (rows off by more than ``sigma`` rejected, 3 passes); ``'constant'``: one
        clipped mean for the frame.
    degree : int, default 3
        Degree of the ``'poly'`` model.
    sigma : float, default 3.0
        Rejection threshold, robust standard deviations (1.4826 MAD).

    Returns
    -------
    level : numpy.ndarray of float32, shape (n_rows,)
        DN per row.
    variance : numpy.ndarray of float32, shape (n_rows,)
        Variance of ``level``, DN^2, from the scatter of the overscan pixels (``pi/2 s^2/n``
        for the median of ``n`` columns, ``s^2/n`` for a mean, ``(degree+1) s^2 / N`` for the
        polynomial through ``N`` pixels, ``s^2/N`` for the constant).

    Raises
    ------
    InvalidParameterError
        Unknown model, bad degree or sigma, or too few finite overscan pixels.
    ShapeMismatchError
        ``overscan`` not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> over = 500 + np.random.default_rng(0).normal(0, 1.5, (100, 20))
    >>> level, var = overscan_level(over, "constant")
    >>> bool(abs(level[0] - 500) < 0.1), level.shape
    (True, (100,))
    """
    if model not in OVERSCAN_MODELS:
        raise InvalidParameterError(f"model must be one of {OVERSCAN_MODELS}; got {model!r}")
    if isinstance(degree, (bool, np.bool_)) or not isinstance(degree, (int, np.integer)) \
            or degree < 0:
        raise InvalidParameterError(f"degree must be an integer >= 0; got {degree!r}")
    if isinstance(sigma, (bool, np.bool_)) or not isinstance(sigma, (int, float, np.number)) \
            or not sigma > 0:
        raise InvalidParameterError(f"sigma must be a positive number; got {sigma!r}")
    arr = np.asarray(overscan, dtype=np.float64)
    if arr.ndim != 2:
        raise ShapeMismatchError(f"overscan must be a 2-D region (rows, columns); got shape "
                                 f"{arr.shape}")
    ny, ncol = arr.shape
    s = _robust_std(arr - np.nanmedian(arr, axis=1, keepdims=True)) if ncol > 1 else \
        _robust_std(arr)
    if not math.isfinite(s) or np.isfinite(arr).sum() < 2:
        raise InvalidParameterError("the overscan has fewer than 2 finite pixels: cannot "
                                    "estimate a level")
    rowmed = np.nanmedian(arr, axis=1)
    if model == "median":
        n = np.isfinite(arr).sum(axis=1)
        var = (math.pi / 2) * s * s / np.maximum(n, 1)
        return rowmed.astype(np.float32), var.astype(np.float32)
    good = np.isfinite(arr) & (np.abs(arr - rowmed[:, None]) <= sigma * max(s, 1e-30))
    n = good.sum(axis=1)
    rowmean = np.where(n > 0, np.where(good, arr, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)
    if model == "mean":
        return rowmean.astype(np.float32), (s * s / np.maximum(n, 1)).astype(np.float32)
    ntot = int(n.sum())
    if model == "constant":
        value = float(np.nansum(rowmean * n) / max(ntot, 1))
        return (np.full(ny, value, np.float32),
                np.full(ny, s * s / max(ntot, 1), np.float32))
    rows = np.arange(ny, dtype=np.float64)
    x = (rows - (ny - 1) / 2.0) / max((ny - 1) / 2.0, 1.0)
    use = np.isfinite(rowmean)
    if use.sum() <= degree:
        raise InvalidParameterError(f"a degree-{degree} overscan model needs more than "
                                    f"{degree} usable rows; got {int(use.sum())}")
    for _ in range(3):
        coef = np.polynomial.polynomial.polyfit(x[use], rowmean[use], degree)
        fit = np.polynomial.polynomial.polyval(x, coef)
        resid = rowmean - fit
        rs = _robust_std(resid[use]) if use.sum() > 2 else 0.0
        new = np.isfinite(rowmean) & (np.abs(resid) <= sigma * max(rs, 1e-30))
        if new.sum() <= degree or np.array_equal(new, use):
            break
        use = new
    npix = max(int(n[use].sum()), 1)
    return fit.astype(np.float32), np.full(ny, (degree + 1) * s * s / npix, np.float32)


@dataclass(frozen=True)
class RawData:
    """A raw frame's pixels with its overscan level (from :func:`read_raw`).

    Attributes
    ----------
    data : numpy.ndarray of float32
        The data section, DN, as read (overscan not subtracted).
    level : numpy.ndarray of float32 or None
        Overscan level per row, DN (None without an overscan).
    level_variance : numpy.ndarray of float32 or None
        Its variance, DN^2.
    header : astropy.io.fits.Header or None
        Header of the data HDU (None for an array).

    Examples
    --------
    >>> raw = read_raw("ztf_raw.fits", ztf_raw_layout(2))            # doctest: +SKIP
    >>> corrected = raw.data - raw.level[:, None]                       # doctest: +SKIP
    """

    data: np.ndarray
    level: np.ndarray | None
    level_variance: np.ndarray | None
    header: object = None


def frame_level(source, layout):
    """Readers and overscan level of one raw frame (the data is not read).

    Parameters
    ----------
    source : str, path-like, 2-D array or SectionReader
    layout : RawLayout or None

    Returns
    -------
    (SectionReader, level or None, level_variance or None)

    Raises
    ------
    InvalidParameterError, ShapeMismatchError, MissingFileError, FileFormatError
        As :meth:`RawLayout.readers` and :func:`overscan_level`.

    Examples
    --------
    >>> import numpy as np
    >>> reader, level, var = frame_level(np.full((4, 8), 7.0), RawLayout(overscan="[7:8,1:4]"))
    >>> float(level[0])
    7.0
    """
    if layout is None:
        return as_reader(source), None, None
    data, over = layout.readers(source)
    if over is None:
        return data, None, None
    level, var = overscan_level(over.read(), layout.overscan_model,
                                degree=layout.overscan_degree)
    return data, level, var


def read_raw(source, layout=None):
    """Read a raw frame: its data section and its overscan level per row.

    Parameters
    ----------
    source : str, path-like or 2-D array
        A FITS file or an array holding the data and (per ``layout``) the overscan.
    layout : RawLayout, optional
        Where things are (default: the whole HDU 0 or array, no overscan).

    Returns
    -------
    RawData

    Raises
    ------
    MissingFileError, FileFormatError
        The file cannot be read.
    InvalidParameterError, ShapeMismatchError
        A layout that does not fit the frame.

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.hstack([np.full((4, 6), 510.0), np.full((4, 2), 500.0)])
    >>> raw = read_raw(frame, RawLayout(data="[1:6,1:4]", overscan="[7:8,1:4]"))
    >>> raw.data.shape, float(raw.level[0])
    ((4, 6), 500.0)
    """
    if layout is not None and not isinstance(layout, RawLayout):
        raise InvalidParameterError(f"layout must be a RawLayout (or None); got "
                                    f"{type(layout).__name__}")
    reader, level, var = frame_level(source, layout)
    return RawData(reader.read(), level, var, reader.header)

