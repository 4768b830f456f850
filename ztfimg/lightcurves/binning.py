"""Time bins of light curves, with the errors of a weighted mean (level 3).

Fluxes of different frames are in DN of each frame, so they are first put on one zero
point per filter, ``zp_ref``: ``F_ref = F * 10**(0.4 * (zp_ref - MAGZP + (c_ref - CLRCOEFF)
* colour))`` with ``c_ref`` the mean CLRCOEFF of the bin's frames (the colour part only
when a colour is given).  Within a bin (per filter, never across filters) the points with a
finite flux and a positive error are combined:

* ``weighted=True``: ``F = sum(F_i / s_i^2) / sum(1 / s_i^2)``, error ``1 / sqrt(sum(1 / s_i^2))``;
* ``weighted=False``: ``F = mean(F_i)``, error ``sqrt(sum(s_i^2)) / n``.

The flags of a binned point are the OR of its members'; a bin without a usable point
is NaN with the OR of all its members' flags.  The binned frames table has the bin's mean
``obsjd``, ``MAGZP = zp_ref``, ``MAGZPUNC = sqrt(sum unc^2) / n``, ``CLRCOEFF = c_ref``, the
mean seeing, airmass, sky, aperture corrections (an approximation: the members' apertures
lose slightly different fractions), the OR of INFOBITS, the members' files joined by
``|`` and ``nframes``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError
from ..validation import as_bool, as_number
from .calibration import colour_values
from .frames import apcor_columns, star_shifts

__all__ = ["bin_lightcurves", "bin_indices"]


def _days(width):
    if hasattr(width, "unit"):
        import astropy.units as u
        try:
            width = width.to_value(u.day)
        except u.UnitConversionError:
            raise InvalidParameterError(f"width must be a time; got {width!r}") from None
    return as_number(width, "width", "days", positive=True)


def bin_indices(mjd, filtername, width, origin):
    """Bin number of each frame, and the (filter, bin) groups in time order.

    Parameters
    ----------
    mjd : numpy.ndarray
        Frame times, MJD.
    filtername : sequence of str
        Frame filters.
    width : float
        Bin width, days.
    origin : float
        MJD of a bin edge.

    Returns
    -------
    list of numpy.ndarray
        Frame positions of each non-empty group, ordered by the group's mean time.

    Examples
    --------
    >>> [g.tolist() for g in bin_indices([0.1, 0.2, 1.5], ['ztfr'] * 3, 1.0, 0.0)]
    [[0, 1], [2]]
    """
    k = np.floor((np.asarray(mjd, float) - origin) / width)
    keys = pd.DataFrame({"f": list(filtername), "k": k, "i": np.arange(len(k))})
    keys = keys[np.isfinite(keys["k"])]
    groups = [g["i"].to_numpy() for _, g in keys.groupby(["f", "k"], sort=False)]
    groups.sort(key=lambda g: float(np.mean(np.asarray(mjd, float)[g])))
    return groups


def _first_if_unique(values):
    vals = {v for v in values if v is not None and v is not pd.NA and v == v}
    return vals.pop() if len(vals) == 1 else None


def bin_lightcurves(lc, width, *, origin=None, weighted=True, colour=None, zp_ref=None):
    """Light curves averaged in time bins (see the module doc).

    Parameters
    ----------
    lc : LightCurves
    width : float or astropy.units.Quantity
        Bin width, days (or a time Quantity).
    origin : float, optional
        MJD of a bin edge; default the integer MJD at or before the first frame (UTC
        midnight, the middle of a Palomar afternoon: nights are not split for width 1).
    weighted : bool, default True
        Inverse-variance weighted means, else plain means.
    colour : float, str or array_like, optional
        PS1 colour per star for the colour part of the zero-point rescaling.
    zp_ref : float, optional
        Zero point of the binned fluxes, mag (default per filter the median MAGZP).

    Returns
    -------
    LightCurves
        A new object, one time per non-empty (filter, bin), in time order.

    Raises
    ------
    InvalidParameterError
        Bad width or origin, or a frame without MAGZP.

    Examples
    --------
    >>> nightly = bin_lightcurves(lc, 1.0)                           # doctest: +SKIP
    >>> nightly.frames[["mjd", "nframes"]]                    # doctest: +SKIP
    """
    width = _days(width)
    weighted = as_bool(weighted, "weighted")
    frames = lc._frames
    zp = frames["magzp"].to_numpy(dtype=float)
    if not np.isfinite(zp).all():
        raise InvalidParameterError(f"{int((~np.isfinite(zp)).sum())} frame(s) have no MAGZP: "
                                    "their fluxes cannot be put on a common scale; select the "
                                    "others first (lc.select(frames=lc.frames.magzp.notna()))")
    mjd = frames["mjd"].to_numpy(dtype=float)
    if origin is None:
        origin = float(np.floor(np.nanmin(mjd))) if len(mjd) else 0.0
    origin = as_number(origin, "origin", "MJD")
    col = colour_values(lc, colour, np.arange(lc.n_stars))
    groups = bin_indices(mjd, frames["filtername"].tolist(), width, origin)
    ref = {}
    for f in frames["filtername"].unique():
        ref[f] = (as_number(zp_ref, "zp_ref", "mag") if zp_ref is not None
                  else float(np.median(zp[frames["filtername"].to_numpy() == f])))
    clr = np.nan_to_num(frames["clrcoeff"].to_numpy(dtype=float))
    nap, ns, _ = lc.shape
    nb = len(groups)
    flux = np.full((nap, ns, nb), np.nan)
    ferr = np.full((nap, ns, nb), np.nan)
    flags = np.zeros((nap, ns, nb), np.int32)
    x, y, sky = (np.full((ns, nb), np.nan) for _ in range(3))
    apcor = tuple(apcor_columns(nap))
    col_of = {k: frames[k].to_numpy(dtype=object) for k in ("file", "filename", "fieldid",
                                                            "ccdid", "qid", "rcid")}
    for k in ("obsjd", "exptime", "magzpunc", "clrcounc", "seeing", "airmass", "sky",
              "skyrms", "status") + apcor:
        col_of[k] = frames[k].to_numpy(dtype=float, na_value=np.nan)
    col_of["infobits"] = frames["infobits"].fillna(0).to_numpy(dtype=np.int64)
    col_of["nframes"] = frames["nframes"].fillna(1).to_numpy(dtype=np.int64)
    rows = []
    for b, idx in enumerate(groups):
        filt = frames["filtername"].iloc[idx[0]]
        c_ref = float(np.mean(clr[idx]))
        dm = ref[filt] - zp[idx]                                  # (m,)
        dm = dm[None, :] if col is None else dm[None, :] + (c_ref - clr[idx])[None, :] \
            * np.nan_to_num(col)[:, None]
        scale = 10.0 ** (0.4 * dm)                                # (1 or ns, m)
        f = lc._flux[:, :, idx] * scale[None]
        e = lc._flux_err[:, :, idx] * scale[None]
        g = lc._flags[:, :, idx]
        use = np.isfinite(f) & np.isfinite(e) & (e > 0)
        n = use.sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if weighted:
                w = np.where(use, 1.0 / np.where(use, e, 1.0) ** 2, 0.0)
                sw = w.sum(axis=-1)
                flux[:, :, b] = np.where(n > 0, (w * np.where(use, f, 0.0)).sum(-1) / sw, np.nan)
                ferr[:, :, b] = np.where(n > 0, 1.0 / np.sqrt(sw), np.nan)
            else:
                flux[:, :, b] = np.where(n > 0, np.where(use, f, 0.0).sum(-1) / n, np.nan)
                var = (np.where(use, e, 0.0) ** 2).sum(-1)
                ferr[:, :, b] = np.where(n > 0, np.sqrt(var) / n, np.nan)
        ored = np.bitwise_or.reduce(np.where(use, g, 0), axis=-1)
        flags[:, :, b] = np.where(n > 0, ored, np.bitwise_or.reduce(g, axis=-1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN positions
            x[:, b] = np.nanmean(lc._x[:, idx], axis=1)
            y[:, b] = np.nanmean(lc._y[:, idx], axis=1)
            sky[:, b] = np.nanmean(lc._sky[:, idx], axis=1)
        m = len(idx)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN columns
            row = {"file": "|".join(col_of["file"][idx]),
                   "filename": "|".join(col_of["filename"][idx]),
                   "obsjd": float(np.mean(col_of["obsjd"][idx])), "filtername": filt,
                   "exptime": float(np.sum(col_of["exptime"][idx])), "magzp": ref[filt],
                   "magzpunc": float(np.sqrt(np.nansum(col_of["magzpunc"][idx] ** 2)) / m),
                   "clrcoeff": c_ref, "maglim": np.nan,
                   "infobits": int(np.bitwise_or.reduce(col_of["infobits"][idx])),
                   "nframes": int(np.sum(col_of["nframes"][idx]))}
            for key in ("clrcounc", "seeing", "airmass", "sky", "skyrms") + apcor:
                row[key] = float(np.mean(col_of[key][idx]))
        status = col_of["status"][idx]
        row["status"] = int(np.min(status)) if np.isfinite(status).all() else None
        for key in ("fieldid", "ccdid", "qid", "rcid"):
            row[key] = _first_if_unique(col_of[key][idx])
        rows.append(row)
    out_frames = pd.DataFrame(rows) if rows else frames.iloc[:0]
    out_frames = out_frames.reset_index(drop=True)
    if nb:
        out_frames["dx"], out_frames["dy"] = star_shifts(x, y)
    meta = dict(lc._meta, binned={"width": width, "origin": origin, "weighted": weighted})
    return lc._new(flux=flux, flux_err=ferr, flags=flags, x=x, y=y, sky=sky,
                   frames=out_frames, meta=meta)
