"""Transient light curves from difference images: baseline, detections, limits (level 3).

What IPAC's forced-photometry guide leaves to its users (ZTF.md section 8), for a
:class:`~ztfimg.lightcurves.LightCurves` measured on difference frames
(``ImageCollection(..., kind="difference").forced_photometry(ra, dec, method="psf")``):

* **baseline correction** (:func:`fit_baseline`, :func:`baseline_correct`): a reference
  built with some host light left in, or a slightly wrong PSF match, leaves a constant
  flux offset in every difference of one field + CCD + quadrant + filter (each has its own
  reference). Per star and per such group the offset is the inverse-variance weighted mean
  of the group's pre-event epochs, and is subtracted; its error is added in quadrature to
  every corrected point (it is common to the group's points: a correlated error).
  Pre-event epochs are those the user gives (``baseline=(tmin, tmax)`` in MJD, or a
  boolean mask over the times), or, with ``baseline='auto'``, chosen by the rule:

  1. a provisional offset per group: the median of the fainter half of its fluxes;
  2. the event starts at the first of ``run`` (default 2) consecutive epochs, all groups
     of the star together in time order, with ``(flux - provisional) / flux_err >=
     nsigma`` (default 3);
  3. the pre-event epochs are those earlier than ``margin`` days (default 5, the
     undetected start of the rise) before it; all epochs when there is no such run.

  A group with fewer than ``min_epochs`` (default 3) usable pre-event epochs is left as it
  is (``corrected`` False in the baseline table). With ``rescale=True`` the errors of a
  group whose pre-event points scatter more than their errors say (reduced chi2 > 1
  about the offset) are multiplied by ``sqrt(chi2)``, as the guide recommends; the fit's
  own chi2 rescaling is ``photometry_kwargs={'rescale_errors': True}`` at measurement.
* **detections and upper limits** (:func:`transient_table`): S/N >= ``snr_limit``
  (default 3) is a detection with an AB magnitude, else ``mag`` is NaN; every row carries
  the ``limit_sigma`` (default 5) sigma limit ``zpdiff - 2.5 log10(5 * fluxunc)``.
* fluxes in uJy on the common AB zero point 23.9 (:func:`ztfimg.photometry.counts_to_flux`
  from each frame's ``zpdiff``, the one conversion of the package), the table light-curve
  fitters take (``time``, ``band``, ``flux``, ``flux_err``, ``zp``, ``zpsys``, ``mag``,
  ``mag_err``, ``limit``, ``is_detection``: sncosmo's layout), and :func:`plot_transient`
  with the limits drawn as downward arrows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .. import photometry as _phot
from ..errors import InvalidParameterError
from ..validation import as_bool, as_number
from .core import LightCurves
from .pointflags import UNUSABLE

__all__ = ["fit_baseline", "baseline_correct", "transient_table", "plot_transient",
           "GROUP_COLUMNS", "AB_ZP_UJY", "FITTER_COLUMNS"]

#: Frames-table columns that define a baseline group (one IPAC reference each).
GROUP_COLUMNS = ("fieldid", "ccdid", "qid", "filtername")
#: AB magnitude of 1 uJy (23.9): the common zero point of the fitter table.
AB_ZP_UJY = float(_phot.flux_to_mag(1.0, wavelength=1.0, unit="ujy")[0])
#: The first columns of :func:`transient_table`, in order.
FITTER_COLUMNS = ("time", "band", "flux", "flux_err", "zp", "zpsys", "mag", "mag_err",
                  "limit", "is_detection")


def _check_lc(lc):
    if not isinstance(lc, LightCurves):
        raise InvalidParameterError(f"need a LightCurves; got {type(lc).__name__}")
    if lc.n_apertures != 1:
        raise InvalidParameterError("transient light curves are PSF fits (one flux per "
                                    f"point); this set has {lc.n_apertures} apertures")


def _groups(frames):
    """Integer group label per time (field, ccd, quadrant, filter) and the keys."""
    keys = frames[list(GROUP_COLUMNS)].astype(str).agg("|".join, axis=1)
    codes, uniq = pd.factorize(keys, sort=True)
    return codes, [frames.loc[codes == g, list(GROUP_COLUMNS)].iloc[0] for g in
                   range(len(uniq))]


def _auto_window(flux, err, good, codes, mjd, nsigma, run, margin):
    """Pre-event epochs of one star by the module's rule (a boolean per time)."""
    prov = np.zeros(flux.size)
    for g in np.unique(codes):
        sel = good & (codes == g)
        if sel.any():
            vals = np.sort(flux[sel])
            prov[codes == g] = np.median(vals[:max(1, (vals.size + 1) // 2)])
    with np.errstate(invalid="ignore", divide="ignore"):
        high = good & ((flux - prov) / err >= nsigma)
    order = np.argsort(mjd, kind="stable")
    order = order[good[order]]
    hi = high[order]
    start = None
    for i in range(hi.size - run + 1):
        if hi[i:i + run].all():
            start = mjd[order[i]]
            break
    if start is None:
        return good.copy(), np.nan
    return good & (mjd < start - margin), float(start)


def _window(baseline, mjd, n):
    if isinstance(baseline, str):
        return None
    arr = np.asarray(baseline)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise InvalidParameterError(f"a baseline mask needs one value per time ({n}); "
                                        f"got shape {arr.shape}")
        return arr
    if arr.shape != (2,) or arr.dtype.kind not in "iuf":
        raise InvalidParameterError(f"baseline must be 'auto', (tmin, tmax) in MJD or a "
                                    f"boolean mask over the times; got {baseline!r:.60}")
    lo, hi = (float(v) for v in arr)
    return (mjd >= lo) & (mjd <= hi)


def fit_baseline(lc, baseline="auto", *, nsigma=3.0, run=2, margin=5.0, min_epochs=3,
                 rescale=False):
    """The flux offset of every star in every field/ccd/quadrant/filter group.

    Parameters
    ----------
    lc : LightCurves
        PSF light curves of difference frames (one aperture).
    baseline : 'auto', (float, float) or array_like of bool, default 'auto'
        Pre-event epochs: chosen by the module's rule, an MJD range (inclusive), or a mask
        over :attr:`LightCurves.frames` rows (the same for every star).
    nsigma : float, default 3
        S/N of the epochs that mark the event ('auto').
    run : int, default 2
        Consecutive such epochs needed ('auto').
    margin : float, default 5
        Days before the event's first detection that are not baseline ('auto').
    min_epochs : int, default 3
        Fewest usable pre-event epochs for a group to be corrected.
    rescale : bool, default False
        Scale factor ``sqrt(chi2)`` where the pre-event points' reduced chi2 about the
        offset exceeds 1.

    Returns
    -------
    pandas.DataFrame
        One row per star and group: ``star``, the :data:`GROUP_COLUMNS`, ``n_epochs``
        (pre-event points used), ``offset``, ``offset_err`` (DN, the error after the
        rescaling), ``chi2_red``, ``scale`` (1, or ``sqrt(chi2_red)`` with ``rescale``),
        ``t_event`` (MJD of the first detection run, 'auto'; NaN otherwise or none),
        ``corrected`` (bool).

    Raises
    ------
    InvalidParameterError
        Not a one-aperture LightCurves, a bad window or option.

    Examples
    --------
    >>> fit_baseline(lc, baseline=(59300, 59315))[["qid", "offset", "offset_err"]]  # doctest: +SKIP
    """
    _check_lc(lc)
    nsigma = as_number(nsigma, "nsigma", positive=True)
    margin = as_number(margin, "margin")
    run, min_epochs = int(run), int(min_epochs)
    if run < 1 or min_epochs < 1:
        raise InvalidParameterError("run and min_epochs must be >= 1")
    rescale = as_bool(rescale, "rescale")
    frames = lc.frames
    mjd = frames["mjd"].to_numpy(float)
    window = _window(baseline, mjd, len(frames))
    if window is None and baseline != "auto":
        raise InvalidParameterError(f"baseline must be 'auto', (tmin, tmax) or a mask; got "
                                    f"{baseline!r}")
    codes, keys = _groups(frames)
    rows = []
    for s in range(lc.n_stars):
        flux, err = lc.flux[0, s], lc.flux_err[0, s]
        good = (np.isfinite(flux) & np.isfinite(err) & (err > 0)
                & ((lc.flags[0, s] & int(UNUSABLE)) == 0))
        t_event = np.nan
        if window is None:
            pre, t_event = _auto_window(flux, err, good, codes, mjd, nsigma, run, margin)
        else:
            pre = window & good
        for g, key in enumerate(keys):
            sel = pre & (codes == g)
            n = int(sel.sum())
            row = {"star": s, **{c: key[c] for c in GROUP_COLUMNS}, "n_epochs": n,
                   "offset": 0.0, "offset_err": 0.0, "chi2_red": np.nan, "scale": 1.0,
                   "t_event": t_event, "corrected": n >= min_epochs}
            if n >= min_epochs:
                w = 1.0 / err[sel] ** 2
                off = float(np.sum(w * flux[sel]) / np.sum(w))
                chi2 = float(np.sum(w * (flux[sel] - off) ** 2) / max(n - 1, 1))
                scale = float(np.sqrt(chi2)) if (rescale and chi2 > 1) else 1.0
                row.update(offset=off, offset_err=scale / float(np.sqrt(np.sum(w))),
                           chi2_red=chi2, scale=scale)
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["baseline"] = baseline if isinstance(baseline, str) else "given"
    return out


def baseline_correct(lc, baseline="auto", **kwargs):
    """Light curves with each group's baseline offset removed (see :func:`fit_baseline`).

    Parameters
    ----------
    lc : LightCurves
        PSF light curves of difference frames.
    baseline : 'auto', (float, float) or array_like of bool, default 'auto'
        The pre-event epochs (see :func:`fit_baseline`).
    **kwargs
        ``nsigma``, ``run``, ``margin``, ``min_epochs``, ``rescale`` of
        :func:`fit_baseline`.

    Returns
    -------
    LightCurves
        A new set: ``flux - offset``, ``sqrt((scale * flux_err)**2 + offset_err**2)``;
        ``meta['baseline']`` holds the :func:`fit_baseline` table as records.

    Raises
    ------
    InvalidParameterError
        As :func:`fit_baseline`.

    Examples
    --------
    >>> lcb = baseline_correct(lc, rescale=True)                         # doctest: +SKIP
    >>> lcb.meta["baseline"][0]["offset"]                                 # doctest: +SKIP
    """
    table = fit_baseline(lc, baseline, **kwargs)
    codes, _ = _groups(lc.frames)
    flux, err = np.array(lc.flux), np.array(lc.flux_err)
    ngroups = int(codes.max()) + 1 if codes.size else 0
    for i, row in table.iterrows():
        s, g = int(row["star"]), int(i) % ngroups
        if not row["corrected"]:
            continue
        sel = codes == g
        flux[0, s, sel] -= row["offset"]
        err[0, s, sel] = np.hypot(row["scale"] * err[0, s, sel], row["offset_err"])
    meta = dict(lc.meta)
    records = table.astype({c: str for c in GROUP_COLUMNS}).to_dict("records")
    meta["baseline"] = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                        for r in records]
    return lc._new(flux=flux, flux_err=err, meta=meta)


def transient_table(lc, star=0, *, snr_limit=3.0, limit_sigma=5.0, drop_unusable=True):
    """One target's light curve as light-curve fitters take it (sncosmo's layout).

    Parameters
    ----------
    lc : LightCurves
        PSF light curves of difference frames (baseline-corrected or not).
    star : int or str, default 0
        Position in :attr:`LightCurves.stars`, or its ``name``.
    snr_limit : float, default 3
        S/N from which a point is a detection.
    limit_sigma : float, default 5
        Significance of ``limit``.
    drop_unusable : bool, default True
        Leave out points without a value (off the frame, fit impossible).

    Returns
    -------
    pandas.DataFrame
        :data:`FITTER_COLUMNS`: ``time`` (MJD), ``band`` ('ztfg', 'ztfr', 'ztfi'),
        ``flux``, ``flux_err`` (uJy, from each frame's ``zpdiff``; the zero point's own
        uncertainty is in ``mag_err`` only), ``zp`` (23.9, the AB magnitude of 1 uJy),
        ``zpsys`` ('ab'), ``mag``, ``mag_err`` (AB; NaN unless a detection), ``limit``
        (``zpdiff - 2.5 log10(limit_sigma * fluxunc)``, AB, every row),
        ``is_detection``; then ``flux_dn``, ``flux_dn_err``, ``snr``, ``zpdiff``,
        ``zpdiffunc``, ``flag``, ``fieldid``, ``ccdid``, ``qid``, ``file``.

    Raises
    ------
    InvalidParameterError
        Not a one-aperture LightCurves, unknown star, bad limits.

    Examples
    --------
    >>> tab = transient_table(baseline_correct(lc), 0)                   # doctest: +SKIP
    >>> sncosmo.fit_lc(Table.from_pandas(tab), model, ["t0", "amplitude"])  # doctest: +SKIP
    """
    _check_lc(lc)
    snr_limit = as_number(snr_limit, "snr_limit")
    limit_sigma = as_number(limit_sigma, "limit_sigma", positive=True)
    s = lc.star_index(star)
    frames = lc.frames
    zp = frames["zpdiff"].to_numpy(float) if "zpdiff" in frames else frames[
        "magzp"].to_numpy(float)
    zpunc = (frames["zpdiffunc"] if "zpdiffunc" in frames else frames["magzpunc"]
             ).to_numpy(float)
    zpunc = np.where(np.isfinite(zpunc), zpunc, 0.0)
    counts, cerr = lc.flux[0, s], lc.flux_err[0, s]
    wl = 1.0   # unused for uJy
    flux, ferr = _phot.counts_to_flux(counts, cerr, magzp=zp, wavelength=wl, unit="ujy")
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = counts / cerr
        det = np.isfinite(snr) & (snr >= snr_limit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mag, merr = _phot.flux_to_mag(np.where(det, flux, np.nan), ferr,
                                          wavelength=wl, unit="ujy")
            limit = _phot.flux_to_mag(limit_sigma * ferr, wavelength=wl, unit="ujy")[0]
    merr = np.hypot(merr, zpunc)
    tab = pd.DataFrame({
        "time": frames["mjd"].to_numpy(float), "band": frames["filtername"].to_numpy(str),
        "flux": flux, "flux_err": ferr, "zp": AB_ZP_UJY, "zpsys": "ab",
        "mag": np.where(det, mag, np.nan), "mag_err": np.where(det, merr, np.nan),
        "limit": limit, "is_detection": det, "flux_dn": counts, "flux_dn_err": cerr,
        "snr": snr, "zpdiff": zp, "zpdiffunc": zpunc, "flag": lc.flags[0, s],
        "fieldid": frames["fieldid"], "ccdid": frames["ccdid"], "qid": frames["qid"],
        "file": frames["file"].to_numpy(str)})
    if as_bool(drop_unusable, "drop_unusable"):
        keep = ((tab["flag"].to_numpy() & int(UNUSABLE)) == 0) & np.isfinite(counts)
        tab = tab[keep].reset_index(drop=True)
    tab.attrs.update(star=int(s), snr_limit=snr_limit, limit_sigma=limit_sigma,
                     baseline=bool(lc.meta.get("baseline")))
    return tab


def _arrows(ax, times, tops, step, colour, label):
    """Limits as bars at ``tops`` with arrows ``step`` towards fainter (downward on the
    plot: magnitudes grow down an inverted axis, fluxes shrink down a normal one)."""
    ok = np.isfinite(times) & np.isfinite(tops)
    if not ok.any():
        return
    ax.plot(times[ok], tops[ok], "_", ms=9, mew=1.5, color=colour, alpha=0.7, label=label)
    for t, top in zip(times[ok], tops[ok]):
        ax.annotate("", xy=(t, top + step), xytext=(t, top),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "alpha": 0.7,
                                "lw": 1.2, "shrinkA": 0, "shrinkB": 0})
    ax.update_datalim(np.column_stack([times[ok], tops[ok] + step]))
    ax.autoscale_view()


def plot_transient(lc_or_table, star=0, *, ax=None, kind="mag", title=None, **kwargs):
    """Plot a transient's light curve: detections with errors, limits as downward arrows.

    Parameters
    ----------
    lc_or_table : LightCurves or pandas.DataFrame
        Light curves (``star`` chosen, :func:`transient_table` applied with ``kwargs``),
        or a :func:`transient_table`.
    star : int or str, default 0
    ax : matplotlib.axes.Axes, optional
        Where to draw (default a new figure).
    kind : {'mag', 'flux'}, default 'mag'
        AB magnitudes (inverted axis; non-detections as arrows down from their limit) or
        fluxes in uJy (every point with its error; non-detections open, their
        ``limit_sigma`` flux limit as an arrow down).
    title : str, optional
    **kwargs
        Passed to :func:`transient_table`.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidParameterError
        Unknown ``kind``, or not light curves nor a table.

    Examples
    --------
    >>> ax = plot_transient(baseline_correct(lc), 0)                     # doctest: +SKIP
    >>> ax.figure.savefig("sn.png")                                      # doctest: +SKIP
    """
    if kind not in ("mag", "flux"):
        raise InvalidParameterError(f"kind must be 'mag' or 'flux'; got {kind!r}")
    if isinstance(lc_or_table, LightCurves):
        tab = transient_table(lc_or_table, star, **kwargs)
    elif isinstance(lc_or_table, pd.DataFrame):
        tab = lc_or_table
    else:
        raise InvalidParameterError(f"need LightCurves or a transient_table; got "
                                    f"{type(lc_or_table).__name__}")
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(8, 4))
    colours = {"ztfg": "tab:green", "ztfr": "tab:red", "ztfi": "tab:orange"}
    for band, sub in tab.groupby("band", sort=False):
        c = colours.get(band, "k")
        det, lim = sub[sub["is_detection"]], sub[~sub["is_detection"]]
        sig = float(tab.attrs.get("limit_sigma", 5.0))
        if kind == "mag":
            ax.errorbar(det["time"], det["mag"], det["mag_err"], fmt="o", ms=4, color=c,
                        label=f"{band} detections")
            tops, step = lim["limit"].to_numpy(float), 0.35
        else:
            ax.errorbar(det["time"], det["flux"], det["flux_err"], fmt="o", ms=4, color=c,
                        label=f"{band} detections")
            tops = sig * lim["flux_err"].to_numpy(float)
            step = -0.08 * float(np.nanmax(np.abs(sub["flux"]))) if len(sub) else -1.0
        _arrows(ax, lim["time"].to_numpy(float), tops, step, c,
                f"{band} {sig:g}-sigma limits")
    if kind == "mag":
        if not ax.yaxis_inverted():
            ax.invert_yaxis()
        ax.set_ylabel("AB magnitude")
    else:
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_ylabel("flux (uJy)")
    ax.set_xlabel("MJD")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
