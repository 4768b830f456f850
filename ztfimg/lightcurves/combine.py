"""Selecting and merging light-curve sets: always new objects (level 3).

:func:`select` keeps some stars and some frames; :func:`merge` joins the frames of two
sets of the same stars and photometry, in time order, without measuring a frame twice.
The frames' ``dx``/``dy`` (the stars' shifts from their mean position) are recomputed over
what is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError, ShapeMismatchError
from ..filters import normalise_filter
from .core import LightCurves
from .frames import star_shifts

__all__ = ["positions", "subset", "select", "merge"]


def positions(lc, key, n, what):
    """Integer positions from None (all), a slice, ints, a boolean mask or (stars) names.

    Parameters
    ----------
    lc : LightCurves
    key : None, slice, int, str, sequence or boolean mask
    n : int
        Length of the axis.
    what : {'star', 'frame'}

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    InvalidParameterError, ShapeMismatchError
        Out-of-range positions, unknown names, a mask of the wrong length.

    Examples
    --------
    >>> positions(lc, [0, 'star_b'], lc.n_stars, 'star')            # doctest: +SKIP
    array([0, 3])
    """
    if key is None:
        return np.arange(n)
    if isinstance(key, slice):
        return np.arange(n)[key]
    if what == "star" and isinstance(key, (list, tuple)) and not all(
            isinstance(v, (bool, np.bool_)) for v in key):
        return np.array([lc.star_index(v) for v in key], dtype=np.int64)
    arr = np.asarray(key.to_numpy() if isinstance(key, pd.Series) else key)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ShapeMismatchError(f"a boolean {what} mask needs {n} values; got {arr.size}")
        return np.flatnonzero(arr)
    if what == "star":
        return np.array([lc.star_index(v.item() if hasattr(v, "item") else v) for v in arr],
                        dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise InvalidParameterError(f"{what}s must be positions (ints) or a boolean mask; got "
                                    f"dtype {arr.dtype}")
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise InvalidParameterError(f"{what} positions out of range for {n} {what}s")
    return arr.astype(np.int64) % max(n, 1)


def subset(lc, stars=None, times=None):
    """A new object with the stars and times at these positions (None: all).

    Parameters
    ----------
    lc : LightCurves
    stars, times : numpy.ndarray of int, optional

    Returns
    -------
    LightCurves

    Examples
    --------
    >>> subset(lc, np.array([0, 1]), np.arange(10))                   # doctest: +SKIP
    """
    s = np.arange(lc.n_stars) if stars is None else np.asarray(stars, dtype=np.int64)
    t = np.arange(lc.n_times) if times is None else np.asarray(times, dtype=np.int64)
    frames = lc._frames.iloc[t].reset_index(drop=True)
    x, y = lc._x[np.ix_(s, t)], lc._y[np.ix_(s, t)]
    frames["dx"], frames["dy"] = star_shifts(x, y)
    return lc._new(flux=lc._flux[:, s][:, :, t], flux_err=lc._flux_err[:, s][:, :, t],
                   flags=lc._flags[:, s][:, :, t], x=x, y=y, sky=lc._sky[np.ix_(s, t)],
                   stars=lc._stars.iloc[s].reset_index(drop=True), frames=frames)


def select(lc, *, stars=None, filtername=None, tmin=None, tmax=None, frames=None):
    """Some stars and some times of ``lc`` (see :meth:`LightCurves.select`).

    Parameters
    ----------
    lc : LightCurves
    stars : int, str, sequence or boolean mask, optional
    filtername : str or sequence of str, optional
    tmin, tmax : float (MJD) or astropy.time.Time, optional
    frames : sequence of int or boolean mask, optional

    Returns
    -------
    LightCurves

    Raises
    ------
    InvalidParameterError
        Unknown filter, star or positions.

    Examples
    --------
    >>> select(lc, filtername='zg', tmin=59100.0)                      # doctest: +SKIP
    """
    keep = np.zeros(lc.n_times, dtype=bool)
    keep[positions(lc, frames, lc.n_times, "frame")] = True
    if filtername is not None:
        names = [filtername] if isinstance(filtername, str) else list(filtername)
        wanted = {normalise_filter(f) for f in names}
        keep &= lc._frames["filtername"].isin(wanted).to_numpy()
    mjd = lc.mjd
    for bound, cmp in ((tmin, np.greater_equal), (tmax, np.less_equal)):
        if bound is not None:
            if hasattr(bound, "mjd"):
                value = float(bound.utc.mjd)
            else:
                try:
                    value = float(bound)
                except (TypeError, ValueError):
                    raise InvalidParameterError(f"tmin/tmax must be an MJD or an astropy "
                                                f"Time; got {bound!r}") from None
            keep &= cmp(mjd, value)
    return subset(lc, positions(lc, stars, lc.n_stars, "star"), np.flatnonzero(keep))


def merge(lc, other):
    """``lc`` and the frames of ``other`` it does not hold, in time order.

    Parameters
    ----------
    lc, other : LightCurves
        The same stars (ra, dec in order), apertures, method and annulus.

    Returns
    -------
    LightCurves
        ``lc``'s measurement is kept for a frame (file) in both.

    Raises
    ------
    InvalidParameterError
        Different stars or photometry.

    Examples
    --------
    >>> merge(lc_2020, lc_2021)                                         # doctest: +SKIP
    """
    if not isinstance(other, LightCurves):
        raise InvalidParameterError(f"merge takes a LightCurves; got {type(other).__name__}")
    same_stars = other.n_stars == lc.n_stars and np.array_equal(
        other._stars[["ra", "dec"]].to_numpy(float), lc._stars[["ra", "dec"]].to_numpy(float),
        equal_nan=True)
    if not same_stars:
        raise InvalidParameterError("merge needs the same stars (ra, dec, in the same order) "
                                    "in both light-curve sets")
    if (other._method != lc._method or other._bkgann != lc._bkgann
            or not np.array_equal(other._apertures, lc._apertures, equal_nan=True)):
        raise InvalidParameterError(
            f"merge needs the same photometry: method {lc._method!r}/{other._method!r}, "
            f"apertures {lc._apertures.tolist()}/{other._apertures.tolist()}, annulus "
            f"{lc._bkgann}/{other._bkgann}")
    new = np.flatnonzero(~other._frames["file"].isin(set(lc._frames["file"])).to_numpy())
    frames = pd.concat([lc._frames, other._frames.iloc[new]], ignore_index=True)
    order = np.lexsort((frames["file"].to_numpy(dtype=str),
                        frames["obsjd"].to_numpy(dtype=float)))

    def cat(a, b):
        return np.concatenate([a, np.take(b, new, axis=-1)], axis=-1)[..., order]

    x, y = cat(lc._x, other._x), cat(lc._y, other._y)
    frames = frames.iloc[order].reset_index(drop=True)
    frames["dx"], frames["dy"] = star_shifts(x, y)
    measured = set(frames["file"])
    failed = pd.concat([lc._failed, other._failed], ignore_index=True)
    failed = failed[~failed["file"].isin(measured)].drop_duplicates("file", keep="last")
    return lc._new(flux=cat(lc._flux, other._flux), flux_err=cat(lc._flux_err, other._flux_err),
                   flags=cat(lc._flags, other._flags), x=x, y=y, sky=cat(lc._sky, other._sky),
                   frames=frames, failed=failed)
