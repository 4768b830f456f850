"""Parse and build ZTF file names and archive paths (pure string work, no I/O).

Three kinds of names are understood (see ZTF.md section 1):

* science products ``ztf_<YYYYMMDD><ffffff>_<FFFFFF>_<zg|zr|zi>_c<CC>_<t>_q<Q>_<suffix>``,
  e.g. ``ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits``;
* raw CCD exposures ``ztf_<YYYYMMDD><ffffff>_<FFFFFF>_<filt>_c<CC>_<t>.fits.fz``
  (one file per CCD, the four quadrants inside);
* reference products ``ztf_<FFFFFF>_<filt>_c<CC>_q<Q>_<suffix>``,
  e.g. ``ztf_000655_zr_c13_q3_refimg.fits``.

Names are matched strictly: the whole base name, ASCII only (digits are ``0-9``, never
other Unicode digits), no surrounding whitespace (a name read from a list of files must be
stripped first).  A name is a ``str`` or a path-like object; ``bytes`` are decoded with
:func:`os.fsdecode`, as :mod:`os` does.  Every function that takes a name, and every
builder given a bad value (field, CCD, quadrant out of range or not an integer, unknown
filter ...) raises :class:`~ztfimg.errors.FileNameError` (a ``ValueError``) whose message
says what was expected and what was found; :func:`is_ztf_filename` never raises.

Examples
--------
>>> from ztfimg import filenames
>>> rec = filenames.parse("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
>>> rec.fieldid, rec.filtername, rec.ccdid, rec.qid, rec.rcid
(655, 'zr', 13, 3, 50)
>>> filenames.sibling(rec.filename, "mskimg")
'ztf_20200924431759_000655_zr_c13_o_q3_mskimg.fits'
>>> filenames.archive_path("ztf_000655_zr_c13_q3_refimg.fits")
'ref/000/field000655/zr/ccd13/q3/ztf_000655_zr_c13_q3_refimg.fits'
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import os
import re
from dataclasses import dataclass

from . import filters as _filters
from .errors import FileNameError

__all__ = [
    "ZTFFileName",
    "find_file",
    "parse",
    "is_ztf_filename",
    "sibling",
    "reference_filename",
    "archive_path",
    "local_path",
    "build_science_filename",
    "build_raw_filename",
    "build_reference_filename",
    "filefracday_from_jd",
    "rcid_from_ccd_qid",
    "ccd_qid_from_rcid",
    "FILTERS",
]

#: ZTF file-name filter codes and their FILTERID (``{"zg": 1, "zr": 2, "zi": 3}``),
#: derived from the filter table :data:`ztfimg.filters.FILTERS`.
FILTERS = {f.code: f.filterid for f in _filters.FILTERS}

_FILT = "(?P<filt>" + "|".join(re.escape(code) for code in FILTERS) + ")"
#: A product suffix: ASCII letters, digits, ``_``, ``.``, ``-``, starting with a letter or digit.
_SUFFIX = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_SUFFIX_RE = re.compile(_SUFFIX, re.ASCII)
_RAW_SUFFIXES = ("fits", "fits.fz")
_DIGITS_RE = re.compile(r"[0-9]+", re.ASCII)
_FFD_RE = re.compile(r"[0-9]{14}", re.ASCII)
_IMGTYPE_RE = re.compile(r"[a-z]", re.ASCII)

# Whole-name patterns, used with fullmatch (no trailing newline, no Unicode digits).
_SCI_RE = re.compile(
    r"ztf_(?P<filefracday>(?P<date>[0-9]{8})(?P<frac>[0-9]{6}))_(?P<field>[0-9]{6})_"
    + _FILT + r"_c(?P<ccd>[0-9]{2})_(?P<imgtype>[a-z])_q(?P<qid>[0-9])_(?P<suffix>"
    + _SUFFIX + ")", re.ASCII)
_RAW_RE = re.compile(
    r"ztf_(?P<filefracday>(?P<date>[0-9]{8})(?P<frac>[0-9]{6}))_(?P<field>[0-9]{6})_"
    + _FILT + r"_c(?P<ccd>[0-9]{2})_(?P<imgtype>[a-z])\.(?P<suffix>fits(?:\.fz)?)", re.ASCII)
_REF_RE = re.compile(
    r"ztf_(?P<field>[0-9]{6})_" + _FILT + r"_c(?P<ccd>[0-9]{2})_q(?P<qid>[0-9])_(?P<suffix>"
    + _SUFFIX + ")", re.ASCII)

_EXAMPLES = ("'ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits' (science), "
             "'ztf_20200924431759_000655_zr_c13_o.fits.fz' (raw) or "
             "'ztf_000655_zr_c13_q3_refimg.fits' (reference)")

#: Suffix a reference product takes for each science suffix with an equivalent.
_SCI_TO_REF_SUFFIX = {
    "sciimg.fits": "refimg.fits",
    "psfcat.fits": "refpsfcat.fits",
    "sexcat.fits": "refsexcat.fits",
}


# --------------------------------------------------------------------------- validation
def _found(value):
    """Short description of a value for error messages: its type and (cut) repr."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return "None" if value is None else f"{type(value).__name__} {text}"


def _as_path(value, func, what="the file name"):
    """``value`` as a ``str`` path (bytes decoded with os.fsdecode), or FileNameError.

    Refuses anything that is not a str, bytes or os.PathLike, a NUL character, and
    leading or trailing whitespace.
    """
    try:
        path = os.fspath(value)
    except TypeError:
        raise FileNameError(
            f"{func}: {what} must be a str or a path-like object (os.PathLike, or bytes), "
            f"found {_found(value)}; pass the file name as a string, e.g. "
            "'ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits'") from None
    if isinstance(path, bytes):
        try:
            path = os.fsdecode(path)
        except UnicodeDecodeError as exc:   # only with a strict file-system encoding
            raise FileNameError(f"{func}: {what} {path!r} cannot be decoded with the "
                                f"file-system encoding ({exc}); pass it as a str") from None
    if "\x00" in path:
        raise FileNameError(f"{func}: {what} {path!r} contains a NUL character, "
                            "which no file name can contain; check where the name comes from")
    if path != path.strip():
        raise FileNameError(
            f"{func}: {what} {path!r} has leading or trailing whitespace (a newline?); "
            "expected the bare name: strip it first (e.g. line.strip() when reading a "
            "list of files)")
    return path


def _as_int(value, name, lo, hi, func):
    """``value`` as an int in ``[lo, hi]``, or FileNameError naming the valid range.

    Accepted: integers (Python or numpy, not bool), integral floats (``13.0``) and
    strings of ASCII digits (``'013'``).
    """
    v = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, numbers.Integral):
        v = int(value)
    elif isinstance(value, numbers.Real):
        f = float(value)
        if math.isfinite(f) and f.is_integer():
            v = int(f)
    elif isinstance(value, str) and _DIGITS_RE.fullmatch(value):
        v = int(value)
    if v is None:
        raise FileNameError(f"{func}: {name} must be an integer {lo}-{hi}, found "
                            f"{_found(value)}; pass a whole number in that range")
    if not lo <= v <= hi:
        raise FileNameError(f"{func}: {name} must be an integer {lo}-{hi}, found {v}; "
                            "pass a number in that range")
    return v


def _as_choice(value, name, pattern, expected, func):
    """``value`` if it is a str that fully matches ``pattern``, else FileNameError."""
    if not (isinstance(value, str) and pattern.fullmatch(value)):
        raise FileNameError(f"{func}: {name} must be {expected}, found {_found(value)}")
    return value


def _as_filtername(value, func):
    if not (isinstance(value, str) and value in FILTERS):
        raise FileNameError(f"{func}: filtername must be one of {', '.join(map(repr, FILTERS))}, "
                            f"found {_found(value)}")
    return value


def _as_filefracday(value, func):
    """``YYYYMMDDffffff`` as a 14-digit str (from a str or an int) with a valid date."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        value = str(int(value))
    ffd = _as_choice(value, "filefracday", _FFD_RE,
                     "'YYYYMMDDffffff' (14 ASCII digits, as a str or an int)", func)
    _check_date(ffd[:8], func)
    return ffd


def _check_date(text, where):
    """FileNameError unless ``text`` (8 ASCII digits) is a valid ``YYYYMMDD`` date."""
    try:
        return _dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise FileNameError(f"{where}: {text!r} is not a valid date; expected YYYYMMDD "
                            "(year, month 01-12, day of that month)") from None


#: Julian dates of 0001-01-01 and 9999-12-31 (UTC): the span of a ``YYYYMMDD`` date.
_JD_RANGE = (1721425.5, 5373484.5)


def filefracday_from_jd(jd) -> str:
    """The ``filefracday`` of an observation at Julian date ``jd``: ``YYYYMMDDffffff``.

    The UT date of ``jd`` and the fraction of that day, truncated to six digits, as in
    the name of a science product (the inverse of :attr:`ZTFFileName.datetime`, to the
    microsecond).

    Parameters
    ----------
    jd : float
        Julian date (UTC), days, e.g. a header's ``OBSJD``.

    Returns
    -------
    str
        14 ASCII digits, for :func:`build_science_filename` or :func:`build_raw_filename`.

    Raises
    ------
    FileNameError
        ``jd`` is not a finite real number, or not within the years 1-9999.

    Examples
    --------
    >>> filefracday_from_jd(2459116.9317708)
    '20200924431770'
    """
    func = "filefracday_from_jd"
    if isinstance(jd, bool) or not isinstance(jd, numbers.Real) \
            or not math.isfinite(float(jd)):
        raise FileNameError(f"{func}: jd must be a finite Julian date in days (a real "
                            f"number), found {_found(jd)}")
    jd = float(jd)
    if not _JD_RANGE[0] <= jd < _JD_RANGE[1]:
        raise FileNameError(f"{func}: jd must be a Julian date between {_JD_RANGE[0]} and "
                            f"{_JD_RANGE[1]} (years 1-9999), found {jd!r}")
    t = _dt.datetime(2000, 1, 1, 12) + _dt.timedelta(days=jd - 2451545.0)
    micro = (t - t.replace(hour=0, minute=0, second=0, microsecond=0)) \
        // _dt.timedelta(microseconds=1)
    # a millionth of a day is 86400 us; the date zero-padded (strftime's %Y is not, year < 1000)
    return f"{t.year:04d}{t.month:02d}{t.day:02d}{micro // 86400:06d}"


def rcid_from_ccd_qid(ccdid: int, qid: int) -> int:
    """Readout-channel id (0-63) of a CCD and quadrant: ``4*(ccdid-1) + qid - 1``.

    Parameters
    ----------
    ccdid : int
        CCD number, 1-16.
    qid : int
        Quadrant, 1-4.

    Returns
    -------
    int
        The readout channel, 0-63.

    Raises
    ------
    FileNameError
        ``ccdid`` or ``qid`` is not an integer or out of range.
    """
    ccdid = _as_int(ccdid, "ccdid", 1, 16, "rcid_from_ccd_qid")
    qid = _as_int(qid, "qid", 1, 4, "rcid_from_ccd_qid")
    return 4 * (ccdid - 1) + qid - 1


def ccd_qid_from_rcid(rcid: int) -> tuple[int, int]:
    """Inverse of :func:`rcid_from_ccd_qid`.

    Parameters
    ----------
    rcid : int
        Readout channel, 0-63.

    Returns
    -------
    tuple of int
        ``(ccdid, qid)``.

    Raises
    ------
    FileNameError
        ``rcid`` is not an integer 0-63.
    """
    rcid = _as_int(rcid, "rcid", 0, 63, "ccd_qid_from_rcid")
    return rcid // 4 + 1, rcid % 4 + 1


@dataclass(frozen=True)
class ZTFFileName:
    """A parsed ZTF file name.

    Attributes
    ----------
    filename : str
        The base name that was parsed (no directory).
    kind : {'science', 'raw', 'reference'}
        Which family of products the name belongs to.
    fieldid : int
        ZTF field number.
    filtername : {'zg', 'zr', 'zi'}
        Filter code.
    ccdid : int
        CCD number, 1-16.
    qid : int or None
        Quadrant 1-4 (None for a raw CCD file, which holds all four).
    suffix : str
        Product suffix after the last structured field, e.g. ``'sciimg.fits'``.
    filefracday : str or None
        ``YYYYMMDDffffff`` (None for reference products).
    imgtype : str or None
        Image type code (``'o'`` for on-sky), None for reference products.
    """

    filename: str
    kind: str
    fieldid: int
    filtername: str
    ccdid: int
    qid: int | None
    suffix: str
    filefracday: str | None = None
    imgtype: str | None = None

    @property
    def filterid(self) -> int:
        """FILTERID code: 1 for zg, 2 for zr, 3 for zi."""
        return FILTERS[self.filtername]

    @property
    def rcid(self) -> int | None:
        """Readout-channel id 0-63 (None for raw CCD files)."""
        return None if self.qid is None else rcid_from_ccd_qid(self.ccdid, self.qid)

    @property
    def date(self) -> _dt.date | None:
        """UT date of the observation (None for reference products)."""
        if self.filefracday is None:
            return None
        return _check_date(self.filefracday[:8], repr(self.filename))

    @property
    def fracday(self) -> float | None:
        """Fraction of the UT day at which the exposure started (None for references)."""
        if self.filefracday is None:
            return None
        return int(self.filefracday[8:]) / 1e6

    @property
    def datetime(self) -> _dt.datetime | None:
        """UT date and time encoded in the file name (to ~0.1 s; None for references)."""
        if self.filefracday is None:
            return None
        day = _dt.datetime.combine(self.date, _dt.time())
        return day + _dt.timedelta(days=self.fracday)

    @property
    def stem(self) -> str:
        """The name without its product suffix, e.g. ``ztf_..._c13_o_q3``."""
        return self.filename[: -len(self.suffix) - 1]


def _why_not(name):
    """A hint on why ``name`` matches no pattern (for the error message), or ''."""
    if not name.isascii():
        bad = next(ch for ch in name if not ch.isascii())
        return (f"; it contains the non-ASCII character {bad!r} (U+{ord(bad):04X}): ZTF names "
                "are ASCII, with the digits 0-9 only")
    if any(ch.isspace() for ch in name):
        return "; it contains whitespace, which no ZTF name does"
    return ""


def parse(filename: str | os.PathLike | bytes) -> ZTFFileName:
    """Parse a ZTF science, raw or reference file name.

    Parameters
    ----------
    filename : str, bytes or path-like
        A file name or path; only the base name is parsed.  Bytes are decoded with
        :func:`os.fsdecode`.  The whole name must match (ASCII only, no surrounding
        whitespace).

    Returns
    -------
    ZTFFileName
        The parsed record.

    Raises
    ------
    FileNameError
        ``filename`` is not a str, bytes or path-like object; it has surrounding
        whitespace; the name is not one of the ZTF patterns; or its CCD (01-16),
        quadrant (1-4) or date is invalid.

    Examples
    --------
    >>> parse("ztf_000655_zr_c13_q3_refimg.fits").kind
    'reference'
    """
    path = _as_path(filename, "parse")
    name = os.path.basename(path)
    m = _SCI_RE.fullmatch(name)
    if m:
        kind, qid = "science", int(m["qid"])
    else:
        m = _RAW_RE.fullmatch(name)
        if m:
            kind, qid = "raw", None
        else:
            m = _REF_RE.fullmatch(name)
            if not m:
                raise FileNameError(
                    f"{name!r} is not a ZTF file name{_why_not(name)}; expected the whole "
                    f"name to match e.g. {_EXAMPLES}; check the name")
            kind, qid = "reference", int(m["qid"])
    ccdid = int(m["ccd"])
    if not 1 <= ccdid <= 16 or (qid is not None and not 1 <= qid <= 4):
        found = f"c{m['ccd']}" + ("" if qid is None else f", q{qid}")
        raise FileNameError(f"{name!r}: CCD must be c01-c16 and quadrant q1-q4, found {found}; "
                            "check the name")
    gd = m.groupdict()
    if gd.get("date"):
        _check_date(gd["date"], repr(name))
    return ZTFFileName(
        filename=name,
        kind=kind,
        fieldid=int(m["field"]),
        filtername=m["filt"],
        ccdid=ccdid,
        qid=qid,
        suffix=m["suffix"],
        filefracday=gd.get("filefracday"),
        imgtype=gd.get("imgtype"),
    )


def is_ztf_filename(filename) -> bool:
    """Whether :func:`parse` accepts ``filename``.

    Parameters
    ----------
    filename : object
        Anything; a str, bytes or path-like name is tested, any other value (None, a
        number ...) is simply not a ZTF file name.

    Returns
    -------
    bool
        True when :func:`parse` accepts it.  Never raises.
    """
    try:
        parse(filename)
    except FileNameError:
        return False
    return True


def _check_suffix(suffix, func):
    return _as_choice(suffix, "suffix", _SUFFIX_RE,
                      "a product suffix such as 'sciimg.fits' (ASCII letters, digits, '_', "
                      "'.', '-', starting with a letter or digit)", func)


def build_science_filename(filefracday, fieldid, filtername, ccdid, qid, suffix="sciimg.fits",
                           imgtype="o") -> str:
    """Build a science product name.

    Parameters
    ----------
    filefracday : str or int
        ``YYYYMMDDffffff`` (14 digits, a valid date).
    fieldid : int
        ZTF field number, 0-999999.
    filtername : {'zg', 'zr', 'zi'}
        Filter code.
    ccdid, qid : int
        CCD (1-16) and quadrant (1-4).
    suffix : str, default 'sciimg.fits'
        Product suffix.
    imgtype : str, default 'o'
        Image type code, one lower-case letter.

    Returns
    -------
    str
        The name; :func:`parse` gives back these values.

    Raises
    ------
    FileNameError
        A value is of the wrong type or out of range (the message gives the range).

    Examples
    --------
    >>> build_science_filename("20200924431759", 655, "zr", 13, 3)
    'ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits'
    """
    func = "build_science_filename"
    ffd = _as_filefracday(filefracday, func)
    fieldid = _as_int(fieldid, "fieldid", 0, 999999, func)
    filtername = _as_filtername(filtername, func)
    ccdid = _as_int(ccdid, "ccdid", 1, 16, func)
    qid = _as_int(qid, "qid", 1, 4, func)
    suffix = _check_suffix(suffix, func)
    imgtype = _as_choice(imgtype, "imgtype", _IMGTYPE_RE, "one lower-case letter ('o' on-sky)",
                         func)
    name = f"ztf_{ffd}_{fieldid:06d}_{filtername}_c{ccdid:02d}_{imgtype}_q{qid}_{suffix}"
    parse(name)  # the builders and the parser agree
    return name


def build_raw_filename(filefracday, fieldid, filtername, ccdid, imgtype="o",
                       suffix="fits.fz") -> str:
    """Build a raw CCD exposure name, ``ztf_<YYYYMMDDffffff>_<FFFFFF>_<filt>_c<CC>_<t>.fits.fz``.

    Parameters
    ----------
    filefracday : str or int
        ``YYYYMMDDffffff`` (14 digits, a valid date).
    fieldid : int
        ZTF field number, 0-999999.
    filtername : {'zg', 'zr', 'zi'}
        Filter code.
    ccdid : int
        CCD, 1-16.
    imgtype : str, default 'o'
        Image type code, one lower-case letter.
    suffix : {'fits.fz', 'fits'}
        Extension.

    Returns
    -------
    str

    Raises
    ------
    FileNameError
        A value is of the wrong type or out of range.
    """
    func = "build_raw_filename"
    ffd = _as_filefracday(filefracday, func)
    fieldid = _as_int(fieldid, "fieldid", 0, 999999, func)
    filtername = _as_filtername(filtername, func)
    ccdid = _as_int(ccdid, "ccdid", 1, 16, func)
    imgtype = _as_choice(imgtype, "imgtype", _IMGTYPE_RE, "one lower-case letter ('o' on-sky)",
                         func)
    if suffix not in _RAW_SUFFIXES:
        raise FileNameError(f"{func}: suffix must be 'fits.fz' or 'fits', found {_found(suffix)}")
    name = f"ztf_{ffd}_{fieldid:06d}_{filtername}_c{ccdid:02d}_{imgtype}.{suffix}"
    parse(name)
    return name


def build_reference_filename(fieldid, filtername, ccdid, qid, suffix="refimg.fits") -> str:
    """Build a reference product name, e.g. ``ztf_000655_zr_c13_q3_refimg.fits``.

    Parameters
    ----------
    fieldid : int
        ZTF field number, 0-999999.
    filtername : {'zg', 'zr', 'zi'}
        Filter code.
    ccdid, qid : int
        CCD (1-16) and quadrant (1-4).
    suffix : str, default 'refimg.fits'
        Product suffix.

    Returns
    -------
    str

    Raises
    ------
    FileNameError
        A value is of the wrong type or out of range (the message gives the range).
    """
    func = "build_reference_filename"
    fieldid = _as_int(fieldid, "fieldid", 0, 999999, func)
    filtername = _as_filtername(filtername, func)
    ccdid = _as_int(ccdid, "ccdid", 1, 16, func)
    qid = _as_int(qid, "qid", 1, 4, func)
    suffix = _check_suffix(suffix, func)
    name = f"ztf_{fieldid:06d}_{filtername}_c{ccdid:02d}_q{qid}_{suffix}"
    parse(name)
    return name


def sibling(filename: str | os.PathLike | bytes, suffix: str) -> str:
    """Name of another product of the same science or reference frame.

    Parameters
    ----------
    filename : str, bytes or path-like
        A science or reference product name (a directory part is kept).
    suffix : str
        The wanted suffix, with or without extension: ``'mskimg'`` means ``'mskimg.fits'``,
        ``'sciimgdao'`` or ``'sciimgdao.psf'`` the DAOPhot PSF.

    Returns
    -------
    str
        The sibling's name, in the same directory as ``filename``.

    Raises
    ------
    FileNameError
        ``filename`` is not a ZTF science or reference name (see :func:`parse`; a raw
        CCD file has no quadrant products), or ``suffix`` is not a valid product suffix.
    """
    path = _as_path(filename, "sibling")
    rec = parse(path)
    if rec.kind == "raw":
        raise FileNameError(f"sibling: {rec.filename!r} is a raw CCD file; it has no quadrant "
                            "products; pass a science or reference product name")
    suffix = _check_suffix(suffix, "sibling")
    if "." not in suffix:
        suffix = suffix + (".psf" if suffix.endswith("dao") else ".fits")
    name = rec.stem + "_" + suffix
    parse(name)
    dirname = os.path.dirname(path)
    return os.path.join(dirname, name) if dirname else name


def reference_filename(filename: str | os.PathLike | bytes, suffix: str = "refimg.fits") -> str:
    """Base name of the reference product matching a science product.

    Parameters
    ----------
    filename : str, bytes or path-like
        A science (or reference) product name.
    suffix : str, default 'refimg.fits'
        Suffix of the reference product.

    Returns
    -------
    str
        ``ztf_<FFFFFF>_<filt>_c<CC>_q<Q>_<suffix>`` (same field, filter, CCD, quadrant).

    Raises
    ------
    FileNameError
        Not a ZTF name, a raw CCD name (no quadrant) or a bad suffix.
    """
    rec = parse(_as_path(filename, "reference_filename"))
    if rec.qid is None:
        raise FileNameError(f"reference_filename: {rec.filename!r} has no quadrant; "
                            "references are per quadrant: pass a quadrant product name")
    return build_reference_filename(rec.fieldid, rec.filtername, rec.ccdid, rec.qid, suffix)


def archive_path(filename: str | os.PathLike | bytes) -> str:
    """Archive-relative path of a product, as used by IRSA and a ``$ZTFDATA`` mirror.

    ``sci/<YYYY>/<MMDD>/<ffffff>/<name>`` for science products (``raw/...`` for raw
    ones), ``ref/<FFF>/field<FFFFFF>/<filt>/ccd<CC>/q<Q>/<name>`` for reference products.

    Parameters
    ----------
    filename : str, bytes or path-like
        A ZTF product name (a directory part is ignored).

    Returns
    -------
    str

    Raises
    ------
    FileNameError
        Not a ZTF file name (see :func:`parse`).
    """
    rec = parse(_as_path(filename, "archive_path"))
    if rec.kind == "reference":
        return (f"ref/{rec.fieldid // 1000:03d}/field{rec.fieldid:06d}/{rec.filtername}/"
                f"ccd{rec.ccdid:02d}/q{rec.qid}/{rec.filename}")
    top = "raw" if rec.kind == "raw" else "sci"
    ffd = rec.filefracday
    return f"{top}/{ffd[:4]}/{ffd[4:8]}/{ffd[8:]}/{rec.filename}"


def local_path(filename: str | os.PathLike | bytes,
               root: str | os.PathLike | bytes | None = None) -> str:
    """Path of a product in a local mirror of the archive tree.

    Parameters
    ----------
    filename : str, bytes or path-like
        A ZTF product name.
    root : str, bytes or path-like, optional
        Root of the mirror. Default: the ``ZTFDATA`` environment variable.

    Returns
    -------
    str
        ``<root>/<archive_path(filename)>``.

    Raises
    ------
    FileNameError
        Not a ZTF file name, ``root`` is not a path (or has surrounding whitespace), or
        no root is given and ``$ZTFDATA`` is not set.
    """
    if root is None:
        root = os.environ.get("ZTFDATA")
        if not root:
            raise FileNameError("local_path: no mirror root given and $ZTFDATA is not set; "
                                "pass root= or set ZTFDATA to the mirror's directory")
        root = _as_path(root, "local_path", "$ZTFDATA")
    else:
        root = _as_path(root, "local_path", "root")
    return os.path.join(root, archive_path(filename))


def find_file(filename: str | os.PathLike | bytes) -> str:
    """Where to open a file: the path itself, or a bare ZTF name in the ``$ZTFDATA`` mirror.

    Parameters
    ----------
    filename : str, bytes or path-like
        A path, or just a ZTF product name.

    Returns
    -------
    str
        ``filename`` when it exists or has a directory part or ``$ZTFDATA`` is unset;
        otherwise :func:`local_path` of it (which may not exist: the caller reports that).

    Raises
    ------
    FileNameError
        Not a str, bytes or path-like value.
    """
    path = _as_path(filename, "find_file")
    if (not os.path.exists(path) and os.path.dirname(path) == "" and os.environ.get("ZTFDATA")
            and is_ztf_filename(path)):
        return local_path(path)
    return path
