"""Header access of ZTF frames, declared one keyword per line (level 2).

:class:`Keyword` is a descriptor: ``gain = Keyword("GAIN", unit="e-/DN", doc="Gain")``
gives a documented, read-only property that reads the first present keyword of its list,
casts it, and raises :class:`~ztfimg.errors.HeaderKeywordError` naming the keywords and the
file when none is usable (or returns the declared default).  :class:`HeaderAccess` holds the
keyword table of a ZTF science quadrant; a reference image overrides a few lines.
"""

from __future__ import annotations

import math
import re

from .. import filenames as _filenames
from ..errors import HeaderKeywordError, InvalidParameterError
from ..filters import get_filter, normalise_filter

__all__ = ["Keyword", "HeaderAccess", "REQUIRED", "SENTINELS", "read_keyword"]

#: Marker of a keyword without a default: its absence is an error.
REQUIRED = object()

#: Values IPAC writes for "not measured" in numeric keywords (MAGZP = -99 ...): read as absent.
SENTINELS = (-99.0, -999.0, -9999.0)


def read_keyword(header, keys, *, cast=float, default=REQUIRED, where=None):
    """The first usable value of ``keys`` in ``header``, cast with ``cast``.

    Parameters
    ----------
    header : astropy.io.fits.Header or mapping
    keys : sequence of str
        Keywords tried in order (blank and None values are skipped).
    cast : callable, default float
    default : object, optional
        Returned when no keyword is present. Without it, absence raises.
    where : str, optional
        File name for the error message.

    Raises
    ------
    HeaderKeywordError
        A present value cannot be cast, or none is present and there is no default.
    """
    sentinel = None
    for key in keys:
        if key in header:
            value = header[key]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                out = cast(value)
            except (TypeError, ValueError):
                raise HeaderKeywordError(
                    f"header keyword {key}={value!r} cannot be read as {cast.__name__} "
                    f"in {where or 'the header'}; fix or remove the card") from None
            if cast is float and (not math.isfinite(out) or out in SENTINELS):
                sentinel = sentinel or f"{key}={value!r}"
                continue  # IPAC's "no value": treated as missing
            return out
    if default is REQUIRED:
        if sentinel:
            raise HeaderKeywordError(
                f"header keyword {sentinel} in {where or 'the header'} is IPAC's 'no value' "
                "sentinel (the pipeline could not measure it): this frame has no usable "
                f"{keys[0]}; skip it or set the value yourself")
        raise HeaderKeywordError(f"header keyword {' or '.join(keys)} is missing from "
                                 f"{where or 'the header'}")
    return default


class Keyword:
    """A header-derived, read-only property: keywords tried in order, a cast and a unit.

    Parameters
    ----------
    *keys : str
        FITS keywords, the first present one wins.
    cast : callable, default float
        Conversion of the card value.
    default : object, optional
        Value when no keyword is present; without it the property raises
        :class:`~ztfimg.errors.HeaderKeywordError`.
    unit : str, optional
        Unit, for the docstring.
    doc : str, optional
        One-line description.
    """

    def __init__(self, *keys, cast=float, default=REQUIRED, unit=None, doc=""):
        self.keys = keys
        self.cast = cast
        self.default = default
        self.unit = unit
        fallback = "" if default is REQUIRED else f"; {default!r} when absent"
        unit_txt = f", {unit}" if unit else ""
        self.__doc__ = f"{doc} ({' / '.join(keys)}{unit_txt}{fallback})."

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return read_keyword(obj._header, self.keys, cast=self.cast, default=self.default,
                            where=obj.filename)


def _pcolor(value: str) -> str:
    return re.sub(r"\s+", "", str(value)).lower()


class HeaderAccess:
    """The header keywords of a ZTF frame as properties (mixed into the frame classes).

    The host class provides ``_header`` (its :class:`astropy.io.fits.Header`) and
    ``filename``.  One line per keyword, with its fallbacks and unit.
    """

    fieldid = Keyword("FIELDID", "DBFIELD", cast=int, doc="ZTF field number")
    obsjd = Keyword("OBSJD", unit="days", doc="Julian date of the observation")
    exptime = Keyword("EXPTIME", unit="s", doc="Exposure time")
    gain = Keyword("GAIN", unit="e-/DN", doc="Gain")
    readnoise = Keyword("READNOI", unit="e-", doc="Read noise")
    saturation = Keyword("SATURATE", unit="DN", doc="Saturation level")
    seeing = Keyword("SEEING", unit="pixels", doc="Seeing FWHM from the header")
    pixel_scale = Keyword("PIXSCALE", default=1.012, unit="arcsec/pixel", doc="Pixel scale")
    magzp = Keyword("MAGZP", unit="mag", doc="Photometric zero point for total DN")
    magzpunc = Keyword("MAGZPUNC", default=None, unit="mag", doc="Zero-point uncertainty")
    magzprms = Keyword("MAGZPRMS", unit="mag", doc="RMS of the zero-point fit residuals")
    clrcoeff = Keyword("CLRCOEFF", doc="Colour coefficient of the calibration")
    clrcounc = Keyword("CLRCOUNC", doc="Uncertainty of the colour coefficient")
    zpclrcov = Keyword("ZPCLRCOV", unit="mag^2", doc="Covariance of MAGZP and CLRCOEFF")
    maglim = Keyword("MAGLIM", unit="mag", doc="5-sigma limiting magnitude")
    infobits = Keyword("INFOBITS", cast=int, doc="Quality bits, 0 means no issue")
    status = Keyword("STATUS", cast=int, doc="Processing flag: 1 usable, 0 bad")
    airmass = Keyword("AIRMASS", default=None, doc="Airmass at mid-exposure")
    _filterid = Keyword("FILTERID", "DBFID", cast=int, default=None, doc="Filter id")
    _rcid = Keyword("RCID", "DBRCID", cast=int, default=None, doc="Readout channel")
    _ccdid = Keyword("CCDID", "CCD_ID", cast=int, default=None, doc="CCD number")
    _qid = Keyword("QID", cast=int, default=None, doc="Quadrant number")
    _obsmjd = Keyword("OBSMJD", default=None, unit="days", doc="Modified Julian date")
    _pcolor = Keyword("PCOLOR", cast=_pcolor, default=None, doc="Calibration colour")

    def get_value(self, key, default=None):
        """A header value by keyword, or ``default`` when absent (raw: no sentinel check).

        Parameters
        ----------
        key : str
            FITS keyword.
        default : object, optional
        """
        if not isinstance(key, str):
            raise InvalidParameterError(f"key must be a FITS keyword (a str); got "
                                        f"{type(key).__name__} {key!r:.40}")
        return self._header.get(key, default)

    def _optional(self, key, cast=float):
        """A numeric keyword, None when absent or an IPAC sentinel (-99 ...)."""
        return read_keyword(self._header, (key,), cast=cast, default=None, where=self.filename)

    @property
    def filtername(self) -> str:
        """Filter as ``'ztfg'``, ``'ztfr'`` or ``'ztfi'`` (from FILTER, else FILTERID/DBFID)."""
        value = self._header.get("FILTER")
        if value is not None and str(value).strip():
            try:
                return normalise_filter(value)
            except InvalidParameterError:
                pass
        if self._filterid is not None:
            try:
                return normalise_filter(self._filterid)
            except InvalidParameterError:
                pass
        raise HeaderKeywordError(f"header has no usable FILTER, FILTERID or DBFID keyword "
                                 f"in {self.filename or 'the header'}")

    @property
    def filter(self):
        """The filter's record (:class:`ztfimg.filters.ZTFFilter`: id, code, wavelength ...)."""
        return get_filter(self.filtername)

    @property
    def filterid(self) -> int:
        """FILTERID: 1 (g), 2 (r), 3 (i) (FILTERID / DBFID, else from FILTER)."""
        return self._filterid if self._filterid is not None else self.filter.filterid

    @property
    def rcid(self) -> int:
        """Readout channel 0-63 (RCID / DBRCID, else from CCDID and QID)."""
        if self._rcid is not None:
            return self._rcid
        if self._ccdid is None or self._qid is None:
            raise HeaderKeywordError(f"header has neither RCID/DBRCID nor CCDID and QID in "
                                     f"{self.filename or 'the header'}")
        return _filenames.rcid_from_ccd_qid(self._ccdid, self._qid)

    @property
    def ccdid(self) -> int:
        """CCD number 1-16 (CCDID, else from the readout channel)."""
        return self._ccdid if self._ccdid is not None else _filenames.ccd_qid_from_rcid(self.rcid)[0]

    @property
    def qid(self) -> int:
        """Quadrant 1-4 (QID, else from the readout channel)."""
        return self._qid if self._qid is not None else _filenames.ccd_qid_from_rcid(self.rcid)[1]

    @property
    def obsmjd(self) -> float:
        """Modified Julian date (OBSMJD, else OBSJD - 2400000.5), days."""
        return self._obsmjd if self._obsmjd is not None else self.obsjd - 2400000.5

    @property
    def obstime(self):
        """Observation time as an :class:`astropy.time.Time` (UTC)."""
        from astropy.time import Time
        return Time(self.obsjd, format="jd", scale="utc")

    @property
    def pcolor(self) -> str:
        """PS1 colour of the calibration, ``'g-r'`` or ``'r-i'`` (PCOLOR, else the filter's)."""
        return self._pcolor if self._pcolor is not None else self.filter.colour

    @property
    def wavelength(self) -> float:
        """Effective wavelength of the filter, Angstrom."""
        return self.filter.wavelength

    @property
    def apcor(self) -> dict:
        """Aperture corrections keyed by aperture **diameter** (pixels), as IPAC does.

        Returns
        -------
        dict
            ``{diameter: (apcor, apcorunc)}`` from FIXAPERS, APCORn and APCORUNn, with
            ``apcor = PSF mag - aperture mag`` (:func:`ztfimg.aperture.apcor_table_from_header`).

        Raises
        ------
        HeaderKeywordError
            FIXAPERS, an APCORn or APCORUNn is missing or malformed.
        """
        from ..aperture import apcor_table_from_header
        return apcor_table_from_header(self._header)

    def get_apcor(self, diameter):
        """Aperture correction (mag) and its uncertainty for one of the IPAC diameters.

        Parameters
        ----------
        diameter : float
            Aperture diameter in pixels (one of FIXAPERS: 2, 3, 4, 6, 10, 14).

        Returns
        -------
        (apcor, apcorunc) : tuple of float
            ``m_total = magzp - 2.5 log10(aperture counts) + apcor``.

        Raises
        ------
        HeaderKeywordError
            No correction for that diameter (or the header has no usable APCOR cards).
        """
        from ..aperture import aperture_correction
        from ..validation import as_number
        diameter = as_number(diameter, "diameter", "pixels", positive=True)
        table = self.apcor
        try:
            return aperture_correction(float(diameter) / 2.0, table)
        except InvalidParameterError:
            raise HeaderKeywordError(
                f"no APCOR for an aperture diameter of {diameter} px; the header has "
                f"{sorted(table)}") from None
