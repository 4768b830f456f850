"""Reference catalogues (Pan-STARRS1 DR1 and Gaia DR3) with an offline-capable cache.

ZTF photometry is calibrated on Pan-STARRS1 (PS1) and astrometry is best checked
against Gaia.  This package fetches both from VizieR through astroquery, gives
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

Your own catalogue goes into the same cache with :func:`ingest`, given the cone
it covers completely, ``region=(ra, dec, radius)``: tiles the region contains
become complete tiles, tiles it covers in part become *partial* tiles
(``..._<ipix>.partial.parquet``) recording the cone.  A partial tile answers a
query only when the query's part of the tile lies inside a recorded cone, so a
query inside the region (a frame's cone included) is served offline, and a
query reaching beyond it is fetched (online) or an
:class:`~ztfimg.errors.OfflineError` naming the tiles (offline) -- never an
answer with stars silently missing.

Files are written to a temporary file in the same directory and moved in place
with :func:`os.replace`, so a reader never sees a partial tile and two
processes writing the same tile leave one complete copy.  Parquet page
checksums are written and verified; a tile that cannot be read, fails its
checksum, or whose metadata does not match its name is *corrupt*: it is
refetched when online and reported (:class:`~ztfimg.errors.OfflineError`)
when offline.

Network is used only by :func:`get_catalog` for missing tiles, never when
offline (``offline=True`` or environment variable ``ZTFIMG_OFFLINE=1``).

Environment variables
---------------------
``ZTFIMG_CACHE``
    Cache root; catalogues go to ``$ZTFIMG_CACHE/catalogs``.  Default
    ``~/.cache/ztfimg``.
``ZTFIMG_OFFLINE``
    ``1``/``true``/``yes``/``on`` forbids network access.

Modules
-------
:mod:`~ztfimg.refcat.specs`
    The catalogue descriptions (:data:`CATALOGS`), the aliases (:data:`ALIASES`)
    and :func:`resolve_catalog`.
:mod:`~ztfimg.refcat.columns`
    Column normalisation: :func:`normalize`, :func:`empty_catalog`.
:mod:`~ztfimg.refcat.tiles`
    HEALPix tiles and the tile cache: :func:`cone_tiles`, :func:`tile_path`,
    :func:`partial_path`, :func:`get_cache_dir`, :class:`CacheError`, atomic tile
    writes, corruption checks.
:mod:`~ztfimg.refcat.coverage`
    What a tile covers: tiles inside a cone, whether a partial tile answers a
    query (exact, conservative sky geometry).
:mod:`~ztfimg.refcat.ingestion`
    :func:`ingest`: your own catalogue into the cache.
:mod:`~ztfimg.refcat.vizier`
    The VizieR request through astroquery (the only network code).
:mod:`~ztfimg.refcat.propermotion`
    :func:`propagate_positions`.
:mod:`~ztfimg.refcat.access`
    :func:`get_catalog` and :func:`is_offline`.

Every public name is importable from ``ztfimg.refcat`` itself.
"""

from .access import get_catalog, is_offline
from .columns import empty_catalog, normalize
from .propermotion import propagate_positions
from .specs import ALIASES, CATALOGS, resolve_catalog
from .ingestion import ingest
from .tiles import DEFAULT_NSIDE, CacheError, cone_tiles, get_cache_dir, partial_path, tile_path

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
    "cone_tiles",
    "tile_path",
    "partial_path",
    "get_cache_dir",
    "CacheError",
    "is_offline",
]
