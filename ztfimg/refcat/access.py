"""The public entry point: :func:`get_catalog`, a cone from the cache or VizieR.

:func:`get_catalog` ties the other modules together: it resolves the catalogue
name (:mod:`~ztfimg.refcat.specs`), lists the HEALPix tiles the cone touches and
reads those in the cache (:mod:`~ztfimg.refcat.tiles`), fetches the missing,
corrupt or insufficient ones from VizieR and caches them
(:mod:`~ztfimg.refcat.vizier`) unless offline, cuts the cone, and optionally
moves Gaia positions to an epoch (:mod:`~ztfimg.refcat.propermotion`).

A complete tile always serves.  A partial tile (written by
:func:`~ztfimg.refcat.ingest` from a catalogue covering part of it) serves only
when one of its recorded cones contains the query's part of the tile
(:func:`~ztfimg.refcat.coverage.covers`); otherwise it is fetched, the user's
rows kept inside their cones, and becomes complete.

Offline (``offline=True``, or ``ZTFIMG_OFFLINE`` set; see :func:`is_offline`)
with a needed tile missing, corrupt or partial without the query inside its
coverage is an :class:`~ztfimg.errors.OfflineError` that names the tiles (and
the cones a partial tile covers) and says how to fill the cache; no request is
sent.  A query is never answered with stars missing.
"""

from __future__ import annotations

import logging
import time
import warnings

import pandas as pd

from .. import datasets as _datasets
from ..errors import InvalidParameterError, OfflineError, ZTFImgWarning
from .columns import empty_catalog
from .coverage import covers, describe, overlay
from .propermotion import propagate_positions
from .specs import _spec
from .tiles import (DEFAULT_NSIDE, _check_cone, _check_nside, _load_tile, _remove, _sep_deg,
                    _tile_meta, _write_tile, cone_tiles, partial_path, tile_path)
from .vizier import _fetch_tile

__all__ = ["get_catalog", "is_offline"]

log = logging.getLogger(__name__)


def is_offline(offline=None):
    """Whether network access is forbidden.

    Parameters
    ----------
    offline : bool or None, optional
        Explicit choice; ``None`` (default) reads the environment variable
        ``ZTFIMG_OFFLINE`` (``1``, ``true``, ``yes``, ``on`` mean offline).

    Returns
    -------
    bool
        True when network access is forbidden.
    """
    if offline is not None:
        return bool(offline)
    return _datasets.is_offline()


def get_catalog(catalog, ra, dec=None, radius=0.7, *, epoch=None, cache_dir=None,
                offline=None, nside=DEFAULT_NSIDE, timeout=120):
    """Reference catalogue sources within a cone, from the cache or VizieR.

    Parameters
    ----------
    catalog : str
        ``"ps1"`` (aliases ``"ps1cat"``, ``"panstarrs"``) or ``"gaia"``
        (alias ``"gaiadr3"``).
    ra : float or astropy.coordinates.SkyCoord
        Cone centre right ascension in degrees (ICRS), or a SkyCoord (then
        ``dec`` must be None).
    dec : float, optional
        Cone centre declination, degrees.
    radius : float or astropy.units.Quantity, optional
        Cone radius in degrees. Default 0.7 (covers a ZTF quadrant around its
        centre).
    epoch : astropy.time.Time or float, optional
        Gaia only: propagate positions from 2016.0 to this epoch (Time, JD or
        decimal year; see :func:`propagate_positions`).  The cone is cut on
        the catalogue (2016.0) positions.
    cache_dir : str or path-like, optional
        Cache root; default ``$ZTFIMG_CACHE/catalogs`` or
        ``~/.cache/ztfimg/catalogs``.
    offline : bool, optional
        Forbid network access.  Default: environment ``ZTFIMG_OFFLINE``.
    nside : int, optional
        HEALPix resolution of the tiles. Default 64.
    timeout : float, optional
        Network timeout per VizieR request, seconds. Default 120.

    Returns
    -------
    pandas.DataFrame
        Normalised columns (see :mod:`ztfimg.refcat`), one row per source within
        ``radius`` of the centre; empty (same columns) for an empty sky region.

    Raises
    ------
    CatalogError
        Unknown catalogue (lists the known names) or unusable service answer.
    InvalidParameterError
        Invalid centre, radius, nside or epoch.
    OfflineError
        Offline and a needed tile is missing, corrupt, or partial and the query
        reaches beyond what it covers (the message names the tiles, what they
        cover and how to fill the cache), or the network is unreachable.
    CacheError
        A fetched tile cannot be written to the cache directory.

    Examples
    --------
    >>> ps1 = get_catalog("ps1", 150.1, 2.2, radius=0.7)          # doctest: +SKIP
    >>> gaia = get_catalog("gaia", 150.1, 2.2, epoch=2020.7)       # doctest: +SKIP
    """
    spec = _spec(catalog)
    ra, dec, radius = _check_cone(ra, dec, radius)
    nside = _check_nside(nside)
    if epoch is not None and spec.name != "gaia":
        raise InvalidParameterError(f"epoch propagation needs proper motions: {spec.name} has none")
    offline = is_offline(offline)
    query = (ra, dec, radius)
    tiles = [int(t) for t in cone_tiles(ra, dec, radius, nside)]

    frames, todo = [], {}
    for t in tiles:
        state, df, cones, detail = _load_tile(spec, t, nside, cache_dir)
        if state == "partial":
            if covers(cones, query, t, nside):
                frames.append((t, df))
                continue
            detail = (f"holds only the ingested cone(s) {describe(cones)}, "
                      "which do not contain the query's part of this tile")
        elif state == "complete":
            frames.append((t, df))
            continue
        todo[t] = (state, df, cones, detail)

    if todo and offline:
        raise _offline_error(spec, query, nside, cache_dir, tiles, todo)
    for t, (state, partial_df, cones, detail) in sorted(todo.items()):
        if state == "corrupt":
            warnings.warn(f"refetching corrupt catalogue tile: {detail}", ZTFImgWarning, stacklevel=2)
        t0 = time.perf_counter()
        df = _fetch_tile(spec, t, nside, timeout)
        source = "vizier"
        if state == "partial":  # keep the user's rows where they are complete
            df = overlay(df, partial_df, cones, spec.id_column)
            source = "vizier+ingest"
        path = tile_path(spec.name, t, nside, cache_dir)
        _write_tile(path, df, _tile_meta(spec, t, nside, source))
        _remove(partial_path(path))
        log.info("fetched %s tile %d (%d rows) in %.1f s", spec.name, t, len(df),
                 time.perf_counter() - t0)
        frames.append((t, df))

    frames.sort(key=lambda x: x[0])
    parts = [f for _, f in frames if len(f)]
    if not parts:
        return empty_catalog(spec.name)
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    sel = _sep_deg(ra, dec, df["ra"].to_numpy(), df["dec"].to_numpy()) <= radius
    df = df[sel].reset_index(drop=True)
    if epoch is not None:
        df = propagate_positions(df, epoch)
    df.attrs["catalog"] = spec.name
    return df


def _offline_error(spec, query, nside, cache_dir, tiles, todo):
    """The OfflineError naming the tiles a query lacks, and how to fill them."""
    ra, dec, radius = query
    states = {s for s, *_ in todo.values()}
    lines = []
    for t in sorted(todo)[:20]:
        state, _, _, detail = todo[t]
        path = tile_path(spec.name, t, nside, cache_dir)
        shown = partial_path(path) if state == "partial" else path
        lines.append(f"  {shown}" + (f"  ({state}: {detail})" if detail else ""))
    more = f"\n  ... and {len(todo) - 20} more" if len(todo) > 20 else ""
    kinds = " or ".join(k for k in ("missing", "corrupt", "partial") if k in states)
    return OfflineError(
        f"offline and {len(todo)} of {len(tiles)} {spec.name} ({spec.vizier}) cache tile(s) "
        f"needed for the cone ra={ra:.5f} dec={dec:.5f} radius={radius:.4f} deg are "
        f"{kinds} (HEALPix nested nside={nside}):\n" + "\n".join(lines) + more
        + "\nTo fill the cache, run the same call once with network access "
          "(offline=False and ZTFIMG_OFFLINE unset), or load a catalogue you already have "
          f"that covers the cone completely with ztfimg.refcat.ingest(data, {spec.name!r}, "
          f"region=(ra, dec, radius)), the region containing ra={ra:.5f} dec={dec:.5f} "
          f"radius={radius:.4f}.")
