"""Astrometry of a frame against Gaia: residuals, and a repaired WCS when it needs one.

ZTF science frames carry SCAMP's TPV solution, good to ~65 mas (the header's ``ASTRRMS1``,
``ASTRRMS2``). :func:`measure_astrometry` checks it: the frame's isolated, unsaturated,
unmasked stars are re-centred with windowed centroids (SExtractor's ``XWIN``; less biased
than sep's isophotal barycentres), put on the sky with the header WCS and matched one to
one with the reference catalogue (Gaia DR3 propagated to the frame epoch by
:mod:`ztfimg.refcat`), and the residuals are summarised: median offset and clipped rms
per axis in mas, against the header's own figure.

:func:`refine_wcs` repairs a solution that has drifted: it keeps the header's distortion
(the TPV polynomial) and fits the tangent point (``CRVAL``) and the linear part (``CD``)
to the matched stars by least squares with clipping: a shift, rotation, scale and shear
of the header WCS. On request (``distortion=True``) it also tries a fresh TAN-SIP
solution (:func:`astropy.wcs.utils.fit_wcs_from_points`) and keeps it only if it does
better. Every candidate is judged by its cross-validated rms (each star predicted by a
fit that did not see it), so a fit is never preferred for fitting its own noise; the
result's ``status`` says what happened and the header WCS is returned unchanged when no
fit beats it or when too few stars match.

Residuals are ``(ra_frame - ra_ref) cos(dec)`` and ``dec_frame - dec_ref``, in mas.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from . import bitmask as _bitmask
from . import matching as _matching
from .errors import CatalogError, InvalidParameterError
from .sources import windowed_positions
from .validation import as_number

__all__ = ["AstrometryResult", "measure_astrometry", "refine_wcs", "STATUSES"]

_MAS = 3.6e6  # mas per degree
#: Possible values of :attr:`AstrometryResult.status`.
STATUSES = ("measured", "improved", "not-improved", "too-few-matches")


class AstrometryResult:
    """Astrometric residuals of a frame, and the refined WCS when one was fitted.

    Attributes
    ----------
    status : str
        ``'measured'`` (residuals only), ``'improved'`` (a fitted WCS beats the header's
        on cross-validation; :attr:`wcs` is it), ``'not-improved'`` (no fit beats the
        header; :attr:`wcs` is the header's), ``'too-few-matches'`` (fewer matched stars
        than needed; :attr:`wcs` is the header's).
    message : str
        One sentence on the outcome.
    table : pandas.DataFrame
        One row per matched star: ``x``, ``y`` (windowed, 0-based px), ``ra``, ``dec``
        (reference, deg), ``mag`` (reference), ``dra``, ``ddec`` (header-WCS residuals,
        mas), ``used`` (kept by the clipping) and, after a fit, ``dra_fit``, ``ddec_fit``.
    n_matches : int
    offset : (float, float)
        Median residual (ra cos dec, dec) of the header WCS, mas.
    rms : (float, float)
        Clipped rms of the header-WCS residuals about their median, per axis, mas.
    header_rms : (float, float)
        IPAC's ``ASTRRMS1``, ``ASTRRMS2`` in mas (NaN when absent).
    wcs : astropy.wcs.WCS or None
        The WCS to use: the fitted one when ``status == 'improved'``, else the header's;
        None for :func:`measure_astrometry`.
    method : str or None
        ``'linear'`` (CRVAL + CD on the header's distortion) or ``'sip'`` for an improved
        fit; None otherwise.
    rms_fit : (float, float)
        Clipped rms of the residuals of :attr:`wcs` (NaN when not fitted), mas.
    cv_rms : dict
        Cross-validated total rms (mas) of each candidate: ``'header'``, ``'linear'``,
        and ``'sip'`` when tried.
    """

    def __init__(self, status, message, table, header_rms, wcs=None, method=None,
                 cv_rms=None):
        self.status = status
        self.message = message
        self.table = table
        self.n_matches = len(table)
        used = table["used"].to_numpy(bool) if len(table) else np.zeros(0, bool)
        self.offset = _pair(np.median, table, "dra", "ddec", used)
        self.rms = _pair(_rms_about_median, table, "dra", "ddec", used)
        self.rms_fit = (_pair(_rms_about_median, table, "dra_fit", "ddec_fit", used)
                        if "dra_fit" in table else (np.nan, np.nan))
        self.header_rms = header_rms
        self.wcs = wcs
        self.method = method
        self.cv_rms = dict(cv_rms or {})

    def __repr__(self):
        return (f"<AstrometryResult {self.status}: {self.n_matches} stars, offset "
                f"({self.offset[0]:.1f}, {self.offset[1]:.1f}) mas, rms ({self.rms[0]:.1f}, "
                f"{self.rms[1]:.1f}) mas (header {self.header_rms[0]:.0f}, "
                f"{self.header_rms[1]:.0f})>")

    def header_cards(self):
        """The WCS cards of :attr:`wcs` (for a header update), as an astropy Header.

        Returns
        -------
        astropy.io.fits.Header

        Raises
        ------
        InvalidParameterError
            There is no WCS (:func:`measure_astrometry` results).
        """
        if self.wcs is None:
            raise InvalidParameterError("this result holds no WCS (measure_astrometry only "
                                        "measures); call refine_wcs")
        return self.wcs.to_header(relax=True)

    def plot(self, ax=None, *, bins=8, fit=False):
        """Median residual vectors on a grid over the frame (thousands of stars stay readable).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw in (default: a new figure).
        bins : int, default 8
            Cells per side of the grid; each arrow is the median residual of the stars
            in its cell (the number of stars is written beside it).
        fit : bool, default False
            Draw the fitted WCS's residuals instead of the header's.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 6.2))
        t = self.table
        fitted = bool(fit) and "dra_fit" in t
        cols = ("dra_fit", "ddec_fit") if fitted else ("dra", "ddec")
        used = t["used"].to_numpy(bool)
        x, y = t["x"].to_numpy()[used], t["y"].to_numpy()[used]
        u, v = t[cols[0]].to_numpy()[used], t[cols[1]].to_numpy()[used]
        nb = int(as_number(bins, "bins", positive=True))
        xe = np.linspace(min(0.0, x.min(initial=0.0)), max(x.max(initial=1.0), 1.0), nb + 1)
        ye = np.linspace(min(0.0, y.min(initial=0.0)), max(y.max(initial=1.0), 1.0), nb + 1)
        ix = np.clip(np.searchsorted(xe, x, side="right") - 1, 0, nb - 1)
        iy = np.clip(np.searchsorted(ye, y, side="right") - 1, 0, nb - 1)
        cx, cy, mu, mv, cnt = [], [], [], [], []
        for a in range(nb):
            for b in range(nb):
                sel = (ix == a) & (iy == b)
                if sel.sum() >= 3:
                    cx.append(0.5 * (xe[a] + xe[a + 1]))
                    cy.append(0.5 * (ye[b] + ye[b + 1]))
                    mu.append(np.median(u[sel]))
                    mv.append(np.median(v[sel]))
                    cnt.append(int(sel.sum()))
        mu, mv = np.asarray(mu), np.asarray(mv)
        cell = min(xe[1] - xe[0], ye[1] - ye[0])
        biggest = float(np.max(np.hypot(mu, mv))) if len(mu) else 1.0
        key = float(10 ** np.floor(np.log10(max(biggest, 1e-3))))  # a round key length
        per_mas = 0.8 * cell / max(biggest, 1e-9)
        q = ax.quiver(cx, cy, mu * per_mas, mv * per_mas, angles="xy", scale_units="xy",
                      scale=1.0, width=0.006, color="C0")
        ax.quiverkey(q, 0.80, -0.12, key * per_mas, f"{key:g} mas", labelpos="E",
                     coordinates="axes")
        for px, py, n in zip(cx, cy, cnt):
            ax.annotate(str(n), (px, py), xytext=(3, -9), textcoords="offset points",
                        fontsize=6, color="0.4")
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        ax.set_xlabel("x [px]")
        ax.set_ylabel("y [px]")
        ax.set_aspect("equal")
        rms = self.rms_fit if fitted else self.rms
        off = (np.median(u), np.median(v)) if len(u) else (np.nan, np.nan)
        ax.set_title(f"{'fitted' if fitted else 'header'} WCS minus reference, "
                     f"{int(used.sum())} stars\nmedian ({off[0]:.0f}, {off[1]:.0f}) mas, rms "
                     f"({rms[0]:.0f}, {rms[1]:.0f}) mas in (ra cos dec, dec)", fontsize=9,
                     loc="left")
        return ax


def _rms_about_median(v):
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return np.nan
    return float(np.sqrt(np.mean((v - np.median(v)) ** 2)))


def _pair(func, table, a, b, used):
    if not len(table) or not used.any():
        return (np.nan, np.nan)
    return (float(func(table[a].to_numpy()[used])), float(func(table[b].to_numpy()[used])))


def _residuals(wcs, x, y, ra, dec):
    """(ra cos dec, dec) residuals of ``wcs`` at pixels (x, y) against (ra, dec), mas."""
    rw, dw = wcs.all_pix2world(x, y, 0)
    dra = ((rw - ra + 180.0) % 360.0 - 180.0) * np.cos(np.radians(dec)) * _MAS
    return dra, (dw - dec) * _MAS


def _clip(dra, ddec, sigma):
    """Stars within ``sigma`` robust standard deviations of the median residual."""
    keep = np.isfinite(dra) & np.isfinite(ddec)
    for _ in range(5):
        r = np.hypot(dra - np.median(dra[keep]), ddec - np.median(ddec[keep]))
        # for a 2-D Gaussian of sigma s per axis, the median radius is 1.1774 s
        s = np.median(r[keep]) / 1.1774
        new = keep & (r <= sigma * max(s, 1e-3))
        if new.sum() == keep.sum():
            break
        keep = new
    return keep


def _header_rms(image):
    out = []
    for key in ("ASTRRMS1", "ASTRRMS2"):
        try:
            out.append(float(image.header[key]) * _MAS)
        except (KeyError, TypeError, ValueError):
            out.append(np.nan)
    return tuple(out)


def _stars(image, snr_min, fwhm):
    """Windowed positions of the frame's clean, isolated-enough stars: a DataFrame."""
    src = image.sources if image.sources is not None else image._extract_quietly()
    flux, err = src["flux"].to_numpy(float), src["fluxerr"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = flux / err
    good = ((src["sep_flag"].to_numpy() == 0) & (snr >= snr_min)
            & ((src["maskbits"].to_numpy() & int(_bitmask.DETECTION_BITS)) == 0))
    src = src[good]
    if fwhm is None:
        # the stars' own FWHM (Gaussian-equivalent from sep's second moments)
        a, b = src["a"].to_numpy(float), src["b"].to_numpy(float)
        fwhm = float(np.nanmedian(2.3548 * np.sqrt(0.5 * (a * a + b * b)))) if len(src) else 2.0
    fwhm = as_number(fwhm, "fwhm", "px", positive=True)
    data = image._compute()
    xw, yw, _ = windowed_positions(data, src["x"].to_numpy(), src["y"].to_numpy(), fwhm,
                                   mask=image._mask_owner(_bitmask.DETECTION_BITS))
    ok = np.isfinite(xw) & np.isfinite(yw)
    return pd.DataFrame({"x": xw[ok], "y": yw[ok], "snr": snr[good][ok]})


def _reference(image, catalog, magrange, offline, cache_dir):
    from . import catalog as _cat
    if isinstance(catalog, str):
        label = _cat.LABEL_ALIASES.get(catalog, catalog)
        if label not in image.catalogs:
            image.get_catalog(label, offline=offline, cache_dir=cache_dir)
        cat = image.catalogs.get(label)
    else:
        from .workflows import project_catalog
        cat = project_catalog(image, catalog, label="reference", kind="gaia")
    if "mag" in cat and magrange is not None:
        cat = cat[cat["mag"].between(*magrange).to_numpy()]
    if "isolated" in cat:
        cat = cat[cat["isolated"].to_numpy(bool)]
    return cat


def _match(image, stars, cat, radius, search_radius):
    """One-to-one pairs (star rows, catalogue rows) after removing the bulk offset."""
    ra, dec = image.pixels_to_coords(stars["x"].to_numpy(), stars["y"].to_numpy())
    cra, cdec = cat["ra"].to_numpy(float), cat["dec"].to_numpy(float)
    i, j, _ = _matching.match(ra, dec, cra, cdec, search_radius)
    if len(i) >= 3:  # the bulk shift (a drifted CRVAL) from a wide match, then a tight one
        dra = ((ra[i] - cra[j] + 180.0) % 360.0 - 180.0) * np.cos(np.radians(cdec[j]))
        ra = ra - np.median(dra) / np.cos(np.radians(dec))
        dec = dec - np.median(dec[i] - cdec[j])
    return _matching.match(ra, dec, cra, cdec, radius)[:2]


def _table(image, catalog, radius, search_radius, magrange, snr_min, fwhm, offline,
           cache_dir):
    radius = as_number(radius, "radius", "arcsec", positive=True)
    search_radius = max(as_number(search_radius, "search_radius", "arcsec", positive=True),
                        radius)
    stars = _stars(image, snr_min, fwhm)
    cat = _reference(image, catalog, magrange, offline, cache_dir)
    if not {"ra", "dec"} <= set(cat.columns):
        raise CatalogError("the reference catalogue needs ra and dec columns (degrees)")
    i, j = _match(image, stars, cat, radius, search_radius)
    t = pd.DataFrame({"x": stars["x"].to_numpy()[i], "y": stars["y"].to_numpy()[i],
                      "ra": cat["ra"].to_numpy(float)[j], "dec": cat["dec"].to_numpy(float)[j],
                      "mag": (cat["mag"].to_numpy(float)[j] if "mag" in cat
                              else np.full(len(j), np.nan))})
    if len(t):
        t["dra"], t["ddec"] = _residuals(image._wcs(), t["x"].to_numpy(), t["y"].to_numpy(),
                                         t["ra"].to_numpy(), t["dec"].to_numpy())
    else:
        t["dra"], t["ddec"] = np.zeros(0), np.zeros(0)
    return t


def measure_astrometry(image, catalog="gaia", *, radius=1.5, search_radius=5.0,
                       magrange=(12.0, 19.0), snr_min=20.0, fwhm=None, sigma_clip=4.0,
                       offline=None, cache_dir=None):
    """Residuals of a frame's header WCS against a reference catalogue.

    Parameters
    ----------
    image : ztfimg.image.ZTFImage
        The frame (its own sources are used when it holds some, else they are extracted
        without being stored).
    catalog : str or pandas.DataFrame, default 'gaia'
        A catalogue name or label of ``image.catalogs`` (fetched into it when absent, as
        :meth:`~ztfimg.image.ZTFImage.get_catalog` does), or a table with ``ra``, ``dec``
        (deg) and optionally ``Gmag``.
    radius : float, default 1.5
        Final matching radius, arcsec (after the bulk offset found within
        ``search_radius`` is removed).
    search_radius : float, default 5
        Radius of the first, wide match that finds the bulk offset, arcsec.
    magrange : (float, float), default (12, 19)
        Reference magnitudes kept (G for Gaia): saturated and faint stars left out.
    snr_min : float, default 20
        Minimum S/N of the frame's stars.
    fwhm : float, optional
        FWHM (px) of the centroiding window; default measured from the stars.
    sigma_clip : float, default 4
        Clipping of outlying residuals (robust standard deviations, 2-D).
    offline, cache_dir :
        For fetching the catalogue.

    Returns
    -------
    AstrometryResult
        ``status='measured'`` (or ``'too-few-matches'`` below 3 stars).

    Raises
    ------
    CatalogError, OfflineError
        No catalogue (offline with an empty cache ...).
    HeaderKeywordError
        The frame has no WCS.
    """
    t = _table(image, catalog, radius, search_radius, magrange, snr_min, fwhm, offline,
               cache_dir)
    hr = _header_rms(image)
    if len(t) < 3:
        t["used"] = np.ones(len(t), bool)
        return AstrometryResult("too-few-matches", f"only {len(t)} stars matched within "
                                f"{radius:g} arcsec", t, hr)
    t["used"] = _clip(t["dra"].to_numpy(), t["ddec"].to_numpy(), sigma_clip)
    res = AstrometryResult("measured", "", t, hr)
    res.message = (f"{int(t['used'].sum())} stars: header WCS offset ({res.offset[0]:.1f}, "
                   f"{res.offset[1]:.1f}) mas, rms ({res.rms[0]:.1f}, {res.rms[1]:.1f}) mas")
    return res


# ---------------------------------------------------------------------------- fitting
def _linear_fit(wcs0, x, y, ra, dec):
    """The header WCS with CRVAL and CD fitted (distortion kept): a new WCS."""
    from scipy.optimize import least_squares
    cd0 = np.array(wcs0.wcs.cd if wcs0.wcs.has_cd() else wcs0.wcs.get_pc() *
                   wcs0.wcs.cdelt[:, None], dtype=float)
    crval0 = np.array(wcs0.wcs.crval, dtype=float)
    w = wcs0.deepcopy()
    if not w.wcs.has_cd():
        w.wcs.cd = cd0
    cosd = np.cos(np.radians(crval0[1]))

    def model(p):
        w.wcs.crval = crval0 + np.array([p[0] / cosd, p[1]]) / 3600.0
        w.wcs.cd = cd0 @ (np.eye(2) + p[2:].reshape(2, 2))
        w.wcs.set()
        return w

    def resid(p):
        dra, ddec = _residuals(model(p), x, y, ra, dec)
        return np.concatenate([dra, ddec]) / 1e3  # arcsec

    sol = least_squares(resid, np.zeros(6), x_scale=np.array([1, 1, 1e-4, 1e-4, 1e-4, 1e-4]),
                        method="lm")
    return model(sol.x).deepcopy()


def _sip_fit(wcs0, x, y, ra, dec, degree):
    from astropy.coordinates import SkyCoord
    from astropy.wcs.utils import fit_wcs_from_points
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_wcs_from_points((np.asarray(x), np.asarray(y)),
                                   SkyCoord(ra, dec, unit="deg"), proj_point="center",
                                   projection="TAN", sip_degree=degree)


def _cv_rms(fit, x, y, ra, dec, folds=5):
    """Cross-validated total rms (mas): each star predicted by a fit without it."""
    n = len(x)
    order = np.random.default_rng(0).permutation(n)
    dra, ddec = np.empty(n), np.empty(n)
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        w = fit(x[train], y[train], ra[train], dec[train])
        dra[test], ddec[test] = _residuals(w, x[test], y[test], ra[test], dec[test])
    return float(np.sqrt(_rms_about_median(dra) ** 2 + _rms_about_median(ddec) ** 2
                         + np.median(dra) ** 2 + np.median(ddec) ** 2))


def refine_wcs(image, catalog="gaia", *, distortion=False, sip_degree=3, min_matches=20,
               improvement=0.02, max_fit_stars=2000, **kwargs):
    """Check a frame's WCS against a reference catalogue and fit a better one if it can.

    Parameters
    ----------
    image : ztfimg.image.ZTFImage
    catalog : str or pandas.DataFrame, default 'gaia'
        As in :func:`measure_astrometry`.
    distortion : bool, default False
        Also try a fresh TAN-SIP solution of degree ``sip_degree`` (for a frame whose
        distortion terms are missing or wrong).
    sip_degree : int, default 3
    min_matches : int, default 20
        Fewer matched stars give ``status='too-few-matches'`` and the header WCS.
    improvement : float, default 0.02
        Relative cross-validated gain a fit needs over the header WCS to be used.
    max_fit_stars : int, default 2000
        Fits (and their cross-validation) use at most this many of the matched stars (a
        fixed random subset); the residuals are reported for all of them.
    **kwargs
        ``radius``, ``search_radius``, ``magrange``, ``snr_min``, ``fwhm``, ``sigma_clip``,
        ``offline``, ``cache_dir`` of :func:`measure_astrometry`.

    Returns
    -------
    AstrometryResult
        With :attr:`~AstrometryResult.wcs` (the fitted WCS or the header's),
        ``dra_fit``/``ddec_fit`` columns, ``rms_fit`` and ``cv_rms``. The frame is not
        changed: build a corrected frame from ``result.header_cards()`` if wanted.
    """
    min_matches = int(as_number(min_matches, "min_matches", positive=True))
    max_fit_stars = int(as_number(max_fit_stars, "max_fit_stars", positive=True))
    res = measure_astrometry(image, catalog, **kwargs)
    t = res.table
    wcs0 = image._wcs().deepcopy()
    if res.status == "too-few-matches" or int(t["used"].sum()) < max(min_matches, 6):
        res.status = "too-few-matches"
        res.message = (f"{int(t['used'].sum()) if len(t) else 0} usable matched stars, "
                       f"{min_matches} needed: the header WCS is kept")
        res.wcs = wcs0
        return res
    used = t["used"].to_numpy(bool)
    pick = np.flatnonzero(used)
    if pick.size > max_fit_stars:  # a fixed random subset: the fits cost ~N
        pick = np.sort(np.random.default_rng(1).choice(pick, max_fit_stars, replace=False))
    x, y = t["x"].to_numpy()[pick], t["y"].to_numpy()[pick]
    ra, dec = t["ra"].to_numpy()[pick], t["dec"].to_numpy()[pick]
    dra0, ddec0 = t["dra"].to_numpy()[pick], t["ddec"].to_numpy()[pick]
    cv = {"header": float(np.sqrt(np.mean(dra0 ** 2 + ddec0 ** 2)))}
    fits = {"linear": lambda a, b, c, d: _linear_fit(wcs0, a, b, c, d)}
    if distortion:
        fits["sip"] = lambda a, b, c, d: _sip_fit(wcs0, a, b, c, d, int(sip_degree))
    for name, fit in fits.items():
        cv[name] = _cv_rms(fit, x, y, ra, dec)
    best = min(fits, key=lambda k: cv[k])
    if cv[best] < (1.0 - float(improvement)) * cv["header"]:
        wcs = fits[best](x, y, ra, dec)
        res.status, res.method = "improved", best
    else:
        wcs, res.status = wcs0, "not-improved"
    res.wcs = wcs
    res.cv_rms = cv
    t["dra_fit"], t["ddec_fit"] = _residuals(wcs, t["x"].to_numpy(), t["y"].to_numpy(),
                                             t["ra"].to_numpy(), t["dec"].to_numpy())
    res.rms_fit = _pair(_rms_about_median, t, "dra_fit", "ddec_fit", used)
    res.message = (f"{res.status}: cross-validated rms header {cv['header']:.1f} mas, "
                   + ", ".join(f"{k} {v:.1f} mas" for k, v in cv.items() if k != "header"))
    return res
