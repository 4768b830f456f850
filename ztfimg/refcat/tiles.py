"""The HEALPix tiling of the sky and the on-disk tile cache.

The sky is cut into HEALPix tiles (nested order, ``nside=64`` by default:
0.92 deg tiles, 0.84 deg^2 each, so a ZTF quadrant touches ~4-9 tiles and
overlapping frames share them).  Each catalogue tile is one parquet file::

    <root>/<catalog>/hpx<nside>/<catalog>_hpx<nside>_<ipix>.parquet

with ``<root>`` = ``cache_dir`` argument, else ``$ZTFIMG_CACHE/catalogs``, else
``~/.cache/ztfimg/catalogs`` (:func:`get_cache_dir`, :func:`tile_path`).  Such a
*complete* tile holds *every* catalogue row whose HEALPix index is the tile, so
an empty tile (empty sky) is a valid, empty file.  :func:`cone_tiles` lists the
tiles a cone touches.

A tile that a user's catalogue covers only in part (see
:func:`~ztfimg.refcat.ingest`) is a *partial* tile,
``<catalog>_hpx<nside>_<ipix>.partial.parquet`` (:func:`partial_path`), whose
metadata ``ztfimg.coverage`` lists the cones it covers as JSON
``[[ra, dec, radius], ...]`` (degrees); it holds every row of the tile inside
those cones.  The separate name keeps partial tiles out of sight of versions of
ztfimg that predate them.  A complete tile records ``ztfimg.coverage=complete``;
tiles written before coverage was recorded have no such key and are complete.
A complete tile wins over a partial one beside it.

Files are written to a temporary file in the same directory and moved in place
with :func:`os.replace`, so a reader never sees a half-written tile and two
processes writing the same tile leave one whole copy (:func:`_write_tile`); a
failed write is a :class:`CacheError` and leaves the cache as it was.  Parquet
page checksums are written and verified; a tile that cannot be read, fails its
checksum, or whose metadata (catalogue, nside, pixel, row count, coverage) does
not match its name raises :class:`~ztfimg.errors.FileFormatError`
(:func:`_read_tile`, :func:`_load_tile`): the caller treats it as corrupt.
Nothing in this module uses the network.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import datasets as _datasets
from ..errors import CacheError, FileFormatError, InvalidParameterError
from .specs import resolve_catalog

__all__ = ["DEFAULT_NSIDE", "CacheError", "get_cache_dir", "tile_path", "partial_path",
           "cone_tiles"]

#: HEALPix resolution of the cache tiles (nested): 0.92 deg tiles, 0.84 deg^2.
DEFAULT_NSIDE = 64
_FORMAT_VERSION = "1"
#: ``ztfimg.coverage`` of a complete tile (tiles without the key are complete too).
_COMPLETE = "complete"
_PARTIAL_SUFFIX = ".partial.parquet"


# --------------------------------------------------------------------------
# Cache location and tile names
# --------------------------------------------------------------------------
def get_cache_dir(cache_dir=None):
    """Directory holding the catalogue tiles.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Explicit directory.  Default: ``$ZTFIMG_CACHE/catalogs``, or
        ``~/.cache/ztfimg/catalogs`` when ``ZTFIMG_CACHE`` is not set.

    Returns
    -------
    pathlib.Path
        The directory (not created).

    Examples
    --------
    >>> get_cache_dir("/data/ztfcache")
    PosixPath('/data/ztfcache')
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(_datasets.cache_dir("catalogs"))


def _check_nside(nside):
    """``nside`` as an int; InvalidParameterError unless a power of 2 in [1, 1024]."""
    try:
        nside = int(nside)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"nside must be a power of 2, got {nside!r}") from None
    if nside < 1 or nside > 1024 or nside & (nside - 1):
        raise InvalidParameterError(f"nside must be a power of 2 between 1 and 1024, got {nside}")
    return nside


def tile_path(catalog, ipix, nside=DEFAULT_NSIDE, cache_dir=None):
    """Path of one cached catalogue tile.

    Parameters
    ----------
    catalog : str
        Catalogue name or alias.
    ipix : int
        HEALPix pixel index (nested order).
    nside : int, optional
        HEALPix resolution. Default 64.
    cache_dir : str or path-like, optional
        Cache root (see :func:`get_cache_dir`).

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/<catalog>/hpx<nside>/<catalog>_hpx<nside>_<ipix:06d>.parquet``
        (the file may not exist).

    Raises
    ------
    CatalogError
        Unknown catalogue name.
    InvalidParameterError
        ``nside`` is not a power of 2 in [1, 1024].

    Examples
    --------
    >>> tile_path("panstarrs", 7, cache_dir="/data/cat")
    PosixPath('/data/cat/ps1/hpx64/ps1_hpx64_000007.parquet')
    """
    name = resolve_catalog(catalog)
    nside = _check_nside(nside)
    return (get_cache_dir(cache_dir) / name / f"hpx{nside}"
            / f"{name}_hpx{nside}_{int(ipix):06d}.parquet")


# --------------------------------------------------------------------------
# Sky geometry
# --------------------------------------------------------------------------
def _healpix(nside):
    """The astropy-healpix ``HEALPix`` object of the tiles (nested order)."""
    try:
        from astropy_healpix import HEALPix
    except ImportError as err:  # pragma: no cover - dependency
        raise ImportError("ztfimg.refcat needs the 'astropy-healpix' package "
                          "(pip install astropy-healpix)") from err
    return HEALPix(nside=nside, order="nested")


def _sep_deg(ra1, dec1, ra2, dec2):
    """Angular separation in degrees of positions in degrees (astropy's Vincenty formula)."""
    from astropy.coordinates import angular_separation

    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2))
    return np.degrees(angular_separation(ra1, dec1, ra2, dec2))


def _check_cone(ra, dec, radius):
    """Cone (ra in [0, 360), dec, radius) in degrees from numbers, Quantities or a SkyCoord."""
    try:
        from astropy.coordinates import SkyCoord
    except ImportError:  # pragma: no cover
        SkyCoord = ()
    if isinstance(ra, SkyCoord):
        if dec is not None:
            raise InvalidParameterError("give either a SkyCoord or ra and dec, not both")
        icrs = ra.icrs
        ra, dec = float(icrs.ra.deg), float(icrs.dec.deg)
    if hasattr(radius, "unit"):
        radius = radius.to_value("deg")
    if hasattr(ra, "unit"):
        ra = ra.to_value("deg")
    if hasattr(dec, "unit"):
        dec = dec.to_value("deg")
    try:
        ra, dec, radius = float(ra), float(dec), float(radius)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"ra, dec and radius must be numbers in degrees, got {ra!r}, {dec!r}, {radius!r}"
        ) from None
    if not (np.isfinite(ra) and np.isfinite(dec) and -90 <= dec <= 90):
        raise InvalidParameterError(f"the cone centre must have a finite ra and -90 <= dec <= 90 "
                                    f"(degrees); got ra={ra}, dec={dec}")
    if not (np.isfinite(radius) and 0 < radius <= 30):
        raise InvalidParameterError(f"the cone radius must be in (0, 30] deg; got {radius}")
    return ra % 360.0, dec, radius


def cone_tiles(ra, dec, radius, nside=DEFAULT_NSIDE):
    """HEALPix tiles (nested) that a cone touches.

    The list may hold a few extra neighbours (the test is conservative by
    about 1/16 of a tile) but never misses a tile containing a point of the
    cone.

    Parameters
    ----------
    ra, dec : float
        Cone centre, degrees (ICRS).
    radius : float
        Cone radius, degrees.
    nside : int, optional
        HEALPix resolution. Default 64.

    Returns
    -------
    numpy.ndarray of int64
        Sorted pixel indices.

    Raises
    ------
    InvalidParameterError
        Invalid centre, radius (must be in (0, 30] deg) or nside.

    Examples
    --------
    >>> cone_tiles(150.1, 2.2, 0.1)
    array([27256, 27258])
    """
    import astropy.units as u

    ra, dec, radius = _check_cone(ra, dec, radius)
    hp = _healpix(_check_nside(nside))
    res = hp.pixel_resolution.to_value(u.deg)
    # astropy-healpix's cone search is approximate: search wider, then keep the
    # pixels whose (densely sampled) boundary comes within radius + tolerance.
    cand = np.unique(hp.cone_search_lonlat(ra * u.deg, dec * u.deg, (radius + 1.5 * res) * u.deg))
    step = 16
    lon, lat = hp.boundaries_lonlat(cand, step=step)
    dist = _sep_deg(ra, dec, lon.to_value(u.deg), lat.to_value(u.deg)).min(axis=1)
    tol = 1.5 * res / step
    keep = dist <= radius + tol
    centre = int(hp.lonlat_to_healpix(ra * u.deg, dec * u.deg))
    keep |= cand == centre
    return np.sort(cand[keep]).astype(np.int64)


def _tile_circle(ipix, nside):
    """Centre (deg) and circumscribed radius (deg, padded) of one tile."""
    import astropy.units as u

    hp = _healpix(nside)
    lon, lat = hp.healpix_to_lonlat([ipix])
    ra0, dec0 = float(lon.to_value(u.deg)[0]), float(lat.to_value(u.deg)[0])
    blon, blat = hp.boundaries_lonlat([ipix], step=8)
    r = float(_sep_deg(ra0, dec0, blon.to_value(u.deg), blat.to_value(u.deg)).max())
    return ra0, dec0, r * 1.02 + 5.0 / 3600.0


def _pixels_of(ra, dec, nside):
    """HEALPix index (nested, int64) of each position, degrees."""
    import astropy.units as u

    ra = np.asarray(ra, dtype=float)
    dec = np.asarray(dec, dtype=float)
    if ra.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(_healpix(nside).lonlat_to_healpix(ra * u.deg, dec * u.deg), dtype=np.int64)


# --------------------------------------------------------------------------
# Tile files
# --------------------------------------------------------------------------
def partial_path(path):
    """Path of the partial tile beside the complete tile ``path``.

    Parameters
    ----------
    path : path-like
        A complete tile's path (:func:`tile_path`).

    Returns
    -------
    pathlib.Path
        ``<catalog>_hpx<nside>_<ipix>.partial.parquet`` in the same directory.
    """
    path = Path(path)
    return path.with_name(path.name[: -len(".parquet")] + _PARTIAL_SUFFIX)


def _cache_error(action, path, err):
    """A CacheError saying what was expected, what was found and what to do."""
    what = getattr(err, "strerror", None) or str(err)
    where = getattr(err, "filename", None) or path
    return CacheError(
        f"cannot {action} catalogue tile {path}: expected a writable cache directory "
        f"{Path(path).parent}, found {type(err).__name__} ({what}: {where}). "
        "Give cache_dir= a directory you can write (or set ZTFIMG_CACHE), or fix the "
        "permissions / free disk space, then run the call again.")


def _write_tile(path, df, meta):
    """Write one tile atomically (temp file in the same directory + os.replace).

    Parameters
    ----------
    path : path-like
        Destination.
    df : pandas.DataFrame
        The rows.
    meta : dict
        Metadata stored as ``ztfimg.<key>`` (``catalog``, ``nside``, ``ipix``,
        ``coverage`` ...); ``nrows`` and ``format`` are added.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    CacheError
        The file cannot be written (the previous file at ``path``, if any, is
        untouched and no temporary file is left).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    md = dict(table.schema.metadata or {})
    md.update({f"ztfimg.{k}".encode(): str(v).encode() for k, v in meta.items()})
    md[b"ztfimg.nrows"] = str(len(df)).encode()
    md[b"ztfimg.format"] = _FORMAT_VERSION.encode()
    table = table.replace_schema_metadata(md)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _cache_error("write", path, err) from err
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh, write_page_checksum=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; a shared cache must be readable
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise _cache_error("write", path, err) from err
        raise
    return path


def _remove(path):
    """Remove a file if it is there (a stale partial tile); False if it cannot be."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _parse_coverage(text, path):
    """The cones of a ``ztfimg.coverage`` value; FileFormatError if malformed."""
    try:
        cones = json.loads(text)
        cones = [tuple(float(v) for v in c) for c in cones]
        ok = bool(cones) and all(len(c) == 3 and np.isfinite(c).all() and -90 <= c[1] <= 90
                                 and 0 < c[2] <= 30 for c in cones)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise FileFormatError(f"catalogue tile {path} has unusable coverage metadata {text!r}")
    return cones


def _read_any_tile(path, spec, ipix, nside):
    """Read and validate one tile file: (DataFrame, cones or None for a complete tile).

    A file named as a complete tile must not record partial coverage, a partial
    tile must; a tile without coverage metadata (written before partial tiles
    existed) is complete.  Raises FileNotFoundError if the file is not there and
    FileFormatError if it is corrupt.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    partial = path.name.endswith(_PARTIAL_SUFFIX)
    # Read the bytes through one open file: a path-based read may reopen the file
    # and mix two versions if another process replaces it meanwhile.
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError) as err:  # no such tile
        raise FileNotFoundError(str(err)) from err
    except OSError as err:
        raise FileFormatError(f"catalogue tile {path} cannot be read: {err}") from err
    try:
        table = pq.read_table(pa.BufferReader(raw), page_checksum_verification=True)
    except Exception as err:  # pyarrow raises several types for damaged files
        raise FileFormatError(f"catalogue tile {path} is unreadable: {err}") from err
    md = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    expect = {"ztfimg.catalog": spec.name, "ztfimg.nside": str(nside), "ztfimg.ipix": str(ipix),
              "ztfimg.nrows": str(table.num_rows)}
    bad = [f"{k}={md.get(k)!r} (expected {v!r})" for k, v in expect.items() if md.get(k) != v]
    coverage = md.get("ztfimg.coverage", _COMPLETE)
    if partial == (coverage == _COMPLETE):
        bad.append(f"ztfimg.coverage={coverage!r} (expected "
                   + ("a list of cones" if partial else repr(_COMPLETE)) + ")")
    missing = [c for c in spec.columns if c not in table.column_names]
    if bad or missing:
        raise FileFormatError(
            f"catalogue tile {path} does not match its name: "
            + "; ".join(bad + ([f"missing columns {missing}"] if missing else [])))
    cones = _parse_coverage(coverage, path) if partial else None
    return table.to_pandas()[spec.columns], cones


def _read_tile(path, spec, ipix, nside):
    """Read and validate one complete tile; raise FileFormatError if it is corrupt."""
    return _read_any_tile(path, spec, ipix, nside)[0]


def _load_tile(spec, ipix, nside, cache_dir):
    """What the cache holds for one tile.

    Returns
    -------
    tuple
        ``(state, df, cones, detail)``: ``state`` is ``"complete"``,
        ``"partial"`` (``cones`` the covered cones), ``"missing"`` or
        ``"corrupt"`` (``detail`` the reason).  A complete tile wins over a
        partial one left beside it.
    """
    path = tile_path(spec.name, ipix, nside, cache_dir)
    for _ in range(2):  # a writer may turn the partial tile complete between the two looks
        for p in (path, partial_path(path)):
            try:
                df, cones = _read_any_tile(p, spec, ipix, nside)
            except FileNotFoundError:
                continue
            except FileFormatError as err:
                return "corrupt", None, None, str(err)
            return ("complete" if cones is None else "partial"), df, cones, None
    return "missing", None, None, None


def _tile_meta(spec, ipix, nside, source, cones=None):
    """The metadata of a tile written now (``cones`` None: complete)."""
    return {"catalog": spec.name, "vizier": spec.vizier, "nside": nside, "ipix": int(ipix),
            "order": "nested", "source": source,
            "coverage": _COMPLETE if cones is None else json.dumps([list(c) for c in cones]),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
