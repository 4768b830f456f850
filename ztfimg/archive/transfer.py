"""One file from the archive to its place in the mirror: locked, resumable, checked, atomic.

:func:`fetch` is the whole life of one product file:

1. a file already at the target and complete (:func:`is_complete`) is kept: no request;
2. otherwise an exclusive lock (:class:`~ztfimg.archive.lock.FileLock`) is taken beside
   the target; a process that had to wait finds the file complete and stops there;
3. the bytes stream (``requests``, ``stream=True``) into a hidden partial file
   ``.<name>.part`` in the target's directory; a partial file left by an earlier attempt is
   continued with an HTTP ``Range`` request (``206``), or restarted when the server ignores
   the range (``200``) or refuses it (``416``);
4. timeouts, refused or dropped connections and HTTP 5xx/408/429 are retried with
   exponential back-off (``backoff * 2**attempt`` seconds, at least the server's
   ``Retry-After``, at most 60 s); 404 is :class:`ProductNotFoundError`, 401/403
   :class:`AuthenticationRequiredError`, at once;
5. the size must equal what the server announced (``Content-Length`` /
   ``Content-Range``) and a FITS product must be complete FITS (:func:`is_complete`);
   then the partial file is flushed to disk and renamed over the target
   (:func:`os.replace`, atomic on one file system).

So a target path only ever holds a complete file, and an interrupted download (an error,
``Ctrl-C``, a killed process) leaves only the hidden ``.part`` file, which the next call
resumes.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import time
import warnings

import requests
import urllib3

from ..errors import CacheError, ZTFImgError
from .errors import AuthenticationRequiredError, DownloadError, ProductNotFoundError
from .lock import FileLock, hidden_path

__all__ = ["fetch", "is_complete", "part_path", "AUTH_HELP"]

log = logging.getLogger(__name__)

_FITS_BLOCK = 2880
_FITS_SUFFIXES = (".fits", ".fits.fz", ".fit", ".fts")
_CHUNK = 1 << 18
_MAX_SLEEP = 60.0
_RETRY_STATUS = (408, 429)
#: What reading a body raises when the connection drops or stalls (requests wraps some).
_STREAM_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError,
                  http.client.HTTPException, ConnectionError, TimeoutError)

#: How to get products that are not public (in the messages of AuthenticationRequiredError).
AUTH_HELP = (
    "ZTF products still in their proprietary period need an IRSA account with ZTF access. "
    "Log in with a requests.Session and pass it to the download, e.g. (as ztfquery does): "
    "s = requests.Session(); s.get('https://irsa.ipac.caltech.edu/account/signon/login.do', "
    "params={'josso_cmd': 'login', 'josso_username': USER, 'josso_password': PASSWORD}); "
    "download(..., session=s). Public products need no login: if this one should be public, "
    "check its ipac_pub_date in the search table")


class _Retryable(Exception):
    """A failure worth another attempt; ``retry_after`` is the server's hint, seconds."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


def part_path(target: str) -> str:
    """Path of the partial file of a download target: ``<dir>/.<name>.part``.

    The leading dot hides it and keeps it from matching ZTF name patterns, so a partial
    download never looks like a product.

    Parameters
    ----------
    target : str
        The final path of the file.

    Returns
    -------
    str
    """
    return hidden_path(target, "part")


def _is_fits(path):
    return os.path.basename(path).lower().endswith(_FITS_SUFFIXES)


def _fits_problem(path, size):
    """Why ``path`` (``size`` bytes) is not a complete FITS file, or None when it is."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head != b"SIMPLE  =":
        return f"it does not start with a FITS primary header (starts with {head!r})"
    if size % _FITS_BLOCK:
        return f"its length, {size} bytes, is not a multiple of {_FITS_BLOCK}"
    from astropy.io import fits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                info = hdul.fileinfo(len(hdul) - 1)
        except Exception as exc:  # astropy raises OSError, ValueError, VerifyError ...
            return f"its headers do not parse ({type(exc).__name__}: {exc})"
    end = info["datLoc"] + info["datSpan"]
    if end != size:
        return f"its headers announce {end} bytes but it has {size}"
    return None


def is_complete(path) -> bool:
    """Whether a local file looks complete (without asking the server).

    A FITS product (``.fits``, ``.fits.fz``) must be a whole number of 2880-byte blocks,
    start with a primary header that parses, and be exactly as long as its headers say
    (the data of every HDU present). Other products (``.psf`` text files ...) must be
    non-empty.  Files written by :func:`fetch` also passed the size check against the
    server's ``Content-Length`` before they got their name.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    bool
        False for a missing, empty or truncated file.

    Examples
    --------
    >>> is_complete("/nonexistent/ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
    False
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except OSError:
        return False
    if size == 0:
        return False
    return not _is_fits(path) or _fits_problem(path, size) is None


def _content_range(value):
    """(start, total or None) from ``bytes start-end/total``, or None when unparsable."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if not m:
        return None
    return int(m[1]), (None if m[3] == "*" else int(m[3]))


def _retry_after(resp):
    try:
        return float(resp.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _chunks(resp):
    """The body as it arrives (``read1``: what one socket read gives, so a dropped connection
    loses nothing already received); ``iter_content`` where urllib3 lacks ``read1``."""
    read1 = getattr(resp.raw, "read1", None)
    if read1 is None:   # pragma: no cover - urllib3 < 2
        yield from resp.iter_content(1 << 16)
        return
    while True:
        data = read1(_CHUNK, decode_content=True)
        if not data:
            return
        yield data


def _transfer(session, url, part, name, timeout, auth, progress):
    """One attempt: stream ``url`` into ``part`` (resuming it). Returns whether it resumed."""
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = session.get(url, headers=headers, stream=True, timeout=timeout, auth=auth)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None
    except requests.RequestException as exc:   # a bad URL, too many redirects ...
        raise DownloadError(f"the request for {url} failed: {type(exc).__name__}: {exc}") from None
    with resp:
        code = resp.status_code
        if code == 404 or code == 410:
            raise ProductNotFoundError(
                f"{name} does not exist in the archive (HTTP {code} for {url}); check the name "
                "(search() gives the frames that exist) and the suffix: not every frame has "
                "every product (e.g. no difference image without a reference)")
        if code in (401, 403):
            raise AuthenticationRequiredError(
                f"the archive refuses {name} without credentials (HTTP {code} for {url}). "
                + AUTH_HELP)
        if code == 416 and offset:
            _remove(part)     # the partial file is not a prefix the server can continue
            resp.close()
            return _transfer(session, url, part, name, timeout, auth, progress)
        if code >= 500 or code in _RETRY_STATUS:
            raise _Retryable(f"HTTP {code} {resp.reason}", _retry_after(resp))
        if code not in (200, 206):
            raise DownloadError(f"unexpected answer HTTP {code} {resp.reason} for {url}; "
                                "expected 200 (or 206 for a resumed download)")
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if code == 206:
            rng = _content_range(resp.headers.get("Content-Range"))
            if rng is None or rng[0] != offset:
                _remove(part)
                raise _Retryable(f"the server resumed at the wrong place (Content-Range "
                                 f"{resp.headers.get('Content-Range')!r}, asked {offset}-)")
            total = rng[1] if rng[1] is not None else (
                None if length is None else offset + length)
            mode, resumed = "ab", True
        else:
            offset, mode, resumed = 0, "wb", False
            total = length
        if total is not None and progress is not None:
            progress.add_total(total - offset)
        written = 0
        with open(part, mode) as fh:
            try:
                for chunk in _chunks(resp):
                    fh.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress.update(len(chunk))
            except _STREAM_ERRORS as exc:   # dropped, stalled, garbled
                raise _Retryable(f"connection lost after {offset + written} of "
                                 f"{total if total is not None else '?'} bytes "
                                 f"({type(exc).__name__})") from None
            finally:
                fh.flush()
                os.fsync(fh.fileno())
    size = offset + written
    if total is not None and size != total:
        if size > total:
            _remove(part)
        raise _Retryable(f"got {size} of the {total} bytes announced")
    return resumed


def fetch(url, target, *, session, name=None, timeout=(10.0, 60.0), retries=3, backoff=1.0,
          overwrite=False, auth=None, lock_timeout=600.0, progress=None):
    """Download one file to ``target`` (see the module description for every step).

    Parameters
    ----------
    url : str
        Where the file is.
    target : str
        Final local path; its directory is created.
    session : requests.Session
        Session used for the request (cookies of an IRSA login go there).
    name : str, optional
        Name used in messages (default: the base name of ``target``).
    timeout : float or (float, float), default (10, 60)
        Connect and read timeouts, seconds; the read timeout bounds every wait for data,
        so a stalled server is abandoned (and retried) after it.
    retries : int, default 3
        Further attempts after a retryable failure.
    backoff : float, default 1.0
        First pause between attempts, seconds; doubles each time (capped at 60 s).
    overwrite : bool, default False
        Download again even when a complete file is present.
    auth : tuple or requests.auth.AuthBase, optional
        HTTP authentication passed to requests.
    lock_timeout : float, default 600
        Seconds to wait for another process downloading the same file.
    progress : object, optional
        Receives ``add_total(nbytes)`` and ``update(nbytes)`` calls (thread-safe).

    Returns
    -------
    str
        ``'present'`` (kept, nothing transferred), ``'downloaded'`` or ``'resumed'`` (a
        partial file was continued with a Range request).

    Raises
    ------
    ProductNotFoundError
        HTTP 404/410.
    AuthenticationRequiredError
        HTTP 401/403 (the message says how to log in).
    DownloadError
        Still failing after the retries, an unexpected status, a file that is not complete
        FITS, or the lock of another download held beyond ``lock_timeout``.
    CacheError
        The target directory cannot be created or written.
    """
    name = name or os.path.basename(target)
    if not overwrite and is_complete(target):
        return "present"
    directory = os.path.dirname(target) or "."
    try:
        os.makedirs(directory, exist_ok=True)
        lock = FileLock(target, timeout=lock_timeout)
        lock.acquire()
    except OSError as exc:
        if isinstance(exc, ZTFImgError):
            raise
        raise CacheError(f"cannot write {name} into {directory!r} ({exc}); choose a "
                         "writable root= (or $ZTFDATA)") from exc
    try:
        if (not overwrite or lock.waited) and is_complete(target):
            return "present"      # another process finished it while we waited
        part = part_path(target)
        for attempt in range(retries + 1):
            try:
                resumed = _transfer(session, url, part, name, timeout, auth, progress)
                break
            except _Retryable as exc:
                if attempt == retries:
                    raise DownloadError(
                        f"could not download {name} from {url} after {retries + 1} attempt(s): "
                        f"{exc}. The partial file is kept and the next call resumes it; "
                        "check the network, or raise timeout= / retries=") from None
                pause = min(_MAX_SLEEP, max(backoff * 2 ** attempt, exc.retry_after or 0.0))
                log.info("%s: %s; retrying in %.2f s", name, exc, pause)
                time.sleep(pause)
        if _is_fits(target):
            problem = _fits_problem(part, os.path.getsize(part))
            if problem is not None:
                with open(part, "rb") as fh:
                    html = fh.read(64).lstrip().startswith(b"<")
                _remove(part)
                raise DownloadError(
                    f"the server sent {name} as a file that is not complete FITS ({problem}) "
                    f"from {url}; it was discarded"
                    + (". An HTML page instead of a product is often an error or login page: "
                       + AUTH_HELP if html else "; try again, or report it to IRSA if it "
                       "persists"))
        os.replace(part, target)
        return "resumed" if resumed else "downloaded"
    except OSError as exc:
        if isinstance(exc, ZTFImgError):
            raise
        raise CacheError(f"cannot write {name} into {directory!r} ({exc}); free some space or "
                         "choose a writable root= (or $ZTFDATA)") from exc
    finally:
        lock.release()
