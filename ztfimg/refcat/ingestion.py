"""Your own catalogue into the tile cache: :func:`ingest`.

A catalogue you already have (a PS1 or Gaia cone from MAST, the Gaia archive,
VizieR, a colleague ...) can stand in for the VizieR fetch, so that frames are
calibrated offline.  The cache must never claim more than the catalogue covers,
so :func:`ingest` needs the cone the catalogue covers *completely* (every
catalogue source in it), ``region=(ra, dec, radius)``; its rows cannot prove
where the catalogue is complete, so ``region`` is required.

Each tile the region touches is written (:mod:`~ztfimg.refcat.coverage` holds
the geometry):

* a tile the region contains entirely becomes a *complete* tile, exactly as if
  VizieR had served it;
* a tile the region covers in part becomes (or stays) a *partial* tile that
  records the region's cone: later :func:`~ztfimg.refcat.get_catalog` calls use
  it for any query whose part in the tile is inside a recorded cone, and
  otherwise fetch the tile (online) or raise an
  :class:`~ztfimg.errors.OfflineError` naming it (offline);
* inside the region the catalogue's rows replace the tile's; outside it the
  tile keeps its rows and coverage: several ingests add up, cone by cone, and a
  tile that their cones fill together becomes complete; an ingest into a
  complete tile keeps it complete.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FileFormatError, InvalidParameterError, ZTFImgWarning
from .columns import normalize
from .coverage import (_xyz, describe, merge_cones, overlay, tile_in_cones,
                       tiles_inside_cone)
from .specs import _spec
from .tiles import (DEFAULT_NSIDE, CacheError, _check_cone, _check_nside, _load_tile,
                    _pixels_of, _remove, _sep_deg, _tile_meta, _write_tile, cone_tiles,
                    partial_path, tile_path)

__all__ = ["ingest"]


def _read_any(data):
    """The catalogue itself, or the table read from a ``.parquet`` / ``.fits`` path."""
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            from ..errors import MissingFileError

            raise MissingFileError(f"catalogue file {path} does not exist")
        suffix = "".join(path.suffixes).lower()
        try:
            if suffix.endswith((".parquet", ".pq")):
                return pd.read_parquet(path)
            if suffix.endswith((".fits", ".fit", ".fits.gz", ".fts")):
                from astropy.table import Table

                return Table.read(path)
        except Exception as err:
            raise FileFormatError(f"cannot read catalogue file {path}: {err}") from err
        raise FileFormatError(
            f"catalogue file {path}: unknown format {suffix!r}; give a .parquet or .fits file")
    return data


def _extent(df):
    """A cone around the rows (mean direction, largest separation), for messages."""
    if not len(df):
        return None
    v = _xyz(df["ra"].to_numpy(), df["dec"].to_numpy()).sum(axis=0)
    if np.linalg.norm(v) < 1e-12:
        return None
    x, y, z = v / np.linalg.norm(v)
    ra, dec = np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1, 1)))
    return ra, dec, float(_sep_deg(ra, dec, df["ra"].to_numpy(), df["dec"].to_numpy()).max())


def _check_region(region, df, spec):
    """``region`` as a checked (ra, dec, radius) cone; a clear error when absent."""
    if region is None:
        ext = _extent(df)
        found = (f"{len(df)} rows within {ext[2]:.4f} deg of ra={ext[0]:.5f} dec={ext[1]:.5f}"
                 if ext else f"{len(df)} rows")
        raise InvalidParameterError(
            f"ingest needs region=(ra, dec, radius): the cone in degrees that the {spec.name} "
            f"catalogue covers completely (every source in it); found no region and {found}. "
            "The rows alone cannot show where the catalogue is complete, and the cache must "
            "not claim stars it lacks. Pass the cone your catalogue was selected on, e.g. "
            "region=(ra_centre, dec_centre, 0.7) for a 0.7 deg cone query; a frame is served "
            "offline when its cone (centre, footprint radius) lies inside the region.")
    try:
        rra, rdec, rrad = region
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"region must be (ra, dec, radius) in degrees, got {region!r}") from None
    return _check_cone(rra, rdec, rrad)


def _ingest_tile(spec, ipix, nside, cache_dir, rows, cone, whole):
    """Write one tile of an ingest; returns the path written."""
    path = tile_path(spec.name, ipix, nside, cache_dir)
    if whole:
        out = _write_tile(path, rows, _tile_meta(spec, ipix, nside, "ingest"))
        _remove(partial_path(path))
        return out
    state, old, cones, detail = _load_tile(spec, ipix, nside, cache_dir)
    if state == "complete":  # stays complete: its rows outside the region, ours inside
        out = _write_tile(path, overlay(old, rows, [cone], spec.id_column),
                          _tile_meta(spec, ipix, nside, "ingest"))
        _remove(partial_path(path))
        return out
    if state == "partial":
        rows, cones = overlay(old, rows, [cone], spec.id_column), merge_cones(cones, cone)
        if tile_in_cones(cones, ipix, nside):  # the cones of several ingests fill it
            out = _write_tile(path, rows, _tile_meta(spec, ipix, nside, "ingest"))
            _remove(partial_path(path))
            return out
    else:
        if state == "corrupt":
            warnings.warn(f"ingest: replacing a corrupt catalogue tile: {detail}", ZTFImgWarning,
                          stacklevel=3)
        cones = [cone]
    out = _write_tile(partial_path(path), rows,
                      _tile_meta(spec, ipix, nside, "ingest", cones=cones))
    if state == "corrupt":
        _remove(path)  # a corrupt complete tile would hide the partial one
    return out


def ingest(data, catalog, *, region=None, cache_dir=None, nside=DEFAULT_NSIDE):
    """Put a catalogue you already have into the tile cache, for offline use.

    ``data`` must hold every source of the catalogue inside the cone
    ``region``; rows outside it are ignored.  Each tile the region contains
    entirely is written as a complete tile (as VizieR would fill it); each
    tile it covers in part is written as a partial tile that records the
    cone, and serves a later :func:`~ztfimg.refcat.get_catalog` query only
    where the query lies inside a recorded cone.  So after
    ``ingest(df, "ps1", region=(ra, dec, r))`` every query cone inside the
    region -- a frame's cone (centre, footprint radius) included -- is
    answered offline, whatever ``r``; a query reaching beyond it fetches the
    tiles it needs (online) or is an :class:`~ztfimg.errors.OfflineError`
    naming them (offline), never an answer with stars missing.

    Inside the region the rows of ``data`` replace those in the cache;
    elsewhere cached tiles keep their rows.  The cones of several ingests add
    up: a query is answered when each tile's part of it lies inside one of
    them, and a tile they fill together becomes complete.

    Parameters
    ----------
    data : pandas.DataFrame, astropy.table.Table, str or path-like
        The catalogue, or a ``.parquet`` / ``.fits`` file holding it.  Column
        names as accepted by :func:`~ztfimg.refcat.normalize`.  Not modified.
    catalog : str
        Catalogue name or alias (``"ps1"``, ``"gaia"`` ...).
    region : tuple of float
        ``(ra, dec, radius)``, degrees (radius in (0, 30]), of the cone that
        ``data`` covers completely; the radius may be a Quantity.  Required:
        the rows alone cannot tell where the catalogue is complete.
    cache_dir : str or path-like, optional
        Cache root (see :func:`~ztfimg.refcat.get_cache_dir`).
    nside : int, optional
        HEALPix resolution. Default 64.

    Returns
    -------
    list of pathlib.Path
        The tiles written: complete ones (``*.parquet``) and partial ones
        (``*.partial.parquet``).

    Raises
    ------
    CatalogError
        Missing id/ra/dec columns or unusable ids.
    FileFormatError, MissingFileError
        The catalogue file cannot be read.
    InvalidParameterError
        No ``region``, or an invalid ``region`` or ``nside``.
    CacheError
        A tile cannot be written (cache directory not writable, a path
        component is a file, disk full ...).  Tiles already in the cache are
        untouched; tiles written before the failure are whole and true.

    Examples
    --------
    >>> ingest("my_ps1_cone.parquet", "ps1", region=(150.1, 2.2, 0.7))  # doctest: +SKIP
    >>> get_catalog("ps1", 150.12, 2.21, 0.6, offline=True)               # doctest: +SKIP
    """
    spec = _spec(catalog)
    nside = _check_nside(nside)
    df = normalize(_read_any(data), spec.name)
    df = df[np.isfinite(df["ra"]) & np.isfinite(df["dec"])]
    cone = _check_region(region, df, spec)
    df = df[_sep_deg(cone[0], cone[1], df["ra"].to_numpy(), df["dec"].to_numpy()) <= cone[2]]
    pix = _pixels_of(df["ra"], df["dec"], nside)
    tiles = cone_tiles(*cone, nside)
    whole = tiles_inside_cone(tiles, nside, *cone)
    written = []
    for t, full in zip(tiles, whole):
        rows = df[pix == t].reset_index(drop=True)
        try:
            written.append(_ingest_tile(spec, int(t), nside, cache_dir, rows, cone, bool(full)))
        except CacheError as err:
            if not written:
                raise
            raise CacheError(
                f"{err} ingest stopped after {len(written)} of {len(tiles)} tiles for the region "
                f"{describe([cone])}; those are whole and true, the others were not "
                "changed.") from err
    return written
