"""Differential photometry against an artificial comparison star (Broeg et al. 2005).

:func:`broeg2005` divides the target's fluxes by an *artificial comparison star*, the
weighted mean of the normalised fluxes of comparison stars (Broeg, Rauer & Voss 2005,
AN 326, 134), on the frames of one filter.  Per aperture:

1. Candidates: every star but the target and ``exclude`` with a usable point (finite,
   positive error, no UNUSABLE/SUSPECT flag) on at least ``min_coverage`` of the frames
   and a positive median flux, the ``n_comparisons`` of highest median S/N (or the
   ``comparisons`` given). Each is normalised by its median flux: ``f_i(t)``, ``s_i(t)``.
2. Weights start at ``1 / mean_t(s_i^2)`` (the photometric errors) and are iterated: each
   candidate's light curve against the artificial star *of the others* (the star itself
   left out, so no star compares with itself) gives its scatter ``r_i`` (standard deviation
   about the median), and ``w_i = 1 / r_i^2``, until the normalised weights change by less
   than ``tol``.  A candidate whose scatter exceeds ``max_excess`` times the scatter its
   errors predict (``sqrt(mean(s_i^2 + s_A,-i^2))``; times the candidates' median ratio
   when that is above 1, so that a systematic error common to all stars does not drop them
   all) is dropped (weight 0), the worst one first, and the weights iterated again: a
   variable comparison star does not survive.
3. Artificial star ``A(t) = sum(w_i f_i) / sum(w_i)`` over the comparisons measured at
   ``t``, with the error of a weighted mean ``s_A(t) = sqrt(sum(w_i^2 s_i^2)) / sum(w_i)``
   (not divided by ``sum(w_i^2)``, which inflates it).
4. Target: ``D(t) = (F_T / A) / median(F_T / A)``, error
   ``D * sqrt((s_T / F_T)^2 + (s_A / A)^2)``.

The aperture (when not given) is the one whose target light curve scatters least.
Everything is kept and can be overridden: ``comparisons``, fixed ``weights``, ``aperture``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError
from ..validation import as_number
from .core import LightCurves
from .pointflags import SUSPECT, UNUSABLE

__all__ = ["broeg2005", "DifferentialPhotometry", "weighted_mean"]

_TINY = 1e-12


def weighted_mean(values, errors, weights, axis=0):
    """Weighted mean of values with independent errors, and its error.

    Parameters
    ----------
    values, errors : array_like
        Values and their 1-sigma errors (NaN values are left out).
    weights : array_like
        Weights, broadcast against ``values`` (not necessarily normalised).
    axis : int, default 0
        Axis of the mean.

    Returns
    -------
    mean, error : numpy.ndarray
        ``sum(w x) / sum(w)`` and ``sqrt(sum(w^2 s^2)) / sum(w)`` over the finite values;
        NaN where none is.

    Examples
    --------
    >>> m, e = weighted_mean([1.0, 3.0], [0.1, 0.1], [1.0, 1.0])
    >>> float(m), round(float(e), 4)
    (2.0, 0.0707)
    """
    v = np.asarray(values, dtype=float)
    s = np.asarray(errors, dtype=float)
    w = np.broadcast_to(np.asarray(weights, dtype=float), v.shape)
    use = np.isfinite(v) & np.isfinite(s) & (w > 0)
    w = np.where(use, w, 0.0)
    sw = w.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * np.where(use, v, 0.0)).sum(axis=axis) / sw
        err = np.sqrt((w ** 2 * np.where(use, s, 0.0) ** 2).sum(axis=axis)) / sw
    bad = sw <= 0
    return np.where(bad, np.nan, mean), np.where(bad, np.nan, err)


def _nanstd(a, axis=-1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(a, axis=axis, ddof=1)


def _nanmedian(a, axis=-1, keepdims=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=axis, keepdims=keepdims)


def _normalised(lc, a, stars, bad):
    """Median-normalised fluxes and errors of ``stars`` (NaN where unusable)."""
    f = lc._flux[a][stars]
    e = lc._flux_err[a][stars]
    use = np.isfinite(f) & np.isfinite(e) & (e > 0) & ((lc._flags[a][stars] & bad) == 0)
    f = np.where(use, f, np.nan)
    e = np.where(use, e, np.nan)
    norm = _nanmedian(f, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return f / norm, e / norm


def _leave_one_out(fn, en, w):
    """Scatter of each row against the others' artificial star, and what errors predict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # rows or times without data
        return _leave_one_out_quiet(fn, en, w)


def _leave_one_out_quiet(fn, en, w):
    use = np.isfinite(fn)
    wu = np.where(use, w[:, None], 0.0)
    sw = wu.sum(axis=0)
    swf = (wu * np.where(use, fn, 0.0)).sum(axis=0)
    sw2e2 = (wu ** 2 * np.where(use, en, 0.0) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = sw[None, :] - wu
        art = (swf[None, :] - wu * np.where(use, fn, 0.0)) / den
        art_err = np.sqrt(np.clip(sw2e2[None, :] - wu ** 2 * np.where(use, en, 0.0) ** 2,
                                  0.0, None)) / den
        art = np.where(den > 0, art, np.nan)
        ratio = fn / art
        ratio = ratio / _nanmedian(ratio, axis=1, keepdims=True)
        scatter = _nanstd(ratio, axis=1)
        expected = np.sqrt(np.nanmean(en ** 2 + np.where(den > 0, art_err, np.nan) ** 2,
                                      axis=1)) if fn.shape[1] else np.full(len(fn), np.nan)
    return scatter, expected, ratio


def _iterate(fn, en, max_iter, tol, max_excess):
    """Broeg's iterated weights with drops of excess-scatter stars; (weights, n_iter)."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        w = 1.0 / np.nanmean(en ** 2, axis=1)
    w = np.where(np.isfinite(w), w, 0.0)
    active = w > 0
    total_iter = 0
    while True:
        if active.sum() <= 1:
            return np.where(active, 1.0, 0.0), total_iter
        for _ in range(max_iter):
            total_iter += 1
            scatter, _, _ = _leave_one_out(fn, en, np.where(active, w, 0.0))
            new = np.where(active & np.isfinite(scatter),
                           1.0 / np.maximum(scatter, _TINY) ** 2, 0.0)
            old_n = np.where(active, w, 0.0) / max(np.where(active, w, 0.0).sum(), _TINY)
            new_n = new / max(new.sum(), _TINY)
            w = new
            active &= w > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                change = np.abs(new_n - old_n)[active] / old_n[active]
            if change.size == 0 or np.nanmax(change) < tol:
                break
        if max_excess is None or active.sum() <= 2:
            return np.where(active, w, 0.0), total_iter
        scatter, expected, _ = _leave_one_out(fn, en, np.where(active, w, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = np.where(active & np.isfinite(scatter / expected), scatter / expected,
                              -np.inf)
        worst = int(np.argmax(excess))
        # relative to the comparisons' typical excess when that is above 1 (errors that
        # leave out a common systematic must not drop every star)
        typical = np.median(excess[np.isfinite(excess)]) if np.isfinite(excess).any() else 1.0
        if not excess[worst] > max_excess * max(1.0, typical):
            return np.where(active, w, 0.0), total_iter
        active[worst] = False


class _Solution:
    """The differential photometry of one aperture (internal)."""

    def __init__(self, lc, a, target, candidates, weights, n_iter, bad, normalise=True):
        self.aperture = a
        self.candidates = np.asarray(candidates, dtype=np.int64)
        w = np.array(weights, dtype=float)
        self.weights = w / w.sum() if (normalise and w.sum() > 0) else w
        self.n_iter = int(n_iter)
        fn, en = _normalised(lc, a, self.candidates, bad)
        self.artificial, self.artificial_err = weighted_mean(fn, en, self.weights[:, None])
        self.scatter_c, self.expected_c, self.ratio_c = _leave_one_out(fn, en, self.weights)
        ft = lc._flux[a][target]
        et = lc._flux_err[a][target]
        tuse = np.isfinite(ft) & np.isfinite(et) & ((lc._flags[a][target] & UNUSABLE) == 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(tuse, ft, np.nan) / self.artificial
            norm = _nanmedian(d)
            self.flux = d / norm
            self.flux_err = np.abs(self.flux) * np.sqrt((et / ft) ** 2 + (
                self.artificial_err / self.artificial) ** 2)
        self.flux_err = np.where(np.isfinite(self.flux), self.flux_err, np.nan)
        clean = np.where((lc._flags[a][target] & int(SUSPECT)) == 0, self.flux, np.nan)
        self.scatter = float(_nanstd(clean)) if np.isfinite(clean).sum() > 1 else np.nan

    def all_lightcurves(self, lc, bad):
        """Every star divided by the artificial star (comparisons: by the others')."""
        a = self.aperture
        f = lc._flux[a]
        e = lc._flux_err[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = f / self.artificial[None, :]
            d = d / _nanmedian(d, axis=1, keepdims=True)
            rel = np.sqrt((e / f) ** 2 + (self.artificial_err / self.artificial)[None, :] ** 2)
            derr = np.abs(d) * rel
        used = self.weights > 0
        if used.sum() > 1:
            fn, en = _normalised(lc, a, self.candidates, bad)
            _, _, ratio = _leave_one_out(fn, en, self.weights)
            d[self.candidates[used]] = ratio[used]
            with np.errstate(invalid="ignore", divide="ignore"):
                derr[self.candidates[used]] = np.abs(ratio[used]) * en[used]
        return d, derr


def _candidates(lc, a, target, exclude, bad, min_coverage, n_comparisons):
    keep = np.ones(lc.n_stars, dtype=bool)
    keep[target] = False
    keep[list(exclude)] = False
    f = lc._flux[a]
    e = lc._flux_err[a]
    use = np.isfinite(f) & np.isfinite(e) & (e > 0) & ((lc._flags[a] & bad) == 0)
    coverage = use.mean(axis=1) if lc.n_times else np.zeros(lc.n_stars)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = _nanmedian(np.where(use, f / e, np.nan), axis=1)
        med = _nanmedian(np.where(use, f, np.nan), axis=1)
    keep &= (coverage >= min_coverage) & (med > 0) & np.isfinite(snr)
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(-snr[idx], kind="stable")]
    return np.sort(idx if n_comparisons is None else idx[:n_comparisons])


def _star_list(lc, values, name):
    if values is None:
        return []
    if isinstance(values, (str, int, np.integer)):
        values = [values]
    return [lc.star_index(v) for v in values]


def broeg2005(lc, target=0, comparisons=None, exclude=None, aperture=None, *, weights=None,
              n_comparisons=None, min_coverage=0.8, max_excess=3.0, max_iter=50, tol=1e-6):
    """Differential photometry of ``target`` against Broeg's artificial comparison star.

    Parameters
    ----------
    lc : LightCurves
        Frames of one filter (select one first: ``lc.select(filtername='zr')``).
    target : int or str, default 0
        The target star (position or name).
    comparisons : sequence of int or str, optional
        Comparison candidates; default chosen automatically (see the module doc). The
        target is never one of them.
    exclude : sequence of int or str, optional
        Stars never used as comparisons (other variables, blends ...).
    aperture : int, optional
        Aperture index; default the one minimising the target's scatter.
    weights : dict or array_like, optional
        Fixed weights (no iteration, no drop): ``{star: weight}``, or one per
        ``comparisons``.
    n_comparisons : int, optional
        Keep at most this many automatic candidates, those of highest median S/N
        (default all).
    min_coverage : float, default 0.8
        Fraction of frames on which an automatic candidate must have a usable point.
    max_excess : float or None, default 3
        Drop comparisons whose scatter exceeds this many times what their errors predict
        (times the candidates' median ratio when above 1; None: never drop).
    max_iter : int, default 50
        Weight iterations (per drop round).
    tol : float, default 1e-6
        Convergence: largest relative change of the normalised weights.

    Returns
    -------
    DifferentialPhotometry

    Raises
    ------
    InvalidParameterError
        Several filters, the target among the comparisons, no usable comparison star,
        bad weights or options.

    Examples
    --------
    >>> diff = broeg2005(lc, target=0)                                # doctest: +SKIP
    >>> diff.comparison_stars, diff.weights.round(3), diff.aperture     # doctest: +SKIP
    >>> diff.get_lightcurve()[["mjd", "flux", "flux_err"]]              # doctest: +SKIP
    """
    if not isinstance(lc, LightCurves):
        raise InvalidParameterError(f"broeg2005 needs a LightCurves; got {type(lc).__name__}")
    filters = [f for f in lc.filters]
    if len(filters) > 1:
        raise InvalidParameterError(f"differential photometry needs the frames of one filter; "
                                    f"these have {filters}: use lc.select(filtername=...)")
    t = lc.star_index(target)
    excl = set(_star_list(lc, exclude, "exclude"))
    comps = _star_list(lc, comparisons, "comparisons")
    fixed = None
    if weights is not None:
        if isinstance(weights, dict):
            given = {lc.star_index(k): v for k, v in weights.items()}
            if comparisons is None:
                comps = list(given)
            try:
                fixed = np.array([float(given.get(c, np.nan)) for c in comps])
            except (TypeError, ValueError):
                fixed = np.array([np.nan])
        else:
            try:
                fixed = np.asarray(weights, dtype=float)
            except (TypeError, ValueError):
                fixed = np.array([np.nan])
        if t in comps:
            raise InvalidParameterError(f"the target (star {t}) cannot be its own comparison "
                                        "star")
        if not comps or fixed.shape != (len(comps),) or not np.all(np.isfinite(fixed)) \
                or np.any(fixed < 0) or fixed.sum() <= 0:
            raise InvalidParameterError("weights must give one finite weight >= 0 per "
                                        "comparison star (some > 0): a dict {star: weight}, or "
                                        "an array aligned with comparisons")
    if t in comps:
        raise InvalidParameterError(f"the target (star {t}) cannot be its own comparison star")
    if excl & set(comps):
        raise InvalidParameterError(f"stars {sorted(excl & set(comps))} are both excluded and "
                                    "comparisons")
    if len(set(comps)) != len(comps):
        raise InvalidParameterError("comparisons must not repeat a star")
    if n_comparisons is not None:
        if isinstance(n_comparisons, (bool, np.bool_)) or not isinstance(
                n_comparisons, (int, np.integer)) or n_comparisons < 1:
            raise InvalidParameterError(f"n_comparisons must be a positive integer; got "
                                        f"{n_comparisons!r}")
        n_comparisons = int(n_comparisons)
    min_coverage = as_number(min_coverage, "min_coverage")
    if max_excess is not None:
        max_excess = as_number(max_excess, "max_excess", positive=True)
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, (int, np.integer)) \
            or max_iter < 1:
        raise InvalidParameterError(f"max_iter must be a positive integer; got {max_iter!r}")
    tol = as_number(tol, "tol", positive=True)
    bad = int(UNUSABLE | SUSPECT)
    apertures = range(lc.n_apertures) if aperture is None else [lc.aperture_index(aperture)]
    solutions = {}
    for a in apertures:
        cands = (np.array(comps, dtype=np.int64) if comps else
                 _candidates(lc, a, t, excl, bad, min_coverage, n_comparisons))
        if cands.size == 0:
            continue
        if fixed is not None:
            w, n_iter = fixed, 0
        else:
            fn, en = _normalised(lc, a, cands, bad)
            w, n_iter = _iterate(fn, en, int(max_iter), tol, max_excess)
        if np.sum(w) <= 0:
            continue
        solutions[a] = _Solution(lc, a, t, cands, w, n_iter, bad)
    if not solutions:
        raise InvalidParameterError(
            f"no usable comparison star for star {t}: none has a usable point on "
            f"{min_coverage:.0%} of the frames (lower min_coverage, or give comparisons=)")
    if aperture is None:
        scat = {a: s.scatter for a, s in solutions.items()}
        finite = {a: v for a, v in scat.items() if np.isfinite(v)}
        chosen = min(finite, key=finite.get) if finite else min(solutions)
    else:
        chosen = apertures[0]
    params = {"min_coverage": min_coverage, "max_excess": max_excess, "max_iter": int(max_iter),
              "tol": tol, "n_comparisons": n_comparisons, "fixed_weights": fixed is not None,
              "exclude": sorted(excl)}
    return DifferentialPhotometry(lc, t, solutions, chosen, params)


class DifferentialPhotometry:
    """The result of :func:`broeg2005`: a target's differential light curve, inspectable.

    Made by :func:`broeg2005` (or :meth:`LightCurves.broeg2005
    <ztfimg.lightcurves.LightCurves.broeg2005>`) and :meth:`load`, not by hand.

    Attributes
    ----------
    lc : LightCurves
        The light curves it was computed from.
    target : int
        The target's position in ``lc.stars``.
    aperture : int
        The aperture index used (chosen or given).
    radius : float
        Its radius, pixels (NaN for PSF photometry).
    comparison_stars : numpy.ndarray of int
        The comparison stars used (weight > 0), by decreasing weight.
    weights : pandas.Series
        Normalised weights (sum 1) of every candidate, indexed by star; 0 for the dropped.
    artificial, artificial_err : numpy.ndarray
        The artificial comparison light curve (normalised) and its error, one per time.
    scatter : pandas.Series
        The target's scatter per aperture index (the criterion of the aperture choice).
    comparisons : pandas.DataFrame
        Per candidate: ``star``, ``weight``, ``scatter`` (against the others), ``expected``
        (from the errors), ``excess`` (their ratio), ``used``.
    params : dict
        The options of the run.

    Examples
    --------
    >>> diff = lc.broeg2005(target=0)                                  # doctest: +SKIP
    >>> diff                    # doctest: +SKIP
    <DifferentialPhotometry star 0, aperture 1 (r = 3 px), 15 comparisons, scatter 0.0042>
    >>> diff.plot(); diff.plot_comparisons(); diff.plot_systematics()   # doctest: +SKIP
    """

    def __init__(self, lc, target, solutions, aperture, params):
        self.lc = lc
        self.target = int(target)
        self._solutions = dict(solutions)
        self.aperture = int(aperture)
        self.params = dict(params)

    @property
    def _sol(self):
        return self._solutions[self.aperture]

    @property
    def radius(self):
        """float: radius of the aperture used, pixels."""
        return float(self.lc._apertures[self.aperture])

    @property
    def weights(self):
        """pandas.Series: normalised weight of each candidate comparison (index: star)."""
        s = self._sol
        return pd.Series(s.weights.copy(), index=pd.Index(s.candidates, name="star"),
                         name="weight")

    @property
    def comparison_stars(self):
        """numpy.ndarray of int: comparison stars with a weight > 0, heaviest first."""
        s = self._sol
        used = s.weights > 0
        order = np.argsort(-s.weights[used], kind="stable")
        return s.candidates[used][order].copy()

    @property
    def artificial(self):
        """numpy.ndarray: the artificial comparison light curve, one value per time."""
        return self._sol.artificial.copy()

    @property
    def artificial_err(self):
        """numpy.ndarray: its error ``sqrt(sum(w^2 s^2)) / sum(w)``, one per time."""
        return self._sol.artificial_err.copy()

    @property
    def scatter(self):
        """pandas.Series: the target's scatter (std of its differential flux) per aperture."""
        return pd.Series({a: s.scatter for a, s in sorted(self._solutions.items())},
                         name="scatter", dtype=float)

    @property
    def comparisons(self):
        """pandas.DataFrame: weight, scatter, expected scatter and excess of every candidate."""
        s = self._sol
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = s.scatter_c / s.expected_c
        return pd.DataFrame({"star": s.candidates, "weight": s.weights, "scatter": s.scatter_c,
                             "expected": s.expected_c, "excess": excess,
                             "used": s.weights > 0})

    def __repr__(self):
        radius = "PSF" if self.lc.method == "psf" else f"r = {self.radius:g} px"
        return (f"<DifferentialPhotometry star {self.target}, aperture {self.aperture} "
                f"({radius}), {len(self.comparison_stars)} comparisons, scatter "
                f"{self._sol.scatter:.4g}>")

    def get_lightcurve(self, *, bjd=False):
        """The target's normalised differential light curve, one row per time.

        Parameters
        ----------
        bjd : bool, default False
            Add ``bjd_tdb`` (barycentric JD, TDB, from Palomar; no network).

        Returns
        -------
        pandas.DataFrame
            ``mjd``, ``flux`` (target / artificial star, median 1), ``flux_err``, ``flag``
            (the target's :class:`LightCurveFlag` bits), ``artificial``,
            ``artificial_err``, ``filtername``, ``file`` (and ``bjd_tdb``).

        Examples
        --------
        >>> diff.get_lightcurve()[["mjd", "flux", "flux_err"]]          # doctest: +SKIP
        """
        s = self._sol
        frames = self.lc._frames
        out = pd.DataFrame({"mjd": frames["mjd"].to_numpy(float), "flux": s.flux.copy(),
                            "flux_err": s.flux_err.copy(),
                            "flag": self.lc._flags[self.aperture][self.target].copy(),
                            "artificial": s.artificial.copy(),
                            "artificial_err": s.artificial_err.copy(),
                            "filtername": frames["filtername"].to_numpy(dtype=object),
                            "file": frames["file"].to_numpy(dtype=object)})
        if bjd:
            from .time import bjd_tdb
            row = self.lc._stars.iloc[self.target]
            out["bjd_tdb"] = bjd_tdb(frames["obsjd"].to_numpy(float), float(row["ra"]),
                                     float(row["dec"]))
        return out

    def lightcurves(self):
        """Every star's light curve against the artificial star, for all apertures solved.

        Comparison stars are divided by the artificial star made of the *other*
        comparisons. Apertures without a solution are NaN.

        Returns
        -------
        flux, flux_err : numpy.ndarray
            ``(n_apertures, n_stars, n_times)``, each star normalised to median 1.

        Examples
        --------
        >>> flux, err = diff.lightcurves()                              # doctest: +SKIP
        >>> flux[diff.aperture, diff.target]   # the target's light curve  # doctest: +SKIP
        """
        shape = self.lc.shape
        flux, err = np.full(shape, np.nan), np.full(shape, np.nan)
        bad = int(UNUSABLE | SUSPECT)
        for a, s in self._solutions.items():
            flux[a], err[a] = s.all_lightcurves(self.lc, bad)
        return flux, err

    def weights_array(self):
        """Weights of every star for every aperture, ``(n_apertures, n_stars)``.

        Returns
        -------
        numpy.ndarray
            The normalised weight of each candidate (0 when dropped), NaN for stars that
            were not candidates and for apertures not solved.

        Examples
        --------
        >>> diff.weights_array()[diff.aperture]                         # doctest: +SKIP
        """
        out = np.full((self.lc.n_apertures, self.lc.n_stars), np.nan)
        for a, s in self._solutions.items():
            out[a, s.candidates] = s.weights
        return out

    def plot(self, ax=None, **kwargs):
        """Plot the differential light curve; returns the Axes.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        **kwargs
            Passed to ``Axes.errorbar``.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> ax = diff.plot()                                             # doctest: +SKIP
        """
        from .plotting import plot_differential
        return plot_differential(self, ax=ax, **kwargs)

    def plot_comparisons(self, n_max=16):
        """Each comparison star against the others' artificial star; returns the Axes.

        Parameters
        ----------
        n_max : int, default 16
            At most this many panels (heaviest comparisons first).

        Returns
        -------
        numpy.ndarray of matplotlib.axes.Axes

        Examples
        --------
        >>> axes = diff.plot_comparisons(n_max=8)                        # doctest: +SKIP
        """
        from .plotting import plot_comparisons
        return plot_comparisons(self, n_max=n_max)

    def plot_systematics(self):
        """Airmass, seeing, sky and star shifts against time, beside the light curve.

        Returns
        -------
        numpy.ndarray of matplotlib.axes.Axes

        Examples
        --------
        >>> axes = diff.plot_systematics()                               # doctest: +SKIP
        """
        from .plotting import plot_systematics
        return plot_systematics(self)

    def save(self, path, *, overwrite=False):
        """Write the light curves and this result to a ``.phots`` file.

        Parameters
        ----------
        path : str or path-like
        overwrite : bool, default False

        Returns
        -------
        str

        Examples
        --------
        >>> diff.save('target.phots')                                   # doctest: +SKIP
        """
        return self.lc.save(path, differential=self, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Read a ``.phots`` file written after differential photometry.

        The result is recomputed from the stored light curves and weights (so it is the
        same as the one saved).

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        DifferentialPhotometry

        Raises
        ------
        FileFormatError
            The file has no differential photometry.

        Examples
        --------
        >>> diff = DifferentialPhotometry.load('target.phots')           # doctest: +SKIP
        """
        from .io import read_differential
        lc, target, aperture, weights, n_iter, params = read_differential(path)
        bad = int(UNUSABLE | SUSPECT)
        sols = {}
        for a in range(lc.n_apertures):
            cands = np.flatnonzero(np.isfinite(weights[a]))
            if cands.size:
                sols[a] = _Solution(lc, a, target, cands, weights[a, cands], n_iter[a], bad,
                                    normalise=False)
        return cls(lc, target, sols, aperture, params)
