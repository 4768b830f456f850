"""Calibrated light curves: each frame's zero point applied, upper limits (level 3).

Forced photometry measures DN of each frame.  :func:`calibrate` puts every point on the
AB scale with the frame's own calibration (ZTF.md section 5), through the package's one
set of conversions (:mod:`ztfimg.photometry`, :func:`ztfimg.aperture.apply_aperture_correction`):

* ``counts``: the aperture sum corrected to total with the header's ``APCORn`` when the
  aperture diameter is one of IPAC's ``FIXAPERS`` (its ``APCORUNn`` added to the error);
  PSF fluxes are totals already;
* ``mag = MAGZP [+ CLRCOEFF * colour] - 2.5 log10(counts)``, with ``MAGZPUNC`` added in
  quadrature to ``1.0857 * counts_err / counts``;
* ``flux``: the flux density (uJy by default) of the same counts; linear, so a negative
  forced flux stays negative (the zero-point uncertainty is not in ``flux_err``);
* a point with ``S/N = counts / counts_err < snr_limit`` is an upper limit: ``mag`` and
  ``mag_err`` are NaN and ``maglim`` (on every row) is the ``limit_sigma``-sigma limiting
  magnitude from the measured error, ``MAGZP - 2.5 log10(limit_sigma * counts_err)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import photometry as _phot
from ..aperture import apply_aperture_correction
from ..errors import InvalidParameterError
from ..validation import as_number

__all__ = ["calibrate", "colour_values", "lightcurve_table"]


def colour_values(lc, colour, stars):
    """The PS1 colour of each selected star, or None.

    Parameters
    ----------
    lc : LightCurves
    colour : None, float, str or array_like
        A number for all stars, a column of ``lc.stars``, or one value per star of ``lc``.
    stars : numpy.ndarray of int
        Positions of the selected stars.

    Returns
    -------
    numpy.ndarray or None
        float64, one per selected star.

    Raises
    ------
    InvalidParameterError
        Unknown column, or an array of the wrong length.

    Examples
    --------
    >>> colour_values(lc, 'colour', np.arange(lc.n_stars))        # doctest: +SKIP
    """
    if colour is None:
        return None
    if isinstance(colour, str):
        table = lc._stars
        if colour not in table.columns:
            raise InvalidParameterError(f"colour {colour!r} is not a column of the stars table "
                                        f"({list(table.columns)})")
        values = table[colour].to_numpy(dtype=float)
    elif np.ndim(colour) == 0:
        return np.full(len(stars), as_number(colour, "colour", "mag"))
    else:
        values = np.asarray(colour, dtype=float)
        if values.shape != (lc.n_stars,):
            raise InvalidParameterError(f"colour needs one value per star ({lc.n_stars}); got "
                                        f"shape {values.shape}")
    return values[np.asarray(stars, dtype=np.int64)]


def _apcor_mode(apcor):
    if isinstance(apcor, str) and apcor == "auto":
        return "auto"
    if isinstance(apcor, (bool, np.bool_)):
        return bool(apcor)
    raise InvalidParameterError(f"apcor must be 'auto', True or False; got {apcor!r}")


def _wavelength(filtername):
    try:
        return _phot.filter_wavelength(filtername)
    except InvalidParameterError:
        return np.nan


def calibrate(lc, aperture=None, *, colour=None, apcor="auto", flux_unit="ujy",
              snr_limit=3.0, limit_sigma=5.0, stars=None):
    """Calibrated fluxes and magnitudes of a :class:`LightCurves`, one row per star and time.

    Parameters
    ----------
    lc : LightCurves
    aperture : int, optional
        Aperture index (default 0).
    colour : None, float, str or array_like, optional
        PS1 colour of the stars (``g-r`` for zg/zr, ``r-i`` for zi) for the colour term
        ``CLRCOEFF * colour``: a number, a column of ``lc.stars`` or one value per star.
        Default None: no colour term (magnitudes on the frame's system for a colour of 0).
    apcor : {'auto', True, False}, default 'auto'
        Header aperture corrections: 'auto' applies them where the aperture diameter is one
        of FIXAPERS (``frames['apcor_k']`` finite), True requires them (error otherwise),
        False never applies them. Ignored for PSF photometry.
    flux_unit : {'ujy', 'mjy', 'jy', 'fnu', 'flam'}, default 'ujy'
        Unit of ``flux`` (see :data:`ztfimg.photometry.FLUX_UNITS`).
    snr_limit : float, default 3
        Points with S/N below it are upper limits.
    limit_sigma : float, default 5
        Significance of ``maglim``.
    stars : optional
        Stars to include (positions, names or a mask, as in :meth:`LightCurves.select`).

    Returns
    -------
    pandas.DataFrame
        Rows ordered by star then time: ``star``, ``time`` (frame position), ``mjd``,
        ``filtername``, ``file``, ``ra``, ``dec``, ``radius`` (px), ``counts``,
        ``counts_err`` (DN, aperture corrected), ``apcor`` (mag applied, 0 when none),
        ``flux``, ``flux_err`` (``flux_unit``), ``mag``, ``mag_err`` (AB), ``snr``,
        ``upper_limit`` (bool), ``maglim`` (mag), ``flag``. ``attrs`` holds ``aperture``
        and ``flux_unit``.

    Raises
    ------
    InvalidParameterError
        Bad aperture, colour, unit or limits; ``apcor=True`` where a frame has no
        correction for the aperture.

    Examples
    --------
    >>> cal = calibrate(lc, colour="colour")                          # doctest: +SKIP
    >>> cal[~cal.upper_limit].groupby("star")["mag"].median()           # doctest: +SKIP
    """
    a = lc.aperture_index(aperture)
    unit = flux_unit.lower() if isinstance(flux_unit, str) else None
    if unit not in _phot.FLUX_UNITS:
        raise InvalidParameterError(f"flux_unit must be one of {_phot.FLUX_UNITS}; got "
                                    f"{flux_unit!r}")
    snr_limit = as_number(snr_limit, "snr_limit")
    limit_sigma = as_number(limit_sigma, "limit_sigma", positive=True)
    mode = _apcor_mode(apcor)
    s = lc._positions(stars, lc.n_stars, "star")
    frames = lc._frames
    nt = lc.n_times
    counts = lc._flux[a][s].copy()
    err = lc._flux_err[a][s].copy()
    col = colour_values(lc, colour, s)
    radius = float(lc._apertures[a])
    applied = np.zeros(nt)
    if lc.method == "aperture" and mode is not False:
        corr = frames[f"apcor_{a}"].to_numpy(dtype=float)
        unc = frames[f"apcorunc_{a}"].to_numpy(dtype=float)
        have = np.isfinite(corr) & np.isfinite(unc)
        if mode is True and not have.all():
            raise InvalidParameterError(
                f"apcor=True, but {int((~have).sum())} frame(s) have no header aperture "
                f"correction for a diameter of {2 * radius:g} px (FIXAPERS diameters only); "
                "use apcor='auto' or False, or an aperture of radius FIXAPERS/2")
        for t in np.flatnonzero(have):
            table = {2.0 * radius: (corr[t], unc[t])}
            counts[:, t], err[:, t] = apply_aperture_correction(
                counts[:, t], err[:, t], radius=radius, apcor=table)
            applied[t] = corr[t]
    ns = len(s)
    flux = np.full((ns, nt), np.nan)
    ferr = np.full((ns, nt), np.nan)
    mag = np.full((ns, nt), np.nan)
    merr = np.full((ns, nt), np.nan)
    maglim = np.full((ns, nt), np.nan)
    zp = frames["magzp"].to_numpy(dtype=float)
    zpunc = np.nan_to_num(frames["magzpunc"].to_numpy(dtype=float))
    clr = frames["clrcoeff"].to_numpy(dtype=float)
    filt = frames["filtername"].tolist()
    for t in np.flatnonzero(np.isfinite(zp)):
        kw = {} if col is None else {"clrcoeff": clr[t], "colour": col}
        flux[:, t], ferr[:, t] = _phot.counts_to_flux(counts[:, t], err[:, t], magzp=zp[t],
                                                      wavelength=_wavelength(filt[t]),
                                                      unit=unit, **kw)
        mag[:, t], merr[:, t] = _phot.counts_to_mag(counts[:, t], err[:, t], magzp=zp[t],
                                                    magzpunc=zpunc[t], **kw)
        maglim[:, t] = _phot.counts_to_mag(limit_sigma * err[:, t], magzp=zp[t], **kw)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = counts / err
    upper = np.isfinite(snr) & (snr < snr_limit)
    mag[upper] = np.nan
    merr[upper] = np.nan
    t_idx = np.tile(np.arange(nt), ns)
    s_idx = np.repeat(s, nt)
    out = pd.DataFrame({
        "star": s_idx.astype(np.int32), "time": t_idx.astype(np.int32),
        "mjd": frames["mjd"].to_numpy(float)[t_idx],
        "filtername": frames["filtername"].to_numpy(dtype=object)[t_idx],
        "file": frames["file"].to_numpy(dtype=object)[t_idx],
        "ra": lc._stars["ra"].to_numpy(float)[s_idx],
        "dec": lc._stars["dec"].to_numpy(float)[s_idx],
        "radius": np.full(ns * nt, radius), "counts": counts.ravel(),
        "counts_err": err.ravel(), "apcor": np.tile(applied, ns), "flux": flux.ravel(),
        "flux_err": ferr.ravel(), "mag": mag.ravel(), "mag_err": merr.ravel(),
        "snr": snr.ravel(), "upper_limit": upper.ravel(), "maglim": maglim.ravel(),
        "flag": lc._flags[a][s].ravel()})
    out.attrs.update(aperture=a, flux_unit=unit)
    return out


def lightcurve_table(lc, star, aperture=None, *, colour=None, apcor="auto", flux_unit="ujy",
                     snr_limit=3.0, bjd=False):
    """One star's calibrated light curve (see :meth:`LightCurves.get_lightcurve`).

    Parameters
    ----------
    lc : LightCurves
    star : int or str
        Position in ``lc.stars``, or its ``name``.
    aperture : int, optional
        Aperture index (default 0).
    colour : float or str, optional
        The star's PS1 colour, or a column of ``lc.stars``.
    apcor : {'auto', True, False}, default 'auto'
    flux_unit : {'ujy', 'mjy', 'jy', 'fnu', 'flam', 'counts'}, default 'ujy'
        ``'counts'``: DN of each frame (aperture corrected when ``apcor`` applies).
    snr_limit : float, default 3
    bjd : bool, default False
        Add ``bjd_tdb`` (:func:`ztfimg.lightcurves.time.bjd_tdb`).

    Returns
    -------
    pandas.DataFrame
        ``mjd``, ``flux``, ``flux_err``, ``mag``, ``mag_err``, ``flag``, ``snr``,
        ``upper_limit``, ``maglim``, ``filtername``, ``file`` (and ``bjd_tdb``); ``attrs``
        holds ``star``, ``aperture`` and ``flux_unit``.

    Raises
    ------
    InvalidParameterError
        Unknown star, aperture or unit.

    Examples
    --------
    >>> lightcurve_table(lc, 0, 1, colour="colour", bjd=True)          # doctest: +SKIP
    """
    s = lc.star_index(star)
    counts = isinstance(flux_unit, str) and flux_unit.lower() == "counts"
    cal = calibrate(lc, aperture, colour=colour, apcor=apcor,
                    flux_unit="ujy" if counts else flux_unit, snr_limit=snr_limit, stars=[s])
    out = pd.DataFrame({
        "mjd": cal["mjd"].to_numpy(),
        "flux": cal["counts" if counts else "flux"].to_numpy(),
        "flux_err": cal["counts_err" if counts else "flux_err"].to_numpy(),
        "mag": cal["mag"].to_numpy(), "mag_err": cal["mag_err"].to_numpy(),
        "flag": cal["flag"].to_numpy(), "snr": cal["snr"].to_numpy(),
        "upper_limit": cal["upper_limit"].to_numpy(), "maglim": cal["maglim"].to_numpy(),
        "filtername": cal["filtername"].to_numpy(), "file": cal["file"].to_numpy()})
    if bjd:
        from .time import bjd_tdb
        row = lc._stars.iloc[s]
        out["bjd_tdb"] = bjd_tdb(lc._frames["obsjd"].to_numpy(float), float(row["ra"]),
                                 float(row["dec"]))
    out.attrs.update(star=s, aperture=cal.attrs["aperture"],
                     flux_unit="counts" if counts else cal.attrs["flux_unit"])
    return out
