"""Reference catalogues (Pan-STARRS1 DR1 and Gaia DR3) with an offline-capable cache.

ZTF photometry is calibrated on Pan-STARRS1 (PS1) and astrometry is best checked
against Gaia.  This module fetches both from VizieR through astroquery, gives
them one column convention, and keeps what it fetched on disk so that the same
sky is never downloaded twice.

Catalogues and their normalised columns
---------------------------------------
``"ps1"`` (aliases ``"ps1cat"``, ``"panstarrs"``), VizieR ``II/349/ps1``:
    ``objid`` (int64), ``ra``, ``dec`` (deg, J2000/ICRS, mean epoch of PS1),
    ``qual`` (int16 quality flags), ``gmag``, ``e_gmag``, ``rmag``, ``e_rmag``,
    ``imag``, ``e_imag``, ``zmag``, ``e_zmag``, ``ymag``, ``e_ymag`` (AB mag).
``"gaia"`` (alias ``"gaiadr3"``), VizieR ``I/355/gaiadr3``:
    ``source_id`` (int64), ``ra``, ``dec`` (deg, ICRS at ``ref_epoch``),
    ``ref_epoch`` (Julian year, 2016.0 in DR3), ``parallax`` (mas), ``pmra``
    (mas/yr, includes cos(dec)), ``pmdec`` (mas/yr), ``ruwe``, ``Gmag``,
    ``e_Gmag``, ``BPmag``, ``e_BPmag``, ``RPmag``, ``e_RPmag`` (Vega mag).
Missing values are NaN; identifiers are never floats.

Cache
-----
The sky is cut into HEALPix tiles (nested order, ``nside=64`` by default:
0.92 deg tiles, 0.84 deg^2 each, so a ZTF quadrant touches ~4-9 tiles and
overlapping frames share them).  Each catalogue tile is one parquet file::

    <root>/<catalog>/hpx<nside>/<catalog>_hpx<nside>_<ipix>.parquet

with ``<root>`` = ``cache_dir`` argument, else ``$ZTFIMG_CACHE/catalogs``, else
``~/.cache/ztfimg/catalogs``.  A cone query lists the tiles the cone touches,
fetches only the missing ones -- **one VizieR cone request per missing tile**,
centred on the tile with the radius of its circumscribed circle, keeping the
rows whose HEALPix index is the tile -- and cuts the cone from the tiles.  A
tile holds *every* catalogue row in it, so an empty tile (empty sky) is cached
as an empty file and never refetched.

Files are written to a temporary file in the same directory and moved in place
with :func:`os.replace`, so a reader never sees a partial tile and two
processes writing the same tile leave one complete copy.  Parquet page
checksums are written and verified; a tile that cannot be read, fails its
checksum, or whose metadata does not match its name is *corrupt*: it is
refetched when online and reported (:class:`~ztfimg.errors.OfflineError`)
when offline.

Network is used only by :func:`get_catalog` for missing tiles, never when
offline (``offline=True`` or environment variable ``ZTFIMG_OFFLINE=1``).
Users who already have a catalogue can put it in the cache with :func:`ingest`.

Environment variables
---------------------
``ZTFIMG_CACHE``
    Cache root; catalogues go to ``$ZTFIMG_CACHE/catalogs``.  Default
    ``~/.cache/ztfimg``.
``ZTFIMG_OFFLINE``
    ``1``/``true``/``yes``/``on`` forbids network access.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from . import datasets as _datasets
from .errors import CatalogError, FileFormatError, InvalidParameterError, OfflineError

__all__ = [
    "CATALOGS",
    "ALIASES",
    "DEFAULT_NSIDE",
    "resolve_catalog",
    "get_catalog",
    "propagate_positions",
    "normalize",
    "empty_catalog",
    "ingest",
    "to_vizier_votable",
    "cone_tiles",
    "tile_path",
    "get_cache_dir",
    "is_offline",
]

log = logging.getLogger(__name__)

#: HEALPix resolution of the cache tiles (nested): 0.92 deg tiles, 0.84 deg^2.
DEFAULT_NSIDE = 64
_FORMAT_VERSION = "1"
_DEG = np.pi / 180.0
_MAS_PER_DEG = 3.6e6


# --------------------------------------------------------------------------
# Catalogue descriptions
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    """One catalogue column: VizieR name/metadata and normalised name/dtype."""

    vizier: str  # VizieR column name (label)
    name: str  # normalised column name
    kind: str  # "id", "float", "int"
    datatype: str  # VOTable datatype written by VizieR
    width: int
    precision: int | None = None
    unit: str | None = None
    ucd: str = ""
    description: str = ""
    ref: str | None = None
    aliases: tuple = ()  # other accepted input names (case-insensitive)
    required: bool = False


@dataclass(frozen=True)
class _CatalogSpec:
    name: str
    vizier: str
    resource: str
    resource_id: str
    title: str
    table_description: str
    coosys: str
    fields: tuple
    id_column: str
    bands: tuple
    default_epoch: float | None = None
    extra_defaults: dict = field(default_factory=dict)

    @property
    def columns(self):
        """Normalised column names, in order."""
        return [f.name for f in self.fields]

    @property
    def vizier_columns(self):
        """VizieR column names requested from the service."""
        return [f.vizier for f in self.fields if f.vizier]


def _mag_fields(bands, ucds, width, precision, ewidth, eprecision, kind_desc, aliases):
    out = []
    for band, ucd in zip(bands, ucds):
        out.append(_Field(f"{band}mag", f"{band}mag", "float", "double", width, precision, "mag",
                          ucd, f"? {kind_desc} {band} magnitude",
                          aliases=tuple(a.format(b=band, bl=band.lower()) for a in aliases[0])))
        out.append(_Field(f"e_{band}mag", f"e_{band}mag", "float", "double", ewidth, eprecision,
                          "mag", "stat.error;phot.mag", f"? Error on {band}mag",
                          aliases=tuple(a.format(b=band, bl=band.lower()) for a in aliases[1])))
    return out


_PS1 = _CatalogSpec(
    name="ps1",
    vizier="II/349/ps1",
    resource="II/349",
    resource_id="yCat_2349",
    title="The Pan-STARRS release 1 (PS1) Survey - DR1 (Chambers+, 2016)",
    table_description="The Pan-STARRS1 DR1 object catalogue (mean PSF photometry)",
    coosys='<COOSYS ID="J2000" system="eq_FK5" equinox="J2000"/>',
    fields=tuple([
        _Field("objID", "objid", "id", "long", 17, None, None, "meta.id;meta.main",
               "Unique object identifier (1)", aliases=("obj_id", "objid"), required=True),
        _Field("RAJ2000", "ra", "float", "double", 11, 7, "deg", "pos.eq.ra;meta.main",
               "Right ascension (ICRS) at Epoch (raMean)", ref="J2000",
               aliases=("ramean", "ra_deg"), required=True),
        _Field("DEJ2000", "dec", "float", "double", 11, 7, "deg", "pos.eq.dec;meta.main",
               "Declination (ICRS) at Epoch (decMean)", ref="J2000",
               aliases=("decmean", "dec_deg"), required=True),
        _Field("Qual", "qual", "int", "short", 3, None, None, "meta.code.qual",
               "[0,255] Quality flag (qualityFlag)", aliases=("qualityflag",)),
    ] + _mag_fields(
        ("g", "r", "i", "z", "y"),
        ("phot.mag;em.opt.B", "phot.mag;em.opt.R", "phot.mag;em.opt.I", "phot.mag;em.opt.I",
         "phot.mag;em.IR.NIR"),
        8, 4, 7, 4, "Mean PSF AB",
        (("{b}meanpsfmag",), ("{b}meanpsfmagerr", "{b}mag_err", "{b}magerr")),
    )),
    id_column="objid",
    bands=("g", "r", "i", "z", "y"),
)

_GAIA = _CatalogSpec(
    name="gaia",
    vizier="I/355/gaiadr3",
    resource="I/355",
    resource_id="yCat_1355",
    title="Gaia DR3 Part 1. Main source (Gaia Collaboration, 2022)",
    table_description="Gaia DR3 source catalog (1811709771 sources)",
    coosys='<COOSYS ID="H_2016.000" system="ICRS" epoch="J2016.000"/>',
    fields=(
        _Field("Source", "source_id", "id", "long", 19, None, None, "meta.id;meta.main",
               "Unique source identifier (unique within a particular Data Release) (source_id)",
               aliases=("source_id", "sourceid"), required=True),
        _Field("RA_ICRS", "ra", "float", "double", 15, 11, "deg", "pos.eq.ra;meta.main",
               "Right ascension (ICRS) at Ep=2016.0 (ra)", ref="H_2016.000", required=True),
        _Field("DE_ICRS", "dec", "float", "double", 15, 11, "deg", "pos.eq.dec;meta.main",
               "Declination (ICRS) at Ep=2016.0 (dec)", ref="H_2016.000", required=True),
        _Field("", "ref_epoch", "float", "double", 6, 1, "yr", "time.epoch",
               "Reference epoch (ref_epoch); 2016.0 for every DR3 source",
               aliases=("epoch",)),
        _Field("Plx", "parallax", "float", "double", 9, 4, "mas", "pos.parallax.trig",
               "? Parallax (parallax)", aliases=("parallax",)),
        _Field("pmRA", "pmra", "float", "double", 9, 3, "mas/yr", "pos.pm;pos.eq.ra",
               "? Proper motion in right ascension direction, pmRA*cosDE (pmra)"),
        _Field("pmDE", "pmdec", "float", "double", 9, 3, "mas/yr", "pos.pm;pos.eq.dec",
               "? Proper motion in declination direction (pmdec)"),
        _Field("RUWE", "ruwe", "float", "double", 7, 3, None, "stat.fit.goodness",
               "? Renormalised unit weight error (ruwe)"),
    ) + tuple(_mag_fields(
        ("G", "BP", "RP"),
        ("phot.mag;em.opt", "phot.mag;em.opt.B", "phot.mag;em.opt.R"),
        9, 6, 8, 6, "Gaia",
        (("phot_{bl}_mean_mag",), ("{b}mag_err",)),
    )),
    id_column="source_id",
    bands=("G", "BP", "RP"),
    default_epoch=2016.0,
    extra_defaults={"ref_epoch": 2016.0},
)

#: Known catalogues, by canonical name.
CATALOGS = {"ps1": _PS1, "gaia": _GAIA}

#: Accepted names (lower case) and the canonical catalogue they mean.
ALIASES = {
    "ps1": "ps1", "ps1cat": "ps1", "panstarrs": "ps1",
    "gaia": "gaia", "gaiadr3": "gaia",
}


def resolve_catalog(name):
    """Return the canonical name of a reference catalogue.

    Parameters
    ----------
    name : str
        Catalogue name or alias, case-insensitive: ``"ps1"``, ``"ps1cat"``,
        ``"panstarrs"`` (Pan-STARRS1 DR1) or ``"gaia"``, ``"gaiadr3"`` (Gaia DR3).

    Returns
    -------
    str
        ``"ps1"`` or ``"gaia"``.

    Raises
    ------
    CatalogError
        If the name is not known; the message lists the known names.
    """
    key = str(name).strip().lower() if isinstance(name, str) else None
    if key not in ALIASES:
        raise CatalogError(
            f"unknown reference catalogue {name!r}; known names: {', '.join(sorted(ALIASES))}")
    return ALIASES[key]


def _spec(name):
    return CATALOGS[resolve_catalog(name)]


# --------------------------------------------------------------------------
# Environment: cache root and offline switch
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
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(_datasets.cache_dir("catalogs"))


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
    """
    if offline is not None:
        return bool(offline)
    return _datasets.is_offline()


def _check_nside(nside):
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
    """
    name = resolve_catalog(catalog)
    nside = _check_nside(nside)
    return (get_cache_dir(cache_dir) / name / f"hpx{nside}"
            / f"{name}_hpx{nside}_{int(ipix):06d}.parquet")


# --------------------------------------------------------------------------
# Sky geometry
# --------------------------------------------------------------------------
def _healpix(nside):
    try:
        from astropy_healpix import HEALPix
    except ImportError as err:  # pragma: no cover - dependency
        raise ImportError("ztfimg.refcat needs the 'astropy-healpix' package "
                          "(pip install astropy-healpix)") from err
    return HEALPix(nside=nside, order="nested")


def _angsep(ra1, dec1, ra2, dec2):
    """Angular separation in degrees (haversine, vectorised)."""
    ra1, dec1, ra2, dec2 = (np.asarray(v, dtype=float) * _DEG for v in (ra1, dec1, ra2, dec2))
    s = (np.sin((dec2 - dec1) / 2) ** 2
         + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2)
    return 2 * np.arcsin(np.sqrt(np.clip(s, 0, 1))) / _DEG


def _check_cone(ra, dec, radius):
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
    dist = _angsep(ra, dec, lon.to_value(u.deg), lat.to_value(u.deg)).min(axis=1)
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
    r = float(_angsep(ra0, dec0, blon.to_value(u.deg), blat.to_value(u.deg)).max())
    return ra0, dec0, r * 1.02 + 5.0 / 3600.0


def _pixels_of(ra, dec, nside):
    import astropy.units as u

    ra = np.asarray(ra, dtype=float)
    dec = np.asarray(dec, dtype=float)
    if ra.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(_healpix(nside).lonlat_to_healpix(ra * u.deg, dec * u.deg), dtype=np.int64)


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------
def empty_catalog(catalog):
    """An empty catalogue with the normalised columns and dtypes.

    Parameters
    ----------
    catalog : str
        Catalogue name or alias.

    Returns
    -------
    pandas.DataFrame
        Zero rows; ids int64, flags int16, everything else float64.
    """
    spec = _spec(catalog)
    cols = {}
    for f in spec.fields:
        dtype = {"id": "int64", "int": "int16", "float": "float64"}[f.kind]
        cols[f.name] = pd.Series([], dtype=dtype)
    df = pd.DataFrame(cols)
    df.attrs["catalog"] = spec.name
    return df


def _as_id(values, name):
    """Identifiers as int64 (exact) or str; never float."""
    if np.ma.isMaskedArray(values):
        if np.ma.getmaskarray(values).any():
            raise CatalogError(f"identifier column {name!r} has missing values")
        values = np.ma.getdata(values)
    arr = np.asarray(values)
    if arr.dtype.kind == "O" and arr.size and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr):
        arr = np.array([int(v) for v in arr], dtype=np.int64)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise CatalogError(f"identifier column {name!r} overflows int64")
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
            raise CatalogError(f"identifier column {name!r} holds missing or non-integer values")
        if arr.size and np.max(np.abs(arr)) > 2 ** 53:
            raise CatalogError(
                f"identifier column {name!r} was stored as float and its values exceed 2**53: "
                "the ids have lost precision; read them as int64 or strings")
        return arr.astype(np.int64)
    if arr.dtype.kind == "S":
        return np.char.decode(arr, "utf-8").astype(object)
    if arr.dtype.kind in "UO":
        out = np.array([v.decode() if isinstance(v, bytes) else v for v in arr], dtype=object)
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in out):
            raise CatalogError(f"identifier column {name!r} has missing values")
        return np.array([str(v) for v in out], dtype=object)
    raise CatalogError(f"identifier column {name!r} has unsupported dtype {arr.dtype}")


def _as_float(values):
    if np.ma.isMaskedArray(values):
        arr = np.ma.filled(np.ma.asarray(values).astype(float), np.nan)
    else:
        arr = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(float)
    return np.array(arr, dtype=np.float64)


def _as_int(values):
    if np.ma.isMaskedArray(values):
        return np.ma.filled(np.ma.asarray(values), 0).astype(np.int16)
    ser = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").fillna(0)
    return ser.to_numpy().astype(np.int16)


def normalize(data, catalog):
    """Give a catalogue table the normalised ztfimg columns.

    Accepts the VizieR column names (``objID``, ``RAJ2000``, ``Source``,
    ``RA_ICRS``, ``pmRA`` ...), the archive names (PS1 MAST ``raMean``,
    ``gMeanPSFMag``, ``gMeanPSFMagErr``; Gaia archive ``source_id``,
    ``phot_g_mean_mag``, ``phot_g_mean_flux_over_error`` ...) and the
    normalised names themselves, case-insensitively.

    Parameters
    ----------
    data : pandas.DataFrame or astropy.table.Table
        Input table; not modified.
    catalog : str
        Catalogue name or alias (``"ps1"``, ``"gaia"`` ...).

    Returns
    -------
    pandas.DataFrame
        New frame with exactly the columns of :func:`empty_catalog`, index
        ``0..n-1``.  Magnitudes <= -999 (archive sentinels) become NaN; optional
        columns absent from the input are NaN (flags 0, Gaia ``ref_epoch`` 2016.0).

    Raises
    ------
    CatalogError
        If the id, ``ra`` or ``dec`` column is missing (message names them), or
        ids are unusable (missing, or floats that lost precision).
    """
    spec = _spec(catalog)
    if isinstance(data, pd.DataFrame):
        names = list(data.columns)

        def getcol(n):
            s = data[n]
            if s.dtype.kind == "O" or str(s.dtype) in ("string", "str"):
                return s.to_numpy(dtype=object)
            if hasattr(s.dtype, "numpy_dtype"):  # pandas nullable ints/floats
                if s.isna().any():
                    return np.ma.masked_array(s.fillna(0).to_numpy(s.dtype.numpy_dtype),
                                              mask=s.isna().to_numpy())
                return s.to_numpy(s.dtype.numpy_dtype)
            return s.to_numpy()
    else:
        try:
            names = list(data.colnames)
        except AttributeError:
            raise CatalogError(
                f"cannot normalise a {type(data).__name__}; give a DataFrame or astropy Table"
            ) from None

        def getcol(n):
            from astropy.units import Quantity

            col = data[n]
            if isinstance(col, Quantity):  # QTable column
                return np.asarray(col.value)
            if hasattr(col, "mask") and hasattr(col, "filled"):
                return np.ma.MaskedArray(np.ma.asarray(col))
            return np.asarray(col)

    lower = {}
    for n in names:
        lower.setdefault(str(n).lower(), n)

    def find(f):
        for cand in (f.name, f.vizier) + tuple(f.aliases):
            if cand and cand.lower() in lower:
                return lower[cand.lower()]
        return None

    missing = [f"{f.name} (or {f.vizier})" if f.vizier else f.name
               for f in spec.fields if f.required and find(f) is None]
    if missing:
        raise CatalogError(
            f"{spec.name} catalogue lacks required column(s): {', '.join(missing)}; "
            f"found columns: {', '.join(map(str, names))}")
    n = len(data)
    out = {}
    for f in spec.fields:
        src = find(f)
        if src is None:
            if f.kind == "float" and f.name.startswith("e_") and spec.name == "gaia":
                # Gaia archive: error from flux_over_error, 2.5/ln(10) / (F/sigma_F)
                band = f.name[2:-3].lower()
                foe = lower.get(f"phot_{band}_mean_flux_over_error")
                if foe is not None:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        out[f.name] = 2.5 / np.log(10) / _as_float(getcol(foe))
                    continue
            if f.kind == "int":
                out[f.name] = np.zeros(n, dtype=np.int16)
            else:
                out[f.name] = np.full(n, spec.extra_defaults.get(f.name, np.nan), dtype=float)
            continue
        values = getcol(src)
        if f.kind == "id":
            out[f.name] = _as_id(values, src)
        elif f.kind == "int":
            out[f.name] = _as_int(values)
        else:
            out[f.name] = _as_float(values)
            if f.unit == "mag":  # MAST/PS1 style -999 / -999.25 sentinels
                out[f.name][out[f.name] <= -999] = np.nan
    df = pd.DataFrame(out, columns=spec.columns)
    df["ra"] = np.mod(df["ra"].to_numpy(), 360.0)
    if spec.name == "gaia":
        df["ref_epoch"] = df["ref_epoch"].fillna(spec.default_epoch)
    df.attrs["catalog"] = spec.name
    return df


# --------------------------------------------------------------------------
# Proper motion
# --------------------------------------------------------------------------
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
# VizieR access
# --------------------------------------------------------------------------
def _query_vizier(spec, ra, dec, radius, timeout):
    """One VizieR cone request through astroquery; normalised DataFrame."""
    import astropy.units as u
    import requests
    from astropy.coordinates import SkyCoord
    from astroquery.vizier import Vizier

    viz = Vizier(columns=spec.vizier_columns, row_limit=-1, timeout=timeout)
    centre = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    try:
        result = viz.query_region(centre, radius=radius * u.deg, catalog=spec.vizier,
                                  frame="icrs", cache=False)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise OfflineError(
            f"cannot reach VizieR for {spec.name} ({spec.vizier}) at ra={ra:.5f} dec={dec:.5f}: "
            f"{err}. Retry when the network is up, or fill the cache with ztfimg.refcat.ingest()"
        ) from err
    except requests.HTTPError as err:
        raise CatalogError(f"VizieR answered an error for {spec.vizier}: {err}") from err
    if result is None or not hasattr(result, "keys"):
        raise CatalogError(
            f"VizieR returned a response that is not a VOTable for {spec.vizier}")
    if len(result) == 0:
        return empty_catalog(spec.name)
    key = spec.vizier if spec.vizier in result.keys() else list(result.keys())[0]
    return normalize(result[key], spec.name)


def _fetch_tile(spec, ipix, nside, timeout):
    ra0, dec0, rad = _tile_circle(ipix, nside)
    df = _query_vizier(spec, ra0, dec0, rad, timeout)
    if len(df):
        df = df[_pixels_of(df["ra"], df["dec"], nside) == ipix].reset_index(drop=True)
    return df


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------
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
        Normalised columns (see module doc), one row per source within
        ``radius`` of the centre; empty (same columns) for an empty sky region.

    Raises
    ------
    CatalogError
        Unknown catalogue (lists the known names) or unusable service answer.
    InvalidParameterError
        Invalid centre, radius, nside or epoch.
    OfflineError
        Offline and a needed tile is missing or corrupt (the message names the
        tiles and how to fill the cache), or the network is unreachable.

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
    tiles = cone_tiles(ra, dec, radius, nside)

    frames, missing, corrupt = [], [], {}
    paths = {int(t): tile_path(spec.name, t, nside, cache_dir) for t in tiles}
    for t, path in paths.items():
        if not path.exists():
            missing.append(t)
            continue
        try:
            frames.append((t, _read_tile(path, spec, t, nside)))
        except FileNotFoundError:
            missing.append(t)
        except FileFormatError as err:
            corrupt[t] = str(err)

    todo = sorted(missing + list(corrupt))
    if todo and offline:
        lines = [f"  {paths[t]}" + (f"  (corrupt: {corrupt[t]})" if t in corrupt else "")
                 for t in todo[:20]]
        more = f"\n  ... and {len(todo) - 20} more" if len(todo) > 20 else ""
        raise OfflineError(
            f"offline and {len(todo)} of {len(tiles)} {spec.name} ({spec.vizier}) cache tile(s) "
            f"needed for the cone ra={ra:.5f} dec={dec:.5f} radius={radius:.4f} deg are "
            f"{'missing or corrupt' if corrupt else 'missing'} (HEALPix nested nside={nside}):\n"
            + "\n".join(lines) + more
            + "\nTo fill the cache, run the same call once with network access "
              "(offline=False and ZTFIMG_OFFLINE unset), or load a catalogue you already have "
              "with ztfimg.refcat.ingest(data, catalog).")
    for t in todo:
        if t in corrupt:
            warnings.warn(f"refetching corrupt catalogue tile: {corrupt[t]}", stacklevel=2)
        t0 = time.perf_counter()
        df = _fetch_tile(spec, t, nside, timeout)
        _write_tile(paths[t], df, {"catalog": spec.name, "vizier": spec.vizier, "nside": nside,
                                   "ipix": t, "order": "nested", "source": "vizier",
                                   "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
        log.info("fetched %s tile %d (%d rows) in %.1f s", spec.name, t, len(df),
                 time.perf_counter() - t0)
        frames.append((t, df))

    frames.sort(key=lambda x: x[0])
    parts = [f for _, f in frames if len(f)]
    if not parts:
        return empty_catalog(spec.name)
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    sel = _angsep(ra, dec, df["ra"].to_numpy(), df["dec"].to_numpy()) <= radius
    df = df[sel].reset_index(drop=True)
    if epoch is not None:
        df = propagate_positions(df, epoch)
    df.attrs["catalog"] = spec.name
    return df


def _read_any(data):
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            from .errors import MissingFileError

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
        inside = (_angsep(rra, rdec, lon.to_value(u.deg), lat.to_value(u.deg)).max(axis=1)
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


# --------------------------------------------------------------------------
# VizieR VOTable writer (simulation and tests)
# --------------------------------------------------------------------------
def _fmt_column(f, values):
    """Strings for the TD cells of one column, as VizieR writes them."""
    if f.kind == "id":
        arr = np.asarray(values)
        if arr.dtype.kind == "f":
            arr = _as_id(arr, f.name)
        return [escape(str(v)) for v in arr]
    if f.kind == "int":
        arr = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce")
        return ["" if pd.isna(v) else str(int(v)) for v in arr]
    arr = np.asarray(values, dtype=float)
    prec = f.precision if f.precision is not None else 6
    return ["" if not np.isfinite(v) else f"{v:.{prec}f}" for v in arr]


def to_vizier_votable(df, catalog, *, columns=None, query=None):
    """Write a catalogue as the VOTable VizieR returns for a query.

    Reproduces the layout of VizieR answers to astroquery (``-out.meta=huUD``,
    ``-out.form=mini``): VOTable 1.4 with the server DESCRIPTION and INFO
    elements, one RESOURCE/TABLE named after the catalogue (``II/349/ps1`` or
    ``I/355/gaiadr3``), FIELDs with the VizieR names, UCD1+ words, units,
    widths/precisions and descriptions, and TABLEDATA rows with values
    rounded to the column precision, NULL values as empty cells.  Meant for
    simulations and tests that must exercise astroquery's real parsing path.

    Parameters
    ----------
    df : pandas.DataFrame
        Catalogue with normalised (``objid``, ``ra`` ...) or VizieR
        (``objID``, ``RAJ2000`` ...) column names; missing optional columns
        are written as NULL.
    catalog : str
        ``"ps1"`` / ``"gaia"`` or an alias, or the VizieR table name
        (``"II/349/ps1"``, ``"I/355/gaiadr3"``).
    columns : list of str, optional
        VizieR column names to write (as asked with ``-out``); default all
        the columns ztfimg requests.
    query : dict, optional
        Query parameters echoed in the ``queryParameters`` INFO (e.g.
        ``{"-c": "10.0+20.0", "-c.rd": "0.5"}``).

    Returns
    -------
    bytes
        UTF-8 XML document.

    Raises
    ------
    CatalogError
        Unknown catalogue or missing id/ra/dec columns.
    """
    for spec_ in CATALOGS.values():
        if str(catalog) == spec_.vizier:
            catalog = spec_.name
    spec = _spec(catalog)
    norm = normalize(df, spec.name) if len(df.columns) else empty_catalog(spec.name)
    fields = [f for f in spec.fields if f.vizier]
    if columns is not None:
        wanted = [c for c in columns]
        fields = [f for f in fields if f.vizier in wanted]
    out = io.StringIO()
    w = out.write
    w('<?xml version="1.0" encoding="UTF-8"?>\n')
    w('<VOTABLE version="1.4" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
      '  xmlns="http://www.ivoa.net/xml/VOTable/v1.3"\n'
      '  xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 '
      'http://www.ivoa.net/xml/VOTable/v1.3">\n')
    w(' <DESCRIPTION>\n   VizieR Astronomical Server vizier.cds.unistra.fr\n'
      f'    Date: {time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())} [V7.4.5]\n'
      '   Explanations and Statistics of UCDs:\t\t\tSee LINK below\n'
      '   In case of problem, please report to:\tcds-question@unistra.fr\n'
      '   In this version, NULL integer columns are written as an empty string\n'
      '   &lt;TD&gt;&lt;/TD&gt;, explicitely possible from VOTable-1.3\n </DESCRIPTION>\n')
    w('<!-- VOTable description at http://www.ivoa.net/documents/latest/VOT.html -->\n')
    w('<INFO ID="VERSION" name="votable-version" value="1.99+ (14-Oct-2013)"/>\n')
    w('<INFO ID="Ref" name="-ref" value="VOTx0000"/>\n')
    w('<INFO ID="MaxTuples" name="-out.max" value="unlimited"/>\n')
    q = {"-oc.form": "d", "-source": spec.vizier,
         "-out": ",".join(f.vizier for f in fields), "-out.max": "unlimited"}
    q.update(query or {})
    w(f'<INFO name="queryParameters" value="{len(q)}">\n')
    for k, v in q.items():
        w(escape(f"{k}={v}" if v is not None else k) + "\n")
    w('</INFO>\n\n')
    if "-c" in q:
        rad = next((f"r{k[-1]}={v}" for k, v in q.items() if k.startswith("-c.r")), "")
        w(f'<INFO ID="Target" name="-c" value="{escape(str(q["-c"]))},{rad}">\n</INFO>\n\n')
    w(f'<RESOURCE ID="{spec.resource_id}" name="{spec.resource}">\n')
    w(f'  <DESCRIPTION>{escape(spec.title)}</DESCRIPTION>\n')
    w(f'  {spec.coosys}\n')
    w(f'  <TABLE ID="{spec.vizier.replace("/", "_")}" name="{spec.vizier}">\n')
    w(f'    <DESCRIPTION>{escape(spec.table_description)}</DESCRIPTION>\n')
    w('    <!-- Definitions of GROUPs and FIELDs -->\n')
    for f in fields:
        attrs = f'name="{f.vizier}" ucd="{f.ucd}"'
        if f.ref:
            attrs += f' ref="{f.ref}"'
        attrs += f' datatype="{f.datatype}" width="{f.width}"'
        if f.precision is not None:
            attrs += f' precision="{f.precision}"'
        if f.unit:
            attrs += f' unit="{escape(f.unit)}"'
        w(f'    <FIELD {attrs}>\n      <DESCRIPTION>{escape(f.description)}</DESCRIPTION>\n')
        if f.kind == "int":
            w('      <VALUES null="-32768" />\n')
        w('    </FIELD>\n')
    w('<DATA><TABLEDATA>\n')
    cells = [_fmt_column(f, norm[f.name].to_numpy()) for f in fields]
    for row in zip(*cells):
        w("<TR>" + "".join(f"<TD>{c}</TD>" for c in row) + "</TR>\n")
    w('</TABLEDATA></DATA>\n</TABLE>\n')
    w(f'<INFO name="matches" value="{len(norm)}">matching records</INFO>\n')
    w('</RESOURCE>\n</VOTABLE>\n')
    return out.getvalue().encode("utf-8")
