"""Forced photometry of many sky positions through the frames of a collection (level 3).

:func:`forced_photometry` runs one job per frame through :meth:`ImageCollection.map
<ztfimg.collection.ImageCollection.map>` (serially, on local processes or on a dask
cluster) and assembles the results into a :class:`~ztfimg.lightcurves.LightCurves`.

The per-frame job, :func:`measure_frame`, opens its frame once and measures every
position in one call: positions farther from the frame's centre than its footprint are
flagged ``OFF_IMAGE`` from the header's WCS alone (so a frame that holds none of them is
never read), the others are projected with the frame's TPV WCS and measured together by
:meth:`~ztfimg.image.ZTFImage.aperture_photometry` (several radii, a local sky annulus) or
:meth:`~ztfimg.image.ZTFImage.get_psf_photometry` (the frame's DAOPhot PSF).  Positions
off the frame give NaN and a flag, never a dropped row.  A frame that fails (corrupt file,
missing mask or PSF) is listed in :attr:`LightCurves.failed` and the run goes on.

:func:`append` measures only the frames of a grown collection that a light-curve set does
not hold yet.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..errors import HeaderKeywordError, InvalidParameterError
from ..validation import as_annulus, as_bool, as_choice, as_number, as_radii, as_sky
from .core import METHODS, LightCurves
from .frames import normalise_frames, star_shifts
from .pointflags import LightCurveFlag, from_aperture_flags, from_psf_flags

__all__ = ["forced_photometry", "append", "measure_frame", "frame_info", "DEFAULT_RADIUS",
           "DEFAULT_BKGANN", "DEFAULT_MAX_SEEING"]

#: Default aperture radii, pixels: diameters 4, 6 and 10 px are IPAC FIXAPERS, so the
#: header aperture corrections apply to all three.
DEFAULT_RADIUS = (2.0, 3.0, 5.0)
#: Default sky annulus, pixels.
DEFAULT_BKGANN = (10.0, 15.0)
#: Default seeing (FWHM, pixels) above which a frame's points are flagged BAD_SEEING.
DEFAULT_MAX_SEEING = 4.0
#: Nominal ZTF pixel scale, arcsec/pixel (for radii given as angles).
_PIXEL_SCALE = 1.012
#: Margin (pixels) beyond the largest radius within which a position still touches a frame.
_PSF_REACH = 12.0


def _value(image, name, cast=float):
    """A header property of the frame, or None when absent (one rule: the frame's)."""
    try:
        value = getattr(image, name)
    except (HeaderKeywordError, InvalidParameterError):
        return None
    return None if value is None else cast(value)


def frame_info(image, radii=(), method="aperture"):
    """The frames-table row of one frame, from its header.

    Parameters
    ----------
    image : ZTFImage
        The opened frame.
    radii : sequence of float, optional
        Aperture radii, pixels (for the ``apcor_k``/``apcorunc_k`` of the header's
        FIXAPERS diameters).
    method : {'aperture', 'psf'}, default 'aperture'

    Returns
    -------
    dict
        ``file``, ``filename``, ``obsjd``, ``mjd``, ``filtername``, ``fieldid``, ``ccdid``,
        ``qid``, ``rcid``, ``exptime``, ``magzp``, ``magzpunc``, ``clrcoeff``,
        ``clrcounc``, ``maglim``, ``seeing``, ``airmass``, ``infobits``, ``status`` (None
        where the header lacks them) and ``apcor_k``, ``apcorunc_k``.

    Examples
    --------
    >>> frame_info(ScienceImage.from_filename(path), [3.0])['magzp']  # doctest: +SKIP
    """
    path = image.filename
    info = {"file": None if path is None else os.path.abspath(path),
            "filename": None if path is None else os.path.basename(path)}
    for name in ("obsjd", "exptime", "magzp", "magzpunc", "clrcoeff", "clrcounc", "maglim",
                 "seeing", "airmass"):
        info[name] = _value(image, name)
    info["mjd"] = _value(image, "obsmjd")
    info["filtername"] = _value(image, "filtername", str)
    for name in ("fieldid", "ccdid", "qid", "rcid", "infobits", "status"):
        info[name] = _value(image, name, int)
    for k, r in enumerate(radii):
        corr = None
        if method == "aperture":
            try:
                corr = image.get_apcor(2.0 * float(r))
            except (HeaderKeywordError, InvalidParameterError):
                corr = None
        info[f"apcor_{k}"], info[f"apcorunc_{k}"] = corr if corr is not None else (None, None)
    return info


def _is_difference(image):
    from ..image.difference import DifferenceImage
    return isinstance(image, DifferenceImage)


def measure_frame(image, ra, dec, radius=DEFAULT_RADIUS, bkgann=DEFAULT_BKGANN,
                  method="aperture", photometry_kwargs=None):
    """Forced photometry of sky positions on one frame (the job of :func:`forced_photometry`).

    Parameters
    ----------
    image : ZTFImage
        The opened frame (its pixels are read only if a position falls on it). A
        :class:`~ztfimg.image.DifferenceImage` is measured by
        :func:`~ztfimg.image.difference.forced_photometry_frame` (``method='psf'`` only):
        flux ``forcediffimflux``, error ``forcediffimfluxunc``, sky its fitted
        ``background``, and ``zpdiff``, ``zpdiffunc`` in ``info``.
    ra, dec : numpy.ndarray
        ICRS degrees, 1-D, same length.
    radius : sequence of float, default (2, 3, 5)
        Aperture radii, pixels (ignored for PSF photometry).
    bkgann : (float, float) or None, default (10, 15)
        Sky annulus radii, pixels (aperture photometry).
    method : {'aperture', 'psf'}, default 'aperture'
    photometry_kwargs : dict, optional
        Passed to :meth:`~ztfimg.image.ZTFImage.aperture_photometry` or
        :meth:`~ztfimg.image.ZTFImage.get_psf_photometry`.

    Returns
    -------
    dict
        ``info`` (:func:`frame_info` plus ``sky``, ``skyrms``: the background's global
        level and noise, DN, NaN when no pixel was read), ``x``, ``y`` (0-based pixels,
        NaN far off the frame), ``sky`` (local sky per pixel, DN), ``flux``, ``flux_err``
        (DN) and ``flags`` (:class:`LightCurveFlag`), the last three of shape
        ``(n_apertures, n_positions)``.

    Raises
    ------
    ZTFImgError
        No WCS, no PSF file (``method='psf'``) ...: reported by the collection per frame.

    Examples
    --------
    >>> res = col.map(measure_frame, ra, dec, [3.0], (10.0, 15.0))   # doctest: +SKIP
    """
    from astropy.coordinates import angular_separation

    kwargs = dict(photometry_kwargs or {})
    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    radii = np.atleast_1d(np.asarray(radius, dtype=np.float64))
    n = ra.size
    nap = 1 if method == "psf" else radii.size
    info = frame_info(image, radii if method == "aperture" else [np.nan], method)
    info["sky"], info["skyrms"] = np.nan, np.nan
    if _is_difference(image):
        if method != "psf":
            raise InvalidParameterError("difference frames are measured with method='psf' "
                                        "(the fit of their *_diffimgpsf.fits)")
        info["zpdiff"], info["zpdiffunc"] = info["magzp"], info["magzpunc"]
    x, y, sky = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    flux, err = np.full((nap, n), np.nan), np.full((nap, n), np.nan)
    flags = np.zeros((nap, n), np.int32)
    finite = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90.0)
    reach = float(radii.max()) + 1.0 if method == "aperture" else _PSF_REACH
    if not image.has_wcs:
        raise HeaderKeywordError(f"{image.filename or 'the frame'} has no usable WCS: sky "
                                 "positions cannot be placed on it")
    rac, decc = image.get_center("radec")
    cone = image.get_footprint_radius(margin=reach) * 1.01
    near = finite.copy()
    near[finite] = np.degrees(angular_separation(
        np.radians(rac), np.radians(decc), np.radians(ra[finite]),
        np.radians(dec[finite]))) <= cone
    if near.any():
        x[near], y[near] = image.coords_to_pixels(ra[near], dec[near])
    touch = near & np.isfinite(x) & np.isfinite(y)
    touch[touch] = np.asarray(image.is_inside(x[touch], y[touch], margin=-reach), dtype=bool)
    flags[:, ~touch] = int(LightCurveFlag.OFF_IMAGE)
    flags[:, ~finite] = int(LightCurveFlag.BAD_POSITION)
    if touch.any():
        if method == "aperture":
            ph = image.aperture_photometry(x[touch], y[touch], radius=list(radii),
                                           coords="pixels", bkgann=bkgann, **kwargs)
            for k in range(nap):
                suffix = f"_{k}" if f"sum_{k}" in ph.columns else ""
                flux[k, touch] = ph["sum" + suffix].to_numpy()
                err[k, touch] = ph["sumerr" + suffix].to_numpy()
                flags[k, touch] = from_aperture_flags(ph["aper_flag" + suffix].to_numpy())
            sky[touch] = ph["sky"].to_numpy() if bkgann is not None else np.nan
        elif _is_difference(image):   # the service's fit of the difference-image PSF
            from ..image.difference import forced_photometry_frame
            ph = forced_photometry_frame(image, ra[touch], dec[touch], **kwargs)
            flux[0, touch] = ph["forcediffimflux"].to_numpy()
            err[0, touch] = ph["forcediffimfluxunc"].to_numpy()
            flags[0, touch] = from_psf_flags(ph["psf_flag"].to_numpy())
            sky[touch] = ph["background"].to_numpy()
            info["zpdiff"] = _value(image, "zpdiff")
            info["zpdiffunc"] = _value(image, "zpdiffunc")
        else:
            ph = image.get_psf_photometry(x[touch], y[touch], coords="pixels", **kwargs)
            flux[0, touch] = ph["flux"].to_numpy()
            err[0, touch] = ph["fluxerr"].to_numpy()
            flags[0, touch] = from_psf_flags(ph["psf_flag"].to_numpy())
            sky[touch] = ph["sky"].to_numpy()
        bkg = image.background
        info["sky"], info["skyrms"] = float(bkg.globalback), float(bkg.globalrms)
    return {"info": info, "x": x, "y": y, "sky": sky, "flux": flux, "flux_err": err,
            "flags": flags}


def _frame_bits(frames, max_seeing):
    """Per-frame flag bits: INFOBITS, BAD_STATUS, BAD_SEEING."""
    bits = np.zeros(len(frames), np.int32)
    info = frames["infobits"].fillna(0).to_numpy(dtype=np.int64)
    bits[info != 0] |= int(LightCurveFlag.INFOBITS)
    status = frames["status"].fillna(1).to_numpy(dtype=np.int64)
    bits[status == 0] |= int(LightCurveFlag.BAD_STATUS)
    if max_seeing is not None:
        seeing = frames["seeing"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bits[seeing > max_seeing] |= int(LightCurveFlag.BAD_SEEING)
    return bits


def assemble(results, errors, stars, radii, bkgann, method, meta):
    """A :class:`LightCurves` from the per-frame results of :func:`measure_frame`.

    Parameters
    ----------
    results : list
        One :func:`measure_frame` dict per frame, None where the frame failed.
    errors : pandas.DataFrame
        The failed frames (``file``, ``exception``, ``message``).
    stars : pandas.DataFrame
        The positions' table.
    radii : numpy.ndarray
        Aperture radii (``[nan]`` for PSF photometry).
    bkgann : tuple or None
    method : str
    meta : dict
        Run parameters (``max_seeing`` ...).

    Returns
    -------
    LightCurves
        Times in OBSJD order.

    Examples
    --------
    >>> lc = assemble(res.results, res.errors, stars, np.array([3.0]), (10.0, 15.0),
    ...               'aperture', {})                                # doctest: +SKIP
    """
    ok = [r for r in results if r is not None]
    nap, ns = radii.size, len(stars)
    frames = pd.DataFrame([r["info"] for r in ok])
    if not ok:
        frames = pd.DataFrame({"obsjd": pd.Series([], dtype=float)})
    order = (np.lexsort((frames["file"].to_numpy(dtype=str),
                         frames["obsjd"].to_numpy(dtype=float))) if ok else np.arange(0))
    ok = [ok[i] for i in order]
    frames = frames.iloc[order].reset_index(drop=True)

    def stack(key, shape):
        if not ok:
            return np.empty(shape + (0,))
        return np.stack([r[key] for r in ok], axis=-1)

    x, y = stack("x", (ns,)), stack("y", (ns,))
    flags = stack("flags", (nap, ns)).astype(np.int32)
    if len(frames):
        frames["dx"], frames["dy"] = star_shifts(x, y)
        bits = _frame_bits(normalise_frames(frames, nap), meta.get("max_seeing"))
        flags |= bits[None, None, :]
    failed = (errors[["file", "exception", "message"]].copy() if len(errors)
              else None)
    if failed is not None:
        failed["file"] = [os.path.abspath(f) for f in failed["file"]]
    return LightCurves(stack("flux", (nap, ns)), stack("flux_err", (nap, ns)), flags, stars,
                       frames, radii, x=x, y=y, sky=stack("sky", (ns,)), method=method,
                       bkgann=bkgann, failed=failed, meta=meta)


def _stars_table(ra, dec):
    """(ras, decs, stars table) from arrays, a SkyCoord or a DataFrame of targets."""
    if isinstance(ra, pd.DataFrame):
        if dec is not None:
            raise InvalidParameterError("give either a table of targets (with 'ra' and 'dec' "
                                        "columns) or ra and dec, not both")
        if "ra" not in ra.columns or "dec" not in ra.columns:
            raise InvalidParameterError(f"the targets table needs 'ra' and 'dec' columns "
                                        f"(degrees); got {list(ra.columns)}")
        table = ra.reset_index(drop=isinstance(ra.index, pd.RangeIndex)).copy()
        ras, decs, _ = as_sky(table["ra"].to_numpy(), table["dec"].to_numpy())
        table["ra"], table["dec"] = ras, decs
        return ras, decs, table
    ras, decs, _ = as_sky(ra, dec)
    return ras, decs, pd.DataFrame({"ra": ras, "dec": decs})


def _run(collection, stars, ras, decs, radii, bkgann, method, photometry_kwargs, meta,
         client, progress, map_kwargs):
    res = collection.map(measure_frame, ras, decs, radii, bkgann, method, photometry_kwargs,
                         client=client, progress=progress, **map_kwargs)
    return assemble(res.results, res.errors, stars, radii if method == "aperture"
                    else np.array([np.nan]), bkgann, method, meta)


def forced_photometry(collection, ra, dec=None, *, radius=DEFAULT_RADIUS,
                      bkgann=DEFAULT_BKGANN, method="aperture", max_seeing=DEFAULT_MAX_SEEING,
                      photometry_kwargs=None, client=None, progress=True, **map_kwargs):
    """Forced photometry of sky positions on every frame of a collection.

    Parameters
    ----------
    collection : ztfimg.ImageCollection
        The frames.
    ra : array_like, Quantity, SkyCoord or pandas.DataFrame
        Right ascensions (ICRS degrees unless a Quantity), a ``SkyCoord`` (``dec``
        omitted), or a table of targets with ``ra`` and ``dec`` columns (degrees) whose
        other columns (names, colours ...) are kept in :attr:`LightCurves.stars`.
    dec : array_like or Quantity, optional
        Declinations.
    radius : float, sequence of float or Quantity, default (2, 3, 5)
        Aperture radii, pixels (or angles, through ZTF's 1.012"/px). Ignored for PSF
        photometry.
    bkgann : (float, float), Quantity or None, default (10, 15)
        Local sky annulus, pixels; None: the frame's background map only.
    method : {'aperture', 'psf'}, default 'aperture'
        Aperture sums, or a fit of each frame's DAOPhot PSF (``*_sciimgdao.psf`` beside
        the frame) at the fixed positions (``n_apertures`` is then 1). A collection of
        ``kind='difference'`` needs ``'psf'``: the fit of each ``*_diffimgpsf.fits``, the
        IPAC service's ``forcediffimflux`` (frames table with ``zpdiff``, ``zpdiffunc``);
        ``photometry_kwargs={'rescale_errors': True}`` applies the service's sqrt(chi2)
        rescaling per fit.
    max_seeing : float or None, default 4
        Frames whose header SEEING (FWHM, pixels) exceeds it get BAD_SEEING on every point.
    photometry_kwargs : dict, optional
        Passed to the frame's photometry method (``sky_estimator``, ``rms``,
        ``fit_radius`` ...).
    client : None, 'processes' or distributed.Client, default None
        Where to run (see :meth:`ztfimg.ImageCollection.map`).
    progress : bool, default True
        A progress bar.
    **map_kwargs
        ``n_workers``, ``max_in_flight`` of :meth:`~ztfimg.ImageCollection.map`.

    Returns
    -------
    LightCurves
        Fluxes in DN of each frame, ``(n_apertures, n_stars, n_times)``, times in OBSJD
        order; failed frames in :attr:`LightCurves.failed`.

    Raises
    ------
    InvalidParameterError
        Bad positions, radii, annulus, method or option (before any frame is opened).

    Examples
    --------
    >>> from ztfimg import ImageCollection                              # doctest: +SKIP
    >>> col = ImageCollection.from_directory("frames/")                 # doctest: +SKIP
    >>> lc = forced_photometry(col, targets, radius=[3, 5], bkgann=(10, 15), # doctest: +SKIP
    ...                        client="processes")
    >>> lc.get_lightcurve(0)                    # doctest: +SKIP
    """
    method = as_choice(method, "method", METHODS)
    ras, decs, stars = _stars_table(ra, dec)
    radii, _ = as_radii(radius, pixel_scale=_PIXEL_SCALE)
    ann = as_annulus(bkgann, pixel_scale=_PIXEL_SCALE)
    if method == "aperture" and ann is not None and ann[0] < radii.max():
        raise InvalidParameterError(
            f"the sky annulus ({ann[0]:g}-{ann[1]:g} px) starts inside the largest aperture "
            f"({radii.max():g} px): the stars' own light would enter their sky; use an inner "
            "radius >= the largest radius")
    if max_seeing is not None:
        max_seeing = as_number(max_seeing, "max_seeing", "pixels", positive=True)
    progress = as_bool(progress, "progress")
    if photometry_kwargs is not None and not isinstance(photometry_kwargs, dict):
        raise InvalidParameterError(f"photometry_kwargs must be a dict; got "
                                    f"{type(photometry_kwargs).__name__}")
    if not hasattr(collection, "map") or not hasattr(collection, "files"):
        raise InvalidParameterError(f"collection must be a ztfimg.ImageCollection; got "
                                    f"{type(collection).__name__}")
    if getattr(collection, "kind", "science") == "difference" and method != "psf":
        raise InvalidParameterError("a difference collection is measured with method='psf' "
                                    "(the fit of each frame's *_diffimgpsf.fits)")
    bk = None if (ann is None or method == "psf") else (float(ann[0]), float(ann[1]))
    meta = {"max_seeing": max_seeing, "photometry_kwargs": dict(photometry_kwargs or {}),
            "kind": getattr(collection, "kind", "science")}
    return _run(collection, stars, ras, decs, radii, bk, method, photometry_kwargs, meta,
                client, progress, map_kwargs)


def append(lc, collection, *, client=None, progress=True, **map_kwargs):
    """Measure the frames of ``collection`` that ``lc`` does not hold, and merge them in.

    Frames already in ``lc.frames['file']`` are not opened; frames listed in
    ``lc.failed`` are tried again.  The stars, apertures, annulus, method and options are
    ``lc``'s.

    Parameters
    ----------
    lc : LightCurves
        From :func:`forced_photometry` (not a binned set).
    collection : ztfimg.ImageCollection
        The grown collection (it may hold ``lc``'s frames too).
    client, progress, **map_kwargs
        Where and how to run (see :func:`forced_photometry`).

    Returns
    -------
    LightCurves
        A new object; ``lc`` itself is unchanged.

    Raises
    ------
    InvalidParameterError
        ``lc`` is binned, or ``collection`` is not a collection.

    Examples
    --------
    >>> lc2 = append(lc, ImageCollection.from_directory("frames/"))   # doctest: +SKIP
    >>> len(lc2.frames) - len(lc.frames)   # only the new frames   # doctest: +SKIP
    """
    if not isinstance(lc, LightCurves):
        raise InvalidParameterError(f"append needs a LightCurves; got {type(lc).__name__}")
    meta = lc.meta
    if "binned" in meta:
        raise InvalidParameterError("append needs light curves of single frames, not binned "
                                    "ones: append to the unbinned set, then bin")
    if not hasattr(collection, "map") or not hasattr(collection, "files"):
        raise InvalidParameterError(f"collection must be a ztfimg.ImageCollection; got "
                                    f"{type(collection).__name__}")
    have = set(lc._frames["file"])
    new = np.array([os.path.abspath(f) not in have for f in collection.files], dtype=bool)
    if not new.any():
        return lc._new()
    sub = collection[new]
    stars = lc._stars
    ras, decs = stars["ra"].to_numpy(float), stars["dec"].to_numpy(float)
    radii = lc._apertures if lc.method == "aperture" else np.array([DEFAULT_RADIUS[0]])
    fresh = _run(sub, stars, ras, decs, radii, lc.bkgann, lc.method,
                 meta.get("photometry_kwargs") or None, meta, client, progress, map_kwargs)
    return lc.merge(fresh)
