"""Many products from the archive into a ``$ZTFDATA`` mirror, in parallel, never twice.

:func:`download` takes frame names (or the table of :func:`~ztfimg.archive.search`), turns
each frame into the product files asked for (``suffixes``, siblings built with
:func:`ztfimg.filenames.sibling`), and fetches the missing ones with a bounded pool of
threads (downloads wait on the network, not on Python), each file through
:func:`~ztfimg.archive.transfer.fetch` (locked, resumable, retried, checked, atomic). The
files land at :func:`ztfimg.filenames.local_path` under the root: the archive's own layout
(``sci/<YYYY>/<MMDD>/<ffffff>/<name>``, ``ref/<FFF>/field<FFFFFF>/...``).

Files already present and complete cost no request at all, so offline (``ZTFIMG_OFFLINE``)
works for everything already on disk and names exactly what is missing otherwise.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .. import filenames as _filenames
from ..errors import FileNameError, InvalidParameterError, OfflineError, ZTFImgError
from .config import _count, _seconds, _timeout, data_root, irsa_url, is_offline, product_url
from .errors import DownloadError
from .query import frame_filenames
from .transfer import fetch, is_complete

__all__ = ["download", "DEFAULT_SUFFIXES", "REFERENCE_SUFFIXES", "product_names",
           "missing_message"]

log = logging.getLogger(__name__)

#: Products of a science frame fetched by default: the image and its bit mask.
DEFAULT_SUFFIXES = ("sciimg.fits", "mskimg.fits")
#: Products of a reference image fetched by default.
REFERENCE_SUFFIXES = ("refimg.fits",)
_COLUMNS = ["frame", "suffix", "name", "path", "url", "status", "size", "error"]


def _frame_names(names_or_table):
    """The frame names of the input: a name, a sequence of names, or a search table."""
    if isinstance(names_or_table, (str, bytes, os.PathLike)):
        return [names_or_table]
    table = names_or_table
    if not isinstance(table, pd.DataFrame) and hasattr(table, "to_pandas") and hasattr(
            table, "colnames"):
        table = table.to_pandas()         # an astropy Table
    if isinstance(table, pd.DataFrame):
        if "filename" in table.columns:
            return list(table["filename"])
        kind = "sci" if "filefracday" in table.columns else "ref"
        return frame_filenames(table, kind)
    if isinstance(table, pd.Series) or (np.iterable(table) and not isinstance(table, dict)):
        return list(table)
    raise InvalidParameterError(
        f"names_or_table must be a ZTF file name, a list of names or a table from search(); "
        f"got {type(names_or_table).__name__}")


def product_names(names_or_table, suffixes=None) -> pd.DataFrame:
    """The product files of some frames: one row per (frame, suffix).

    Parameters
    ----------
    names_or_table : str, sequence of str or pandas.DataFrame
        ZTF names (any product of the frame, e.g. its ``sciimg.fits``; a directory part is
        ignored) or a table from :func:`~ztfimg.archive.search` (its ``filename`` column,
        else names built from IRSA's columns).
    suffixes : str or sequence of str, optional
        Products wanted per frame (``'sciimg.fits'``, ``'mskimg.fits'``, ``'psfcat.fits'``,
        ``'sciimgdao.psf'``, ``'scimrefdiffimg.fits.fz'``, ``'diffimgpsf.fits'``,
        ``'refimg.fits'`` ...; ``'mskimg'`` means ``'mskimg.fits'``). A ``ref*`` suffix
        of a science frame names the product of its reference image
        (:func:`ztfimg.filenames.reference_filename`), so ``('sciimg.fits',
        'refimg.fits')`` gives a frame and its reference. Default
        :data:`DEFAULT_SUFFIXES` for science frames, :data:`REFERENCE_SUFFIXES` for
        reference images.

    Returns
    -------
    pandas.DataFrame
        Columns ``frame`` (position of the frame in the input), ``suffix`` and ``name``
        (the product's file name), frames in input order, suffixes in the order given.

    Raises
    ------
    FileNameError
        A name is not a ZTF science or reference product name, or a suffix is invalid.
    InvalidParameterError
        Not a name, list or table; an empty ``suffixes``.

    Examples
    --------
    >>> product_names("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")["name"].tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    ['ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits',
     'ztf_20200924431759_000655_zr_c13_o_q3_mskimg.fits']
    """
    if isinstance(suffixes, str):
        suffixes = (suffixes,)
    elif suffixes is not None:
        suffixes = tuple(suffixes)
        if not suffixes:
            raise InvalidParameterError("suffixes is empty: give at least one product suffix "
                                        "such as 'sciimg.fits', or None for the defaults")
    rows = []
    for i, value in enumerate(_frame_names(names_or_table)):
        try:
            rec = _filenames.parse(value)
        except FileNameError as exc:
            raise FileNameError(f"frame {i}: {exc}") from None
        wanted = suffixes or (REFERENCE_SUFFIXES if rec.kind == "reference" else DEFAULT_SUFFIXES)
        for suffix in wanted:
            if rec.kind == "science" and isinstance(suffix, str) and suffix.startswith("ref"):
                name = _filenames.reference_filename(rec.filename, suffix)   # its reference
            else:
                name = _filenames.sibling(rec.filename, suffix)
            rows.append((i, _filenames.parse(name).suffix, name))
    return pd.DataFrame(rows, columns=["frame", "suffix", "name"])


def missing_message(names, root, what="are not in the local archive") -> str:
    """The text listing missing products and how to get them (for OfflineError and co).

    Parameters
    ----------
    names : sequence of str
        Missing product names.
    root : str
        The mirror root they were looked for in.
    what : str, optional
        What happened to them (the message's verb phrase).

    Returns
    -------
    str
    """
    names = list(names)
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    example = _filenames.local_path(names[0], root) if names else root
    return (f"{len(names)} file(s) {what} {root!r}: {shown}. To get them: unset ZTFIMG_OFFLINE "
            f"(or pass offline=False) and run ztfimg.archive.download(names, root={root!r}) "
            f"with network access to IRSA; or copy them in the archive layout (e.g. "
            f"{example!r})")


class _Progress:
    """Thread-safe byte counter on a tqdm bar whose total grows as sizes become known."""

    def __init__(self, enabled, nfiles):
        from tqdm.auto import tqdm
        self._lock = threading.Lock()
        self.bar = tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024,
                        desc=f"ztfimg: {nfiles} file(s)", disable=not enabled, leave=False)

    def add_total(self, n):
        with self._lock:
            self.bar.total = (self.bar.total or 0) + n
            self.bar.refresh()

    def update(self, n):
        with self._lock:
            self.bar.update(n)

    def close(self):
        self.bar.close()


def _session(workers):
    import requests
    from requests.adapters import HTTPAdapter
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=workers, pool_maxsize=workers)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"ztfimg {session.headers.get('User-Agent', '')}".strip()
    return session


def _raise(failures, n):
    """Raise one error for the failed files: the class of the first failure."""
    first = failures[0][1]
    if len(failures) == 1:
        raise first
    lines = "; ".join(f"{name}: {exc}" for name, exc in failures[:5])
    more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
    cls = type(first) if all(type(e) is type(first) for _, e in failures) else DownloadError
    raise cls(f"{len(failures)} of {n} file(s) could not be downloaded: {lines}{more}") from first


def download(names_or_table, suffixes=None, *, root=None, workers=4, progress=True,
             timeout=(10.0, 60.0), retries=3, backoff=1.0, overwrite=False, offline=None,
             base_url=None, session=None, auth=None, lock_timeout=600.0, errors="raise"):
    """Download ZTF products into the archive layout under ``root``, never twice.

    Parameters
    ----------
    names_or_table : str, sequence of str or pandas.DataFrame
        Frames: ZTF names (any product of each frame) or a table from
        :func:`~ztfimg.archive.search`.
    suffixes : str or sequence of str, optional
        Products per frame (see :func:`product_names`). Default ``('sciimg.fits',
        'mskimg.fits')`` for science frames, ``('refimg.fits',)`` for references.
    root : str or path-like, optional
        Root of the local mirror. Default ``$ZTFDATA``.
    workers : int, default 4
        Parallel connections (threads), 1-32.
    progress : bool, default True
        Show a tqdm progress bar (bytes).
    timeout : float or (float, float), default (10, 60)
        Connect and read timeouts, seconds (a server silent for longer is abandoned and
        the transfer retried).
    retries : int, default 3
        Further attempts per file after a timeout, a refused or dropped connection, or an
        HTTP 5xx/408/429.
    backoff : float, default 1.0
        First pause between attempts, seconds; doubled at each attempt (at most 60 s; at
        least the server's ``Retry-After``).
    overwrite : bool, default False
        Download again files that are present and complete.
    offline : bool, optional
        Forbid the network; default ``$ZTFIMG_OFFLINE``. Present files are still found.
    base_url : str, optional
        IBE base URL; default ``$ZTFIMG_IRSA_URL``, else IRSA.
    session : requests.Session, optional
        Session to use (e.g. logged in to IRSA for non-public data); default a new one.
    auth : tuple or requests.auth.AuthBase, optional
        HTTP authentication passed to requests.
    lock_timeout : float, default 600
        Seconds to wait for another process downloading the same file.
    errors : {'raise', 'report'}, default 'raise'
        ``'raise'``: after every file was tried, raise for the failed ones (the others are
        kept). ``'report'``: return them with ``status='failed'`` and the message in
        ``error``.

    Returns
    -------
    pandas.DataFrame
        One row per (frame, suffix), in input order: ``frame`` (position in the input),
        ``suffix``, ``name``, ``path`` (local), ``url``, ``status`` (``'present'``: was
        already complete, nothing transferred; ``'downloaded'``; ``'resumed'``: a partial
        file was completed with a Range request; ``'failed'``), ``size`` (bytes on disk,
        -1 when failed) and ``error`` (None, or the message).

    Raises
    ------
    OfflineError
        Offline and some files are missing: the message lists them and how to get them;
        nothing is requested.
    ProductNotFoundError
        A product does not exist in the archive (HTTP 404).
    AuthenticationRequiredError
        A product is not public (HTTP 401/403); the message says how to log in.
    DownloadError
        A file still fails after its retries (the partial file is kept for the next call),
        or the server sent a file that is not complete FITS.
    FileNameError, InvalidParameterError
        Bad names or arguments, or no root (pass ``root=`` or set ``$ZTFDATA``).
    CacheError
        The mirror directory cannot be written.

    Examples
    --------
    >>> from ztfimg import archive
    >>> frames = archive.search(96.9173, 77.7049, filters="zr")          # doctest: +SKIP
    >>> files = archive.download(frames, root="/data/ztf")               # doctest: +SKIP
    >>> files[["name", "status", "size"]]                                # doctest: +SKIP
    """
    workers = _count(workers, "workers", 1, 32)
    timeout = _timeout(timeout)
    retries = _count(retries, "retries")
    backoff = _seconds(backoff, "backoff", allow_zero=True)
    lock_timeout = _seconds(lock_timeout, "lock_timeout")
    if errors not in ("raise", "report"):
        raise InvalidParameterError(f"errors must be 'raise' or 'report'; got {errors!r}")
    for flag, label in ((progress, "progress"), (overwrite, "overwrite")):
        if not isinstance(flag, (bool, np.bool_)):
            raise InvalidParameterError(f"{label} must be True or False; got {flag!r}")
    root = data_root(root)
    table = product_names(names_or_table, suffixes)
    base = irsa_url(base_url)
    table["path"] = [_filenames.local_path(n, root) for n in table["name"]]
    table["url"] = [product_url(n, base) for n in table["name"]]

    unique = dict(zip(table["name"], zip(table["path"], table["url"])))
    todo = {n: pu for n, pu in unique.items() if overwrite or not is_complete(pu[0])}
    results = {n: ("present", None) for n in unique if n not in todo}
    if todo and is_offline(offline):
        raise OfflineError("ztfimg is offline (ZTFIMG_OFFLINE is set or offline=True) and "
                           + missing_message(list(todo), root))
    if todo:
        own = session is None
        session = _session(workers) if own else session
        bar = _Progress(progress, len(todo))

        def job(name):
            path, url = todo[name]
            return fetch(url, path, session=session, name=name, timeout=timeout,
                         retries=retries, backoff=backoff, overwrite=overwrite, auth=auth,
                         lock_timeout=lock_timeout, progress=bar)

        try:
            with ThreadPoolExecutor(max_workers=min(workers, len(todo)),
                                    thread_name_prefix="ztfimg-download") as pool:
                futures = {name: pool.submit(job, name) for name in todo}
                for name, future in futures.items():
                    try:
                        results[name] = (future.result(), None)
                    except ZTFImgError as exc:
                        results[name] = ("failed", exc)
        finally:
            bar.close()
            if own:
                session.close()
    table["status"] = [results[n][0] for n in table["name"]]
    table["size"] = [os.path.getsize(p) if s != "failed" else -1
                     for p, s in zip(table["path"], table["status"])]
    table["error"] = [None if results[n][1] is None else str(results[n][1])
                      for n in table["name"]]
    failures = [(n, results[n][1]) for n in unique if results[n][1] is not None]
    for status in ("downloaded", "resumed"):
        count = sum(1 for n in unique if results[n][0] == status)
        if count:
            log.info("%d file(s) %s into %s", count, status, root)
    if failures and errors == "raise":
        _raise(failures, len(unique))
    return table[_COLUMNS]
