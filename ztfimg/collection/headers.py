"""The header table of a collection: one row per frame, read from the headers only.

Reading a FITS header is I/O: only the 2880-byte header blocks of each file are read
(:func:`read_header`), the cards the table needs are picked out of them, and astropy parses
those alone (~25 cards instead of ~250).  Files are read by a thread pool
(:func:`read_headers`); threads are the right tool here, the work waits on the disk.
Tile-compressed files (``.fits.fz``) and anything unusual go through
:func:`ztfimg.fitsio.read_fits` instead.

The values come from the frame classes' own keyword declarations
(:class:`ztfimg.image.HeaderAccess`, and :class:`ztfimg.image.ReferenceImage` for reference
frames), so the header table and ``ScienceImage.magzp`` follow one rule: the same keyword
fallbacks (``FIELDID`` or ``DBFIELD`` ...), the same casts, and IPAC's ``-99`` sentinels
read as missing (NaN in the table).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from astropy.io import fits

from .. import filenames as _filenames
from ..errors import FileFormatError, HeaderKeywordError, InvalidParameterError, ZTFImgError
from ..fitsio import read_fits
from ..image import HeaderAccess, ReferenceImage

__all__ = ["HEADER_COLUMNS", "NAME_COLUMNS", "read_header", "read_headers", "header_row"]

_BLOCK = 2880
_CARD = 80

#: Header columns of the table: name -> kind (``float``, ``int`` or ``str``). The names are
#: the frame properties that give the same value (``ScienceImage.magzp`` ...).
HEADER_COLUMNS = {
    "obsjd": "float", "obsmjd": "float", "filtername": "str", "filterid": "int",
    "fieldid": "int", "ccdid": "int", "qid": "int", "rcid": "int", "exptime": "float",
    "magzp": "float", "magzpunc": "float", "magzprms": "float", "clrcoeff": "float",
    "clrcounc": "float", "seeing": "float", "maglim": "float", "infobits": "int",
    "status": "int", "airmass": "float",
}
#: Extra header columns of reference frames.
REFERENCE_COLUMNS = {"globmed": "float", "nframes": "int"}

#: Columns parsed from the file name (:func:`ztfimg.filenames.parse`); ``name_*`` repeat
#: what the header also says, so the two can be compared.
NAME_COLUMNS = ("filefracday", "imgtype", "suffix", "name_fieldid", "name_filter",
                "name_ccdid", "name_qid", "name_rcid")

#: Keywords the table reads: those of the declarations above (other cards are skipped).
_KEYWORDS = frozenset({
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "ZIMAGE",
    "OBSJD", "OBSMJD", "FILTER", "FILTERID", "DBFID", "FIELDID", "DBFIELD", "CCDID", "CCD_ID",
    "QID", "RCID", "DBRCID", "EXPTIME", "MAGZP", "MAGZPUNC", "MAGZPRMS", "CLRCOEFF",
    "CLRCOUNC", "SEEING", "MAGLIM", "INFOBITS", "STATUS", "AIRMASS", "GLOBMED", "NFRAMES",
    "OBSJDST", "OBSJDEN", "JDSTART", "JDEND",
})


class _Header(HeaderAccess):
    """A header without pixels: the frame's keyword declarations on a bare header."""

    def __init__(self, header, filename):
        self._header = header
        self.filename = filename


class _ReferenceHeader(_Header):
    """The same for a reference image: its own keyword lines and epoch rule."""

    globmed = ReferenceImage.__dict__["globmed"]
    nframes = ReferenceImage.__dict__["nframes"]
    obsjd = ReferenceImage.__dict__["obsjd"]


def _raw_cards(path):
    """The primary header's 80-character cards of a plain FITS file, or None when the file
    needs astropy (compressed, gzip, an empty primary HDU)."""
    with open(path, "rb") as fh:
        first = fh.read(_BLOCK)
        if len(first) < _BLOCK or not first.startswith(b"SIMPLE  ="):
            if first[:2] == b"\x1f\x8b":  # gzip: astropy reads it
                return None
            raise FileFormatError(f"cannot read {path!r} as a FITS file: "
                                  + ("it is shorter than one header block (truncated)"
                                     if first.startswith(b"SIMPLE") else
                                     "it does not start with a FITS header"))
        blocks = [first]
        while True:
            block = blocks[-1]
            for i in range(0, _BLOCK, _CARD):
                if block[i:i + 8] == b"END     ":
                    raw = b"".join(blocks)
                    return raw[: (len(blocks) - 1) * _BLOCK + i]
            nxt = fh.read(_BLOCK)
            if len(nxt) < _BLOCK:
                raise FileFormatError(f"cannot read {path!r} as a FITS file: its header has "
                                      "no END card (truncated)")
            blocks.append(nxt)


def read_header(path, keywords=_KEYWORDS):
    """The primary (or first image-extension) header of a FITS file, reading only the header.

    Parameters
    ----------
    path : str or path-like
        A FITS file (``.fits``; ``.fits.fz`` and gzip files go through astropy).
    keywords : set of str or None, optional
        Keep only these cards (and their ``CONTINUE`` cards); None keeps every card.
        Default: the keywords of the collection's header table.

    Returns
    -------
    astropy.io.fits.Header

    Raises
    ------
    MissingFileError
        The file does not exist.
    FileFormatError
        It is not FITS, or its header is truncated.

    Examples
    --------
    >>> read_header("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")["MAGZP"]  # doctest: +SKIP
    26.285139
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        from ..errors import MissingFileError
        raise MissingFileError(f"no such file: {path!r}")
    raw = None if path.endswith(".fz") else _raw_cards(path)
    if raw is None:
        return read_fits(path, header_only=True)[1]
    cards = [raw[i:i + _CARD] for i in range(0, len(raw), _CARD)]
    naxis = next((c for c in cards if c[:8] == b"NAXIS   "), None)
    if naxis is not None and naxis[10:30].strip() == b"0" and any(
            c[:8] == b"EXTEND  " and b"T" in c[10:30] for c in cards):
        return read_fits(path, header_only=True)[1]    # the image is in an extension
    if keywords is not None:
        keep, last = [], False
        for card in cards:
            key = card[:8].rstrip().decode("ascii", "replace")
            last = key in keywords or (last and key == "CONTINUE")
            if last:
                keep.append(card)
        cards = keep
    try:
        return fits.Header.fromstring(b"".join(cards).decode("ascii"))
    except (UnicodeDecodeError, ValueError, fits.verify.VerifyError) as exc:
        raise FileFormatError(f"cannot parse the FITS header of {path!r}: {exc}") from None


def _value(view, name, kind, notes):
    try:
        value = getattr(view, name)
    except (HeaderKeywordError, InvalidParameterError) as exc:
        if "cannot be read as" in str(exc):    # a malformed value; absence is no news
            notes.append(str(exc))
        value = None
    if value is None:
        return np.nan if kind == "float" else None
    return value


def _name_fields(path):
    try:
        rec = _filenames.parse(path)
    except ZTFImgError:
        return dict.fromkeys(NAME_COLUMNS)
    return {"filefracday": rec.filefracday, "imgtype": rec.imgtype, "suffix": rec.suffix,
            "name_fieldid": rec.fieldid, "name_filter": rec.filtername,
            "name_ccdid": rec.ccdid, "name_qid": rec.qid, "name_rcid": rec.rcid}


def header_row(path, kind="science"):
    """The header-table row of one file: a dict of the columns (never raises for a bad file).

    Parameters
    ----------
    path : str
        The frame's file.
    kind : {'science', 'reference', 'difference'}, default 'science'
        A difference image's header is that of its ``.fits.fz`` (read from its image HDU).

    Returns
    -------
    dict
        ``file``, ``filename``, ``maskfile`` (the ``*_mskimg.fits`` beside a science or
        difference frame,
        None when absent), the :data:`HEADER_COLUMNS` (NaN or None where the header has no
        usable value), the :data:`NAME_COLUMNS` and ``header_error`` (None, or why the
        header or a value could not be read).

    Raises
    ------
    InvalidParameterError
        Unknown ``kind``. (An unreadable file is a row with ``header_error``, not an error.)

    Examples
    --------
    >>> header_row("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")["magzp"]  # doctest: +SKIP
    26.285139
    """
    if kind not in ("science", "reference", "difference"):
        raise InvalidParameterError(f"kind must be 'science', 'reference' or 'difference'; "
                                    f"got {kind!r}")
    columns = dict(HEADER_COLUMNS, **(REFERENCE_COLUMNS if kind == "reference" else {}))
    row = {"file": path, "filename": os.path.basename(path), "maskfile": None}
    if kind in ("science", "difference"):
        try:
            mask = _filenames.sibling(path, "mskimg")
            row["maskfile"] = mask if os.path.exists(mask) else None
        except ZTFImgError:
            pass
    notes = []
    try:
        header = read_header(path)
    except (ZTFImgError, OSError) as exc:
        header = None
        notes.append(f"{type(exc).__name__}: {exc}")
    if header is None:
        row.update({c: (np.nan if k == "float" else None) for c, k in columns.items()})
    else:
        view = (_ReferenceHeader if kind == "reference" else _Header)(header, path)
        for name, k in columns.items():
            row[name] = _value(view, name, k, notes)
    row.update(_name_fields(path))
    row["header_error"] = "; ".join(notes) if notes else None
    return row


def _table(rows, kind):
    columns = dict(HEADER_COLUMNS, **(REFERENCE_COLUMNS if kind == "reference" else {}))
    order = ["file", "filename", "maskfile", *columns, *NAME_COLUMNS, "header_error"]
    df = pd.DataFrame(rows, columns=order)
    for name, k in columns.items():
        if k == "float":
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
        elif k == "int":
            df[name] = pd.array([None if v is None else int(v) for v in df[name]],
                                dtype="Int64")
    for name in ("name_fieldid", "name_ccdid", "name_qid", "name_rcid"):
        df[name] = pd.array([None if v is None or v != v else int(v) for v in df[name]],
                            dtype="Int64")
    return df


def _check_max_workers(max_workers, n):
    """``max_workers`` as a positive int (None: ``min(16, n)``), else InvalidParameterError."""
    if max_workers is None:
        return max(1, min(16, n))
    if isinstance(max_workers, bool) or not isinstance(max_workers, (int, np.integer)) \
            or max_workers < 1:
        raise InvalidParameterError(f"max_workers must be a positive integer; got "
                                    f"{max_workers!r}")
    return int(max_workers)


def read_headers(files, kind="science", *, max_workers=None):
    """The header table of many files, read in parallel by a thread pool.

    Parameters
    ----------
    files : sequence of str
        Paths of the frames.
    kind : {'science', 'reference', 'difference'}, default 'science'
        Reference frames add ``globmed`` and ``nframes`` and take their epoch from the
        co-added range when OBSJD is absent.
    max_workers : int, optional
        Threads (default ``min(16, len(files))``).

    Returns
    -------
    pandas.DataFrame
        One row per file, in the order given (see :func:`header_row` for the columns);
        integer columns are nullable ``Int64``. A file that cannot be read gives a row of
        missing values and its reason in ``header_error``.

    Raises
    ------
    InvalidParameterError
        ``kind`` or ``max_workers`` is not valid.

    Examples
    --------
    >>> read_headers(sorted(glob.glob("*_sciimg.fits")))[["filename", "magzp"]]  # doctest: +SKIP
    """
    if kind not in ("science", "reference", "difference"):
        raise InvalidParameterError(f"kind must be 'science', 'reference' or 'difference'; "
                                    f"got {kind!r}")
    files = [os.fspath(f) for f in files]
    max_workers = _check_max_workers(max_workers, len(files))
    if len(files) <= 2 or max_workers == 1:
        rows = [header_row(f, kind) for f in files]
    else:
        with ThreadPoolExecutor(max_workers=int(max_workers),
                                thread_name_prefix="ztfimg-headers") as pool:
            rows = list(pool.map(lambda f: header_row(f, kind), files))
    return _table(rows, kind)
