"""Epoch propagation: move catalogue positions with their proper motions.

Gaia DR3 positions are at epoch 2016.0; a ZTF frame is taken years later, and
high proper-motion stars move by arcseconds in that time.
:func:`propagate_positions` moves each position linearly on the sphere along
its proper motion to the epoch of the frame (an astropy ``Time``, a Julian date
or a decimal Julian year, read by :func:`_to_jyear`).
"""

from __future__ import annotations

import numpy as np

from ..errors import CatalogError, InvalidParameterError

__all__ = ["propagate_positions"]

_DEG = np.pi / 180.0
_MAS_PER_DEG = 3.6e6


def _to_jyear(epoch):
    """Julian year (float) of an astropy Time, a JD (> 10000) or a decimal year."""
    try:
        from astropy.time import Time
    except ImportError:  # pragma: no cover
        Time = ()
    if isinstance(epoch, Time):
        return float(epoch.jyear)
    try:
        value = float(epoch)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"epoch must be an astropy Time, a JD or a decimal year, got {epoch!r}") from None
    if not np.isfinite(value):
        raise InvalidParameterError(f"epoch must be finite, got {epoch!r}")
    if value > 10000:  # Julian date
        return 2000.0 + (value - 2451545.0) / 365.25
    if not 1000 < value < 3000:
        raise InvalidParameterError(
            f"epoch {value} is neither a decimal year (1000-3000) nor a Julian date (> 10000)")
    return value


def propagate_positions(catalog, epoch):
    """Move catalogue positions to another epoch with their proper motions.

    Linear propagation on the sphere: the position unit vector ``r`` moves
    along the local east/north unit vectors ``(e, n)`` by
    ``(pmra * e + pmdec * n) * dt`` and is renormalised (``pmra`` includes
    cos(dec)).  Parallax and radial velocity are ignored (errors < 1 mas over
    a decade for all but the nearest stars).  Rows without proper motion
    (NaN, e.g. Gaia 2-parameter solutions) keep their position.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Normalised catalogue with ``ra``, ``dec`` (deg), ``pmra``, ``pmdec``
        (mas/yr) and ``ref_epoch`` (Julian year; 2016.0 assumed if absent).
    epoch : astropy.time.Time, float
        Target epoch: a ``Time``, a Julian date (> 10000) or a decimal
        (Julian) year such as ``2020.5``.

    Returns
    -------
    pandas.DataFrame
        A copy with ``ra``, ``dec`` at ``epoch`` and ``ref_epoch`` set to it.

    Raises
    ------
    CatalogError
        If ``ra``, ``dec``, ``pmra`` or ``pmdec`` is missing.
    InvalidParameterError
        If the epoch cannot be understood.

    Examples
    --------
    >>> import pandas as pd
    >>> star = pd.DataFrame({"ra": [10.0], "dec": [0.0], "pmra": [0.0], "pmdec": [1000.0],
    ...                      "ref_epoch": [2016.0]})
    >>> moved = propagate_positions(star, 2026.0)   # 1 arcsec/yr north for 10 yr
    >>> round(float(moved["dec"][0]) * 3600, 6), float(moved["ref_epoch"][0])
    (10.0, 2026.0)
    """
    need = [c for c in ("ra", "dec", "pmra", "pmdec") if c not in catalog.columns]
    if need:
        raise CatalogError(f"cannot propagate positions: missing column(s) {', '.join(need)}")
    target = _to_jyear(epoch)
    out = catalog.copy()
    ra = out["ra"].to_numpy(float) * _DEG
    dec = out["dec"].to_numpy(float) * _DEG
    ref = (out["ref_epoch"].to_numpy(float) if "ref_epoch" in out.columns
           else np.full(len(out), 2016.0))
    ref = np.where(np.isfinite(ref), ref, 2016.0)
    dt = target - ref
    pmra = np.nan_to_num(out["pmra"].to_numpy(float)) / _MAS_PER_DEG * _DEG
    pmdec = np.nan_to_num(out["pmdec"].to_numpy(float)) / _MAS_PER_DEG * _DEG
    cd, sd, ca, sa = np.cos(dec), np.sin(dec), np.cos(ra), np.sin(ra)
    r = np.stack([cd * ca, cd * sa, sd])
    east = np.stack([-sa, ca, np.zeros_like(ra)])
    north = np.stack([-sd * ca, -sd * sa, cd])
    r = r + (east * pmra + north * pmdec) * dt
    r /= np.linalg.norm(r, axis=0)
    out["ra"] = np.mod(np.arctan2(r[1], r[0]) / _DEG, 360.0)
    out["dec"] = np.arcsin(np.clip(r[2], -1, 1)) / _DEG
    out["ref_epoch"] = target
    return out
