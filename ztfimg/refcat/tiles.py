"""The HEALPix tiling of the sky and the on-disk tile cache.

The sky is cut into HEALPix tiles (nested order, ``nside=64`` by default:
0.92 deg tiles, 0.84 deg^2 each, so a ZTF quadrant touches ~4-9 tiles and
overlapping frames share them).  Each catalogue tile is one parquet file::

    <root>/<catalog>/hpx<nside>/<catalog>_hpx<nside>_<ipix>.parquet

with ``<root>`` = ``cache_dir`` argument, else ``$ZTFIMG_CACHE/catalogs``, else
``~/.cache/ztfimg/catalogs`` (:func:`get_cache_dir`, :func:`tile_path`).  A tile
holds *every* catalogue row whose HEALPix index is the tile, so an empty tile
(empty sky) is a valid, empty file.  :func:`cone_tiles` lists the tiles a cone
touches.

Files are written to a temporary file in the same directory and moved in place
with :func:`os.replace`, so a reader never sees a partial tile and two
processes writing the same tile leave one complete copy (:func:`_write_tile`).
Parquet page checksums are written and verified; a tile that cannot be read,
fails its checksum, or whose metadata (catalogue, nside, pixel, row count) does
not match its name raises :class:`~ztfimg.errors.FileFormatError`
(:func:`_read_tile`): the caller treats it as corrupt.

:func:`ingest` writes tiles from a catalogue the user already has.  Nothing in
this module uses the network.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import datasets as _datasets
from ..errors import FileFormatError, InvalidParameterError
from .columns import normalize
from .specs import _spec, resolve_catalog

__all__ = ["DEFAULT_NSIDE", "get_cache_dir", "tile_path", "cone_tiles", "ingest"]

#: HEALPix resolution of the cache tiles (nested): 0.92 deg tiles, 0.84 deg^2.
DEFAULT_NSIDE = 64
_FORMAT_VERSION = "1"


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
        raise InvalidParameterError(f"invalid cone centre ra={ra}, dec={dec} (deg)")
    if not (np.isfinite(radius) and 0 < radius <= 30):
        raise InvalidParameterError(f"radius must be in (0, 30] deg, got {radius}")
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
def _write_tile(path, df, meta):
    """Write one tile atomically (temp file in the same directory + os.replace)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    md = dict(table.schema.metadata or {})
    md.update({f"ztfimg.{k}".encode(): str(v).encode() for k, v in meta.items()})
    md[b"ztfimg.nrows"] = str(len(df)).encode()
    md[b"ztfimg.format"] = _FORMAT_VERSION.encode()
    table = table.replace_schema_metadata(md)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh, write_page_checksum=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; a shared cache must be readable
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _read_tile(path, spec, ipix, nside):
    """Read and validate one tile; raise FileFormatError if it is corrupt."""
    import pyarrow.parquet as pq

    # Read the bytes through one open file: a path-based read may reopen the file
    # and mix two versions if another process replaces it meanwhile.
    raw = Path(path).read_bytes()
    try:
        import pyarrow as pa

        table = pq.read_table(pa.BufferReader(raw), page_checksum_verification=True)
    except Exception as err:  # pyarrow raises several types for damaged files
        raise FileFormatError(f"catalogue tile {path} is unreadable: {err}") from err
    md = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    expect = {"ztfimg.catalog": spec.name, "ztfimg.nside": str(nside), "ztfimg.ipix": str(ipix),
              "ztfimg.nrows": str(table.num_rows)}
    bad = [f"{k}={md.get(k)!r} (expected {v!r})" for k, v in expect.items() if md.get(k) != v]
    missing = [c for c in spec.columns if c not in table.column_names]
    if bad or missing:
        raise FileFormatError(
            f"catalogue tile {path} does not match its name: "
            + "; ".join(bad + ([f"missing columns {missing}"] if missing else [])))
    df = table.to_pandas()
    return df[spec.columns]


# --------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------
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


def ingest(data, catalog, *, region=None, cache_dir=None, nside=DEFAULT_NSIDE):
    """Put a catalogue you already have into the tile cache.

    A tile is complete by definition (every source in it): by default each
    tile that holds at least one row of ``data`` is written, so ``data`` must
    be complete over those tiles.  Give ``region`` when it covers only a cone:
    then only tiles lying entirely inside the cone are written.

    Parameters
    ----------
    data : pandas.DataFrame, astropy.table.Table, str or path-like
        The catalogue, or a ``.parquet`` / ``.fits`` file holding it.  Column
        names as accepted by :func:`normalize`.  Not modified.
    catalog : str
        Catalogue name or alias.
    region : tuple of float, optional
        ``(ra, dec, radius)`` in degrees of the cone that ``data`` covers
        completely.
    cache_dir : str or path-like, optional
        Cache root (see :func:`get_cache_dir`).
    nside : int, optional
        HEALPix resolution. Default 64.

    Returns
    -------
    list of pathlib.Path
        Tiles written (existing tiles are replaced).

    Raises
    ------
    CatalogError
        Missing id/ra/dec columns or unusable ids.
    FileFormatError, MissingFileError
        The file cannot be read.
    InvalidParameterError
        Invalid ``region`` or ``nside``.

    Examples
    --------
    >>> ingest("my_ps1_cone.parquet", "ps1", region=(150.1, 2.2, 1.0))  # doctest: +SKIP
    """
    import astropy.units as u

    spec = _spec(catalog)
    nside = _check_nside(nside)
    df = normalize(_read_any(data), spec.name)
    df = df[np.isfinite(df["ra"]) & np.isfinite(df["dec"])]
    pix = _pixels_of(df["ra"], df["dec"], nside)
    if region is not None:
        try:
            rra, rdec, rrad = region
        except (TypeError, ValueError):
            raise InvalidParameterError("region must be (ra, dec, radius) in degrees") from None
        rra, rdec, rrad = _check_cone(rra, rdec, rrad)
        cand = cone_tiles(rra, rdec, rrad, nside)
        lon, lat = _healpix(nside).boundaries_lonlat(cand, step=8)
        inside = (_sep_deg(rra, rdec, lon.to_value(u.deg), lat.to_value(u.deg)).max(axis=1)
                  <= rrad)
        tiles = cand[inside]
        if not len(tiles):
            warnings.warn(f"ingest: no {nside=} tile lies entirely inside the region {region}; "
                          "nothing written", stacklevel=2)
    else:
        tiles = np.unique(pix)
    written = []
    for t in tiles:
        sub = df[pix == t]
        written.append(_write_tile(
            tile_path(spec.name, t, nside, cache_dir), sub,
            {"catalog": spec.name, "vizier": spec.vizier, "nside": nside, "ipix": int(t),
             "order": "nested", "source": "ingest",
             "created": time.strftime("%Y-%m-%dT%H:%M:%S")}))
    return written
