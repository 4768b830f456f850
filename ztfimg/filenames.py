"""Parse and build ZTF file names and archive paths (pure string work, no I/O).

Three kinds of names are understood (see ZTF.md section 1):

* science products ``ztf_<YYYYMMDD><ffffff>_<FFFFFF>_<zg|zr|zi>_c<CC>_<t>_q<Q>_<suffix>``,
  e.g. ``ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits``;
* raw CCD exposures ``ztf_<YYYYMMDD><ffffff>_<FFFFFF>_<filt>_c<CC>_<t>.fits.fz``
  (one file per CCD, the four quadrants inside);
* reference products ``ztf_<FFFFFF>_<filt>_c<CC>_q<Q>_<suffix>``,
  e.g. ``ztf_000655_zr_c13_q3_refimg.fits``.

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
import os
import re
from dataclasses import dataclass

from . import filters as _filters
from .errors import FileNameError

__all__ = [
    "ZTFFileName",
    "parse",
    "is_ztf_filename",
    "sibling",
    "reference_filename",
    "archive_path",
    "local_path",
    "build_science_filename",
    "build_reference_filename",
    "rcid_from_ccd_qid",
    "ccd_qid_from_rcid",
    "FILTERS",
]

#: ZTF file-name filter codes and their FILTERID (``{"zg": 1, "zr": 2, "zi": 3}``),
#: derived from the filter table :data:`ztfimg.filters.FILTERS`.
FILTERS = {f.code: f.filterid for f in _filters.FILTERS}

_FILT = "(?P<filt>" + "|".join(FILTERS) + ")"

_SCI_RE = re.compile(
    r"^ztf_(?P<filefracday>(?P<date>\d{8})(?P<frac>\d{6}))_(?P<field>\d{6})_"
    + _FILT + r"_c(?P<ccd>\d{2})_(?P<imgtype>[a-z])_q(?P<qid>\d)_(?P<suffix>.+)$"
)
_RAW_RE = re.compile(
    r"^ztf_(?P<filefracday>(?P<date>\d{8})(?P<frac>\d{6}))_(?P<field>\d{6})_"
    + _FILT + r"_c(?P<ccd>\d{2})_(?P<imgtype>[a-z])\.(?P<suffix>fits(?:\.fz)?)$"
)
_REF_RE = re.compile(
    r"^ztf_(?P<field>\d{6})_" + _FILT + r"_c(?P<ccd>\d{2})_q(?P<qid>\d)_(?P<suffix>.+)$"
)

#: Suffix a reference product takes for each science suffix with an equivalent.
_SCI_TO_REF_SUFFIX = {
    "sciimg.fits": "refimg.fits",
    "psfcat.fits": "refpsfcat.fits",
    "sexcat.fits": "refsexcat.fits",
}


def rcid_from_ccd_qid(ccdid: int, qid: int) -> int:
    """Readout-channel id (0-63) of a CCD (1-16) and quadrant (1-4): ``4*(ccdid-1) + qid - 1``."""
    ccdid, qid = int(ccdid), int(qid)
    if not 1 <= ccdid <= 16 or not 1 <= qid <= 4:
        raise FileNameError(f"ccdid must be 1-16 and qid 1-4, got ccdid={ccdid}, qid={qid}")
    return 4 * (ccdid - 1) + qid - 1


def ccd_qid_from_rcid(rcid: int) -> tuple[int, int]:
    """Inverse of :func:`rcid_from_ccd_qid`: ``(ccdid, qid)`` of a readout channel 0-63."""
    rcid = int(rcid)
    if not 0 <= rcid <= 63:
        raise FileNameError(f"rcid must be 0-63, got {rcid}")
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
        return _dt.datetime.strptime(self.filefracday[:8], "%Y%m%d").date()

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
        day = _dt.datetime.strptime(self.filefracday[:8], "%Y%m%d")
        return day + _dt.timedelta(days=self.fracday)

    @property
    def stem(self) -> str:
        """The name without its product suffix, e.g. ``ztf_..._c13_o_q3``."""
        return self.filename[: -len(self.suffix) - 1]


def parse(filename: str | os.PathLike) -> ZTFFileName:
    """Parse a ZTF science, raw or reference file name.

    Parameters
    ----------
    filename : str or path-like
        A file name or path; only the base name is parsed.

    Returns
    -------
    ZTFFileName
        The parsed record.

    Raises
    ------
    FileNameError
        If the name is not one of the ZTF patterns, or its CCD/quadrant numbers are out of range.
    """
    name = os.path.basename(os.fspath(filename))
    m = _SCI_RE.match(name)
    if m:
        kind, qid = "science", int(m["qid"])
    else:
        m = _RAW_RE.match(name)
        if m:
            kind, qid = "raw", None
        else:
            m = _REF_RE.match(name)
            if not m:
                raise FileNameError(
                    f"{name!r} is not a ZTF file name; expected e.g. "
                    "'ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits' (science), "
                    "'ztf_20200924431759_000655_zr_c13_o.fits.fz' (raw) or "
                    "'ztf_000655_zr_c13_q3_refimg.fits' (reference)"
                )
            kind, qid = "reference", int(m["qid"])
    ccdid = int(m["ccd"])
    if not 1 <= ccdid <= 16 or (qid is not None and not 1 <= qid <= 4):
        raise FileNameError(f"{name!r}: CCD must be 01-16 and quadrant 1-4")
    gd = m.groupdict()
    if gd.get("date"):
        try:
            _dt.datetime.strptime(gd["date"], "%Y%m%d")
        except ValueError:
            raise FileNameError(f"{name!r}: {gd['date']!r} is not a valid date") from None
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


def is_ztf_filename(filename: str | os.PathLike) -> bool:
    """True when :func:`parse` accepts ``filename``."""
    try:
        parse(filename)
    except FileNameError:
        return False
    return True


def build_science_filename(filefracday, fieldid, filtername, ccdid, qid, suffix="sciimg.fits",
                           imgtype="o") -> str:
    """Build a science product name.

    Parameters
    ----------
    filefracday : str or int
        ``YYYYMMDDffffff`` (14 digits).
    fieldid : int
        ZTF field number.
    filtername : {'zg', 'zr', 'zi'}
        Filter code.
    ccdid, qid : int
        CCD (1-16) and quadrant (1-4).
    suffix : str, default 'sciimg.fits'
        Product suffix.
    imgtype : str, default 'o'
        Image type code.

    Returns
    -------
    str
    """
    name = (f"ztf_{str(filefracday)}_{int(fieldid):06d}_{filtername}_c{int(ccdid):02d}_"
            f"{imgtype}_q{int(qid)}_{suffix}")
    parse(name)  # validates
    return name


def build_reference_filename(fieldid, filtername, ccdid, qid, suffix="refimg.fits") -> str:
    """Build a reference product name, e.g. ``ztf_000655_zr_c13_q3_refimg.fits``."""
    name = f"ztf_{int(fieldid):06d}_{filtername}_c{int(ccdid):02d}_q{int(qid)}_{suffix}"
    parse(name)
    return name


def sibling(filename: str | os.PathLike, suffix: str) -> str:
    """Name of another product of the same science or reference frame.

    Parameters
    ----------
    filename : str or path-like
        A science or reference product name (a directory part is kept).
    suffix : str
        The wanted suffix, with or without extension: ``'mskimg'`` means ``'mskimg.fits'``,
        ``'sciimgdao'`` or ``'sciimgdao.psf'`` the DAOPhot PSF.

    Returns
    -------
    str
        The sibling's name, in the same directory as ``filename``.
    """
    rec = parse(filename)
    if rec.kind == "raw":
        raise FileNameError(f"{rec.filename!r} is a raw CCD file; it has no quadrant products")
    if "." not in suffix:
        suffix = suffix + (".psf" if suffix.endswith("dao") else ".fits")
    dirname = os.path.dirname(os.fspath(filename))
    return os.path.join(dirname, rec.stem + "_" + suffix) if dirname else rec.stem + "_" + suffix


def reference_filename(filename: str | os.PathLike, suffix: str = "refimg.fits") -> str:
    """Base name of the reference product matching a science product (same field/filter/CCD/q)."""
    rec = parse(filename)
    if rec.qid is None:
        raise FileNameError(f"{rec.filename!r} has no quadrant; name one reference per quadrant")
    return build_reference_filename(rec.fieldid, rec.filtername, rec.ccdid, rec.qid, suffix)


def archive_path(filename: str | os.PathLike) -> str:
    """Archive-relative path of a product, as used by IRSA and a ``$ZTFDATA`` mirror.

    ``sci/<YYYY>/<MMDD>/<ffffff>/<name>`` for science and raw products,
    ``ref/<FFF>/field<FFFFFF>/<filt>/ccd<CC>/q<Q>/<name>`` for reference products.
    """
    rec = parse(filename)
    if rec.kind == "reference":
        return (f"ref/{rec.fieldid // 1000:03d}/field{rec.fieldid:06d}/{rec.filtername}/"
                f"ccd{rec.ccdid:02d}/q{rec.qid}/{rec.filename}")
    top = "raw" if rec.kind == "raw" else "sci"
    ffd = rec.filefracday
    return f"{top}/{ffd[:4]}/{ffd[4:8]}/{ffd[8:]}/{rec.filename}"


def local_path(filename: str | os.PathLike, root: str | os.PathLike | None = None) -> str:
    """Path of a product in a local mirror of the archive tree.

    Parameters
    ----------
    filename : str or path-like
        A ZTF product name.
    root : str or path-like, optional
        Root of the mirror. Default: the ``ZTFDATA`` environment variable.

    Raises
    ------
    FileNameError
        If no root is given and ``$ZTFDATA`` is not set.
    """
    if root is None:
        root = os.environ.get("ZTFDATA")
        if not root:
            raise FileNameError("no mirror root given and $ZTFDATA is not set")
    return os.path.join(os.fspath(root), archive_path(filename))
