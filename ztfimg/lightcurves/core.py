""":class:`LightCurves`: forced photometry of many stars through many frames (level 3).

A :class:`LightCurves` holds what forced photometry measured, as it was measured: fluxes
in DN of each frame with their errors and flags, arrays of shape
``(n_apertures, n_stars, n_times)``; the stars (a table, one row per position); the frames
(a table, one row per time: file, filter, zero point, seeing, sky, airmass, shifts,
INFOBITS ... see :mod:`ztfimg.lightcurves.frames`).  Everything else is derived on request
and returned as a new object or table: calibrated fluxes and magnitudes
(:meth:`LightCurves.calibrated`), one star's light curve (:meth:`get_lightcurve`), time
bins (:meth:`bin`), selections (:meth:`select`), differential photometry
(:meth:`broeg2005`), the data products (:meth:`save`, :meth:`to_parquet`).

The object is immutable: its arrays are read-only views, its tables copies, and no method
changes it.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError, ShapeMismatchError
from ..fitsio import readonly as _readonly
from .frames import normalise_frames

__all__ = ["LightCurves", "METHODS"]

#: Photometry methods of :func:`ztfimg.lightcurves.forced_photometry`.
METHODS = ("aperture", "psf")

_FAILED_COLUMNS = ("file", "exception", "message")


def _helpers():
    """The modules the convenience methods of :class:`LightCurves` delegate to.

    The one way up from this module, and the only place it imports them: combine, forced,
    calibration, binning, differential, plotting and io build on :class:`LightCurves` and
    import this module at their top; this module reaches them only here, at call time. So
    the imports of the subpackage point one way, towards core (tests/test_lightcurves.py
    checks it), and the logic of each method lives in its module.
    """
    from . import binning, calibration, combine, differential, forced, io, plotting
    return SimpleNamespace(binning=binning, calibration=calibration, combine=combine,
                           differential=differential, forced=forced, io=io,
                           plotting=plotting)


def _failed_frame(failed):
    if failed is None:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in _FAILED_COLUMNS})
    df = pd.DataFrame(failed).reset_index(drop=True)
    missing = [c for c in _FAILED_COLUMNS if c not in df.columns]
    if missing:
        raise InvalidParameterError(f"failed must have the columns {_FAILED_COLUMNS}; "
                                    f"{missing} missing")
    return pd.DataFrame({c: pd.Series(["" if v is None else str(v) for v in df[c]],
                                      dtype=object) for c in _FAILED_COLUMNS})


class LightCurves:
    """Forced-photometry light curves of many stars through many frames.

    Usually made by :func:`ztfimg.lightcurves.forced_photometry` (or
    ``ImageCollection.forced_photometry``), or read with :meth:`load` /
    :meth:`read_parquet`.

    Parameters
    ----------
    flux, flux_err : array_like
        Fluxes and their 1-sigma errors, DN of each frame (no zero point applied), shape
        ``(n_apertures, n_stars, n_times)``; NaN where nothing was measured.
    flags : array_like of int
        :class:`~ztfimg.lightcurves.LightCurveFlag` bits, same shape.
    stars : pandas.DataFrame
        One row per star: ``ra``, ``dec`` (ICRS degrees) and any other columns.
    frames : pandas.DataFrame
        One row per time, needs ``obsjd`` (JD, UTC); see
        :data:`ztfimg.lightcurves.frames.FRAME_COLUMNS` for the other columns.
    apertures : array_like of float
        Aperture radii, pixels (one NaN for PSF photometry).
    x, y : array_like, optional
        0-based pixel positions of the stars on each frame, ``(n_stars, n_times)``.
        Default NaN.
    sky : array_like, optional
        Local sky per pixel (annulus, or fitted with the PSF), DN, ``(n_stars, n_times)``.
        Default NaN.
    method : {'aperture', 'psf'}, default 'aperture'
    bkgann : (float, float), optional
        Sky annulus radii, pixels (None: no local annulus).
    failed : pandas.DataFrame, optional
        Frames that could not be measured: ``file``, ``exception``, ``message``.
    meta : dict, optional
        JSON-serialisable run parameters (``max_seeing``, ``photometry_kwargs`` ...).

    Raises
    ------
    ShapeMismatchError
        The arrays and tables do not line up.
    InvalidParameterError
        Unknown ``method``, non-numeric arrays, no ``ra``/``dec`` in ``stars``.

    Examples
    --------
    >>> from ztfimg import ImageCollection                                # doctest: +SKIP
    >>> col = ImageCollection.from_directory("frames/")                 # doctest: +SKIP
    >>> lc = col.forced_photometry(stars, radius=[3, 5], bkgann=(10, 15))  # doctest: +SKIP
    >>> lc                    # doctest: +SKIP
    <LightCurves 16 stars x 60 times x 2 apertures (r = 3, 5 px), ztfr, MJD 59116.7-59175.9>
    >>> lc.get_lightcurve(0)[["mjd", "mag", "mag_err", "flag"]]         # doctest: +SKIP
    >>> diff = lc.broeg2005(target=0)                    # doctest: +SKIP
    >>> diff.plot()                    # doctest: +SKIP
    """

    def __init__(self, flux, flux_err, flags, stars, frames, apertures, *, x=None, y=None,
                 sky=None, method="aperture", bkgann=None, failed=None, meta=None):
        if method not in METHODS:
            raise InvalidParameterError(f"method must be one of {METHODS}; got {method!r}")
        flux = self._float_array(flux, "flux", 3)
        shape = flux.shape
        flux_err = self._float_array(flux_err, "flux_err", 3, shape)
        flags = np.asarray(flags)
        if flags.shape != shape or flags.dtype.kind not in "iu":
            raise ShapeMismatchError(f"flags must be integers of shape {shape}; got "
                                     f"{flags.dtype} of shape {flags.shape}")
        nap, nstar, ntime = shape
        apertures = self._float_array(apertures, "apertures", 1)
        if apertures.shape != (nap,):
            raise ShapeMismatchError(f"apertures has {apertures.size} radii for {nap} "
                                     "apertures in flux")
        plane = (nstar, ntime)
        x = np.full(plane, np.nan) if x is None else self._float_array(x, "x", 2, plane)
        y = np.full(plane, np.nan) if y is None else self._float_array(y, "y", 2, plane)
        sky = np.full(plane, np.nan) if sky is None else self._float_array(sky, "sky", 2,
                                                                           plane)
        stars = pd.DataFrame(stars).reset_index(drop=True).copy()
        if "ra" not in stars.columns or "dec" not in stars.columns:
            raise InvalidParameterError(f"stars needs 'ra' and 'dec' columns; got "
                                        f"{list(stars.columns)}")
        if len(stars) != nstar:
            raise ShapeMismatchError(f"stars has {len(stars)} rows for {nstar} stars in flux")
        frames = normalise_frames(frames, nap)
        if len(frames) != ntime:
            raise ShapeMismatchError(f"frames has {len(frames)} rows for {ntime} times in flux")
        if bkgann is not None:
            bkgann = tuple(float(v) for v in bkgann)
            if len(bkgann) != 2:
                raise InvalidParameterError(f"bkgann must be (inner, outer); got {bkgann!r}")
        try:
            meta = {} if meta is None else json.loads(json.dumps(dict(meta)))   # deep copy
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"meta must be JSON-serialisable: {exc}") from None
        self._flux = flux
        self._flux_err = flux_err
        self._flags = np.array(flags, dtype=np.int32)
        self._x, self._y, self._sky = x, y, sky
        self._apertures = apertures
        for arr in (self._flux, self._flux_err, self._flags, self._x, self._y, self._sky,
                    self._apertures):
            arr.flags.writeable = False
        self._stars = stars
        self._frames = frames
        self._method = method
        self._bkgann = bkgann
        self._failed = _failed_frame(failed)
        self._meta = meta

    @staticmethod
    def _float_array(value, name, ndim, shape=None):
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            raise InvalidParameterError(f"{name} must be numbers; got dtype {arr.dtype}")
        if arr.ndim != ndim or (shape is not None and arr.shape != tuple(shape)):
            want = f"shape {tuple(shape)}" if shape is not None else f"{ndim} dimensions"
            raise ShapeMismatchError(f"{name} must have {want}; got shape {arr.shape}")
        return np.array(arr, dtype=np.float64, copy=True)

    def _new(self, **changes):
        """A new object with some parts replaced (the others shared read-only or copied)."""
        parts = dict(flux=self._flux, flux_err=self._flux_err, flags=self._flags,
                     stars=self._stars, frames=self._frames, apertures=self._apertures,
                     x=self._x, y=self._y, sky=self._sky, method=self._method,
                     bkgann=self._bkgann, failed=self._failed, meta=self._meta)
        parts.update(changes)
        return LightCurves(parts.pop("flux"), parts.pop("flux_err"), parts.pop("flags"),
                           parts.pop("stars"), parts.pop("frames"), parts.pop("apertures"),
                           **parts)

    # ------------------------------------------------------------------ data
    @property
    def flux(self):
        """numpy.ndarray: fluxes, DN, ``(n_apertures, n_stars, n_times)`` (read-only)."""
        return _readonly(self._flux)

    @property
    def flux_err(self):
        """numpy.ndarray: 1-sigma flux errors, DN, same shape as :attr:`flux` (read-only)."""
        return _readonly(self._flux_err)

    @property
    def flags(self):
        """numpy.ndarray of int32: :class:`LightCurveFlag` bits, same shape (read-only)."""
        return _readonly(self._flags)

    @property
    def x(self):
        """numpy.ndarray: 0-based x of each star on each frame, ``(n_stars, n_times)``."""
        return _readonly(self._x)

    @property
    def y(self):
        """numpy.ndarray: 0-based y of each star on each frame, ``(n_stars, n_times)``."""
        return _readonly(self._y)

    @property
    def sky(self):
        """numpy.ndarray: local sky per pixel, DN, ``(n_stars, n_times)`` (read-only)."""
        return _readonly(self._sky)

    @property
    def apertures(self):
        """numpy.ndarray: aperture radii, pixels (``[nan]`` for PSF photometry); a copy."""
        return self._apertures.copy()

    @property
    def method(self):
        """str: ``'aperture'`` or ``'psf'``."""
        return self._method

    @property
    def bkgann(self):
        """tuple of float or None: the sky annulus (inner, outer), pixels."""
        return self._bkgann

    @property
    def stars(self):
        """pandas.DataFrame: one row per star (``ra``, ``dec``, given columns); a copy."""
        return self._stars.copy()

    @property
    def frames(self):
        """pandas.DataFrame: one row per time (file, filter, MAGZP, seeing ...); a copy."""
        return self._frames.copy()

    @property
    def failed(self):
        """pandas.DataFrame: frames that could not be measured (file, exception, message)."""
        return self._failed.copy()

    @property
    def meta(self):
        """dict: the run's parameters (a copy)."""
        return json.loads(json.dumps(self._meta))

    @property
    def time(self):
        """astropy.time.Time: the frames' OBSJD (UTC), one per time."""
        from astropy.time import Time
        return Time(self._frames["obsjd"].to_numpy(dtype=float), format="jd", scale="utc")

    @property
    def mjd(self):
        """numpy.ndarray: modified Julian dates of the frames (a copy)."""
        return self._frames["mjd"].to_numpy(dtype=float)

    @property
    def shape(self):
        """tuple of int: ``(n_apertures, n_stars, n_times)``."""
        return self._flux.shape

    @property
    def n_apertures(self):
        """int: number of apertures (1 for PSF photometry)."""
        return self._flux.shape[0]

    @property
    def n_stars(self):
        """int: number of stars."""
        return self._flux.shape[1]

    @property
    def n_times(self):
        """int: number of frames (times)."""
        return self._flux.shape[2]

    @property
    def filters(self):
        """list of str: the filters of the frames, in order of first appearance."""
        return list(dict.fromkeys(self._frames["filtername"].tolist()))

    def __len__(self):
        """The number of stars (as ``len(lc.stars)``)."""
        return self.n_stars

    def __repr__(self):
        nap, nstar, ntime = self.shape
        if self._method == "psf":
            what = "PSF"
        else:
            what = f"{nap} aperture{'s' if nap != 1 else ''} (r = " + ", ".join(
                f"{r:g}" for r in self._apertures) + " px)"
        span = ""
        if ntime:
            m = self.mjd
            span = f", MJD {np.nanmin(m):.1f}-{np.nanmax(m):.1f}"
        filt = ",".join(f for f in self.filters if f) or "no filter"
        failed = f", {len(self._failed)} failed" if len(self._failed) else ""
        return (f"<LightCurves {nstar} stars x {ntime} times x {what}, {filt}{span}"
                f"{failed}>")

    def equals(self, other):
        """True when ``other`` holds exactly the same data (NaN equal to NaN).

        Parameters
        ----------
        other : LightCurves

        Returns
        -------
        bool

        Examples
        --------
        >>> LightCurves.load("x.phots").equals(lc)                       # doctest: +SKIP
        True
        """
        if not isinstance(other, LightCurves) or other.shape != self.shape:
            return False
        arrays = ("_flux", "_flux_err", "_flags", "_x", "_y", "_sky", "_apertures")
        same = all(np.array_equal(getattr(self, a), getattr(other, a), equal_nan=True)
                   for a in arrays)
        return bool(same and self._method == other._method and self._bkgann == other._bkgann
                    and self._meta == other._meta and self._stars.equals(other._stars)
                    and self._frames.equals(other._frames)
                    and self._failed.equals(other._failed))

    # ------------------------------------------------------------------ lookups
    def aperture_index(self, aperture=None):
        """The position of an aperture in the aperture axis.

        Parameters
        ----------
        aperture : int, optional
            Index into :attr:`apertures` (negative counts from the end). Default None:
            the first aperture (index 0).

        Returns
        -------
        int

        Raises
        ------
        InvalidParameterError
            Not an integer in range.

        Examples
        --------
        >>> lc.aperture_index(-1)            # the last aperture    # doctest: +SKIP
        2
        """
        if aperture is None:
            return 0
        if isinstance(aperture, (bool, np.bool_)) or not isinstance(aperture,
                                                                   (int, np.integer)):
            raise InvalidParameterError(f"aperture must be an index into the apertures "
                                        f"{self._apertures.tolist()} (an int); got {aperture!r}")
        n = self.n_apertures
        if not -n <= int(aperture) < n:
            raise InvalidParameterError(f"aperture index {int(aperture)} out of range for "
                                        f"{n} aperture(s)")
        return int(aperture) % n

    def star_index(self, star):
        """The position of a star in the star axis.

        Parameters
        ----------
        star : int or str
            Position in :attr:`stars` (negative counts from the end), or a value of its
            ``name`` column.

        Returns
        -------
        int

        Raises
        ------
        InvalidParameterError
            Out of range, or a name that is not (exactly once) in ``stars['name']``.

        Examples
        --------
        >>> lc.star_index('SN 2020abc')                                 # doctest: +SKIP
        12
        """
        n = self.n_stars
        if isinstance(star, str):
            if "name" not in self._stars.columns:
                raise InvalidParameterError(f"star {star!r} is a name, but the stars table "
                                            "has no 'name' column; use the star's position")
            hit = np.flatnonzero(self._stars["name"].astype(str).to_numpy() == star)
            if hit.size != 1:
                raise InvalidParameterError(f"star name {star!r} is in stars['name'] "
                                            f"{hit.size} times; expected once")
            return int(hit[0])
        if isinstance(star, (bool, np.bool_)) or not isinstance(star, (int, np.integer)):
            raise InvalidParameterError(f"star must be a position (int) or a name (str); got "
                                        f"{type(star).__name__} {star!r:.40}")
        if not -n <= int(star) < n:
            raise InvalidParameterError(f"star {int(star)} out of range for {n} stars")
        return int(star) % n

    # ------------------------------------------------------------------ selection
    def _positions(self, key, n, what):
        return _helpers().combine.positions(self, key, n, what)

    def _subset(self, stars=None, times=None):
        return _helpers().combine.subset(self, stars, times)

    def select(self, *, stars=None, filtername=None, tmin=None, tmax=None, frames=None):
        """A new object with some stars and some times (criteria combine with AND).

        Parameters
        ----------
        stars : int, str, sequence or boolean mask, optional
            Stars by position, name (``stars['name']``) or a mask over :attr:`stars`; in the
            order given.
        filtername : str or sequence of str, optional
            Keep the frames of these filters (any spelling: ``'zr'``, ``'r'``, ``'ZTF_r'``).
        tmin, tmax : float or astropy.time.Time, optional
            Keep the frames with ``tmin <= time <= tmax`` (MJD for plain numbers).
        frames : sequence of int or boolean mask, optional
            Keep these frames (positions into :attr:`frames`, or a mask over it).

        Returns
        -------
        LightCurves
            The frames' ``dx``/``dy`` are recomputed over the stars kept.

        Raises
        ------
        InvalidParameterError
            Unknown filter, star or positions.

        Examples
        --------
        >>> lc.select(filtername="zr", tmin=59100, tmax=59200, stars=[0, 3, 4])  # doctest: +SKIP
        """
        return _helpers().combine.select(self, stars=stars, filtername=filtername, tmin=tmin,
                                         tmax=tmax, frames=frames)

    # ------------------------------------------------------------------ combining
    def merge(self, other):
        """These light curves and the frames of ``other`` not already here, in time order.

        Parameters
        ----------
        other : LightCurves
            The same stars (positions), apertures, method and annulus.

        Returns
        -------
        LightCurves
            Frames of ``other`` whose file is already here are left out (this object's
            measurement is kept); ``failed`` holds the frames that failed in both runs or
            in one and were never measured.

        Raises
        ------
        InvalidParameterError
            ``other`` is not a LightCurves of the same stars and photometry.

        Examples
        --------
        >>> lc = lc_2020.merge(lc_2021)                                # doctest: +SKIP
        """
        return _helpers().combine.merge(self, other)

    def append(self, collection, *, client=None, progress=True, **map_kwargs):
        """Measure the frames of ``collection`` not yet here, and merge them in.

        See :func:`ztfimg.lightcurves.append`: only new frames are opened (and frames that
        failed before are tried again), with the stars and parameters of this run.

        Parameters
        ----------
        collection : ztfimg.ImageCollection
        client, progress, **map_kwargs
            Where and how to run (see :meth:`ztfimg.ImageCollection.map`).

        Returns
        -------
        LightCurves

        Examples
        --------
        >>> lc = lc.append(ImageCollection.from_directory("frames/"))  # doctest: +SKIP
        """
        return _helpers().forced.append(self, collection, client=client, progress=progress,
                                        **map_kwargs)

    # ------------------------------------------------------------------ products
    def calibrated(self, aperture=None, *, colour=None, apcor="auto", flux_unit="ujy",
                   snr_limit=3.0, limit_sigma=5.0, stars=None):
        """Fluxes and magnitudes on a common scale, one row per star and time.

        See :func:`ztfimg.lightcurves.calibration.calibrate`: each frame's MAGZP (and
        CLRCOEFF with a colour), the header aperture correction, AB magnitudes and flux
        densities, upper limits where S/N < ``snr_limit``.

        Parameters
        ----------
        aperture : int, optional
            Aperture index (default 0).
        colour : float, str or array_like, optional
            PS1 colour per star (a number, a column of :attr:`stars`, or one per star).
        apcor : {'auto', True, False}, default 'auto'
        flux_unit : {'ujy', 'mjy', 'jy', 'fnu', 'flam'}, default 'ujy'
        snr_limit : float, default 3
        limit_sigma : float, default 5
        stars : optional
            Stars to include (as in :meth:`select`); default all.

        Returns
        -------
        pandas.DataFrame
            See :func:`~ztfimg.lightcurves.calibration.calibrate`.

        Examples
        --------
        >>> cal = lc.calibrated(colour="colour")                     # doctest: +SKIP
        >>> cal.groupby("star")["mag"].std()                    # doctest: +SKIP
        """
        return _helpers().calibration.calibrate(self, aperture, colour=colour, apcor=apcor,
                                                flux_unit=flux_unit, snr_limit=snr_limit,
                                                limit_sigma=limit_sigma, stars=stars)

    def get_lightcurve(self, star, aperture=None, *, colour=None, apcor="auto",
                       flux_unit="ujy", snr_limit=3.0, bjd=False):
        """One star's light curve, calibrated: a table with one row per time.

        Parameters
        ----------
        star : int or str
            Position in :attr:`stars`, or its ``name``.
        aperture : int, optional
            Aperture index (default 0).
        colour : float or str, optional
            The star's PS1 colour (or a column of :attr:`stars`) for the colour term.
        apcor : {'auto', True, False}, default 'auto'
            Header aperture corrections (see :meth:`calibrated`).
        flux_unit : {'ujy', 'mjy', 'jy', 'fnu', 'flam', 'counts'}, default 'ujy'
            Unit of ``flux``/``flux_err``; ``'counts'``: DN of each frame (aperture
            corrected when ``apcor`` applies).
        snr_limit : float, default 3
            Below this S/N a point is an upper limit (``mag`` NaN, ``maglim`` the 5-sigma
            limit).
        bjd : bool, default False
            Add ``bjd_tdb``, barycentric JD (TDB) from Palomar (no network).

        Returns
        -------
        pandas.DataFrame
            ``mjd``, ``flux``, ``flux_err``, ``mag``, ``mag_err`` (AB, MAGZPUNC included),
            ``flag`` (:class:`LightCurveFlag`), ``snr``, ``upper_limit``, ``maglim``,
            ``filtername``, ``file`` (and ``bjd_tdb``).

        Raises
        ------
        InvalidParameterError
            Unknown star, aperture or unit.

        Examples
        --------
        >>> lc.get_lightcurve(0, bjd=True)[["bjd_tdb", "mag", "mag_err"]]  # doctest: +SKIP
        """
        return _helpers().calibration.lightcurve_table(self, star, aperture, colour=colour,
                                                       apcor=apcor, flux_unit=flux_unit,
                                                       snr_limit=snr_limit, bjd=bjd)

    def to_dataframe(self):
        """The measurements in long form: one row per aperture, star and time.

        Returns
        -------
        pandas.DataFrame
            ``aperture`` (index), ``radius`` (px), ``star``, ``time`` (frame position),
            ``ra``, ``dec``, ``mjd``, ``filtername``, ``file``, ``flux``, ``flux_err``
            (DN), ``flag``, ``x``, ``y``, ``sky``; rows ordered by aperture, star, time.

        Examples
        --------
        >>> long = lc.to_dataframe()                                    # doctest: +SKIP
        >>> long.pivot_table(index="time", columns="star", values="flux") # doctest: +SKIP
        """
        return _helpers().io.long_form(self)

    def bin(self, width, *, origin=None, weighted=True, colour=None, zp_ref=None):
        """Light curves averaged in time bins, per filter (see
        :func:`ztfimg.lightcurves.binning.bin_lightcurves`).

        Parameters
        ----------
        width : float or Quantity
            Bin width, days (or a time Quantity).
        origin : float, optional
            MJD of a bin edge (default the integer MJD before the first frame).
        weighted : bool, default True
            Inverse-variance weighted means (error ``1/sqrt(sum 1/sigma^2)``); False: plain
            means (error ``sqrt(sum sigma^2)/n``).
        colour : float, str or array_like, optional
            PS1 colour per star for the colour-term part of the rescaling.
        zp_ref : float, optional
            Zero point of the binned fluxes (default per filter the median MAGZP).

        Returns
        -------
        LightCurves
            One time per non-empty (filter, bin); ``frames['nframes']`` counts the members.

        Examples
        --------
        >>> nightly = lc.bin(1.0)                                        # doctest: +SKIP
        """
        return _helpers().binning.bin_lightcurves(self, width, origin=origin, weighted=weighted,
                                                  colour=colour, zp_ref=zp_ref)

    def broeg2005(self, target=0, comparisons=None, exclude=None, aperture=None, **kwargs):
        """Differential photometry of ``target`` against an artificial comparison star.

        See :func:`ztfimg.lightcurves.differential.broeg2005`.

        Parameters
        ----------
        target : int or str, default 0
        comparisons : sequence of int, optional
        exclude : sequence of int, optional
        aperture : int, optional
        **kwargs
            ``weights``, ``n_comparisons``, ``max_excess``, ``max_iter``, ``tol`` ...

        Returns
        -------
        ztfimg.lightcurves.DifferentialPhotometry

        Examples
        --------
        >>> diff = lc.broeg2005(target=0)                               # doctest: +SKIP
        >>> diff.comparison_stars, diff.weights, diff.aperture          # doctest: +SKIP
        """
        return _helpers().differential.broeg2005(self, target=target, comparisons=comparisons,
                                                 exclude=exclude, aperture=aperture, **kwargs)

    def plot(self, star=0, aperture=None, *, ax=None, kind="mag", **kwargs):
        """Plot one star's calibrated light curve; returns the Axes.

        Parameters
        ----------
        star : int or str, default 0
        aperture : int, optional
        ax : matplotlib.axes.Axes, optional
        kind : {'mag', 'flux'}, default 'mag'
            Magnitudes (upper limits as triangles) or flux densities (uJy).
        **kwargs
            Passed to :meth:`get_lightcurve` (``colour``, ``apcor``, ``snr_limit``).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> ax = lc.plot(0)                                             # doctest: +SKIP
        """
        table = self.get_lightcurve(star, aperture, **kwargs)
        return _helpers().plotting.plot_lightcurve(table, ax=ax, kind=kind,
                                                   title=f"star {self.star_index(star)}")

    def save(self, path, *, differential=None, overwrite=False):
        """Write the ``.phots`` FITS file (prose's layout; see :mod:`ztfimg.lightcurves.io`).

        Parameters
        ----------
        path : str or path-like
        differential : DifferentialPhotometry, optional
            Adds the LIGHTCURVES, LIGHTCURVES ERRORS, COMPARISON STARS and ARTIFICIAL LCS
            HDUs (and the weights).
        overwrite : bool, default False

        Returns
        -------
        str
            The path written.

        Examples
        --------
        >>> lc.save("field655.phots")                                    # doctest: +SKIP
        """
        return _helpers().io.write_phots(self, path, differential=differential,
                                         overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Read a ``.phots`` file written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        LightCurves

        Raises
        ------
        MissingFileError, FileFormatError
            No such file, or not a ztfimg ``.phots`` file.

        Examples
        --------
        >>> lc = LightCurves.load("field655.phots")                     # doctest: +SKIP
        """
        return _helpers().io.read_phots(path)

    def to_parquet(self, path):
        """Write the long form (:meth:`to_dataframe`) to parquet, with the tables inside.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        str

        Examples
        --------
        >>> lc.to_parquet("field655.parquet")                            # doctest: +SKIP
        """
        return _helpers().io.write_parquet(self, path)

    @classmethod
    def read_parquet(cls, path):
        """Read a parquet file written by :meth:`to_parquet`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        LightCurves

        Raises
        ------
        MissingFileError, FileFormatError

        Examples
        --------
        >>> lc = LightCurves.read_parquet("field655.parquet")           # doctest: +SKIP
        """
        return _helpers().io.read_parquet(path)

