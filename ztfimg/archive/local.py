"""Local paths of ZTF products, downloading what is missing: what the openers call.

:func:`ensure_local` serves one frame (``ScienceImage.from_filename(name, download=True)``),
:func:`ensure_local_frames` many (``ImageCollection.from_sky``). Both look in the mirror
first (no request when every file is there and complete), then either download the missing
files (:func:`~ztfimg.archive.download`) or, with ``download=False``, raise a
:class:`~ztfimg.errors.MissingFileError` naming them.
"""

from __future__ import annotations

import inspect

import pandas as pd

from .. import filenames as _filenames
from ..errors import InvalidParameterError, MissingFileError
from .config import data_root
from .downloads import download as _download
from .downloads import missing_message, product_names
from .transfer import is_complete

__all__ = ["ensure_local", "ensure_local_frames"]

#: Keyword options of download() that ensure_local passes on (unused with download=False).
_DOWNLOAD_OPTIONS = {p.name for p in inspect.signature(_download).parameters.values()
                     if p.kind is p.KEYWORD_ONLY} - {"root"}


def _resolve(names_or_table, suffixes, root, download, kwargs):
    if not isinstance(download, bool):
        raise InvalidParameterError(f"download must be True or False; got {download!r}")
    root = data_root(root)
    if download:
        kwargs.setdefault("progress", False)
        return _download(names_or_table, suffixes, root=root, **kwargs)   # checks kwargs
    unknown = set(kwargs) - _DOWNLOAD_OPTIONS   # download-only options are unused here
    if unknown:
        raise InvalidParameterError(f"unknown option(s) {sorted(unknown)}; the options are "
                                    f"those of ztfimg.archive.download: "
                                    f"{sorted(_DOWNLOAD_OPTIONS)}")
    table = product_names(names_or_table, suffixes)
    table["path"] = [_filenames.local_path(n, root) for n in table["name"]]
    missing = [n for n, p in dict(zip(table["name"], table["path"])).items()
               if not is_complete(p)]
    if missing:
        raise MissingFileError(missing_message(missing, root, "are missing (or incomplete) in")
                               + "; or pass download=True")
    return table


def ensure_local(name, suffixes=None, *, root=None, download=True, **kwargs) -> tuple:
    """Local paths of one frame's products, downloading the missing ones.

    Parameters
    ----------
    name : str or path-like
        A ZTF product name of the frame (e.g. its ``*_sciimg.fits``); only the base name
        is used: the files live at :func:`ztfimg.filenames.local_path` under ``root``.
    suffixes : str or sequence of str, optional
        Products wanted, in the order of the returned paths. Default ``('sciimg.fits',
        'mskimg.fits')`` for a science frame, ``('refimg.fits',)`` for a reference.
    root : str or path-like, optional
        Root of the mirror; default ``$ZTFDATA``.
    download : bool, default True
        Fetch missing files (False: never touch the network, raise for missing files).
    **kwargs
        Options of :func:`~ztfimg.archive.download` (``offline``, ``base_url``,
        ``timeout``, ``retries``, ``session``, ``progress`` (default False here) ...);
        accepted and unused with ``download=False``, so callers can pass them through.

    Returns
    -------
    tuple of str
        One path per suffix, every file present and complete.

    Raises
    ------
    MissingFileError
        ``download=False`` and files are missing (the message lists them and how to get
        them); :class:`~ztfimg.archive.ProductNotFoundError` (a MissingFileError) when the
        archive does not have one.
    OfflineError
        Offline and files are missing (listed, with how to get them).
    AuthenticationRequiredError, DownloadError, CacheError, FileNameError,
    InvalidParameterError
        As for :func:`~ztfimg.archive.download`.

    Examples
    --------
    >>> sci, msk = ensure_local("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
    ... # doctest: +SKIP
    """
    if not isinstance(name, (str, bytes)) and not hasattr(name, "__fspath__"):
        raise InvalidParameterError(f"ensure_local takes one frame name; got "
                                    f"{type(name).__name__} (use ensure_local_frames)")
    return tuple(_resolve(name, suffixes, root, download, kwargs)["path"])


def ensure_local_frames(names_or_table, suffixes=None, *, root=None, download=True,
                        **kwargs) -> pd.DataFrame:
    """Local paths of many frames' products, downloading the missing ones.

    Parameters
    ----------
    names_or_table : sequence of str or pandas.DataFrame
        Frame names or a table from :func:`~ztfimg.archive.search`.
    suffixes : str or sequence of str, optional
        Products per frame (default as in :func:`ensure_local`).
    root : str or path-like, optional
        Root of the mirror; default ``$ZTFDATA``.
    download : bool, default True
        Fetch missing files (False: raise for missing files, no network).
    **kwargs
        Passed to :func:`~ztfimg.archive.download` (``workers``, ``progress`` (default
        False here), ``offline``, ``base_url`` ...).

    Returns
    -------
    pandas.DataFrame
        One row per input frame, in input order (index 0..n-1), one column of local paths
        per suffix (named by the suffix, e.g. ``'sciimg.fits'``).

    Raises
    ------
    MissingFileError, OfflineError, AuthenticationRequiredError, DownloadError
        As for :func:`ensure_local`.

    Examples
    --------
    >>> from ztfimg import archive
    >>> paths = archive.ensure_local_frames(archive.search(96.92, 77.70))  # doctest: +SKIP
    >>> paths["sciimg.fits"].tolist()                                       # doctest: +SKIP
    """
    table = _resolve(names_or_table, suffixes, root, download, kwargs)
    if table.empty:
        cols = [suffixes] if isinstance(suffixes, str) else list(suffixes or ())
        return pd.DataFrame(columns=list(dict.fromkeys(cols)))
    wide = table.pivot(index="frame", columns="suffix", values="path")
    order = list(dict.fromkeys(table["suffix"]))
    wide = wide[order].reset_index(drop=True)
    wide.columns.name = None
    return wide
