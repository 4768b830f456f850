"""The network side: VizieR cone requests through astroquery.

This is the only module of :mod:`ztfimg.refcat` that talks to a server, and it
does so only when :func:`ztfimg.refcat.get_catalog` asks for a tile that is not
in the cache.  astroquery (and requests) are imported inside the functions, never
when ztfimg is imported.

:func:`_fetch_tile` fetches one HEALPix tile: **one VizieR cone request per
tile**, centred on the tile with the radius of its circumscribed circle (padded),
keeping the rows whose HEALPix index is the tile.  :func:`_query_vizier` sends the
request (the columns of the catalogue spec, no row limit, no astroquery cache)
and normalises the answer; an unreachable service is an
:class:`~ztfimg.errors.OfflineError`, an error answer or a response that is not
a VOTable a :class:`~ztfimg.errors.CatalogError`.
"""

from __future__ import annotations

from ..errors import CatalogError, OfflineError
from .columns import empty_catalog, normalize
from .tiles import _pixels_of, _tile_circle

__all__ = []


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
            f"{err}. Retry when the network is up, or fill the cache with "
            "ztfimg.refcat.ingest(data, catalog, region=(ra, dec, radius))"
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
    """Every catalogue row of one tile: one cone request on its circumscribed circle."""
    ra0, dec0, rad = _tile_circle(ipix, nside)
    df = _query_vizier(spec, ra0, dec0, rad, timeout)
    if len(df):
        df = df[_pixels_of(df["ra"], df["dec"], nside) == ipix].reset_index(drop=True)
    return df
