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


def read_fits(path, *, header_only=False, dtype=None):
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
    data.flags.writeable = False
    return data, header


def _readonly(array):
    array = np.asarray(array)
    if array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


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
        return _readonly(np.asarray(arr, dtype=np.float32))

    def _as_mask(self, mask):
        arr = np.asarray(mask)
        if arr.dtype.kind not in "iu":
            raise InvalidParameterError(f"a ZTF mask must be an integer array, got dtype {arr.dtype}")
        arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("="))
        shape = self.shape
        if arr.shape != shape:
            raise ShapeMismatchError(f"mask shape {arr.shape} differs from image shape {shape}")
        return _readonly(arr)

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
        if self._data is None:
            self._data, _ = read_fits(self._imagefile, dtype=np.float32)
        return self._data

    @property
    def has_mask(self) -> bool:
        """True when a bit mask (file or array) is attached."""
        return self._mask is not None or self._maskfile is not None

    @property
    def mask(self) -> np.ndarray | None:
        """The ZTF bit mask (native int16, read-only), or None when there is none."""
        if self._mask is None and self._maskfile is not None:
            mask, self._maskheader = read_fits(self._maskfile, dtype=np.int16)
            _bitmask.check_legend(self._maskheader)
            self._mask = self._as_mask(mask)
        return self._mask

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
        key = ("mask", int(bits))
        if key not in self._cache:
            if self.mask is None:
                out = ~np.isfinite(self.data)
            else:
                out = _bitmask.to_bool(self.mask, bits)
                if bits & _bitmask.ZTFBit.NAN:
                    out |= ~np.isfinite(self.data)
            self._cache[key] = _readonly(out)
        return self._cache[key]

    def get_data(self, apply_mask=False, maskvalue=np.nan, **maskkw) -> np.ndarray:
        """The pixels, optionally with bad pixels replaced.

        Parameters
        ----------
        apply_mask : bool, default False
            Replace the pixels of :meth:`get_mask` (called with ``maskkw``) by ``maskvalue``.
        maskvalue : float, default nan
            Value given to masked pixels.
        **maskkw
            Keywords of :meth:`get_mask`.

        Returns
        -------
        numpy.ndarray
            A new float32 array when ``apply_mask`` (``data`` itself, read-only, otherwise).
        """
        if not apply_mask:
            return self.data
        out = self.data.copy()
        out[self.get_mask(**maskkw)] = maskvalue
        return out

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
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = WCS(self._header, naxis=2)
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

    def __init__(self, imagefile=None, maskfile=None, *, data=None, header=None, mask=None):
        super().__init__(imagefile, maskfile, data=data, header=header, mask=mask)

    @classmethod
    def from_filename(cls, filename):
        """Open a reference image by path (or bare ZTF name looked up under ``$ZTFDATA``)."""
        path = os.fspath(filename)
        if not os.path.exists(path) and os.path.dirname(path) == "" and os.environ.get("ZTFDATA"):
            path = _filenames.local_path(path)
        return cls(path)

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
