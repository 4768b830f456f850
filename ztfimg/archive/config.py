"""Where the archive is and where its local mirror goes: base URL, product URLs, ``$ZTFDATA``.

One rule for each:

* the IRSA base URL is the ``base_url`` argument, else the environment variable
  ``ZTFIMG_IRSA_URL``, else :data:`DEFAULT_IRSA_URL` (IRSA's image server, IBE);
* a product's URL is ``<base>data/ztf/products/<archive_path>`` and its local path
  ``<root>/<archive_path>`` (:func:`ztfimg.filenames.archive_path`, the same layout on both
  sides);
* the mirror root is the ``root`` argument, else ``$ZTFDATA``;
* offline is :func:`ztfimg.refcat.access.is_offline` (``offline=`` argument, else
  ``ZTFIMG_OFFLINE``), the same switch the catalogue cache uses.

Nothing here touches the network or the disk.
"""

from __future__ import annotations

import os
import urllib.parse

from .. import filenames as _filenames
from ..errors import InvalidParameterError
from ..refcat.access import is_offline

__all__ = ["DEFAULT_IRSA_URL", "IRSA_URL_ENV", "irsa_url", "product_url", "data_root",
           "is_offline"]

#: IRSA's image server (IBE); ZTF products live under ``data/ztf/products/``, the metadata
#: search under ``search/ztf/products/<sci|ref>``.
DEFAULT_IRSA_URL = "https://irsa.ipac.caltech.edu/ibe/"
#: Environment variable that overrides :data:`DEFAULT_IRSA_URL` (a mirror, a test server).
IRSA_URL_ENV = "ZTFIMG_IRSA_URL"


def irsa_url(base_url: str | None = None) -> str:
    """The IBE base URL to use, with a trailing slash.

    Parameters
    ----------
    base_url : str, optional
        Explicit base URL (``http://`` or ``https://``, the path up to and including
        ``ibe/``). Default: ``$ZTFIMG_IRSA_URL``, else :data:`DEFAULT_IRSA_URL`.

    Returns
    -------
    str
        The base URL, ending with ``/``.

    Raises
    ------
    InvalidParameterError
        The URL is not a string or not an ``http``/``https`` URL with a host.

    Examples
    --------
    >>> irsa_url("http://127.0.0.1:8000/ibe")
    'http://127.0.0.1:8000/ibe/'
    """
    where = "base_url"
    if base_url is None:
        base_url = os.environ.get(IRSA_URL_ENV) or DEFAULT_IRSA_URL
        where = f"${IRSA_URL_ENV}" if os.environ.get(IRSA_URL_ENV) else "the default"
    if not isinstance(base_url, str):
        raise InvalidParameterError(f"{where} must be a URL string such as "
                                    f"{DEFAULT_IRSA_URL!r}; got {type(base_url).__name__}")
    url = base_url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameterError(
            f"{where} {base_url!r} is not an http(s) URL with a host; expected e.g. "
            f"{DEFAULT_IRSA_URL!r} (set {IRSA_URL_ENV} or pass base_url=)")
    return url if url.endswith("/") else url + "/"


def product_url(name, base_url: str | None = None) -> str:
    """URL of one ZTF product in the archive.

    Parameters
    ----------
    name : str or path-like
        A ZTF product name (science, raw or reference; a directory part is ignored).
    base_url : str, optional
        IBE base URL (see :func:`irsa_url`).

    Returns
    -------
    str
        ``<base>data/ztf/products/<archive_path(name)>``.

    Raises
    ------
    FileNameError
        ``name`` is not a ZTF file name.
    InvalidParameterError
        Bad ``base_url``.

    Examples
    --------
    >>> url = product_url("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
    >>> url.split("/products/")[1]
    'sci/2020/0924/431759/ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits'
    """
    return irsa_url(base_url) + "data/ztf/products/" + _filenames.archive_path(name)


def data_root(root=None) -> str:
    """Root directory of the local archive mirror.

    Parameters
    ----------
    root : str or path-like, optional
        Explicit root (``~`` is expanded). Default: ``$ZTFDATA``.

    Returns
    -------
    str
        The root as given (not created, not checked).

    Raises
    ------
    InvalidParameterError
        No ``root`` and ``$ZTFDATA`` unset or empty, or ``root`` is not a path.

    Examples
    --------
    >>> data_root("/data/ztf")
    '/data/ztf'
    """
    if root is None:
        root = os.environ.get("ZTFDATA", "").strip()
        if not root:
            raise InvalidParameterError(
                "no local archive root: pass root= or set the environment variable ZTFDATA "
                "to the directory of your ZTF mirror (e.g. export ZTFDATA=$HOME/ztfdata)")
    try:
        root = os.fspath(root)
    except TypeError:
        raise InvalidParameterError(f"root must be a directory path; got "
                                    f"{type(root).__name__} {root!r:.60}") from None
    if isinstance(root, bytes):
        root = os.fsdecode(root)
    if not root:
        raise InvalidParameterError("root is an empty path; pass a directory")
    return os.path.expanduser(root)


# ------------------------------------------------------------------ argument checks
def _count(value, name, lo=0, hi=None):
    """An int >= lo (and <= hi), else InvalidParameterError."""
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo or (
            hi is not None and value > hi):
        rng = f"{lo}-{hi}" if hi is not None else f">= {lo}"
        raise InvalidParameterError(f"{name} must be an integer {rng}; got {value!r}")
    return int(value)


def _seconds(value, name, *, allow_zero=False):
    """A finite number of seconds (> 0, or >= 0 with allow_zero), else InvalidParameterError."""
    import math
    import numbers
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        what = "non-negative" if allow_zero else "positive"
        raise InvalidParameterError(f"{name} must be a {what} number of seconds; got {value!r}")
    return float(value)


def _timeout(value):
    """A requests timeout: seconds, or (connect, read) seconds."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidParameterError(f"timeout must be seconds or (connect, read) seconds; "
                                        f"got {value!r}")
        return (_seconds(value[0], "timeout (connect)"), _seconds(value[1], "timeout (read)"))
    return _seconds(value, "timeout")
