"""Barycentric times of ZTF observations, offline (level 3).

ZTF observes from the Samuel Oschin 48-inch telescope at Palomar Observatory.  The
observatory's location is fixed here from its published geodetic coordinates
(33°21'23" N, 116°51'50" W, 1712 m) with :meth:`astropy.coordinates.EarthLocation.from_geodetic`
and never fetched (``EarthLocation.of_site`` downloads the site registry); a kilometre
of error in it moves a barycentric time by 3 microseconds at most.

:func:`bjd_tdb` adds astropy's light travel time to the barycentre
(:meth:`astropy.time.Time.light_travel_time`, built-in ephemeris) to the TDB time of the
observation.  The Earth-rotation part needs UT1-UTC: astropy's bundled IERS tables are used
without any download; beyond their range the UT1-UTC offset is extrapolated, an error of
at most a second in UT1, i.e. about a microsecond in BJD.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import InvalidParameterError
from ..validation import as_numbers, as_sky

__all__ = ["PALOMAR", "palomar", "bjd_tdb"]

#: Palomar Observatory (longitude east, latitude, height above the WGS84 ellipsoid): the
#: published coordinates 116°51'50" W, 33°21'23" N, 1712 m.
PALOMAR = {"lon": -(116.0 + 51.0 / 60.0 + 50.0 / 3600.0),
           "lat": 33.0 + 21.0 / 60.0 + 23.0 / 3600.0,
           "height": 1712.0}


def palomar():
    """Palomar Observatory as an :class:`~astropy.coordinates.EarthLocation` (no network).

    Returns
    -------
    astropy.coordinates.EarthLocation
        From :data:`PALOMAR` (degrees, degrees, metres).

    Examples
    --------
    >>> loc = palomar()
    >>> round(float(loc.lat.deg), 4), round(float(loc.lon.deg), 4)
    (33.3564, -116.8639)
    """
    import astropy.units as u
    from astropy.coordinates import EarthLocation
    return EarthLocation.from_geodetic(lon=PALOMAR["lon"] * u.deg, lat=PALOMAR["lat"] * u.deg,
                                       height=PALOMAR["height"] * u.m)


def bjd_tdb(time, ra, dec=None):
    """Barycentric Julian dates (TDB) of observations from Palomar of a sky position.

    Parameters
    ----------
    time : astropy.time.Time or array_like of float
        Observation times; plain numbers are Julian dates in UTC (ZTF's ``OBSJD``).
    ra : float, Quantity or SkyCoord
        Right ascension of the target (ICRS degrees unless a Quantity), or a ``SkyCoord``
        (then ``dec`` is omitted). One position for all times.
    dec : float or Quantity, optional
        Declination (degrees unless a Quantity).

    Returns
    -------
    numpy.ndarray of float
        BJD_TDB, days, one per time (NaN where the time is NaN).

    Raises
    ------
    InvalidParameterError
        Several target positions, non-numeric times or positions.

    Examples
    --------
    >>> b = bjd_tdb([2459116.65], 55.06, 33.35)
    >>> round(float((b[0] - 2459116.65) * 86400.0), 1)   # seconds: light travel + TDB-UTC
    319.4
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time
    from astropy.utils import iers
    from astropy.utils.exceptions import AstropyWarning

    ras, decs, scalar = as_sky(ra, dec)
    if not scalar:
        raise InvalidParameterError(f"bjd_tdb takes one target position; got {len(ras)}")
    if isinstance(time, Time):
        jd = np.atleast_1d(time.utc.jd).astype(np.float64)
    else:
        jd = np.atleast_1d(as_numbers(time, name="time")).astype(np.float64)
    out = np.full(jd.shape, np.nan)
    good = np.isfinite(jd)
    if not good.any():
        return out
    t = Time(jd[good], format="jd", scale="utc", location=palomar())
    target = SkyCoord(ras[0] * u.deg, decs[0] * u.deg, frame="icrs")
    with iers.conf.set_temp("auto_download", False), \
            iers.conf.set_temp("auto_max_age", None), \
            iers.conf.set_temp("iers_degraded_accuracy", "ignore"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        ltt = t.light_travel_time(target, kind="barycentric", ephemeris="builtin")
        out[good] = (t.tdb + ltt).jd
    return out
