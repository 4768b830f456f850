"""Forced PSF photometry on plain arrays (level 1: numpy in, pandas out).

For each position the model ``data = a * P + b`` is fitted by weighted linear
least squares over the pixels whose centre lies within ``fit_radius`` of the
star, where ``P`` is the unit-scale PSF stamp (from a
:class:`ztfimg.dao.DAOPhotPSF`, or any object with ``get_psf_stamps`` and
``flux_scale``), ``a`` the amplitude and ``b`` a local constant sky (or a
fixed sky you give).  Weights are ``1 / (rms^2 + max(a P, 0) / gain)``: the
fit is made once with the background noise alone, then repeated with the
Poisson noise of the fitted source (``poisson_iterations`` times).  All stars
are solved together with batched numpy (2 x 2 normal equations per star), no
Python loop over stars.

Positions are 0-based (x = column, y = row, ``data[y, x]``, the centre of the
first pixel is (0, 0)).  Inputs are never modified.  The output has one row
per input position, in the same order; rows that cannot be measured carry NaN
and a flag in the ``psf_flag`` column (:class:`ztfimg.flags.PSFFlag` bits).
Inputs are checked by :mod:`ztfimg.validation`.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pandas as pd

from .errors import InvalidParameterError, ShapeMismatchError
from .flags import PSFFlag
from .validation import (as_gain, as_numbers, as_per_position, as_positions, as_radii,
                         as_rms)

__all__ = ["psf_photometry", "FLAGS", "robust_rms"]

#: Name -> member of :class:`ztfimg.flags.PSFFlag`, the bits of the ``psf_flag`` column.
#: Kept as aliases so that old code (``FLAGS["EDGE"]``) keeps working; the values are the
#: enum members themselves (``FLAGS["EDGE"] is PSFFlag.EDGE``).
FLAGS = {m.name: m for m in (PSFFlag.OFF_IMAGE, PSFFlag.EDGE, PSFFlag.MASKED,
                             PSFFlag.NO_DATA, PSFFlag.SINGULAR, PSFFlag.NEGATIVE)}



#: Result of :func:`_weighted_psf_fit` (arrays over positions; ``w`` per pixel).
_PSFFit = namedtuple("_PSFFit", ["a", "b", "var_a", "var_b", "ok", "w", "Spp", "Sp", "det"])


def _weighted_psf_fit(D, P, good, var0, gain, nfree, fit_background, iterations):
    """Amplitude (and constant background) of a PSF at fixed positions: the one fit rule.

    Weighted linear least squares of ``D ~ a P + b`` over the ``good`` pixels of each
    stamp, in closed form, with ``iterations`` re-weightings by the source's own Poisson
    noise (``var = var0 + max(a P, 0) / gain``). Used by :func:`psf_photometry` (DAOPhot
    PSF) and :func:`ztfimg.psfdiff.forced_psf_photometry` (pixel PSF).

    Parameters
    ----------
    D, P : numpy.ndarray, shape (n, ny, nx)
        Data stamps (0 where not ``good``) and PSF stamps at the positions.
    good : numpy.ndarray of bool, shape (n, ny, nx)
        Pixels used.
    var0 : numpy.ndarray, shape (n, ny, nx)
        Per-pixel variance without the source, data units squared.
    gain : float or None
        e-/DN for the Poisson re-weighting (None: no re-weighting).
    nfree : int
        Free parameters (1, or 2 with the background): a stamp needs more good pixels.
    fit_background : bool
        Fit the constant ``b`` too (else ``b = 0``).
    iterations : int
        Poisson re-weightings after the first fit.

    Returns
    -------
    _PSFFit
        ``a``, ``b`` and their variances ``var_a``, ``var_b``; ``ok`` (enough pixels, a
        regular system); the last weights ``w``; ``Spp``, ``Sp``, ``det`` (sums of the
        normal equations, for covariances; ``Sp``/``det`` None without the background).
    """
    var = var0
    npx = good.sum(axis=(1, 2))
    Sp = det = None
    for it in range(int(iterations) + 1):
        w = np.where(good, 1.0 / np.where(good, var, 1.0), 0.0)
        wP = w * P
        Spp = np.einsum("nij,nij->n", wP, P)
        Spd = np.einsum("nij,nij->n", wP, D)
        with np.errstate(divide="ignore", invalid="ignore"):
            if fit_background:
                Sw = w.sum(axis=(1, 2))
                Sp = wP.sum(axis=(1, 2))
                Sd = np.einsum("nij,nij->n", w, D)
                det = Spp * Sw - Sp * Sp
                ok = (npx > nfree) & (det > 1e-12 * np.abs(Spp * Sw))
                det = np.where(ok, det, 1.0)
                a = (Spd * Sw - Sp * Sd) / det
                b = (Spp * Sd - Sp * Spd) / det
                var_a, var_b = Sw / det, Spp / det
            else:
                ok = (npx > nfree) & (Spp > 0)
                Spp_ = np.where(ok, Spp, 1.0)
                a = Spd / Spp_
                b = np.zeros_like(a)
                var_a, var_b = 1.0 / Spp_, np.zeros_like(a)
        if it < iterations and gain is not None:
            var = var0 + np.maximum(a[:, None, None] * P, 0.0) / gain
    return _PSFFit(a, b, var_a, var_b, ok, w, Spp, Sp, det)

def robust_rms(data, mask=None, max_pixels=1_000_000):
    """Robust noise of an image: MAD-based sigma after 3-sigma clipping.

    The pixels are clipped at 3 sigma around the median (sigma = ``mad_std``, at most 3
    iterations, :func:`astropy.stats.sigma_clip`), then the noise is the ``mad_std``
    (1.4826 x median absolute deviation) of the kept pixels.

    Parameters
    ----------
    data : 2-D array
        Image (any units).
    mask : 2-D bool array, optional
        True marks pixels to ignore. Default None.
    max_pixels : int, optional
        Use a regular subsample of at most this many pixels. Default 1e6.

    Returns
    -------
    float
        The noise estimate (same units as ``data``), NaN if no usable pixel.
    """
    import warnings

    from astropy.stats import mad_std, sigma_clip

    d = as_numbers(data, name="data")
    good = np.isfinite(d)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool)
    v = d[good]
    if v.size > max_pixels:
        v = v[:: int(math.ceil(v.size / max_pixels))]
    if v.size == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy warns on constant input
        v = sigma_clip(v, sigma=3.0, maxiters=3, cenfunc="median", stdfunc="mad_std",
                       masked=False, axis=None)
    return float(mad_std(v))


def _check_image_like(arr, shape, name):
    a = np.asarray(arr)
    if a.shape != shape:
        raise ShapeMismatchError(f"{name} has shape {a.shape}, the data has shape {shape}")
    return a


def psf_photometry(data, x, y, psf, *, rms=None, gain=None, mask=None, fit_radius=None,
                   sky=None, zp=None, zperr=0.0, frame_origin=(0.0, 0.0), poisson_iterations=1,
                   chunk_size=2000):
    """Forced PSF photometry of many stars at fixed positions.

    Parameters
    ----------
    data : 2-D array_like
        Image in DN (background not subtracted is fine when ``sky`` is fitted).
    x, y : float or array_like (1-D) or pandas.Series
        0-based positions (pixels, x = column).  A scalar is used for every
        position of the other; arrays must have the same length.  A Series
        index is kept.
    psf : DAOPhotPSF
        PSF model (anything with ``get_psf_stamps(x, y, size, frame_origin=)``,
        ``flux_scale`` and ``fwhm``).
    rms : None, float or 2-D array_like, optional
        Background noise per pixel (DN): a number > 0, or a map of the data's
        shape (finite, >= 0; pixels with 0 are left out of the fit).
        Default None: :func:`robust_rms` of the unmasked data (fine on a
        frame or a cutout dominated by sky).
    gain : float, optional
        Gain (e-/DN) for the Poisson noise of the source, ``model/gain``
        added to ``rms^2``.  Default None: background noise only.
    mask : 2-D bool array_like, optional
        True marks bad pixels, left out of the fit.  Default None.
    fit_radius : float, optional
        Radius (pixels, >= 1) of the fit disc.  Default ``max(3, 1.5 * psf.fwhm)``.
    sky : None, float or array_like, optional
        None (default): fit a constant local sky with the amplitude.  A value
        (one number for all, or exactly one per star, DN): subtract it and fit
        the amplitude only.
    zp : float, optional
        Zero point (mag) to add ``mag = zp - 2.5 log10(flux)`` and ``magerr``.
    zperr : float, optional
        Zero-point uncertainty (mag) added in quadrature to ``magerr`` (default 0).
    frame_origin : tuple of float, optional
        0-based frame position of ``data[0, 0]``, for the PSF's spatial
        variation when ``data`` is a cutout (default (0, 0)).
    poisson_iterations : int, optional
        Refits with the source Poisson weights (default 1; ignored without gain).
    chunk_size : int, optional
        Stars per batch (memory control, default 2000).

    Returns
    -------
    pandas.DataFrame
        One row per input position, same order, columns: ``x``, ``y`` (input),
        ``flux``, ``fluxerr`` (DN, ``amplitude * psf.flux_scale``),
        ``amplitude`` (PSF scale), ``sky``, ``skyerr`` (DN per pixel; the
        given value and 0 when ``sky`` is fixed), ``chi2``, ``redchi2``
        (chi2 / (npix - nfree)), ``npix`` (pixels used), ``psf_flag``
        (:class:`~ztfimg.flags.PSFFlag` bits) and, with ``zp``, ``mag``,
        ``magerr``.

    Raises
    ------
    ShapeMismatchError
        ``x``/``y`` (or ``sky``) arrays of different lengths, or ``rms``/``mask``
        do not match ``data``.
    InvalidParameterError
        Bad ``fit_radius``, ``gain``, ``rms``, non-numeric positions or ``data``
        not 2-D.

    Examples
    --------
    >>> psf = DAOPhotPSF("ztf_..._sciimgdao.psf")                # doctest: +SKIP
    >>> tab = psf_photometry(img, xs, ys, psf, rms=9.5, gain=6.2)   # doctest: +SKIP
    """
    img = np.asarray(data)
    if img.ndim != 2:
        raise InvalidParameterError(f"data must be a 2-D image, got shape {img.shape}")
    ny, nx = img.shape
    index = x.index if isinstance(x, pd.Series) else (y.index if isinstance(y, pd.Series) else None)
    missing = [a for a in ("get_psf_stamps", "flux_scale", "fwhm") if not hasattr(psf, a)]
    if missing:
        raise InvalidParameterError(
            f"psf must be a PSF model such as ztfimg.dao.DAOPhotPSF (with get_psf_stamps, "
            f"flux_scale and fwhm); got {type(psf).__name__} {psf!r:.60}, which lacks {missing}")
    xa, ya, _ = as_positions(x, y)
    n = xa.size
    if index is not None and len(index) != n:
        index = None

    if mask is not None:
        mask = _check_image_like(mask, img.shape, "mask").astype(bool, copy=False)
    rms_map = None
    rms = as_rms(rms, img.shape)
    if rms is None:
        rms_val = robust_rms(img, mask)
        if not rms_val > 0:
            raise InvalidParameterError("could not estimate the noise from the data; pass rms")
    elif isinstance(rms, float):
        rms_val = rms
    else:
        rms_map = rms
        rms_val = None
    gain = as_gain(gain)
    if fit_radius is None:
        fit_radius = max(3.0, 1.5 * float(psf.fwhm))
    fit_radius, one = as_radii(fit_radius, name="fit_radius")
    fit_radius = float(fit_radius[0])
    if not one or fit_radius < 1.0:
        raise InvalidParameterError(f"fit_radius must be one number >= 1 pixel, got {fit_radius!r}")
    fit_sky = sky is None
    if not fit_sky:
        sky_in = as_per_position(sky, n, name="sky")
    nfree = 2 if fit_sky else 1
    poisson_iterations = int(poisson_iterations) if gain is not None else 0

    cols = {k: np.full(n, np.nan) for k in
            ("flux", "fluxerr", "amplitude", "sky", "skyerr", "chi2", "redchi2")}
    npix = np.zeros(n, dtype=np.int64)
    flag = np.zeros(n, dtype=np.int64)

    finite = np.isfinite(xa) & np.isfinite(ya)
    inframe = finite & (xa >= -0.5) & (xa < nx - 0.5) & (ya >= -0.5) & (ya < ny - 0.5)
    flag[~inframe] |= PSFFlag.OFF_IMAGE
    todo = np.flatnonzero(inframe)

    size = 2 * int(math.ceil(fit_radius)) + 1
    ar = np.arange(size)
    r2max = fit_radius ** 2
    for s in range(0, todo.size, max(int(chunk_size), 1)):
        sel = todo[s:s + chunk_size]
        xs, ys = xa[sel], ya[sel]
        P, x0, y0 = psf.get_psf_stamps(xs, ys, size, frame_origin=frame_origin)
        iy = (y0[:, None] + ar)[:, :, None]
        ix = (x0[:, None] + ar)[:, None, :]
        inside = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
        iyc, ixc = np.clip(iy, 0, ny - 1), np.clip(ix, 0, nx - 1)
        D = img[iyc, ixc].astype(float)                       # fancy indexing: a copy
        disc = ((iy - ys[:, None, None]) ** 2 + (ix - xs[:, None, None]) ** 2) <= r2max
        disc, inside = np.broadcast_arrays(disc, inside)
        good = disc & inside & np.isfinite(D)
        if mask is not None:
            good &= ~mask[iyc, ixc]
        if rms_map is not None:
            var0 = np.asarray(rms_map[iyc, ixc], dtype=float) ** 2
            good &= np.isfinite(var0) & (var0 > 0)
            var0 = np.where(good, var0, 1.0)
        else:
            var0 = np.full(D.shape, rms_val ** 2)
        D = np.where(good, D, 0.0)
        if not fit_sky:
            D = D - sky_in[sel][:, None, None]
        fl = np.zeros(sel.size, dtype=np.int64)
        fl[np.any(disc & ~inside, axis=(1, 2))] |= PSFFlag.EDGE
        fl[np.any(disc & inside & ~good, axis=(1, 2))] |= PSFFlag.MASKED
        npx = good.sum(axis=(1, 2))

        fit = _weighted_psf_fit(D, P, good, var0, gain, nfree, fit_sky, poisson_iterations)
        a, b, var_a, var_b, ok, w = fit.a, fit.b, fit.var_a, fit.var_b, fit.ok, fit.w
        resid = D - a[:, None, None] * P - b[:, None, None]
        chi2 = np.einsum("nij,nij,nij->n", w, resid, resid)

        fl[npx <= nfree] |= PSFFlag.NO_DATA
        fl[(npx > nfree) & ~ok] |= PSFFlag.SINGULAR
        fl[ok & (a <= 0)] |= PSFFlag.NEGATIVE
        nan = np.nan
        cols["amplitude"][sel] = np.where(ok, a, nan)
        cols["flux"][sel] = np.where(ok, a * psf.flux_scale, nan)
        cols["fluxerr"][sel] = np.where(ok, np.sqrt(np.where(ok, var_a, 0.0)) * psf.flux_scale, nan)
        cols["sky"][sel] = np.where(ok, b, nan) if fit_sky else np.where(ok, sky_in[sel], nan)
        cols["skyerr"][sel] = np.where(ok, np.sqrt(np.where(ok, np.maximum(var_b, 0.0), 0.0)), nan)
        cols["chi2"][sel] = np.where(ok, chi2, nan)
        dof = npx - nfree
        cols["redchi2"][sel] = np.where(ok & (dof > 0), chi2 / np.where(dof > 0, dof, 1), nan)
        npix[sel] = npx
        flag[sel] |= fl

    out = pd.DataFrame({"x": xa, "y": ya, **cols, "npix": npix, "psf_flag": flag}, index=index)
    if zp is not None:
        f, fe = out["flux"].to_numpy(), out["fluxerr"].to_numpy()
        pos = f > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(pos, float(zp) - 2.5 * np.log10(np.where(pos, f, 1.0)), np.nan)
            magerr = np.where(pos, np.hypot(2.5 / np.log(10) * fe / np.where(pos, f, 1.0),
                                            float(zperr)), np.nan)
        out["mag"] = mag
        out["magerr"] = magerr
    return out
