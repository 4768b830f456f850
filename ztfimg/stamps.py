"""Stamps (small cutouts) around positions of an image.

* :func:`cut_stamps` cuts many stamps at once with numpy fancy indexing (no Python loop
  per stamp) and returns a :class:`Stamps` stack (``data`` of shape ``(n, ny, nx)``).
  Stamps crossing the frame edge are padded with ``fill`` (NaN) and flagged; nothing ever
  wraps around.
* :class:`Stamp` is one cutout with its mask, the requested position in stamp
  coordinates, its origin in the frame and an optional cutout WCS; it can show itself,
  measure a centroid and a radial profile, and be re-centred by sub-pixel interpolation.

Centring convention (0-based pixels, ``x`` = column, ``y`` = row): a stamp of ``n``
pixels along an axis starts at frame pixel ``x0 = floor(x - (n - 1) / 2 + 0.5)``. For an
odd ``n`` the position lies in the central pixel ``n // 2`` (the stamp is centred on the
pixel nearest to the position); for an even ``n`` it lies within half a pixel of the
stamp centre ``(n - 1) / 2`` (a pixel corner). The requested position in stamp
coordinates is ``x - x0`` and is kept in :attr:`Stamp.x`, :attr:`Stamp.y`.

Flags: :attr:`Stamps.flag` (int64 array) and :attr:`Stamp.flag` (int) hold
:class:`ztfimg.flags.StampFlag` bits; a table of stamps names that column ``stamp_flag``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InvalidParameterError, ShapeMismatchError
from .flags import StampFlag
from .validation import as_numbers, as_positions, as_radii

__all__ = ["Stamp", "Stamps", "cut_stamps", "stamp_origin",
           "STAMP_EDGE", "STAMP_OFF_IMAGE", "STAMP_BAD_POSITION"]

# Aliases of the StampFlag members, kept so that old code keeps working.
#: Alias of :attr:`ztfimg.flags.StampFlag.EDGE` (the stamp crosses the frame edge).
STAMP_EDGE = StampFlag.EDGE
#: Alias of :attr:`ztfimg.flags.StampFlag.OFF_IMAGE` (the stamp is entirely off the frame).
STAMP_OFF_IMAGE = StampFlag.OFF_IMAGE
#: Alias of :attr:`ztfimg.flags.StampFlag.BAD_POSITION` (NaN or infinite position).
STAMP_BAD_POSITION = StampFlag.BAD_POSITION


def stamp_origin(x, size):
    """Frame pixel of the first stamp pixel along one axis.

    Parameters
    ----------
    x : float or array_like
        Position(s), 0-based pixels.
    size : int
        Stamp size along that axis, pixels.

    Returns
    -------
    numpy.ndarray
        ``floor(x - (size - 1) / 2 + 0.5)`` as int64 (0 where ``x`` is not finite).
    """
    x = as_numbers(x, name="x")
    if (isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, float, np.number))
            or not np.isfinite(size) or int(size) != size or size < 1):
        raise InvalidParameterError(f"size must be a positive integer (pixels); got {size!r}")
    with np.errstate(invalid="ignore"):
        x0 = np.floor(x - (size - 1) / 2.0 + 0.5)
    return np.where(np.isfinite(x0), x0, 0).astype(np.int64)


def _one_radius(value, name):
    """One radius in pixels (> 0, finite), validated by :func:`ztfimg.validation.as_radii`."""
    r, scalar = as_radii(value, name=name)
    if not scalar:
        raise InvalidParameterError(f"{name} must be one number (pixels); got {value!r}")
    return float(r[0])


def _shift_wcs(wcs, x0, y0, shape=None):
    """Copy of ``wcs`` for an array whose pixel (0, 0) is frame pixel (x0, y0)."""
    if wcs is None:
        return None
    from astropy.wcs import Sip

    new = wcs.deepcopy()
    new.wcs.crpix = new.wcs.crpix - np.array([x0, y0], dtype=np.float64)
    if new.sip is not None:
        crpix = np.asarray(new.sip.crpix, dtype=np.float64) - np.array([x0, y0])
        new.sip = Sip(new.sip.a, new.sip.b, new.sip.ap, new.sip.bp, crpix)
    if shape is not None:
        new.pixel_shape = (shape[1], shape[0])
    return new


class Stamp:
    """One cutout of an image around a requested position.

    Parameters
    ----------
    data : numpy.ndarray
        2-D cutout (pixels outside the frame are NaN). Stored as given.
    mask : numpy.ndarray of bool, optional
        Masked pixels of the cutout (True = bad), same shape. Default None.
    x, y : float, optional
        Requested position in stamp coordinates (0-based pixels). Default: the stamp
        centre ``((nx - 1) / 2, (ny - 1) / 2)``.
    origin : (float, float), optional
        Frame coordinates ``(x0, y0)`` of stamp pixel (0, 0); frame = stamp + origin.
        Default (0, 0).
    wcs : astropy.wcs.WCS, optional
        WCS of the cutout itself (already shifted). Default None.
    flag : int, optional
        Stamp flags, :class:`ztfimg.flags.StampFlag` bits. Default 0.

    Attributes
    ----------
    data, mask, x, y, origin, wcs, flag
        As above.
    """

    def __init__(self, data, mask=None, x=None, y=None, origin=(0, 0), wcs=None, flag=0):
        data = np.asarray(data)
        if data.ndim != 2:
            raise ShapeMismatchError(f"stamp data must be 2-D; got shape {data.shape}")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != data.shape:
                raise ShapeMismatchError(
                    f"stamp mask has shape {mask.shape} but data has shape {data.shape}")
        self.data = data
        self.mask = mask
        ny, nx = data.shape
        self.x = float((nx - 1) / 2 if x is None else x)
        self.y = float((ny - 1) / 2 if y is None else y)
        self.origin = (float(origin[0]), float(origin[1]))
        self.wcs = wcs
        self.flag = int(flag)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self):
        """Shape ``(ny, nx)`` of the stamp."""
        return self.data.shape

    def __repr__(self):
        return (f"Stamp(shape={self.shape}, x={self.x:.3f}, y={self.y:.3f}, "
                f"origin=({self.origin[0]:g}, {self.origin[1]:g}), flag={self.flag}, "
                f"wcs={'yes' if self.wcs is not None else 'no'})")

    def to_frame(self, x, y):
        """Convert stamp coordinates to frame coordinates (0-based pixels)."""
        return np.asarray(x) + self.origin[0], np.asarray(y) + self.origin[1]

    def to_stamp(self, x, y):
        """Convert frame coordinates to stamp coordinates (0-based pixels)."""
        return np.asarray(x) - self.origin[0], np.asarray(y) - self.origin[1]

    def _valid(self):
        good = np.isfinite(self.data)
        if self.mask is not None:
            good &= ~self.mask
        return good

    # ------------------------------------------------------------- measures
    def centroid(self, radius=None, niter=5, subtract_sky=True):
        """Windowed centre of mass of the stamp around the requested position.

        Parameters
        ----------
        radius : float, optional
            Radius (pixels) of the circular window. Default: ``min(nx, ny) / 4``, at
            least 2.
        niter : int, optional
            The window is re-centred on the last estimate this many times. Default 5.
        subtract_sky : bool, optional
            Subtract the median of the valid pixels outside the window (or of the whole
            stamp if none) and ignore negative values. Default True.

        Returns
        -------
        (float, float)
            Centroid ``(x, y)`` in stamp coordinates; NaN if no usable pixel.
        """
        ny, nx = self.shape
        if radius is None:
            radius = max(2.0, min(nx, ny) / 4.0)
        radius = _one_radius(radius, "radius")
        good = self._valid()
        if not good.any():
            return float("nan"), float("nan")
        yy, xx = np.mgrid[0:ny, 0:nx]
        cx, cy = self.x, self.y
        values = np.where(good, self.data, 0.0).astype(np.float64)
        for _ in range(max(1, int(niter))):
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2
            sky = 0.0
            if subtract_sky:
                out = good & ~inside
                sky = np.median(values[out]) if out.any() else np.median(values[good])
            w = np.where(inside & good, values - sky, 0.0)
            if subtract_sky:
                w = np.clip(w, 0.0, None)
            tot = w.sum()
            if not tot > 0:
                return float("nan"), float("nan")
            nx_, ny_ = (w * xx).sum() / tot, (w * yy).sum() / tot
            done = abs(nx_ - cx) < 1e-4 and abs(ny_ - cy) < 1e-4
            cx, cy = nx_, ny_
            if done:
                break
        return float(cx), float(cy)

    def recentred(self, x=None, y=None, order=3):
        """A new stamp shifted by sub-pixel interpolation so that (x, y) sits at its centre.

        Parameters
        ----------
        x, y : float, optional
            Position (stamp coordinates) to bring to the centre
            ``((nx - 1) / 2, (ny - 1) / 2)``. Default: :meth:`centroid`.
        order : int, optional
            Spline order of ``scipy.ndimage.shift`` (0-5). Default 3.

        Returns
        -------
        Stamp
            Same shape; pixels coming from outside the stamp or from NaN pixels are NaN
            and masked; ``origin`` (now fractional) and ``wcs`` are shifted accordingly,
            ``x``, ``y`` are the centre.
        """
        from scipy import ndimage

        if x is None or y is None:
            cx, cy = self.centroid()
            x = cx if x is None else x
            y = cy if y is None else y
        if not (np.isfinite(x) and np.isfinite(y)):
            raise InvalidParameterError(f"cannot recentre on a non-finite position ({x}, {y})")
        ny, nx = self.shape
        sx, sy = (nx - 1) / 2.0 - x, (ny - 1) / 2.0 - y
        good = self._valid()
        fillv = np.median(self.data[good]) if good.any() else 0.0
        filled = np.where(good, self.data, fillv).astype(np.float64)
        shifted = ndimage.shift(filled, (sy, sx), order=order, mode="nearest")
        # fraction of each new pixel that comes from valid, in-stamp pixels
        weight = ndimage.shift(good.astype(np.float64), (sy, sx), order=1, mode="constant",
                               cval=0.0)
        inside = ndimage.shift(np.ones(self.shape), (sy, sx), order=1, mode="constant",
                               cval=0.0)
        newmask = weight < 0.999
        shifted[inside < 0.5] = np.nan
        shifted = shifted.astype(self.data.dtype if self.data.dtype.kind == "f" else np.float64)
        origin = (self.origin[0] - sx, self.origin[1] - sy)
        wcs = _shift_wcs(self.wcs, -sx, -sy, self.shape)
        return Stamp(shifted, newmask, (nx - 1) / 2.0, (ny - 1) / 2.0, origin, wcs, self.flag)

    def radial_profile(self, x=None, y=None, bin_size=1.0, max_radius=None):
        """Azimuthally averaged profile around a position.

        Parameters
        ----------
        x, y : float, optional
            Centre in stamp coordinates. Default: the requested position (:attr:`x`,
            :attr:`y`).
        bin_size : float, optional
            Width of the radial bins, pixels. Default 1.
        max_radius : float, optional
            Largest radius, pixels. Default: distance to the nearest stamp edge.

        Returns
        -------
        pandas.DataFrame
            One row per bin: ``r_in``, ``r_out``, ``radius`` (mean radius of the pixels),
            ``mean``, ``std``, ``err`` (std / sqrt(npix)), ``npix``. Masked and NaN pixels
            are ignored; empty bins have NaN and npix 0.
        """
        x = self.x if x is None else float(x)
        y = self.y if y is None else float(y)
        if not np.isfinite(bin_size) or bin_size <= 0:
            raise InvalidParameterError(f"bin_size must be > 0 pixels; got {bin_size!r}")
        ny, nx = self.shape
        if max_radius is None:
            max_radius = max(bin_size, min(x + 0.5, y + 0.5, nx - 0.5 - x, ny - 0.5 - y))
        max_radius = _one_radius(max_radius, "max_radius")
        nbins = int(np.ceil(max_radius / bin_size))
        yy, xx = np.mgrid[0:ny, 0:nx]
        r = np.hypot(xx - x, yy - y)
        sel = self._valid() & (r < nbins * bin_size)
        idx = (r[sel] / bin_size).astype(np.int64)
        v = self.data[sel].astype(np.float64)
        n = np.bincount(idx, minlength=nbins)[:nbins]
        s1 = np.bincount(idx, weights=v, minlength=nbins)[:nbins]
        s2 = np.bincount(idx, weights=v * v, minlength=nbins)[:nbins]
        sr = np.bincount(idx, weights=r[sel], minlength=nbins)[:nbins]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / n
            std = np.sqrt(np.clip(s2 / n - mean ** 2, 0, None))
            err = std / np.sqrt(n)
            rad = sr / n
        edges = np.arange(nbins + 1) * bin_size
        return pd.DataFrame({"r_in": edges[:-1], "r_out": edges[1:], "radius": rad,
                             "mean": mean, "std": std, "err": err, "npix": n})

    # -------------------------------------------------------------- display
    def show(self, ax=None, marker=True, **kwargs):
        """Display the stamp and mark the requested position.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw in; default a new figure (WCS axes if the stamp has a WCS).
        marker : bool, optional
            Mark the requested position with a red cross. Default True.
        **kwargs
            Passed to :func:`ztfimg.plotting.show_image` (masked pixels are blanked).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from .plotting import show_image

        kwargs.setdefault("mask", self.mask)
        if ax is None:
            kwargs.setdefault("wcs", self.wcs)
        ax = show_image(self.data, ax=ax, **kwargs)
        if marker:
            ax.plot([self.x], [self.y], marker="+", color="red", markersize=12, mew=1.5,
                    linestyle="none")
        return ax


class Stamps:
    """A stack of same-size stamps cut by :func:`cut_stamps`.

    Attributes
    ----------
    data : numpy.ndarray
        ``(n, ny, nx)`` cutouts; pixels outside the frame hold ``fill``.
    mask : numpy.ndarray of bool or None
        ``(n, ny, nx)`` masks (True outside the frame), or None if no mask was given.
    x, y : numpy.ndarray
        Requested positions in stamp coordinates, shape ``(n,)``.
    x0, y0 : numpy.ndarray
        Frame pixel of stamp pixel (0, 0), int64, shape ``(n,)``.
    flag : numpy.ndarray
        Stamp flags, :class:`ztfimg.flags.StampFlag` bits (``EDGE``, ``OFF_IMAGE``,
        ``BAD_POSITION``), int64, shape ``(n,)``.
    wcs : astropy.wcs.WCS or None
        WCS of the frame; each :class:`Stamp` gets a shifted copy.
    """

    def __init__(self, data, mask, x, y, x0, y0, flag, wcs=None):
        self.data, self.mask = data, mask
        self.x, self.y, self.x0, self.y0, self.flag = x, y, x0, y0, flag
        self.wcs = wcs

    def __len__(self):
        return self.data.shape[0]

    def __repr__(self):
        return (f"Stamps(n={len(self)}, shape={self.data.shape[1:]}, "
                f"edge={int(np.count_nonzero(self.flag))})")

    def __getitem__(self, i):
        if not isinstance(i, (int, np.integer)):
            raise InvalidParameterError("index Stamps with an integer (use .data for arrays)")
        i = range(len(self))[i]
        wcs = _shift_wcs(self.wcs, self.x0[i], self.y0[i], self.data.shape[1:])
        mask = None if self.mask is None else self.mask[i]
        return Stamp(self.data[i], mask, self.x[i], self.y[i], (self.x0[i], self.y0[i]), wcs,
                     self.flag[i])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def cut_stamps(data, x, y, dx, dy=None, mask=None, wcs=None, fill=np.nan):
    """Cut stamps of ``dy`` x ``dx`` pixels around many positions at once.

    Parameters
    ----------
    data : numpy.ndarray
        2-D frame (never modified).
    x, y : float or array_like
        Positions, 0-based pixels (``x`` = column). A scalar is used for every position
        of the other; arrays must have the same length. NaN/inf positions give stamps
        full of ``fill`` flagged ``StampFlag.BAD_POSITION``.
    dx : int
        Stamp width (columns), pixels.
    dy : int, optional
        Stamp height (rows), pixels. Default ``dx``.
    mask : numpy.ndarray of bool, optional
        Frame mask (True = bad), cut alongside; outside pixels are masked. Default None.
    wcs : astropy.wcs.WCS, optional
        Frame WCS; each :class:`Stamp` taken from the result gets a shifted copy.
    fill : float, optional
        Value of the pixels outside the frame. Default NaN (integer data then gives
        float64 stamps).

    Returns
    -------
    Stamps
        ``data`` has shape ``(n, dy, dx)``; see the module doc for the centring.

    Raises
    ------
    InvalidParameterError
        ``dx``/``dy`` not positive integers, or larger than the frame; non-numeric or 2-D
        positions.
    ShapeMismatchError
        ``data`` not 2-D, ``x``/``y`` arrays of different lengths, ``mask`` not matching.

    Examples
    --------
    >>> data = np.arange(600 * 600, dtype=np.float32).reshape(600, 600)
    >>> st = cut_stamps(data, [10.2, 500.7], [20.0, 300.4], 15)
    >>> st.data.shape
    (2, 15, 15)
    >>> st[1].show()                                                   # doctest: +SKIP
    """
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ShapeMismatchError(f"data must be a 2-D array; got shape {arr.shape}")
    dy = dx if dy is None else dy
    for name, v in (("dx", dx), ("dy", dy)):
        if (isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number))
                or not np.isfinite(v) or int(v) != v or v < 1):
            raise InvalidParameterError(f"{name} must be a positive integer (pixels); got {v!r}")
    dx, dy = int(dx), int(dy)
    ny_f, nx_f = arr.shape
    if dx > nx_f or dy > ny_f:
        raise InvalidParameterError(
            f"stamp of {dy}x{dx} pixels (rows x columns) is larger than the frame "
            f"{ny_f}x{nx_f}; use a smaller stamp")
    xs, ys, _ = as_positions(x, y)
    bmask = None
    if mask is not None:
        bmask = np.asarray(mask)
        if bmask.shape != arr.shape:
            raise ShapeMismatchError(
                f"mask has shape {bmask.shape} but data has shape {arr.shape}")
        bmask = bmask.astype(bool, copy=False)

    if arr.dtype.kind == "f":
        dtype = arr.dtype.newbyteorder("=")
    else:
        dtype = np.result_type(arr.dtype, np.asarray(fill).dtype)

    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    x0 = stamp_origin(xs, dx)
    y0 = stamp_origin(ys, dy)
    cols = x0[:, None] + np.arange(dx)[None, :]           # (n, dx)
    rows = y0[:, None] + np.arange(dy)[None, :]           # (n, dy)
    colok = (cols >= 0) & (cols < nx_f) & ~bad[:, None]
    rowok = (rows >= 0) & (rows < ny_f) & ~bad[:, None]
    ci = np.clip(cols, 0, nx_f - 1)
    ri = np.clip(rows, 0, ny_f - 1)
    valid = rowok[:, :, None] & colok[:, None, :]         # (n, dy, dx)

    out = arr[ri[:, :, None], ci[:, None, :]].astype(dtype, copy=False)
    out[~valid] = fill
    smask = None
    if bmask is not None:
        smask = bmask[ri[:, :, None], ci[:, None, :]] | ~valid

    flag = np.zeros(len(xs), dtype=np.int64)
    nvalid = valid.sum(axis=(1, 2))
    flag[(nvalid < dx * dy) & (nvalid > 0)] |= StampFlag.EDGE
    flag[(nvalid == 0) & ~bad] |= StampFlag.OFF_IMAGE
    flag[bad] |= StampFlag.BAD_POSITION
    with np.errstate(invalid="ignore"):
        sx = np.where(bad, np.nan, xs - x0)
        sy = np.where(bad, np.nan, ys - y0)
    return Stamps(out, smask, sx, sy, x0, y0, flag, wcs)
