"""What a cached tile covers: the sky geometry behind partial tiles.

A tile fetched from VizieR holds every catalogue row whose HEALPix index is the
tile: it is *complete*.  A tile written by :func:`~ztfimg.refcat.ingest` from a
catalogue that covers only a cone (its ``region``) is complete only if the cone
contains the whole tile; otherwise it is *partial* and records the cone(s) it
covers.  This module holds the geometry that decides both, exactly and
conservatively (a "yes" is proved, a "no" may be a doubt):

* :func:`tiles_inside_cone` -- which tiles a cone contains entirely (the tile
  boundary, sampled densely, lies inside the cone by more than the largest gap
  between samples);
* :func:`tile_caps` -- a cap (cone) that contains each tile, built the same way;
* :func:`covers` -- whether a partial tile can answer a query cone ``Q``: the
  recorded cones must contain ``Q`` ∩ tile.  Proved piece by piece: the tile
  (or, failing that, each of its 256 sub-tiles that meets ``Q``) is enclosed in
  a cap ``B``, and some recorded cone ``C`` must contain ``B`` or the lens
  ``Q`` ∩ ``B``.  The lens test is analytic: the farthest point of the lens
  from the centre of ``C`` is one of the two points where the circles cross,
  or the farthest point of either circle when it lies on the lens.  So a
  query is answered across several recorded cones, and near a cone's edge the
  doubt is at most a sub-tile's size;
* :func:`tile_in_cones` -- whether recorded cones together contain a tile (it
  is then complete).

All cones are ``(ra, dec, radius)`` in degrees, radius at most 30 deg (so every
cap is convex).  Nothing here reads files or uses the network.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .tiles import _healpix, _sep_deg

__all__ = []

#: Boundary samples per tile edge for the tile/cone tests.
_STEP = 16
#: A partial tile is examined in 4**_SUB sub-tiles (HEALPix children), so that
#: the part of a query in the tile is bounded tightly: at nside 64, 256 sub-tiles
#: of 3.4 arcmin.
_SUB = 4
#: Margin (deg) by which a lens must lie inside a cone: covers the rounding of
#: the circle-crossing points, far below any catalogue's astrometric precision.
_LENS_TOL = 1e-6


# --------------------------------------------------------------------------
# vectors
# --------------------------------------------------------------------------
def _xyz(ra, dec):
    """Unit vector(s) of positions in degrees; shape (..., 3)."""
    ra, dec = np.radians(np.asarray(ra, dtype=float)), np.radians(np.asarray(dec, dtype=float))
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _angle(a, b):
    """Angle (rad) between unit vectors, accurate at every separation."""
    return float(np.arctan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b)))


def _farthest(p, centre, radius, d):
    """Point of the circle (``centre``, ``radius``) farthest from ``p``, or None.

    ``d`` is the angle between ``p`` and ``centre``; None when it is too small
    for the direction to be defined (then every point of the circle is within
    ``d + radius`` of ``p``).
    """
    if d < 1e-9:
        return None
    v = centre - np.dot(centre, p) * p
    v /= np.linalg.norm(v)
    return np.cos(d + radius) * p + np.sin(d + radius) * v


def _crossings(q, rq, b, rb):
    """The (one or two) points where the circles (q, rq) and (b, rb) cross, or None."""
    cos_t = float(np.clip(np.dot(q, b), -1.0, 1.0))
    sin2 = 1.0 - cos_t * cos_t
    if sin2 < 1e-18:
        return None
    alpha = (np.cos(rq) - np.cos(rb) * cos_t) / sin2
    beta = (np.cos(rb) - np.cos(rq) * cos_t) / sin2
    base = alpha * q + beta * b
    rest = 1.0 - float(np.dot(base, base))
    if rest < -1e-12:
        return None
    n = np.cross(q, b)
    gamma = np.sqrt(max(rest, 0.0)) / np.linalg.norm(n)
    pts = [base + gamma * n, base - gamma * n]
    return [p / np.linalg.norm(p) for p in pts]


def _lens_within(q, rq, b, rb, c, rc):
    """Whether the intersection of caps Q and B lies inside cap C.

    Parameters
    ----------
    q, b, c : numpy.ndarray
        Unit vectors of the cap centres.
    rq, rb, rc : float
        Cap radii, radians, each at most pi/2.

    Returns
    -------
    bool
        True only if every point of Q ∩ B is inside C (to ``_LENS_TOL``);
        False when it is not or cannot be decided.
    """
    dqc, dqb, dbc = _angle(q, c), _angle(q, b), _angle(b, c)
    if dqc + rq <= rc or dbc + rb <= rc:  # Q inside C, or B inside C
        return True
    if dqb > rq + rb:                     # Q and B do not meet
        return True
    if dqb + rq <= rb or dqb + rb <= rq:  # the lens is Q or B, neither inside C
        return False
    pts = _crossings(q, rq, b, rb)
    if pts is None:
        return False
    far = max(_angle(p, c) for p in pts)
    # the farthest point of each circle from c, when it lies on the lens's arc
    for centre, r, d, other, r_other in ((q, rq, dqc, b, rb), (b, rb, dbc, q, rq)):
        f = _farthest(c, centre, r, d)
        if f is None:
            far = max(far, d + r)
        elif _angle(f, other) <= r_other:
            far = max(far, d + r)
    return far <= rc - np.radians(_LENS_TOL)


# --------------------------------------------------------------------------
# tiles and cones
# --------------------------------------------------------------------------
def _boundary(tiles, nside, step=_STEP):
    """Boundary samples of tiles (deg) and, per tile, half the largest gap between samples."""
    import astropy.units as u

    lon, lat = _healpix(nside).boundaries_lonlat(np.asarray(tiles, dtype=np.int64), step=step)
    lon, lat = lon.to_value(u.deg), lat.to_value(u.deg)
    gap = _sep_deg(lon, lat, np.roll(lon, -1, axis=1), np.roll(lat, -1, axis=1)).max(axis=1)
    # a point of the edge is within half the arc between two samples of one of them;
    # the arc is longer than the chord by far less than 1 % at these sampling steps
    return lon, lat, 0.5 * 1.01 * gap


def tiles_inside_cone(tiles, nside, ra, dec, radius):
    """Which tiles lie entirely inside a cone.

    Parameters
    ----------
    tiles : array_like of int
        HEALPix pixel indices (nested).
    nside : int
        HEALPix resolution.
    ra, dec, radius : float
        The cone, degrees (radius at most 30).

    Returns
    -------
    numpy.ndarray of bool
        True where every point of the tile is inside the cone (proved: the
        boundary samples are inside by more than half the gap between them);
        a tile whose boundary comes within that margin of the cone's edge is
        reported as not inside.
    """
    tiles = np.atleast_1d(np.asarray(tiles, dtype=np.int64))
    if not tiles.size:
        return np.zeros(0, dtype=bool)
    lon, lat, slack = _boundary(tiles, nside)
    dist = _sep_deg(ra, dec, lon, lat).max(axis=1)
    return dist + slack <= radius


def tile_caps(tiles, nside, step=_STEP):
    """A cap containing each tile.

    Parameters
    ----------
    tiles : array_like of int
        HEALPix pixel indices (nested).
    nside : int
        HEALPix resolution.
    step : int, optional
        Boundary samples per edge. Default 16.

    Returns
    -------
    numpy.ndarray
        Shape (n, 3): ``ra``, ``dec`` of the tile centre and a radius (deg)
        such that every point of the tile is within it.
    """
    import astropy.units as u

    tiles = np.atleast_1d(np.asarray(tiles, dtype=np.int64))
    hp = _healpix(nside)
    lon, lat = hp.healpix_to_lonlat(tiles)
    ra0, dec0 = lon.to_value(u.deg), lat.to_value(u.deg)
    blon, blat, slack = _boundary(tiles, nside, step)
    rad = _sep_deg(ra0[:, None], dec0[:, None], blon, blat).max(axis=1) + slack + 1e-6
    return np.column_stack([ra0, dec0, rad])


def cone_within(inner, outer):
    """Whether cone ``inner`` lies inside cone ``outer`` (both ``(ra, dec, radius)``, deg)."""
    return float(_sep_deg(inner[0], inner[1], outer[0], outer[1])) + inner[2] <= outer[2]


@functools.lru_cache(maxsize=512)
def _sub_caps(ipix, nside):
    """Caps of the 4**_SUB sub-tiles (nested children) of one tile; shape (n, 3), read-only."""
    children = int(ipix) * 4 ** _SUB + np.arange(4 ** _SUB, dtype=np.int64)
    caps = tile_caps(children, nside * 2 ** _SUB, step=8)
    caps.flags.writeable = False
    return caps


def _caps_in_cones(caps, cones):
    """Per cap (rows of ``caps``), whether one of ``cones`` contains it."""
    ok = np.zeros(len(caps), dtype=bool)
    for cra, cdec, crad in cones:
        ok |= _sep_deg(cra, cdec, caps[:, 0], caps[:, 1]) + caps[:, 2] <= crad
    return ok


def _lens_in_some(cones, query, cap):
    """Whether the part of ``query`` inside ``cap`` lies inside one of ``cones``."""
    q, b = _xyz(query[0], query[1]), _xyz(cap[0], cap[1])
    rq, rb = np.radians(query[2]), np.radians(cap[2])
    return any(_lens_within(q, rq, b, rb, _xyz(c[0], c[1]), np.radians(c[2])) for c in cones)


def covers(cones, query, ipix, nside):
    """Whether a partial tile's recorded cones answer a query cone.

    Parameters
    ----------
    cones : list of tuple
        The cones the tile covers, ``(ra, dec, radius)`` degrees.
    query : tuple
        The query cone ``(ra, dec, radius)``, degrees.
    ipix : int
        The tile (HEALPix nested index).
    nside : int
        HEALPix resolution.

    Returns
    -------
    bool
        True if every position of the query cone that falls in the tile lies
        inside the cones: proved when one cone contains the query, or the
        query's part of the tile's cap; else when, for each sub-tile
        (:data:`_SUB` levels down) that meets the query, one cone contains the
        sub-tile's cap or the query's part of it.  False otherwise: a "no" may
        be a doubt within a sub-tile (3.4 arcmin at nside 64) of a cone's edge,
        never a "yes" too many.
    """
    if any(cone_within(query, c) for c in cones):
        return True
    if _lens_in_some(cones, query, tile_caps([ipix], nside)[0]):
        return True
    caps = _sub_caps(int(ipix), int(nside))
    caps = caps[_sep_deg(query[0], query[1], caps[:, 0], caps[:, 1]) <= caps[:, 2] + query[2]]
    caps = caps[~_caps_in_cones(caps, cones)]
    return all(_lens_in_some(cones, query, cap) for cap in caps)


def tile_in_cones(cones, ipix, nside):
    """Whether cones together contain a whole tile (each sub-tile inside one of them).

    Parameters
    ----------
    cones : list of tuple
        ``(ra, dec, radius)``, degrees.
    ipix : int
        The tile (HEALPix nested index).
    nside : int
        HEALPix resolution.

    Returns
    -------
    bool
        True if proved (one cone contains the tile, or each of its sub-tiles'
        caps lies in one of the cones).
    """
    if any(tiles_inside_cone([ipix], nside, *c)[0] for c in cones):
        return True
    return bool(_caps_in_cones(_sub_caps(int(ipix), int(nside)), cones).all())


def in_cones(ra, dec, cones):
    """Boolean mask of positions (deg) inside at least one cone."""
    ra, dec = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
    inside = np.zeros(ra.shape, dtype=bool)
    for cra, cdec, crad in cones:
        if ra.size:
            inside |= _sep_deg(cra, cdec, ra, dec) <= crad
    return inside


def overlay(base, new, cones, idcol):
    """Rows of ``new`` laid over ``base`` where ``cones`` cover the sky.

    Parameters
    ----------
    base : pandas.DataFrame
        Rows kept outside ``cones`` (unless ``new`` has the same id).
    new : pandas.DataFrame
        Rows inside ``cones``, all kept.
    cones : list of tuple
        ``(ra, dec, radius)``, degrees.
    idcol : str
        Identifier column.

    Returns
    -------
    pandas.DataFrame
        ``base`` rows outside the cones, then ``new``; a new frame.
    """
    keep = ~in_cones(base["ra"].to_numpy(), base["dec"].to_numpy(), cones)
    if len(new):
        keep &= ~base[idcol].isin(new[idcol]).to_numpy()
    parts = [p for p in (base[keep], new) if len(p)]
    if not parts:
        return new.iloc[:0]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def merge_cones(cones, new):
    """Cones plus ``new``, dropping every cone that another one contains.

    Parameters
    ----------
    cones : list of tuple
        Recorded cones ``(ra, dec, radius)``, degrees.
    new : tuple
        The cone to add.

    Returns
    -------
    list of tuple
        The union, described by the fewest of its cones.
    """
    new = tuple(float(v) for v in new)
    if any(cone_within(new, c) for c in cones):
        return [tuple(c) for c in cones]
    return [tuple(c) for c in cones if not cone_within(c, new)] + [new]


def describe(cones):
    """Short text naming cones, for messages."""
    return ", ".join(f"(ra={c[0]:.5f}, dec={c[1]:.5f}, radius={c[2]:.4f})" for c in cones)
