"""Which frames cover a sky position: IRSA's ZTF image metadata search.

:func:`search` asks IRSA's image server (IBE, ``<base>search/ztf/products/<sci|ref>``)
through astroquery's :class:`~astroquery.ipac.irsa.ibe.IbeClass` (astroquery builds the
request and parses the IPAC-table answer; its response cache is switched off, so a search
always sees the archive as it is) and returns a :class:`pandas.DataFrame` of frames: the
columns IRSA gives plus ``filename``, the ZTF name ztfimg builds from them with
:mod:`ztfimg.filenames` (the one rule for names). :func:`frame_filenames` builds the same
names from any such table.

The search needs the network: offline (``ZTFIMG_OFFLINE``) it is an
:class:`~ztfimg.errors.OfflineError` before any connection.
"""

from __future__ import annotations

import datetime as _dt
import logging
import numbers
import time

import numpy as np
import pandas as pd

from .. import filenames as _filenames
from ..errors import InvalidParameterError, OfflineError
from ..filters import get_filter
from ..validation import as_sky
from .config import _count, _seconds, _timeout, irsa_url, is_offline
from .errors import AuthenticationRequiredError, DownloadError

__all__ = ["search", "frame_filenames", "KINDS"]

log = logging.getLogger(__name__)

#: Search tables and their spellings: ``'sci'`` science frames, ``'ref'`` reference images.
KINDS = {"sci": "sci", "science": "sci", "ref": "ref", "reference": "ref"}
_INTERSECT = ("OVERLAPS", "COVERS", "CENTER", "ENCLOSED")
_SORT = {"sci": ["obsjd", "field", "ccdid", "qid"], "ref": ["field", "filtercode", "ccdid", "qid"]}


def _kind(kind):
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise InvalidParameterError(f"kind must be 'sci' (science frames) or 'ref' (reference "
                                    f"images); got {kind!r}")
    return KINDS[kind.lower()]


def _int_list(value, name, lo, hi):
    """An int or a sequence of ints in [lo, hi] as a list, or None."""
    if value is None:
        return None
    values = [value] if np.ndim(value) == 0 else list(np.asarray(value).ravel())
    out = []
    for v in values:
        ok = isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
        if not ok and isinstance(v, numbers.Real) and float(v).is_integer():
            ok, v = True, int(v)
        if not ok or not lo <= int(v) <= hi:
            raise InvalidParameterError(f"{name} must be an integer {lo}-{hi} or a list of "
                                        f"them; got {v!r}")
        out.append(int(v))
    if not out:
        raise InvalidParameterError(f"{name} is an empty list: give at least one value, or None")
    return sorted(set(out))


def _filter_codes(filters):
    if filters is None:
        return None
    values = [filters] if isinstance(filters, (str, int, np.integer)) else list(filters)
    if not values:
        raise InvalidParameterError("filters is an empty list: give 'zg', 'zr', 'zi' or None")
    return sorted({get_filter(v).code for v in values})


def _as_jd(value, name):
    """A time as a Julian date: astropy Time, JD number, ISO string, datetime, datetime64."""
    if value is None:
        return None
    from astropy.time import Time
    if isinstance(value, Time):
        return float(value.utc.jd)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        jd = float(value)
        if not np.isfinite(jd) or jd < 2400000.5:
            raise InvalidParameterError(
                f"{name}={value!r}: a number is read as a Julian date (ZTF: 2458000-2462000); "
                f"for an MJD pass astropy.time.Time({value!r}, format='mjd')")
        return jd
    if isinstance(value, (str, _dt.date, np.datetime64)):
        try:
            return float(Time(value, scale="utc").jd)
        except (ValueError, TypeError) as exc:
            raise InvalidParameterError(f"{name}={value!r} is not a time ({exc}); pass an "
                                        "ISO date '2021-03-01', a JD or an astropy Time") from None
    raise InvalidParameterError(f"{name} must be a Time, a JD, an ISO date string or a "
                                f"datetime; got {type(value).__name__} {value!r:.40}")


def _size_deg(size):
    """(width, height) in degrees, or None for a point search."""
    if size is None:
        return None
    import astropy.units as u
    if isinstance(size, u.Quantity):
        values = [size] if size.isscalar else list(size)
    elif isinstance(size, (list, tuple)):
        values = list(size)
    else:
        values = [size]
    if len(values) not in (1, 2):
        raise InvalidParameterError(f"size must be one angle or (width, height); got {size!r}")
    out = []
    for v in values:
        try:
            deg = (v.to_value(u.deg) if isinstance(v, u.Quantity) else float(v))
        except (TypeError, ValueError, u.UnitsError):
            raise InvalidParameterError(f"size must be degrees or angle Quantities; "
                                        f"got {v!r}") from None
        if not (np.isfinite(deg) and 0 <= deg <= 180):
            raise InvalidParameterError(f"size must be between 0 and 180 degrees; got {v!r}")
        out.append(float(deg))
    return (out[0], out[0]) if len(out) == 1 else tuple(out)


def _where(kind, filters, start, end, fields, ccdid, qid, where):
    terms = []
    if filters:
        terms.append("filtercode IN (" + ",".join(f"'{c}'" for c in filters) + ")")
    if start is not None:
        terms.append(f"obsjd >= {start!r}")
    if end is not None:
        terms.append(f"obsjd <= {end!r}")
    for col, values in (("field", fields), ("ccdid", ccdid), ("qid", qid)):
        if values:
            terms.append(f"{col} IN (" + ",".join(str(v) for v in values) + ")")
    if where is not None:
        if not isinstance(where, str) or not where.strip():
            raise InvalidParameterError(f"where must be a non-empty SQL condition string, "
                                        f"e.g. \"seeing < 2.5\"; got {where!r}")
        terms.append(f"({where.strip()})")
    return " AND ".join(terms) or None


def frame_filenames(table, kind="sci", suffix=None) -> list:
    """ZTF file names of the frames of a search table (one per row, in order).

    Parameters
    ----------
    table : pandas.DataFrame or astropy.table.Table
        Rows with IRSA's columns: for science frames ``filefracday``, ``field``,
        ``filtercode``, ``ccdid``, ``qid`` and optionally ``imgtypecode`` (default ``'o'``);
        for reference images ``field``, ``filtercode``, ``ccdid``, ``qid``.
    kind : {'sci', 'ref'}, default 'sci'
        Which names to build.
    suffix : str, optional
        Product suffix; default ``'sciimg.fits'`` (science) or ``'refimg.fits'``.

    Returns
    -------
    list of str

    Raises
    ------
    InvalidParameterError
        A needed column is missing, or unknown ``kind``.
    FileNameError
        A row holds values no ZTF name can have.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"filefracday": [20200924431759], "field": [655],
    ...                      "filtercode": ["zr"], "ccdid": [13], "qid": [3]})
    >>> frame_filenames(rows)
    ['ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits']
    """
    kind = _kind(kind)
    if not isinstance(table, pd.DataFrame):
        to_pandas = getattr(table, "to_pandas", None)
        if to_pandas is None:
            raise InvalidParameterError(f"table must be a DataFrame (from search()) or an "
                                        f"astropy Table; got {type(table).__name__}")
        table = to_pandas()
    need = ["field", "filtercode", "ccdid", "qid"] + (["filefracday"] if kind == "sci" else [])
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InvalidParameterError(f"the table lacks the column(s) {missing} needed for "
                                    f"{'science' if kind == 'sci' else 'reference'} names; "
                                    "pass a table from search() (or kind='ref')")
    suffix = suffix or ("sciimg.fits" if kind == "sci" else "refimg.fits")
    names = []
    imgtypes = table["imgtypecode"] if "imgtypecode" in table.columns else None
    for i, row in enumerate(table[need].itertuples(index=False)):
        if kind == "sci":
            ffd = row.filefracday
            ffd = f"{int(ffd):014d}" if isinstance(ffd, numbers.Real) and np.isfinite(ffd) else ffd
            imgtype = "o" if imgtypes is None else str(imgtypes.iloc[i])
            names.append(_filenames.build_science_filename(
                ffd, row.field, row.filtercode, row.ccdid, row.qid, suffix, imgtype))
        else:
            names.append(_filenames.build_reference_filename(
                row.field, row.filtercode, row.ccdid, row.qid, suffix))
    return names


def _query(base, coord, kind, where, size, intersect, timeout):
    """One IBE request through astroquery; returns an astropy Table."""
    from astroquery import cache_conf
    from astroquery.ipac.irsa.ibe import IbeClass

    ibe = IbeClass()
    ibe.URL, ibe.TIMEOUT = base, timeout
    # astroquery reads the sizes with Angle(...).value and tests their truth: strings in deg
    extra = {} if size is None else {"width": f"{size[0]!r} deg", "height": f"{size[1]!r} deg"}
    try:
        with cache_conf.set_temp("cache_active", False):
            return ibe.query_region(coordinate=coord, mission="ztf", dataset="products",
                                    table=kind, where=where, intersect=intersect, **extra)
    finally:
        ibe._session.close()


def search(ra, dec=None, *, size=None, filters=None, start=None, end=None, fields=None,
           ccdid=None, qid=None, kind="sci", where=None, intersect="OVERLAPS",
           base_url=None, timeout=60.0, retries=2, backoff=1.0, offline=None):
    """Frames of the ZTF archive that cover a sky position (IRSA metadata search).

    Parameters
    ----------
    ra : float, astropy.units.Quantity or astropy.coordinates.SkyCoord
        Right ascension, degrees (ICRS), or a SkyCoord (then ``dec`` is None).
    dec : float or astropy.units.Quantity, optional
        Declination, degrees.
    size : float, Quantity or (width, height), optional
        Search box, degrees; default None: the frames containing the point.
    filters : str or list of str, optional
        Filters to keep, any spelling (``'zr'``, ``'r'``, ``'ZTF_r'``, 2 ...). Default all.
    start, end : astropy.time.Time, float, str or datetime, optional
        Keep exposures with ``start <= obsjd <= end`` (a number is a JD; a string an ISO
        date, UTC). Science frames only.
    fields : int or list of int, optional
        ZTF field numbers to keep.
    ccdid : int or list of int, optional
        CCDs (1-16) to keep.
    qid : int or list of int, optional
        Quadrants (1-4) to keep.
    kind : {'sci', 'ref'}, default 'sci'
        Science frames or reference images (``'science'``/``'reference'`` also accepted).
    where : str, optional
        An extra SQL condition on IRSA's columns, ANDed with the others, e.g.
        ``"seeing < 2.5 AND infobits = 0"``.
    intersect : {'OVERLAPS', 'COVERS', 'CENTER', 'ENCLOSED'}, default 'OVERLAPS'
        How a frame must meet the search box (IBE's ``INTERSECT``).
    base_url : str, optional
        IBE base URL; default ``$ZTFIMG_IRSA_URL``, else IRSA.
    timeout : float, default 60
        Seconds to wait for IRSA's answer.
    retries : int, default 2
        Further attempts after a timeout, a connection error or an HTTP 5xx.
    backoff : float, default 1.0
        First pause between attempts, seconds (doubles each time).
    offline : bool, optional
        Forbid the network; default ``$ZTFIMG_OFFLINE``.

    Returns
    -------
    pandas.DataFrame
        One row per frame, sorted by ``obsjd`` (science) or field/filter/CCD/quadrant
        (references), index 0..n-1, with IRSA's columns (science: ``field``, ``ccdid``,
        ``qid``, ``rcid``, ``fid``, ``filtercode``, ``pid``, ``expid``, ``imgtypecode``,
        ``obsdate``, ``obsjd``, ``exptime``, ``filefracday``, ``seeing``, ``airmass``,
        ``maglimit``, ``infobits``, ``ra``, ``dec`` and the corners ``ra1``..``dec4`` in
        degrees, ``ipac_pub_date`` ...) and ``filename``: the ``*_sciimg.fits`` (or
        ``*_refimg.fits``) name. No frame: an empty table with the same columns.

    Raises
    ------
    InvalidParameterError
        A bad argument, or IRSA rejects the query (HTTP 400: the message quotes it).
    OfflineError
        Offline: no request is sent.
    AuthenticationRequiredError
        IRSA answers 401/403.
    DownloadError
        IRSA cannot be reached or keeps failing after the retries, or its answer is not an
        IPAC table.

    Examples
    --------
    >>> frames = search(96.9173, 77.7049, filters="zr", start="2021-01-01")  # doctest: +SKIP
    >>> frames[["filename", "obsjd", "seeing", "maglimit"]]                   # doctest: +SKIP
    >>> refs = search(96.9173, 77.7049, kind="ref")                          # doctest: +SKIP
    """
    ras, decs, scalar = as_sky(ra, dec)
    if not scalar:
        raise InvalidParameterError(f"search takes one position; got {len(ras)} (loop over "
                                    "them, or give a box with size=)")
    if not (np.isfinite(ras[0]) and np.isfinite(decs[0]) and -90 <= decs[0] <= 90):
        raise InvalidParameterError(f"invalid position ra={ras[0]}, dec={decs[0]} (degrees)")
    kind = _kind(kind)
    if kind == "ref" and (start is not None or end is not None):
        raise InvalidParameterError("start/end select exposures by obsjd: reference images "
                                    "have none; use kind='sci' or drop start/end")
    if not isinstance(intersect, str) or intersect.upper() not in _INTERSECT:
        raise InvalidParameterError(f"intersect must be one of {_INTERSECT}; got {intersect!r}")
    clause = _where(kind, _filter_codes(filters), _as_jd(start, "start"), _as_jd(end, "end"),
                    _int_list(fields, "fields", 0, 999999), _int_list(ccdid, "ccdid", 1, 16),
                    _int_list(qid, "qid", 1, 4), where)
    box = _size_deg(size)
    base = irsa_url(base_url)
    timeout, retries = _timeout(timeout), _count(retries, "retries")
    backoff = _seconds(backoff, "backoff", allow_zero=True)
    if is_offline(offline):
        raise OfflineError(
            f"the ZTF archive search (IRSA, {base}) needs the network and ztfimg is offline "
            "(ZTFIMG_OFFLINE is set or offline=True): unset ZTFIMG_OFFLINE (or pass "
            "offline=False) to search, or use frames already on disk, e.g. "
            "ImageCollection.from_directory(os.environ['ZTFDATA'])")
    from astropy.coordinates import SkyCoord
    import astropy.units as u
    import requests

    coord = SkyCoord(ras[0] * u.deg, decs[0] * u.deg, frame="icrs")
    for attempt in range(retries + 1):
        try:
            table = _query(base, coord, kind, clause, box, intersect.upper(), timeout)
            break
        except requests.HTTPError as exc:
            resp = exc.response
            code = getattr(resp, "status_code", None)
            text = (getattr(resp, "text", "") or "").strip()[:300]
            if code in (401, 403):
                raise AuthenticationRequiredError(
                    f"IRSA refuses the search without credentials (HTTP {code}): {text}") from None
            if code is not None and code < 500 and code not in (408, 429):
                raise InvalidParameterError(
                    f"IRSA rejected the search (HTTP {code}: {text!r}); the query was "
                    f"POS={coord.ra.deg},{coord.dec.deg} where={clause!r}; check where= "
                    "and the column names (IRSA's ZTF table documentation)") from None
            failure = f"HTTP {code}: {text[:100]}"
        except (requests.Timeout, requests.ConnectionError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
        except ValueError as exc:       # astropy could not read the answer as IPAC
            raise DownloadError(f"IRSA's search answer is not an IPAC table ({exc}); "
                                f"is {base} an IBE server?") from None
        if attempt == retries:
            raise DownloadError(f"the ZTF archive search at {base} failed after "
                                f"{retries + 1} attempt(s): {failure}; check the network "
                                "or raise timeout= / retries=")
        time.sleep(min(60.0, backoff * 2 ** attempt))
    frames = table.to_pandas()
    if len(frames):
        frames = frames.sort_values([c for c in _SORT[kind] if c in frames.columns],
                                    kind="stable").reset_index(drop=True)
    frames["filename"] = frame_filenames(frames, kind) if len(frames) else pd.Series(
        [], dtype=object)
    log.info("search at (%.5f, %.5f): %d %s frame(s)", ras[0], decs[0], len(frames), kind)
    return frames
