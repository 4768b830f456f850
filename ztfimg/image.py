"""ZTF frames as objects: :class:`ScienceImage` and :class:`ReferenceImage`.

The objects are thin: they hold the pixels, the bit mask and the header, read the header
values with ZTF's keyword conventions, and call the array-level modules with ZTF defaults.

Pixel convention (the one public convention of ztfimg): **0-based**, ``x`` is the column and
``y`` the row (``data[y, x]``), the centre of the first pixel is ``(0, 0)``, in file
orientation. FITS/WCS and IPAC catalogues are 1-based; the conversion happens at that
boundary only (``pixels_to_coords`` / ``coords_to_pixels`` use WCS origin 0).

Examples
--------
>>> from ztfimg import ScienceImage                                  # doctest: +SKIP
>>> img = ScienceImage.from_filename("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
>>> img.magzp, img.filtername, img.data.shape
(26.285139, 'ztfr', (3080, 3072))
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
from astropy.io import fits

from . import bitmask as _bitmask
from . import filenames as _filenames
from . import photometry as _phot
from .errors import (FileFormatError, HeaderKeywordError, InvalidParameterError,
                     MissingFileError, ShapeMismatchError)

__all__ = ["ZTFImage", "ScienceImage", "ReferenceImage", "read_fits", "normalise_filter"]

#: Shape (rows, columns) of one ZTF quadrant.
QUADRANT_SHAPE = (3080, 3072)

#: Aperture diameters (pixels) of the header's APCOR1..6 when FIXAPERS is absent.
DEFAULT_FIXAPERS = (2.0, 3.0, 4.0, 6.0, 10.0, 14.0)

_FILTER_BY_ID = {1: "ztfg", 2: "ztfr", 3: "ztfi"}

#: Header keywords that define a celestial WCS (TPV, SIP and TAN families).
_WCS_KEY = re.compile(r"^(NAXIS\d?|WCSAXES|CTYPE\d|CRPIX\d|CRVAL\d|CUNIT\d|CDELT\d|CROTA\d|"
                      r"CD\d_\d|PC\d_\d|PV\d_\d+|[AB]P?_ORDER|[AB]P?_\d+_\d+|RADESYS|RADECSYS|"
                      r"EQUINOX|EPOCH|LONPOLE|LATPOLE|MJD-OBS|DATE-OBS)$")


def normalise_filter(value) -> str:
    """Normalise a ZTF filter spelling to ``'ztfg'``, ``'ztfr'`` or ``'ztfi'``.

    Accepts the header spellings ``'ZTF_r'`` (2020) and ``'ZTF g'`` (2017), file-name codes
    ``'zr'``, bare ``'r'``, and the FILTERID integers 1, 2, 3.

    Raises
    ------
    InvalidParameterError
        For anything else.
    """
    if isinstance(value, (int, np.integer)):
        if int(value) in _FILTER_BY_ID:
            return _FILTER_BY_ID[int(value)]
    else:
        s = re.sub(r"[\s_]", "", str(value)).lower()
        s = s[3:] if s.startswith("ztf") else s
        s = s[1:] if len(s) == 2 and s[0] == "z" else s
        if s in ("g", "r", "i"):
            return "ztf" + s
    raise InvalidParameterError(f"{value!r} is not a ZTF filter (expected g, r or i)")


def _check_fits_path(path) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MissingFileError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise MissingFileError(f"{path!r} is a directory, expected a FITS file")
    return path


def read_fits(path, *, header_only=False, dtype=None, readonly=True):
    """Read the primary image of a FITS file once, as a native-endian array.

    Parameters
    ----------
    path : str or path-like
        FITS file (``.fits`` or ``.fits.fz``; compressed images are read from the first
        image extension).
    header_only : bool, default False
        Only read and return the header.
    dtype : numpy dtype, optional
        Convert the data to this native-endian dtype once (``float32`` for images,
        ``int16`` for masks). Default: the file's type in native byte order.
    readonly : bool, default True
        Return a read-only array.

    Returns
    -------
    data : numpy.ndarray or None
        The pixels, read-only (None with ``header_only``).
    header : astropy.io.fits.Header

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If it is not FITS, holds no image, or is truncated.
    """
    path = _check_fits_path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", category=fits.verify.VerifyWarning)
            warnings.filterwarnings("error", message=".*truncated.*")
            with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
                hdu = hdul[0]
                if hdu.header.get("NAXIS", 0) == 0 and len(hdul) > 1:
                    hdu = hdul[1]
                header = hdu.header.copy()
                if header_only:
                    return None, header
                shape = tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(header.get("NAXIS", 0), 0, -1))
                raw = hdu.data
                if raw is None or raw.ndim != 2:
                    raise FileFormatError(f"{path!r} has no 2-D image in its primary HDU")
                if raw.shape != shape:
                    raise FileFormatError(f"{path!r}: data shape {raw.shape} differs from header {shape}")
                target = np.dtype(dtype) if dtype is not None else raw.dtype.newbyteorder("=")
                data = np.array(raw, dtype=target.newbyteorder("="), copy=True)
    except (OSError, TypeError, ValueError, IndexError, fits.verify.VerifyError,
            UserWarning) as exc:
        if isinstance(exc, (MissingFileError, FileFormatError)):
            raise
        raise FileFormatError(f"cannot read FITS file {path!r} (truncated or not FITS?): {exc}") from exc
    if readonly:
        data.flags.writeable = False
    return data, header


def _readonly(array):
    """A read-only view of ``array`` (the array itself stays as it is)."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


class ZTFImage:
    """One ZTF image (a quadrant): pixels, optional bit mask and header.

    Parameters
    ----------
    imagefile : str or path-like, optional
        FITS image. Its pixels are read on first use (the header at once).
    maskfile : str or path-like, optional
        Matching ``mskimg`` FITS file (ZTF bit mask).
    data, header, mask : optional
        Alternatively the arrays themselves (see :meth:`from_arrays`).

    Notes
    -----
    ``data`` and ``mask`` are read-only views; copy them before editing. Header values are
    properties (``magzp``, ``gain`` ...); a missing keyword raises
    :class:`~ztfimg.errors.HeaderKeywordError` naming it.
    """

    #: Keywords consulted, in order, for each header-derived property.
    _KEYWORDS = {
        "fieldid": ("FIELDID", "DBFIELD"),
        "filterid": ("FILTERID", "DBFID"),
        "ccdid": ("CCDID", "CCD_ID"),
        "qid": ("QID",),
        "rcid": ("RCID", "DBRCID"),
    }

    def __init__(self, imagefile=None, maskfile=None, *, data=None, header=None, mask=None):
        self._imagefile = None if imagefile is None else _check_fits_path(imagefile)
        self._maskfile = None if maskfile is None else _check_fits_path(maskfile)
        self._cache = {}
        if self._imagefile is not None:
            if data is not None:
                raise InvalidParameterError("give either an image file or a data array, not both")
            _, hdr = read_fits(self._imagefile, header_only=True)
            self._header = hdr if header is None else fits.Header(header)
            self._data = None
        else:
            if data is None or header is None:
                raise InvalidParameterError("an image needs a FITS file, or both data and header arrays")
            self._header = fits.Header(header) if not isinstance(header, fits.Header) else header.copy()
            self._data = self._as_image(data)
        self._mask = None
        if mask is not None:
            if self._maskfile is not None:
                raise InvalidParameterError("give either a mask file or a mask array, not both")
            self._mask = self._as_mask(mask)
        self._maskheader = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, data, header, mask=None):
        """Build an image from arrays already in memory.

        Parameters
        ----------
        data : array_like, 2-D
            The pixels (DN). Converted once to native float32; the caller's array is not
            modified (a copy is made only when the type or byte order differs).
        header : astropy.io.fits.Header or dict
            The science header (WCS, MAGZP, GAIN ...).
        mask : array_like of int, optional
            The ZTF bit mask, same shape as ``data``.
        """
        return cls(data=data, header=header, mask=mask)

    @staticmethod
    def _as_image(data):
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ShapeMismatchError(f"image data must be 2-D, got shape {arr.shape}")
        if arr.dtype.kind not in "fiu":
            raise InvalidParameterError(f"image data must be numeric, got dtype {arr.dtype}")
        out = np.asarray(arr, dtype=np.float32)
        return out.copy() if (out is arr or np.shares_memory(out, arr)) else out

    def _as_mask(self, mask):
        arr = np.asarray(mask)
        if arr.dtype.kind not in "iu":
            raise InvalidParameterError(f"a ZTF mask must be an integer array, got dtype {arr.dtype}")
        shape = self.shape
        if arr.shape != shape:
            raise ShapeMismatchError(f"mask shape {arr.shape} differs from image shape {shape}")
        return np.array(arr, dtype=arr.dtype.newbyteorder("="), copy=True)

    # ------------------------------------------------------------------ pixels
    @property
    def filename(self):
        """Path of the image file (None for an image built from arrays)."""
        return self._imagefile

    @property
    def maskfile(self):
        """Path of the mask file (None if there is none)."""
        return self._maskfile

    @property
    def header(self):
        """The image header (:class:`astropy.io.fits.Header`)."""
        return self._header

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image, from the header when the pixels are not loaded."""
        if self._data is not None:
            return self._data.shape
        return int(self._header["NAXIS2"]), int(self._header["NAXIS1"])

    @property
    def data(self) -> np.ndarray:
        """The pixels (DN), native float32, read-only; read from the file on first use."""
        return _readonly(self._pixels())

    def _pixels(self):
        # the private, writable owner of the pixels: handed to sep, which insists on
        # writable buffers although it never writes. Never returned to callers.
        if self._data is None:
            self._data, _ = read_fits(self._imagefile, dtype=np.float32, readonly=False)
        return self._data

    @property
    def has_mask(self) -> bool:
        """True when a bit mask (file or array) is attached."""
        return self._mask is not None or self._maskfile is not None

    @property
    def mask(self) -> np.ndarray | None:
        """The ZTF bit mask (native int16, read-only), or None when there is none."""
        if self._mask is None and self._maskfile is not None:
            mask, self._maskheader = read_fits(self._maskfile, dtype=np.int16, readonly=False)
            _bitmask.check_legend(self._maskheader)
            if mask.shape != self.shape:
                raise ShapeMismatchError(f"mask {self._maskfile!r} has shape {mask.shape}, "
                                         f"the image {self.shape}")
            self._mask = mask
        return None if self._mask is None else _readonly(self._mask)

    @property
    def maskheader(self):
        """Header of the mask file (None when the mask did not come from a file)."""
        self.mask  # noqa: B018 - loads it
        return self._maskheader

    def get_mask(self, tracks=True, ghosts=True, spillage=True, spikes=True, dead=True,
                 nan=True, saturated=True, brightstarhalo=True, lowresponsivity=True,
                 highresponsivity=True, noisy=True, sexsources=False, psfsources=False,
                 *, bits=None) -> np.ndarray:
        """Boolean mask (True = bad) from the ZTF bit mask.

        The defaults select every bit but 1 (SExtractor detection) and 11 (PSF-extracted
        source), which mark every star: right for detection and photometry. Pass
        ``sexsources=True, psfsources=True`` (or ``bits=bitmask.BACKGROUND_BITS``) for a
        background estimate.

        Parameters
        ----------
        tracks, ghosts, spillage, spikes, dead, nan, saturated, brightstarhalo, \
lowresponsivity, highresponsivity, noisy, sexsources, psfsources : bool
            Whether each kind of flagged pixel is masked (see :mod:`ztfimg.bitmask`).
        bits : int or ZTFBit, optional
            Explicit bit selection; overrides the keywords.

        Returns
        -------
        numpy.ndarray of bool
            Shape of the image. Without a mask file, only non-finite pixels are True.
        """
        if bits is None:
            bits = _bitmask.bits_from_keywords(
                tracks=tracks, ghosts=ghosts, spillage=spillage, spikes=spikes, dead=dead,
                nan=nan, saturated=saturated, brightstarhalo=brightstarhalo,
                lowresponsivity=lowresponsivity, highresponsivity=highresponsivity,
                noisy=noisy, sexsources=sexsources, psfsources=psfsources)
        return _readonly(self._mask_owner(bits))

    def _mask_owner(self, bits):
        key = ("mask", int(bits))
        if key not in self._cache:
            if self.mask is None:
                out = ~np.isfinite(self._pixels())
            else:
                out = _bitmask.to_bool(self._mask, bits)
                if bits & _bitmask.ZTFBit.NAN:
                    out |= ~np.isfinite(self._pixels())
            self._cache[key] = out
        return self._cache[key]

    # ------------------------------------------------------------------ header access
    def _keyword(self, *keys, cast=float, required=True):
        for key in keys:
            if key in self._header:
                value = self._header[key]
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                try:
                    return cast(value)
                except (TypeError, ValueError):
                    raise HeaderKeywordError(
                        f"header keyword {key}={value!r} cannot be read as {cast.__name__}") from None
        if required:
            names = " or ".join(keys)
            raise HeaderKeywordError(f"header keyword {names} is missing from "
                                     f"{self._imagefile or 'the header'}")
        return None

    def get_value(self, key, default=None):
        """A header value by keyword, or ``default`` when absent."""
        return self._header.get(key, default)

    @property
    def filtername(self) -> str:
        """Filter as ``'ztfg'``, ``'ztfr'`` or ``'ztfi'`` (from FILTER, else FILTERID)."""
        if "FILTER" in self._header and str(self._header["FILTER"]).strip():
            try:
                return normalise_filter(self._header["FILTER"])
            except InvalidParameterError:
                pass
        fid = self._keyword(*self._KEYWORDS["filterid"], cast=int, required=False)
        if fid in _FILTER_BY_ID:
            return _FILTER_BY_ID[fid]
        raise HeaderKeywordError("header has no usable FILTER, FILTERID or DBFID keyword")

    @property
    def filterid(self) -> int:
        """FILTERID: 1 (g), 2 (r), 3 (i)."""
        fid = self._keyword(*self._KEYWORDS["filterid"], cast=int, required=False)
        return fid if fid is not None else {v: k for k, v in _FILTER_BY_ID.items()}[self.filtername]

    @property
    def fieldid(self) -> int:
        """ZTF field number (FIELDID, or DBFIELD on reference images)."""
        return self._keyword(*self._KEYWORDS["fieldid"], cast=int)

    @property
    def rcid(self) -> int:
        """Readout channel 0-63 (RCID/DBRCID, else from CCDID and QID)."""
        rcid = self._keyword(*self._KEYWORDS["rcid"], cast=int, required=False)
        if rcid is None:
            return _filenames.rcid_from_ccd_qid(self._keyword(*self._KEYWORDS["ccdid"], cast=int),
                                                self._keyword(*self._KEYWORDS["qid"], cast=int))
        return rcid

    @property
    def ccdid(self) -> int:
        """CCD number 1-16 (CCDID, else from the readout channel)."""
        ccd = self._keyword(*self._KEYWORDS["ccdid"], cast=int, required=False)
        return ccd if ccd is not None else _filenames.ccd_qid_from_rcid(self.rcid)[0]

    @property
    def qid(self) -> int:
        """Quadrant 1-4 (QID, else from the readout channel)."""
        qid = self._keyword(*self._KEYWORDS["qid"], cast=int, required=False)
        return qid if qid is not None else _filenames.ccd_qid_from_rcid(self.rcid)[1]

    @property
    def obsjd(self) -> float:
        """Julian date of the observation (OBSJD), days."""
        return self._keyword("OBSJD")

    @property
    def obsmjd(self) -> float:
        """Modified Julian date (OBSMJD, else OBSJD - 2400000.5), days."""
        mjd = self._keyword("OBSMJD", required=False)
        return mjd if mjd is not None else self.obsjd - 2400000.5

    @property
    def obstime(self):
        """Observation time as an :class:`astropy.time.Time` (UTC)."""
        from astropy.time import Time
        return Time(self.obsjd, format="jd", scale="utc")

    @property
    def exptime(self) -> float:
        """Exposure time (EXPTIME), seconds."""
        return self._keyword("EXPTIME")

    @property
    def gain(self) -> float:
        """Gain (GAIN), electrons per DN."""
        return self._keyword("GAIN")

    @property
    def readnoise(self) -> float:
        """Read noise (READNOI), electrons."""
        return self._keyword("READNOI")

    @property
    def saturation(self) -> float:
        """Saturation level of the science image (SATURATE), DN."""
        return self._keyword("SATURATE")

    @property
    def seeing(self) -> float:
        """Seeing FWHM from the header (SEEING), pixels. Measure it before trusting it."""
        return self._keyword("SEEING")

    @property
    def pixel_scale(self) -> float:
        """Pixel scale (PIXSCALE, default 1.012 for ZTF when absent), arcsec per pixel."""
        value = self._keyword("PIXSCALE", required=False)
        return 1.012 if value is None else value

    @property
    def magzp(self) -> float:
        """Photometric zero point for PSF photometry (MAGZP), mag, for total DN."""
        return self._keyword("MAGZP")

    @property
    def magzpunc(self) -> float:
        """Zero-point uncertainty (MAGZPUNC), mag; 0 when absent."""
        value = self._keyword("MAGZPUNC", required=False)
        return 0.0 if value is None else value

    @property
    def magzprms(self) -> float:
        """RMS of the zero-point fit residuals (MAGZPRMS), mag."""
        return self._keyword("MAGZPRMS")

    @property
    def clrcoeff(self) -> float:
        """Colour coefficient of the calibration (CLRCOEFF)."""
        return self._keyword("CLRCOEFF")

    @property
    def clrcounc(self) -> float:
        """Uncertainty of the colour coefficient (CLRCOUNC)."""
        return self._keyword("CLRCOUNC")

    @property
    def zpclrcov(self) -> float:
        """Covariance of MAGZP and CLRCOEFF (ZPCLRCOV), mag^2."""
        return self._keyword("ZPCLRCOV")

    @property
    def pcolor(self) -> str:
        """PS1 colour used by the calibration, as ``'g-r'`` or ``'r-i'`` (from PCOLOR).

        Falls back to ``'g-r'`` for zg/zr and ``'r-i'`` for zi when PCOLOR is absent (the
        ZTF pipeline convention).
        """
        value = self._keyword("PCOLOR", cast=str, required=False)
        if value is None:
            return "r-i" if self.filtername == "ztfi" else "g-r"
        return re.sub(r"\s+", "", value).lower()

    @property
    def maglim(self) -> float:
        """5-sigma limiting magnitude of the PSF catalogue (MAGLIM), mag."""
        return self._keyword("MAGLIM")

    @property
    def infobits(self) -> int:
        """Quality bits (INFOBITS); 0 means no issue."""
        return self._keyword("INFOBITS", cast=int)

    @property
    def status(self) -> int:
        """Overall processing flag (STATUS): 1 usable, 0 bad."""
        return self._keyword("STATUS", cast=int)

    @property
    def apcor(self) -> dict:
        """Aperture corrections by aperture **diameter** (pixels).

        Returns
        -------
        dict
            ``{diameter: (apcor, apcorunc)}`` with ``apcor = PSF mag - aperture mag`` from
            APCORn/APCORUNn and the diameters of FIXAPERS. Empty when the header has none.
        """
        fixapers = self._header.get("FIXAPERS")
        diameters = (tuple(float(v) for v in str(fixapers).split(",")) if fixapers
                     else DEFAULT_FIXAPERS)
        out = {}
        for i, diam in enumerate(diameters, start=1):
            if f"APCOR{i}" in self._header:
                out[diam] = (float(self._header[f"APCOR{i}"]),
                             float(self._header.get(f"APCORUN{i}", 0.0)))
        return out

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
            If the header has no correction for that diameter.
        """
        table = self.apcor
        for diam, value in table.items():
            if abs(diam - float(diameter)) < 1e-6:
                return value
        raise HeaderKeywordError(
            f"no APCOR for an aperture diameter of {diameter} px; header has {sorted(table)}")

    # ------------------------------------------------------------------ WCS
    @property
    def wcs(self):
        """The image WCS (:class:`astropy.wcs.WCS`, TPV distortion included)."""
        if "wcs" not in self._cache:
            from astropy.wcs import WCS, FITSFixedWarning
            if "CTYPE1" not in self._header or "CTYPE2" not in self._header:
                raise HeaderKeywordError(
                    f"header has no WCS (CTYPE1/CTYPE2 missing) in {self._imagefile or 'the header'}")
            # only the WCS cards: wcslib then parses ~70 cards instead of ~250 (5x faster)
            wcs_header = fits.Header([c for c in self._header.cards if _WCS_KEY.match(c.keyword)])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = WCS(wcs_header, naxis=2)
            if not wcs.has_celestial:
                raise HeaderKeywordError("header WCS has no celestial axes")
            self._cache["wcs"] = wcs
        return self._cache["wcs"]

    def pixels_to_coords(self, x, y):
        """Sky coordinates of pixel positions.

        Parameters
        ----------
        x, y : float or array_like
            0-based pixel positions (x column, y row); same shape.

        Returns
        -------
        ra, dec : float or numpy.ndarray
            ICRS degrees; NaN where x or y is NaN.
        """
        xs, ys = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        ra = np.full(xs.shape, np.nan)
        dec = np.full(xs.shape, np.nan)
        good = np.isfinite(xs) & np.isfinite(ys)
        if good.any():
            ra[good], dec[good] = self.wcs.all_pix2world(xs[good], ys[good], 0)
        if np.ndim(x) == 0 and np.ndim(y) == 0:
            return float(ra), float(dec)
        return ra, dec

    def coords_to_pixels(self, ra, dec=None):
        """Pixel positions of sky coordinates.

        Parameters
        ----------
        ra : float, array_like or astropy.coordinates.SkyCoord
            Right ascension in degrees, or a ``SkyCoord`` (then ``dec`` is omitted).
        dec : float or array_like, optional
            Declination in degrees.

        Returns
        -------
        x, y : float or numpy.ndarray
            0-based pixel positions; NaN for NaN input. Positions off the image are
            returned as computed (check them with :meth:`is_inside`).
        """
        if dec is None:
            try:
                icrs = ra.icrs
            except AttributeError:
                raise InvalidParameterError("coords_to_pixels needs ra and dec, or a SkyCoord") from None
            scalar = icrs.isscalar
            ra, dec = np.atleast_1d(icrs.ra.deg), np.atleast_1d(icrs.dec.deg)
        else:
            scalar = np.ndim(ra) == 0 and np.ndim(dec) == 0
        ras, decs = np.broadcast_arrays(np.asarray(ra, dtype=float), np.asarray(dec, dtype=float))
        x = np.full(ras.shape, np.nan)
        y = np.full(ras.shape, np.nan)
        good = np.isfinite(ras) & np.isfinite(decs)
        if good.any():
            x[good], y[good] = self.wcs.all_world2pix(ras[good], decs[good], 0, tolerance=1e-6,
                                                      maxiter=50, quiet=True)
        if scalar:
            return float(np.ravel(x)[0]), float(np.ravel(y)[0])
        return x, y

    def is_inside(self, x, y, margin=0.0):
        """True for positions inside the image (0-based pixels), ``margin`` pixels from the edge."""
        ny, nx = self.shape
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        with np.errstate(invalid="ignore"):
            return ((x >= -0.5 + margin) & (x <= nx - 0.5 - margin)
                    & (y >= -0.5 + margin) & (y <= ny - 0.5 - margin))

    def get_center(self, system="xy"):
        """Centre of the image: ``(x, y)`` 0-based pixels, or ``(ra, dec)`` with system='radec'."""
        ny, nx = self.shape
        xc, yc = (nx - 1) / 2, (ny - 1) / 2
        if system == "xy":
            return xc, yc
        if system == "radec":
            return self.pixels_to_coords(xc, yc)
        raise InvalidParameterError(f"system must be 'xy' or 'radec', got {system!r}")

    # ------------------------------------------------------------------ conversions
    @property
    def wavelength(self) -> float:
        """Effective wavelength of the filter, Angstrom."""
        return _phot.ZTF_WAVELENGTHS[self.filtername]

    def _colour_kw(self, colour):
        if colour is None:
            return {}
        return {"colour": colour, "clrcoeff": self.clrcoeff}

    def counts_to_mag(self, counts, error=None, colour=None):
        """Counts (DN) to AB magnitudes with the frame's MAGZP (and MAGZPUNC in the error).

        Parameters
        ----------
        counts, error : float or array_like
            Counts and 1-sigma errors, DN.
        colour : float or array_like, optional
            PS1 colour (see :attr:`pcolor`); applies the CLRCOEFF colour term.

        Returns
        -------
        mag, magerr
            NaN for non-positive counts; ``magerr`` None when ``error`` is None.
        """
        return _phot.counts_to_mag(counts, error, magzp=self.magzp, magzpunc=self.magzpunc,
                                   **self._colour_kw(colour))

    def mag_to_counts(self, mag, error=None, colour=None):
        """AB magnitudes to counts (DN); inverse of :meth:`counts_to_mag`."""
        return _phot.mag_to_counts(mag, error, magzp=self.magzp, **self._colour_kw(colour))

    def counts_to_flux(self, counts, error=None, unit="flam", colour=None):
        """Counts (DN) to flux density (default erg/s/cm2/A at the filter wavelength).

        Parameters
        ----------
        counts, error : float or array_like
            DN.
        unit : {'flam', 'fnu', 'jy', 'mjy', 'ujy'}, default 'flam'
        colour : float or array_like, optional
            PS1 colour for the colour term.
        """
        return _phot.counts_to_flux(counts, error, magzp=self.magzp, wavelength=self.wavelength,
                                    unit=unit, **self._colour_kw(colour))

    def flux_to_counts(self, flux, error=None, unit="flam", colour=None):
        """Flux density to counts (DN); inverse of :meth:`counts_to_flux`."""
        return _phot.flux_to_counts(flux, error, magzp=self.magzp, wavelength=self.wavelength,
                                    unit=unit, **self._colour_kw(colour))

    def flux_to_mag(self, flux, error=None, unit="flam"):
        """Flux density to AB magnitude at the filter's wavelength."""
        return _phot.flux_to_mag(flux, error, wavelength=self.wavelength, unit=unit)

    def mag_to_flux(self, mag, error=None, unit="flam"):
        """AB magnitude to flux density at the filter's wavelength."""
        return _phot.mag_to_flux(mag, error, wavelength=self.wavelength, unit=unit)

    # ------------------------------------------------------------------ background
    #: Default background mesh (pixels) and median filter (meshes) for a ZTF quadrant.
    BACKGROUND_BOX_SIZE = None  # None: ztfimg.background's measured default
    BACKGROUND_FILTER_SIZE = None

    def get_background(self, box_size=None, filter_size=None, *, sources=None,
                       ellipse_scale=3.0, bits=None, fthresh=0.0):
        """Sky background and noise maps (sep), computed once per parameter set.

        Parameters
        ----------
        box_size : int or (int, int), optional
            Mesh size in pixels. Default :data:`ztfimg.background.DEFAULT_BOX_SIZE`
            (measured best for a 3072x3080 ZTF quadrant).
        filter_size : int or (int, int), optional
            Median filter size in meshes. Default
            :data:`ztfimg.background.DEFAULT_FILTER_SIZE`.
        sources : pandas.DataFrame, optional
            Sources (``x``, ``y``, ``a``, ``b``, ``theta``) whose ellipses, scaled by
            ``ellipse_scale``, are masked too.
        ellipse_scale : float, default 3
            Scale of the source ellipses (in units of ``a``, ``b``).
        bits : int, optional
            Mask bits; default every bit, including the source bits 1 and 11.
        fthresh : float, default 0
            sep's median-filter threshold.

        Returns
        -------
        ztfimg.background.Background
        """
        from . import background as _bkg
        box_size = box_size if box_size is not None else (
            self.BACKGROUND_BOX_SIZE or _bkg.DEFAULT_BOX_SIZE)
        filter_size = filter_size if filter_size is not None else (
            self.BACKGROUND_FILTER_SIZE or _bkg.DEFAULT_FILTER_SIZE)
        bits = _bitmask.BACKGROUND_BITS if bits is None else bits
        skey = None if sources is None else (len(sources), float(np.nansum(sources["x"])),
                                             float(np.nansum(sources["y"])), float(ellipse_scale))
        key = ("background", str(box_size), str(filter_size), skey, int(bits), float(fthresh))
        if key not in self._cache:
            ellipses = None
            if sources is not None:
                ellipses = sources[["x", "y", "a", "b", "theta"]]
            self._cache[key] = _bkg.estimate_background(
                self._pixels(), self._mask_owner(bits), box_size=box_size, filter_size=filter_size,
                fthresh=fthresh, ellipses=ellipses, ellipse_scale=ellipse_scale)
        return self._cache[key]

    @property
    def background(self):
        """The current background (:class:`ztfimg.background.Background`).

        The default one (:meth:`get_background`) unless :meth:`load_source_background` or
        :meth:`set_background` chose another.
        """
        if self._cache.get("current_background") is None:
            self._cache["current_background"] = self.get_background()
        return self._cache["current_background"]

    def set_background(self, background):
        """Use ``background`` (a Background, or None to go back to the default) from now on.

        Derived products (``dataclean``, sources extracted later) follow it.
        """
        self._cache["current_background"] = background
        self._cache.pop("dataclean", None)
        return self

    def load_source_background(self, thresh=3.0, ellipse_scale=3.0, **kwargs):
        """Background estimated with the pixels of detected sources masked, then kept.

        Steps: default background (every mask bit masked, the stars' bits 1 and 11
        included), detection at ``thresh`` sigma on the subtracted image, and a new
        background with the sources' ellipses (scaled by ``ellipse_scale``) masked too.
        Faint wings that IPAC did not flag no longer lift the sky.

        Parameters
        ----------
        thresh : float, default 3
            Detection threshold (sigma) of the sources to mask.
        ellipse_scale : float, default 3
            Scale of the masked ellipses.
        **kwargs
            ``box_size``, ``filter_size`` of :meth:`get_background`.

        Returns
        -------
        ztfimg.background.Background
            Also set as :attr:`background`.
        """
        from . import sources as _src
        first = self.get_background(**kwargs)
        clean = first.subtract(self._pixels())
        src = _src.extract_sources(clean, thresh=thresh, err=first.globalrms,
                                   mask=self._mask_owner(_bitmask.DETECTION_BITS))
        bkg = self.get_background(sources=src, ellipse_scale=ellipse_scale, **kwargs)
        self.set_background(bkg)
        return bkg

    @property
    def datamasked(self):
        """Pixels with the bad ones (every bit but 1 and 11) set to NaN (new float32 array)."""
        return _readonly(self._datamasked())

    def _datamasked(self):
        if "datamasked" not in self._cache:
            out = self._pixels().copy()
            out[self._mask_owner(_bitmask.DETECTION_BITS)] = np.nan
            self._cache["datamasked"] = out
        return self._cache["datamasked"]

    @property
    def dataclean(self):
        """Masked (NaN) and background-subtracted pixels, with the current background."""
        return _readonly(self._dataclean())

    def _dataclean(self):
        key = ("dataclean", id(self.background))
        if self._cache.get("dataclean", (None,))[0] != key:
            self._cache["dataclean"] = (key, self.background.subtract(self._datamasked()))
        return self._cache["dataclean"][1]

    def get_data(self, apply_mask=False, maskvalue=np.nan, rm_bkgd=False, **maskkw) -> np.ndarray:
        """The pixels, optionally with bad pixels replaced and the background removed.

        Parameters
        ----------
        apply_mask : bool, default False
            Replace the pixels of :meth:`get_mask` (called with ``maskkw``) by ``maskvalue``.
        maskvalue : float, default nan
            Value given to masked pixels.
        rm_bkgd : bool, default False
            Subtract the current :attr:`background`.
        **maskkw
            Keywords of :meth:`get_mask`.

        Returns
        -------
        numpy.ndarray
            float32; ``data`` itself (read-only) when nothing is asked, else a new array.
        """
        if not apply_mask and not rm_bkgd:
            return self.data
        out = self._pixels().copy()
        if rm_bkgd:
            out = self.background.subtract(out).astype(np.float32, copy=False)
        if apply_mask:
            out[self.get_mask(**maskkw)] = maskvalue
        return out

    def _clean_filled(self):
        # Background-subtracted pixels for computations: bad pixels are set to 0 and are
        # also excluded through the mask passed alongside, so sep gets a NaN-free array
        # without a per-call copy.
        # Masked pixels are 0 too, so level-1 photometry needs no copy to leave them out.
        key = ("clean_filled", id(self.background))
        if self._cache.get("clean_filled", (None,))[0] != key:
            out = self.background.subtract(self._pixels())
            out[self._mask_owner(_bitmask.DETECTION_BITS)] = 0.0
            bad = ~np.isfinite(out)
            if bad.any():
                out[bad] = 0.0
            self._cache["clean_filled"] = (key, out)
        return self._cache["clean_filled"][1]

    def _named_data(self, which, compute=False):
        """Pixels by name. ``compute=True``: the NaN-free versions handed to level-1
        functions together with the detection mask (identical results, no copies)."""
        if isinstance(which, np.ndarray):
            if which.shape != self.shape:
                raise ShapeMismatchError(f"data of shape {which.shape} given for an image of {self.shape}")
            return which
        masked = self._pixels if compute else self._datamasked
        clean = self._clean_filled if compute else self._dataclean
        names = {"data": self._pixels, "raw": self._pixels,
                 "datamasked": masked, "masked": masked,
                 "dataclean": clean, "clean": clean,
                 "background": lambda: self.background.back, "back": lambda: self.background.back,
                 "rms": lambda: self.background.rms}
        if which not in names:
            raise InvalidParameterError(f"data must be one of {sorted(names)} or an array, got {which!r}")
        return names[which]()

    # ------------------------------------------------------------------ sources
    def extract_sources(self, thresh=5.0, data="dataclean", setmag=True, *, minarea=5,
                        err=None, **kwargs):
        """Detect sources with sep; the result is kept as :attr:`sources`.

        Detection masks every bad bit but never bits 1 and 11 (they mark the stars).
        The noise is the background's global rms (a scalar: sep keeps its fast path);
        pass ``err=image.background.rms`` for a per-pixel map.

        Parameters
        ----------
        thresh : float, default 5
            Threshold in sigma.
        data : str or array, default 'dataclean'
            Which pixels: 'dataclean' (masked, background-subtracted), 'data' ... (the
            background is subtracted for any other choice than 'dataclean').
        setmag : bool, default True
            Add ``mag``, ``magerr`` (MAGZP, MAGZPUNC) from ``flux``, ``fluxerr``.
        minarea : int, default 5
            Minimum pixels above threshold.
        err : float or array, optional
            Noise per pixel, DN; default the global background rms.
        **kwargs
            Passed to :func:`ztfimg.sources.extract_sources`.

        Returns
        -------
        pandas.DataFrame
            sep's columns (0-based ``x``, ``y`` ...), ``fluxerr`` with the source Poisson
            term, ``maskbits``, ``flag``, ``ra``, ``dec`` and, with ``setmag``, ``mag``,
            ``magerr``.
        """
        from . import sources as _src
        arr = self._named_data(data, compute=True)
        background = None if (isinstance(data, str) and data in ("dataclean", "clean")) else self.background
        gain = self._keyword("GAIN", required=False)
        df = _src.extract_sources(arr, thresh=thresh, err=self.background.globalrms if err is None else err,
                                  mask=self._mask_owner(_bitmask.DETECTION_BITS), gain=gain,
                                  minarea=minarea, bitmask=self._mask, background=background,
                                  **kwargs)
        if isinstance(df, tuple):
            df, segmap = df
            self._cache["segmentation"] = segmap
        try:
            df["ra"], df["dec"] = self.pixels_to_coords(df["x"].to_numpy(), df["y"].to_numpy())
        except HeaderKeywordError:
            pass
        if setmag:
            df["mag"], df["magerr"] = self.counts_to_mag(df["flux"].to_numpy(), df["fluxerr"].to_numpy())
        self._cache["sources"] = df
        catalogs = self._cache.get("catalogs")
        if catalogs is not None and "ra" in df:
            catalogs.add("sources", df)
        return df

    @property
    def sources(self):
        """The last :meth:`extract_sources` result (None before the first call)."""
        return self._cache.get("sources")

    # ------------------------------------------------------------------ apertures
    def _rms_value(self, rms):
        """Noise per pixel from 'global' (background's global rms), 'map' or a number."""
        if isinstance(rms, str):
            if rms == "global":
                return self.background.globalrms
            if rms == "map":
                return self.background.rms
            raise InvalidParameterError(f"rms must be 'global', 'map' or a number, got {rms!r}")
        return rms

    def _positions(self, x, y, coords):
        if coords in ("pixel", "pixels", "xy"):
            if y is None:
                raise InvalidParameterError("pixel positions need x and y")
            return x, y
        if coords in ("sky", "radec", "world"):
            return self.coords_to_pixels(x, y)
        raise InvalidParameterError(f"coords must be 'pixels' or 'sky', got {coords!r}")

    def aperture_photometry(self, x, y=None, radius=5.0, *, coords="pixels", bkgann=None,
                            unit="counts", data="dataclean", sky_estimator="mean",
                            apcor=False, rms="global", colour=None, **kwargs):
        """Aperture photometry at many positions, as a DataFrame aligned with the input.

        Parameters
        ----------
        x, y : array_like or SkyCoord
            0-based pixel positions (``coords='pixels'``), or RA/Dec in degrees or a
            ``SkyCoord`` (then ``y`` is omitted) with ``coords='sky'``.
        radius : float or sequence of float, default 5
            Aperture radius (radii), pixels.
        coords : {'pixels', 'sky'}, default 'pixels'
        bkgann : (float, float), optional
            Inner and outer radius of a local sky annulus, pixels.
        unit : {'counts', 'mag', 'flux'}, default 'counts'
            Adds ``mag``/``magerr`` or ``flux``/``fluxerr`` columns (per radius).
        data : str or array, default 'dataclean'
            Pixels to measure (see :meth:`extract_sources`).
        sky_estimator : {'mean', 'median', 'sigclip'}, default 'mean'
        apcor : bool, default False
            Apply the header aperture corrections (the radius must be half one of the
            FIXAPERS diameters; otherwise the curve of growth from the PSF is needed).
        rms : 'global', 'map' or float, default 'global'
            Sky noise per pixel for the errors: the background's global rms (a ZTF
            quadrant's sky noise is nearly uniform), its rms map (follows a varying sky;
            twice the cost), or a number.
        colour : array_like, optional
            PS1 colour for the colour term of magnitudes/fluxes.
        **kwargs
            Passed to :func:`ztfimg.aperture.aperture_photometry`.

        Returns
        -------
        pandas.DataFrame
            ``x``, ``y`` (and ``ra``, ``dec`` for sky positions), ``sum``, ``sumerr``,
            ``flag`` ... per radius (suffix ``_0``, ``_1`` ... for several radii), and the
            requested ``mag``/``flux`` columns. Off-image, NaN or fully masked positions
            give NaN and a flag; no row is dropped.
        """
        from . import aperture as _ap
        xs, ys = self._positions(x, y, coords)
        arr = self._named_data(data, compute=True)
        rms_value = self._rms_value(rms)
        df = _ap.aperture_photometry(arr, xs, ys, radius, rms=rms_value,
                                     gain=self._keyword("GAIN", required=False),
                                     mask=self._mask_owner(_bitmask.DETECTION_BITS),
                                     bkgann=bkgann, sky_estimator=sky_estimator, **kwargs)
        if coords not in ("pixel", "pixels", "xy"):
            if y is None:
                df.insert(0, "dec", np.atleast_1d(x.icrs.dec.deg))
                df.insert(0, "ra", np.atleast_1d(x.icrs.ra.deg))
            else:
                df.insert(0, "dec", np.broadcast_to(np.asarray(y, float), len(df)))
                df.insert(0, "ra", np.broadcast_to(np.asarray(x, float), len(df)))
        radii = np.atleast_1d(radius)
        suffixes = [""] if np.ndim(radius) == 0 else [f"_{i}" for i in range(len(radii))]
        for r, suf in zip(radii, suffixes):
            value, error = df["sum" + suf].to_numpy(), df["sumerr" + suf].to_numpy()
            if apcor:
                corr, corrunc = self.get_apcor(2 * float(r))
                factor = 10 ** (-0.4 * corr)
                value, error = value * factor, error * factor
                df["apcor" + suf] = corr
            if unit in ("mag", "flux"):
                if unit == "mag":
                    m, me = self.counts_to_mag(value, error, colour=colour)
                    if apcor:
                        me = np.hypot(me, corrunc)
                else:
                    m, me = self.counts_to_flux(value, error, colour=colour)
                df[unit + suf], df[unit + "err" + suf] = m, me
            elif unit != "counts":
                raise InvalidParameterError(f"unit must be 'counts', 'mag' or 'flux', got {unit!r}")
            elif apcor:
                df["sum" + suf], df["sumerr" + suf] = value, error
        return df

    def get_aperture(self, x, y, radius, bkgann=None, unit="counts", *, coords="pixels",
                     data="dataclean", as_dataframe=False, **kwargs):
        """Aperture sums (or magnitudes, or fluxes) and their errors at positions.

        Parameters
        ----------
        x, y : array_like
            0-based pixel positions (or RA/Dec in degrees with ``coords='sky'``).
        radius : float or sequence of float
            Aperture radius (radii), pixels.
        bkgann : (float, float), optional
            Local sky annulus radii, pixels.
        unit : {'counts', 'mag', 'flux'}, default 'counts'
        coords : {'pixels', 'sky'}, default 'pixels'
        data : str or array, default 'dataclean'
        as_dataframe : bool, default False
            Return the full table of :meth:`aperture_photometry` instead.
        **kwargs
            Passed to :meth:`aperture_photometry`.

        Returns
        -------
        value, error : numpy.ndarray
            Shape ``(n,)`` for one radius, ``(n, nradii)`` for several; NaN for off-image,
            NaN or fully masked positions (see the DataFrame's ``flag``).
        """
        df = self.aperture_photometry(x, y, radius, coords=coords, bkgann=bkgann, unit=unit,
                                      data=data, **kwargs)
        if as_dataframe:
            return df
        col, ecol = {"counts": ("sum", "sumerr"), "mag": ("mag", "magerr"),
                     "flux": ("flux", "fluxerr")}[unit]
        if np.ndim(radius) == 0:
            value, error = df[col].to_numpy(), df[ecol].to_numpy()
        else:
            n = len(np.atleast_1d(radius))
            value = np.column_stack([df[f"{col}_{i}"].to_numpy() for i in range(n)])
            error = np.column_stack([df[f"{ecol}_{i}"].to_numpy() for i in range(n)])
        if np.ndim(x) == 0 and (y is None or np.ndim(y) == 0) and not hasattr(x, "ra"):
            return value[0], error[0]
        return value, error

    def get_curve_of_growth(self, x, y, radii, *, bkgann=None, data="dataclean", **kwargs):
        """Normalised curve of growth of stars at 0-based pixel positions.

        See :func:`ztfimg.aperture.curve_of_growth`; the bad-pixel mask is applied.
        """
        from . import aperture as _ap
        return _ap.curve_of_growth(self._named_data(data, compute=True), x, y, radii,
                                   mask=self._mask_owner(_bitmask.DETECTION_BITS),
                                   bkgann=bkgann, **kwargs)

    # ------------------------------------------------------------------ stamps
    def get_stamp(self, x, y, dx=23, dy=None, asarray=False, *, data="dataclean", coords="pixels"):
        """Cutout(s) around position(s).

        Parameters
        ----------
        x, y : float or array_like
            0-based pixel positions (or RA/Dec with ``coords='sky'``).
        dx : int, default 23
            Stamp width, pixels.
        dy : int, optional
            Stamp height; default ``dx``.
        asarray : bool, default False
            Return the pixel array(s) instead of :class:`~ztfimg.stamps.Stamp` objects.
        data : str or array, default 'dataclean'
            Which pixels (see :meth:`extract_sources`).
        coords : {'pixels', 'sky'}, default 'pixels'

        Returns
        -------
        Stamp, Stamps or numpy.ndarray
            One :class:`~ztfimg.stamps.Stamp` for a scalar position, a
            :class:`~ztfimg.stamps.Stamps` stack for several (``asarray``: a 2-D or 3-D
            array). Parts outside the frame are NaN and flagged; never wrapped around.
        """
        from . import stamps as _st
        xs, ys = self._positions(x, y, coords)
        try:
            wcs = self.wcs
        except HeaderKeywordError:
            wcs = None
        mask = self._mask_owner(_bitmask.DETECTION_BITS)
        stack = _st.cut_stamps(self._named_data(data), np.atleast_1d(xs), np.atleast_1d(ys),
                               dx, dy, mask=mask, wcs=wcs)
        scalar = np.ndim(xs) == 0
        if asarray:
            return stack.data[0] if scalar else stack.data
        return stack[0] if scalar else stack

    # ------------------------------------------------------------------ catalogues
    @property
    def catalogs(self):
        """The image's :class:`~ztfimg.catalog.CatalogCollection` (``sources``, ``ps1`` ...)."""
        if "catalogs" not in self._cache:
            from .catalog import CatalogCollection
            coll = CatalogCollection()
            if self.sources is not None and "ra" in self.sources:
                coll.add("sources", self.sources)
            self._cache["catalogs"] = coll
        return self._cache["catalogs"]

    def get_footprint_radius(self, margin=0.0) -> float:
        """Radius (deg) of a cone around the image centre that covers the whole frame.

        Parameters
        ----------
        margin : float, default 0
            Extra pixels around the frame.
        """
        ny, nx = self.shape
        xc, yc = self.get_center()
        rac, decc = self.pixels_to_coords(xc, yc)
        cx = np.array([-0.5 - margin, nx - 0.5 + margin, nx - 0.5 + margin, -0.5 - margin])
        cy = np.array([-0.5 - margin, -0.5 - margin, ny - 0.5 + margin, ny - 0.5 + margin])
        ra, dec = self.pixels_to_coords(cx, cy)
        r1, d1, r2, d2 = map(np.radians, (rac, decc, ra, dec))
        cosang = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(r2 - r1)
        return float(np.degrees(np.arccos(np.clip(cosang, -1, 1))).max())

    _PS1_BAND = {"ztfg": "g", "ztfr": "r", "ztfi": "i"}

    def _project_catalog(self, df, margin, label):
        from .errors import CatalogError
        missing = [c for c in ("ra", "dec") if c not in df]
        if missing:
            raise CatalogError(f"catalogue {label!r} lacks column(s) {missing}; it needs ra and dec in degrees")
        out = df.copy()
        x, y = self.coords_to_pixels(out["ra"].to_numpy(float), out["dec"].to_numpy(float))
        out["x"], out["y"] = x, y
        out["inside"] = self.is_inside(x, y, margin=-float(margin))
        return out

    def get_catalog(self, name="ps1", *, margin=0.0, magrange=None, isolation=8.0,
                    inside_only=True, cache_dir=None, offline=None, label=None):
        """Reference stars projected on the frame (from the on-disk cache, else VizieR).

        Parameters
        ----------
        name : {'ps1', 'gaia'} (aliases 'ps1cat', 'panstarrs', 'gaiadr3')
            Which catalogue.
        margin : float, default 0
            Pixels around the frame within which stars are kept (negative: inside only).
        magrange : (float, float), optional
            Keep stars with ``mag`` in this range.
        isolation : float, default 8
            Radius (arcsec) for the ``isolated`` column: no other catalogue star closer.
        inside_only : bool, default True
            Drop stars outside the frame (+ margin). False keeps them with ``inside`` False.
        cache_dir : str, optional
            Catalogue cache (default ``$ZTFIMG_CACHE/catalogs``).
        offline : bool, optional
            Never query the network (default ``$ZTFIMG_OFFLINE``).
        label : str, optional
            Label in :attr:`catalogs` (default the catalogue's name).

        Returns
        -------
        pandas.DataFrame
            The normalised catalogue columns plus ``x``, ``y`` (0-based pixels),
            ``inside``, ``isolated``, ``mag``/``magerr`` in the frame's band (PS1 g, r or
            i; Gaia G), and for PS1 ``colour``/``colour_err`` (the PCOLOR colour: g-r for
            zg and zr, r-i for zi). Gaia positions are propagated to the frame's epoch.

        Raises
        ------
        CatalogError
            Unknown catalogue.
        OfflineError
            Offline and the needed tiles are not cached.
        """
        from . import refcat
        key = refcat.resolve_catalog(name)
        ra, dec = self.get_center("radec")
        radius = self.get_footprint_radius(margin=max(margin, 0) + 2)
        epoch = None
        if key == "gaia":
            try:
                epoch = self.obstime
            except HeaderKeywordError:
                epoch = None
        df = refcat.get_catalog(key, ra, dec, radius, epoch=epoch, cache_dir=cache_dir,
                                offline=offline)
        return self.set_catalog(df, label or key, margin=margin, magrange=magrange,
                                isolation=isolation, inside_only=inside_only, kind=key)

    def set_catalog(self, catalog, label, *, margin=0.0, magrange=None, isolation=8.0,
                    inside_only=False, kind=None):
        """Attach a catalogue of one's own (projected on the frame) under ``label``.

        Parameters
        ----------
        catalog : pandas.DataFrame or astropy.table.Table
            Needs ``ra`` and ``dec`` (degrees). Copied; the caller's table is untouched.
        label : str
            Name in :attr:`catalogs` (``'ps1cat'`` is an alias of ``'ps1'``).
        margin, magrange, isolation, inside_only :
            As in :meth:`get_catalog` (``inside_only`` defaults to False here).
        kind : {'ps1', 'gaia'}, optional
            Adds the band ``mag``/``magerr`` (and ``colour``) columns of that catalogue.

        Returns
        -------
        pandas.DataFrame
            A copy of the projected catalogue as stored in :attr:`catalogs`.
        """
        import pandas as pd
        df = catalog.to_pandas() if hasattr(catalog, "to_pandas") else pd.DataFrame(catalog)
        out = self._project_catalog(df, margin, label)
        if kind is None:
            kind = {"ps1": "ps1", "ps1cat": "ps1", "gaia": "gaia"}.get(str(label).lower())
        if kind == "ps1":
            band = self._PS1_BAND[self.filtername]
            if f"{band}mag" in out:
                out["mag"] = out[f"{band}mag"]
                out["magerr"] = out.get(f"e_{band}mag", np.nan)
            c1, c2 = self.pcolor.split("-") if "-" in self.pcolor else ("g", "r")
            if f"{c1}mag" in out and f"{c2}mag" in out:
                out["colour"] = out[f"{c1}mag"] - out[f"{c2}mag"]
                e1 = out.get(f"e_{c1}mag", 0.0)
                e2 = out.get(f"e_{c2}mag", 0.0)
                out["colour_err"] = np.hypot(e1, e2)
        elif kind == "gaia" and "Gmag" in out:
            out["mag"] = out["Gmag"]
            out["magerr"] = out.get("e_Gmag", np.nan)
        if inside_only:
            out = out[out["inside"].to_numpy()].reset_index(drop=True)
        if magrange is not None:
            if "mag" not in out:
                from .errors import CatalogError
                raise CatalogError(f"magrange given but catalogue {label!r} has no 'mag' column")
            lo, hi = magrange
            out = out[out["mag"].between(lo, hi).to_numpy()].reset_index(drop=True)
        self.catalogs.add(label, out)
        if isolation:
            out["isolated"] = self.catalogs.get_isolated(label, isolation).to_numpy()
            self.catalogs.add(label, out)
        return self.catalogs.get(label).copy()  # the caller's to edit; the stored one stays

    def fit_zeropoint(self, catalog="ps1", *, radius=1.0, magrange=(15.0, 19.5), isolation=8.0,
                      method="aperture", aperture_diameter=10.0, use_colour=True, sigma_clip=3.0,
                      offline=None, cache_dir=None):
        """Fit the zero point and colour coefficient against a reference catalogue.

        Calibrators: catalogue stars in ``magrange`` that are isolated (no other catalogue
        star within ``isolation`` arcsec), matched one-to-one within ``radius`` arcsec to
        a measured flux with no flagged pixel. Instrumental magnitudes are
        ``-2.5 log10(total counts)``: aperture photometry of diameter ``aperture_diameter``
        (an IPAC FIXAPERS diameter) corrected to total with the header APCOR
        (``method='aperture'``), or forced PSF photometry with the frame's DAOPhot PSF
        (``method='psf'``). Then ``m_ref - m_inst = ZP + c * colour`` is fitted with
        sigma clipping (:func:`ztfimg.zeropoint.fit_zeropoint`).

        Parameters
        ----------
        catalog : str, default 'ps1'
            Label of a catalogue in :attr:`catalogs`, or a name for :meth:`get_catalog`.
        radius : float, default 1.0
            Not used for forced photometry at catalogue positions; kept for matching
            extracted sources when ``method='sources'``.
        magrange : (float, float), default (15, 19.5)
            Magnitude range of calibrators (avoid saturation and faint noise).
        isolation : float, default 8
            Isolation radius, arcsec.
        method : {'aperture', 'psf', 'sources'}, default 'aperture'
            'aperture': forced aperture photometry at the catalogue positions with the
            header APCOR; 'psf': forced PSF photometry with the frame's DAOPhot PSF (the
            most precise); 'sources': sep's isophotal fluxes of the matched extracted
            sources, which miss the wings (measured ~0.03 mag faint): a quick look only.
        aperture_diameter : float, default 10
            Aperture diameter in pixels for ``method='aperture'``.
        use_colour : bool, default True
            Fit the colour term (needs a ``colour`` column).
        sigma_clip : float, default 3
        offline, cache_dir :
            Passed to :meth:`get_catalog` when the catalogue is not loaded yet.

        Returns
        -------
        ztfimg.zeropoint.ZeroPointResult
            With ``zp``, ``zp_err``, ``clrcoeff``, ``clrcoeff_err``, ``covariance``,
            ``nstars``, ``rms``; ``.show()`` plots the residuals. Compare with
            :attr:`magzp` and :attr:`clrcoeff`.
        """
        from . import zeropoint as _zp
        from .errors import CatalogError
        label = {"ps1cat": "ps1"}.get(catalog, catalog)
        if label not in self.catalogs:
            self.get_catalog(label, offline=offline, cache_dir=cache_dir, isolation=isolation)
        cat = self.catalogs.get(label)
        if "mag" not in cat:
            raise CatalogError(f"catalogue {label!r} has no 'mag' column in the frame's band")
        keep = cat["inside"].to_numpy(bool) & cat["mag"].between(*magrange).to_numpy()
        if "isolated" in cat:
            keep &= cat["isolated"].to_numpy(bool)
        cal = cat[keep]
        if method == "aperture":
            # on the background-subtracted pixels: a local annulus median is biased high
            # by neighbours' wings (measured: -0.5 sigma on the zero point on average)
            phot = self.aperture_photometry(cal["x"], cal["y"], aperture_diameter / 2.0,
                                            apcor=True)
            counts, err, good = phot["sum"].to_numpy(), phot["sumerr"].to_numpy(), phot["flag"].to_numpy() == 0
        elif method == "psf":
            phot = self.get_psf_photometry(cal["x"], cal["y"])
            counts, err, good = phot["flux"].to_numpy(), phot["fluxerr"].to_numpy(), phot["flag"].to_numpy() == 0
        elif method == "sources":
            if self.sources is None:
                self.extract_sources()
            pairs = self.catalogs.match(label, "sources", radius=radius)
            cal = cal.loc[cal.index.intersection(pairs.iloc[:, 0])]
            src = self.sources
            srow = pairs.set_index(pairs.columns[0]).loc[cal.index, pairs.columns[1]].to_numpy()
            counts = src["flux"].to_numpy()[srow]
            err = src["fluxerr"].to_numpy()[srow]
            good = (src["flag"].to_numpy()[srow] == 0) & ((src["maskbits"].to_numpy()[srow] & int(_bitmask.DETECTION_BITS)) == 0)
        else:
            raise InvalidParameterError(f"method must be 'aperture', 'psf' or 'sources', got {method!r}")
        inst, inst_err = _phot.counts_to_mag(counts, err, magzp=0.0)  # NaN where counts <= 0
        good &= np.isfinite(inst)
        colour = cal["colour"].to_numpy(float) if (use_colour and "colour" in cal) else None
        ref_err = cal["magerr"].to_numpy(float) if "magerr" in cal else None
        sel = good & np.isfinite(cal["mag"].to_numpy(float))
        if colour is not None:
            sel &= np.isfinite(colour)
        return _zp.fit_zeropoint(inst[sel], cal["mag"].to_numpy(float)[sel],
                                 None if colour is None else colour[sel],
                                 inst_err=inst_err[sel],
                                 ref_err=None if ref_err is None else np.nan_to_num(ref_err[sel]),
                                 sigma_clip=sigma_clip, x=cal["x"].to_numpy()[sel],
                                 y=cal["y"].to_numpy()[sel])

    # ------------------------------------------------------------------ PSF
    @property
    def psf(self):
        """The frame's DAOPhot PSF (:class:`~ztfimg.dao.DAOPhotReader`) from ``*_sciimgdao.psf``.

        Raises
        ------
        MissingFileError
            When the image has no file name or no PSF file lies beside it (use
            :meth:`set_psf` to attach one).
        """
        if self._cache.get("psf") is None:
            from .dao import DAOPhotReader
            if self._imagefile is None or not _filenames.is_ztf_filename(self._imagefile):
                raise MissingFileError("this image has no ZTF file name to find its "
                                       "*_sciimgdao.psf beside; use set_psf(path or DAOPhotReader)")
            path = _filenames.sibling(self._imagefile, "sciimgdao.psf")
            if not os.path.exists(path):
                raise MissingFileError(f"no DAOPhot PSF file {path!r} beside the image; "
                                       "use set_psf(...) to attach one")
            self._cache["psf"] = DAOPhotReader(path)
        return self._cache["psf"]

    def set_psf(self, psf):
        """Attach a PSF model (a :class:`~ztfimg.dao.DAOPhotReader` or a path to a .psf file)."""
        from .dao import DAOPhotReader
        self._cache["psf"] = psf if isinstance(psf, DAOPhotReader) else DAOPhotReader(psf)
        return self

    def get_psf_photometry(self, x, y=None, *, coords="pixels", fit_radius=None, data="datamasked",
                           fit_sky=True, rms="map", **kwargs):
        """Forced PSF photometry at fixed positions with the frame's DAOPhot PSF.

        Parameters
        ----------
        x, y : array_like or SkyCoord
            0-based pixels, or RA/Dec degrees / SkyCoord with ``coords='sky'``.
        coords : {'pixels', 'sky'}, default 'pixels'
        fit_radius : float, optional
            Radius of the fitted disc, pixels (default ``max(3, 1.5 FWHM)``).
        data : str or array, default 'datamasked'
            Pixels to fit. With ``fit_sky`` a local constant sky is fitted with the
            amplitude; otherwise the current background is subtracted first.
        fit_sky : bool, default True
        rms : 'map', 'global' or float, default 'map'
            Background noise per pixel (the background rms map, its global value, a number).
        **kwargs
            Passed to :func:`ztfimg.psfphot.psf_photometry`.

        Returns
        -------
        pandas.DataFrame
            Aligned with the input: ``flux``, ``fluxerr`` (DN, through the PSFMAG
            scaling), ``sky``, ``chi2``, ``redchi2``, ``npix``, ``flag``, ``mag``,
            ``magerr`` (MAGZP, MAGZPUNC) ...
        """
        from .psfphot import psf_photometry
        xs, ys = self._positions(x, y, coords)
        arr = self._named_data(data, compute=True)
        sky = None
        if not fit_sky:
            arr = self.background.subtract(arr)
            sky = 0.0
        rms_value = self._rms_value(rms)
        zp = self._keyword("MAGZP", required=False)
        return psf_photometry(arr, xs, ys, self.psf, rms=rms_value,
                              gain=self._keyword("GAIN", required=False),
                              mask=self._mask_owner(_bitmask.DETECTION_BITS),
                              fit_radius=fit_radius, sky=sky, zp=zp,
                              zperr=self.magzpunc if zp is not None else 0.0, **kwargs)

    # ------------------------------------------------------------------ display
    def show(self, which="dataclean", ax=None, *, scale="zscale", wcs=False, overlay=None,
             colorbar=True, **kwargs):
        """Display the image; returns the matplotlib Axes.

        Parameters
        ----------
        which : {'dataclean', 'data', 'datamasked', 'background', 'rms'} or array
            What to show. Default the masked, background-subtracted pixels.
        ax : matplotlib.axes.Axes, optional
            Where to draw (a new figure otherwise; with ``wcs=True`` it must be a WCSAxes).
        scale : {'zscale', 'percentile'}, default 'zscale'
        wcs : bool, default False
            Use sky-coordinate axes (astropy WCSAxes).
        overlay : str or DataFrame, optional
            'sources' (the extracted sources as ellipses), a catalogue label of
            :attr:`catalogs` ('ps1', 'gaia' ...), or any DataFrame with ``x``, ``y``
            (and ``a``, ``b``, ``theta`` for ellipses).
        colorbar : bool, default True
        **kwargs
            Passed to :func:`ztfimg.plotting.show_image`.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from . import plotting
        arr = self._named_data(which)
        if isinstance(overlay, str):
            if overlay == "sources":
                overlay = self.sources if self.sources is not None else self.extract_sources()
            else:
                overlay = self.catalogs.get(overlay)
        title = kwargs.pop("title", None)
        if title is None:
            parts = self._describe()
            title = " ".join(parts[:4]) if parts else None
        return plotting.show_image(arr, ax=ax, scale=scale, wcs=self.wcs if wcs else None,
                                   overlay=overlay, colorbar=colorbar, title=title, **kwargs)

    # ------------------------------------------------------------------ display
    def _describe(self):
        parts = []
        for label, getter in (("field", lambda: f"{self.fieldid}"),
                              ("ccd", lambda: f"c{self.ccdid:02d} q{self.qid}"),
                              ("filter", lambda: self.filtername),
                              ("obs", lambda: self.obstime.isot[:19]),
                              ("MAGZP", lambda: f"{self.magzp:.3f}"),
                              ("seeing", lambda: f"{self.seeing:.2f}px")):
            try:
                parts.append(f"{label} {getter()}" if label in ("field", "MAGZP", "seeing", "obs")
                             else getter())
            except (HeaderKeywordError, InvalidParameterError, ValueError, KeyError):
                continue
        return parts

    def __repr__(self):
        parts = self._describe()
        name = os.path.basename(self._imagefile) if self._imagefile else "from arrays"
        shape = "x".join(str(v) for v in self.shape[::-1])
        mask = "mask" if self.has_mask else "no mask"
        return f"<{type(self).__name__} {' '.join(parts)} [{shape}, {mask}] {name}>"


class ScienceImage(ZTFImage):
    """A ZTF science quadrant (``*_sciimg.fits``) with its bit mask (``*_mskimg.fits``).

    Parameters
    ----------
    imagefile : str or path-like
        The ``sciimg`` FITS file.
    maskfile : str or path-like, optional
        The ``mskimg`` FITS file. Use :meth:`from_filename` to find it automatically.

    Examples
    --------
    >>> from ztfimg import image                                          # doctest: +SKIP
    >>> z = image.ScienceImage(sciimg, mskimg)
    >>> z.get_mask().sum(), z.magzp
    """

    @classmethod
    def from_filename(cls, filename, maskfile=None, *, require_mask=True):
        """Open a science image and the mask beside it.

        Parameters
        ----------
        filename : str or path-like
            Path of a ``*_sciimg.fits`` file, or just its ZTF name: a bare name that does
            not exist in the working directory is looked up in the ``$ZTFDATA`` mirror.
        maskfile : str or path-like, optional
            Explicit mask path. Default: the ``*_mskimg.fits`` sibling.
        require_mask : bool, default True
            Raise when the sibling mask is absent (False: open without a mask).

        Raises
        ------
        MissingFileError
            If the image (or the required mask) cannot be found.
        """
        path = os.fspath(filename)
        if not os.path.exists(path) and os.path.dirname(path) == "" and os.environ.get("ZTFDATA"):
            path = _filenames.local_path(path)
        _check_fits_path(path)
        if maskfile is None:
            candidate = _filenames.sibling(path, "mskimg")
            if os.path.exists(candidate):
                maskfile = candidate
            elif require_mask:
                raise MissingFileError(
                    f"mask file {candidate!r} not found beside {path!r}; pass maskfile=... or "
                    "require_mask=False")
        return cls(path, maskfile)

    @property
    def filenameinfo(self):
        """The parsed file name (:class:`ztfimg.filenames.ZTFFileName`), or None."""
        if self._imagefile and _filenames.is_ztf_filename(self._imagefile):
            return _filenames.parse(self._imagefile)
        return None


class ReferenceImage(ZTFImage):
    """A ZTF reference image (``*_refimg.fits``): a co-add without a bit mask.

    Reference headers use DBFIELD/DBRCID/DBFID where science headers have
    FIELDID/RCID/FILTERID, and carry GLOBMED (global median sky, DN) and NFRAMES.

    Parameters
    ----------
    imagefile : str or path-like
        The ``refimg`` FITS file.
    """

    @classmethod
    def from_filename(cls, filename):
        """Open a reference image by path (or bare ZTF name looked up under ``$ZTFDATA``)."""
        path = os.fspath(filename)
        if not os.path.exists(path) and os.path.dirname(path) == "" and os.environ.get("ZTFDATA"):
            path = _filenames.local_path(path)
        return cls(path)

    def get_background(self, box_size=None, filter_size=None, *, use_globmed=True, **kwargs):
        """Background of the co-add: by default the constant GLOBMED convention.

        Parameters
        ----------
        box_size, filter_size : optional
            Used only with ``use_globmed=False``.
        use_globmed : bool, default True
            Constant sky at the header's GLOBMED (DN) with a constant noise measured as the
            sigma-clipped standard deviation of the unmasked pixels around it. ``False``:
            a sep mesh background as for science images.
        **kwargs
            Passed to :meth:`ZTFImage.get_background` with ``use_globmed=False``.

        Returns
        -------
        ztfimg.background.Background
        """
        if not use_globmed:
            return super().get_background(box_size, filter_size, **kwargs)
        if "globmed_background" not in self._cache:
            from astropy.stats import sigma_clipped_stats

            from .background import Background
            med = self.globmed
            good = np.isfinite(self._pixels()) & ~self._mask_owner(_bitmask.BACKGROUND_BITS)
            sample = self._pixels()[good][:: max(1, int(good.sum() // 2_000_000))]
            _, _, std = sigma_clipped_stats(sample, sigma=3.0, maxiters=5)
            shape = self.shape
            self._cache["globmed_background"] = Background(
                np.full(shape, med, np.float32), np.full(shape, std, np.float32), med, std,
                box_size=shape, filter_size=(1, 1), fthresh=0.0, nmasked=int((~good).sum()))
        return self._cache["globmed_background"]

    @property
    def globmed(self) -> float:
        """Global median of the co-add (GLOBMED), DN."""
        return self._keyword("GLOBMED")

    @property
    def nframes(self) -> int:
        """Number of frames co-added (NFRAMES)."""
        return self._keyword("NFRAMES", cast=int)

    @property
    def obsjd(self) -> float:
        """Reference images have no single epoch: OBSJD if present, else the midpoint of
        the co-added epochs (OBSJDST..OBSJDEN or JDSTART/JDEND), days."""
        jd = self._keyword("OBSJD", required=False)
        if jd is not None:
            return jd
        for a, b in (("OBSJDST", "OBSJDEN"), ("JDSTART", "JDEND")):
            ja, jb = self._keyword(a, required=False), self._keyword(b, required=False)
            if ja is not None and jb is not None:
                return 0.5 * (ja + jb)
        raise HeaderKeywordError("reference header has no OBSJD nor start/end epochs")
