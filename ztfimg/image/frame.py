"""The frame object: pixels, bit mask, header, WCS and the derived products (level 2).

:class:`ZTFImage` holds what was read (pixels, mask, header) and what the user chose (the
current background, the last sources, the attached PSF and catalogues).  Everything that
can be recomputed (boolean masks, sep backgrounds, the background-subtracted compute array,
the WCS) sits in a :class:`~ztfimg.products.ProductStore`, keyed by every parameter.  The
measurement methods are in :mod:`ztfimg.image.measure`; the workflows that combine the frame
with catalogues (projection, zero point, source-masked background) in
:mod:`ztfimg.workflows`.

Memory by construction: the pixels are one native float32 array and the mask one int16
array; the only other full-frame float array kept is the compute array (background
subtracted, bad pixels 0), made on first use and dropped with :meth:`ZTFImage.drop_products`.
``datamasked`` and ``dataclean`` are new arrays made on each access.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
from astropy.io import fits

from .. import bitmask as _bitmask
from .. import filenames as _filenames
from .. import photometry as _phot
from ..errors import (FileFormatError, HeaderKeywordError, InvalidParameterError,
                      ShapeMismatchError)
from ..fitsio import check_fits_path, read_header, read_pixels, readonly
from ..products import ProductStore, content_key
from ..validation import as_bool, as_choice, as_number, as_positions, as_sky
from .header import HeaderAccess
from .measure import Measurements
from .selectors import normalise_coords, normalise_selector

__all__ = ["ZTFImage"]

#: Header keywords that define a celestial WCS (TPV, SIP and TAN families).
_WCS_KEY = re.compile(r"^(NAXIS\d?|WCSAXES|CTYPE\d|CRPIX\d|CRVAL\d|CUNIT\d|CDELT\d|CROTA\d|"
                      r"CD\d_\d|PC\d_\d|PV\d_\d+|[AB]P?_ORDER|[AB]P?_\d+_\d+|RADESYS|RADECSYS|"
                      r"EQUINOX|EPOCH|LONPOLE|LATPOLE|MJD-OBS|DATE-OBS)$")

def _refuse_image_as_mask(path, header):
    """A mask file must hold integers (BITPIX > 0): a float image there is a mix-up."""
    if int(header.get("BITPIX", 16)) < 0:
        raise FileFormatError(
            f"{path!r} holds floating-point pixels (BITPIX={header['BITPIX']}), not a ZTF bit "
            "mask: expected an integer *_mskimg.fits; give the science image first and its "
            "mask second (or use ScienceImage.from_filename(sciimg))")


def _refuse_mask_as_image(path, header):
    """An image file must not be a bit mask (integer BITPIX with the mask legend)."""
    named = os.path.basename(str(path)).endswith(("mskimg.fits", "mskimg.fits.fz"))
    if int(header.get("BITPIX", -32)) > 0 and (named or _bitmask.has_mask_legend(header)):
        raise FileFormatError(
            f"{path!r} is a ZTF bit mask (integer BITPIX={header['BITPIX']}"
            f"{', mask legend' if _bitmask.has_mask_legend(header) else ''}), not an image: "
            "give the *_sciimg.fits (or *_refimg.fits) as the image and the mask second")


class ZTFImage(HeaderAccess, Measurements):
    """One ZTF image (a quadrant): pixels, optional bit mask and header.

    Parameters
    ----------
    imagefile : str or path-like, optional
        FITS image. Its pixels are read on first use (the header at once).
    maskfile : str or path-like, optional
        Matching ``mskimg`` FITS file (ZTF bit mask, integer BITPIX).
    data, header, mask : optional
        Alternatively the arrays themselves (see :meth:`from_arrays`).

    Notes
    -----
    ``data``, ``mask``, background maps and every other array handed out are read-only
    views or new arrays; tables are copies. Header values are properties (``magzp``,
    ``gain`` ...); a missing keyword raises :class:`~ztfimg.errors.HeaderKeywordError`
    naming it.

    Attributes
    ----------
    pixels_on_demand : bool
        Default False. True (file-backed frames only): once the background-subtracted
        compute array exists, the raw pixels are released and read again from the file
        if ``data`` (or anything made from the raw pixels) is asked for later: the same
        numbers, one full-frame array (38 MB for a quadrant) less while measuring.
        :class:`~ztfimg.ImageCollection` opens its science and reference frames so.
    """

    pixels_on_demand = False

    def __init__(self, imagefile=None, maskfile=None, *, data=None, header=None, mask=None):
        self._imagefile = None if imagefile is None else check_fits_path(imagefile)
        self._maskfile = None if maskfile is None else check_fits_path(maskfile)
        self._products = ProductStore()
        # user state: what the user chose, apart from the memoised products
        self._background = None          # None: the default get_background()
        self._bkg_version = 0            # bumped by set_background
        self._sources = None
        self._segmentation = None
        self._psf = None
        self._catalogs = None
        if self._imagefile is not None:
            if data is not None:
                raise InvalidParameterError("give either an image file or a data array, not both")
            hdr, self._imagelayout = read_header(self._imagefile)
            _refuse_mask_as_image(self._imagefile, hdr)
            self._header = hdr if header is None else fits.Header(header)
            self._data = None
        else:
            if data is None or header is None:
                raise InvalidParameterError(
                    "an image needs a FITS file, or both data and header arrays")
            self._header = (fits.Header(header) if not isinstance(header, fits.Header)
                            else header.copy())
            self._data = self._as_image(data)
        self._mask = None
        self._maskheader = None
        if self._maskfile is not None:
            mhdr, self._masklayout = read_header(self._maskfile)
            _refuse_image_as_mask(self._maskfile, mhdr)
            self._maskfileheader = mhdr
        if mask is not None:
            if self._maskfile is not None:
                raise InvalidParameterError("give either a mask file or a mask array, not both")
            self._mask = self._as_mask(mask)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, data, header, mask=None):
        """Build an image from arrays already in memory.

        Parameters
        ----------
        data : array_like, 2-D
            The pixels (DN). Converted once to native float32; the caller's array is never
            modified (a copy is made when it would be shared).
        header : astropy.io.fits.Header or dict
            The science header (WCS, MAGZP, GAIN ...). Copied.
        mask : array_like of int, optional
            The ZTF bit mask, same shape as ``data``. Copied.

        Returns
        -------
        ZTFImage
        """
        return cls(data=data, header=header, mask=mask)

    @staticmethod
    def _as_image(data):
        if np.ma.isMaskedArray(data):
            # a masked array's masked pixels become NaN (and so are masked, bit NAN)
            data = np.ma.asarray(data, dtype=np.float32).filled(np.nan)
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ShapeMismatchError(f"image data must be 2-D, got shape {arr.shape}")
        if arr.dtype.kind not in "fiu":
            raise InvalidParameterError(f"image data must be numeric, got dtype {arr.dtype}")
        out = np.asarray(arr, dtype=np.float32)
        return out.copy() if (out is arr or np.shares_memory(out, arr)) else out

    def _as_mask(self, mask):
        if np.ma.isMaskedArray(mask):
            mask = np.ma.filled(mask, 0)
        arr = np.asarray(mask)
        if arr.dtype.kind not in "iu":
            raise InvalidParameterError(
                f"a ZTF mask must be an integer array (the mskimg bits), got dtype {arr.dtype}")
        if arr.shape != self.shape:
            raise ShapeMismatchError(f"mask shape {arr.shape} differs from image shape {self.shape}")
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
    def filenameinfo(self):
        """The parsed file name (:class:`ztfimg.filenames.ZTFFileName`), or None."""
        if self._imagefile and _filenames.is_ztf_filename(self._imagefile):
            return _filenames.parse(self._imagefile)
        return None

    @property
    def header(self):
        """A copy of the image header (:class:`astropy.io.fits.Header`): editing it leaves
        the frame as it is (values are read through the properties, e.g. ``magzp``)."""
        return self._header.copy()

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image, from the header when the pixels are not loaded."""
        if self._data is not None:
            return self._data.shape
        return int(self._header["NAXIS2"]), int(self._header["NAXIS1"])

    @property
    def data(self) -> np.ndarray:
        """The pixels (DN), native float32, read-only; read from the file on first use."""
        return readonly(self._pixels())

    def _pixels(self):
        # the private, writable owner of the pixels: handed to sep, which insists on
        # writable buffers although it never writes. Never returned to callers.
        if self._data is None:
            self._data = read_pixels(self._imagelayout, dtype=np.float32, readonly=False)
        return self._data

    @property
    def has_mask(self) -> bool:
        """True when a bit mask (file or array) is attached."""
        return self._mask is not None or self._maskfile is not None

    def _mask_array(self):
        if self._mask is None and self._maskfile is not None:
            mask = read_pixels(self._masklayout, dtype=np.int16, readonly=False)
            self._maskheader = self._maskfileheader
            _bitmask.check_legend(self._maskheader)
            if mask.shape != self.shape:
                raise ShapeMismatchError(f"mask {self._maskfile!r} has shape {mask.shape}, "
                                         f"the image {self.shape}")
            self._mask = mask
        return self._mask

    @property
    def mask(self) -> np.ndarray | None:
        """The ZTF bit mask (native int16, read-only), or None when there is none."""
        m = self._mask_array()
        return None if m is None else readonly(m)

    @property
    def maskheader(self):
        """Header of the mask file (None when the mask did not come from a file)."""
        self._mask_array()
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
            Shape of the image, read-only. Without a mask, only non-finite pixels are True.
        """
        if bits is not None:
            bits = _bitmask.as_bits(bits)
        else:
            bits = _bitmask.bits_from_keywords(
                tracks=tracks, ghosts=ghosts, spillage=spillage, spikes=spikes, dead=dead,
                nan=nan, saturated=saturated, brightstarhalo=brightstarhalo,
                lowresponsivity=lowresponsivity, highresponsivity=highresponsivity,
                noisy=noisy, sexsources=sexsources, psfsources=psfsources)
        return readonly(self._mask_owner(bits))

    def _mask_owner(self, bits):
        """The boolean mask of ``bits`` (private). Only the detection selection, used by
        every measurement, is kept; any other is made when asked (~10 ms a quadrant)."""
        def make():
            mask = self._mask_array()
            bad = np.isfinite(self._pixels())
            np.logical_not(bad, out=bad)          # one full-frame temporary
            if mask is None:
                return bad
            out = _bitmask.to_bool(mask, bits)
            if bits & _bitmask.ZTFBit.NAN:
                out |= bad
            return out
        if int(bits) != int(_bitmask.DETECTION_BITS):
            return make()
        return self._products.get("mask", int(bits), make)

    # ------------------------------------------------------------------ WCS and positions
    @property
    def has_wcs(self) -> bool:
        """True when the header holds a usable celestial WCS."""
        try:
            self._wcs()
        except HeaderKeywordError:
            return False
        return True

    @property
    def wcs(self):
        """A copy of the image WCS (:class:`astropy.wcs.WCS`, TPV distortion included).

        Raises
        ------
        HeaderKeywordError
            The header has no celestial WCS.
        """
        return self._wcs().deepcopy()

    def _wcs(self):
        """The parsed WCS, kept in the product store (private: never handed out)."""
        def make():
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
            return wcs
        return self._products.get("wcs", (), make)

    def pixels_to_coords(self, x, y):
        """Sky coordinates of pixel positions.

        Parameters
        ----------
        x, y : float or array_like
            0-based pixel positions (x column, y row); same length (scalars broadcast).

        Returns
        -------
        ra, dec : float or numpy.ndarray
            ICRS degrees; NaN where x or y is NaN.
        """
        xs, ys, scalar = as_positions(x, y)
        ra = np.full(xs.shape, np.nan)
        dec = np.full(xs.shape, np.nan)
        good = np.isfinite(xs) & np.isfinite(ys)
        if good.any():
            ra[good], dec[good] = self._wcs().all_pix2world(xs[good], ys[good], 0)
        if scalar:
            return float(ra[0]), float(dec[0])
        return ra, dec

    def coords_to_pixels(self, ra, dec=None):
        """Pixel positions of sky coordinates.

        Parameters
        ----------
        ra : float, array_like, Quantity or astropy.coordinates.SkyCoord
            Right ascension (degrees unless a Quantity), or a ``SkyCoord`` (then ``dec``
            is omitted).
        dec : float, array_like or Quantity, optional
            Declination (degrees unless a Quantity).

        Returns
        -------
        x, y : float or numpy.ndarray
            0-based pixel positions; NaN for NaN input. Positions off the image are
            returned as computed (check them with :meth:`is_inside`).
        """
        ras, decs, scalar = as_sky(ra, dec)
        x = np.full(ras.shape, np.nan)
        y = np.full(ras.shape, np.nan)
        good = np.isfinite(ras) & np.isfinite(decs)
        if good.any():
            x[good], y[good] = self._wcs().all_world2pix(ras[good], decs[good], 0, tolerance=1e-6,
                                                      maxiter=50, quiet=True)
        if scalar:
            return float(x[0]), float(y[0])
        return x, y

    def _positions(self, x, y, coords):
        """Pixel positions ``(xs, ys, scalar, sky)`` from pixels or sky input."""
        system = normalise_coords(coords)
        if system == "pixels":
            if y is None:
                raise InvalidParameterError("pixel positions need x and y (or coords='sky' "
                                            "for a SkyCoord)")
            xs, ys, scalar = as_positions(x, y)
            return xs, ys, scalar, None
        ras, decs, scalar = as_sky(x, y)
        px, py = self.coords_to_pixels(ras, decs)
        return np.atleast_1d(px), np.atleast_1d(py), scalar, (ras, decs)

    def is_inside(self, x, y, margin=0.0):
        """True for positions inside the image (0-based pixels), ``margin`` pixels from the edge.

        Parameters
        ----------
        x, y : float or array_like
            0-based pixel positions.
        margin : float, default 0
            Distance from the edge, pixels (negative: around the frame).

        Returns
        -------
        bool or numpy.ndarray of bool
        """
        ny, nx = self.shape
        xs, ys, scalar = as_positions(x, y)
        margin = as_number(margin, "margin", "pixels")
        if scalar:
            xs, ys = xs[0], ys[0]
        x, y = xs, ys
        with np.errstate(invalid="ignore"):
            return ((x >= -0.5 + margin) & (x <= nx - 0.5 - margin)
                    & (y >= -0.5 + margin) & (y <= ny - 0.5 - margin))

    def get_center(self, system="xy"):
        """Centre of the image: ``(x, y)`` 0-based pixels, or ``(ra, dec)`` degrees.

        Parameters
        ----------
        system : {'xy', 'radec'}, default 'xy'
            Also ``'pixels'`` and ``'sky'``.
        """
        as_choice(system, "system", ("xy", "pixels", "radec", "sky"))
        ny, nx = self.shape
        xc, yc = (nx - 1) / 2, (ny - 1) / 2
        if system in ("xy", "pixels"):
            return xc, yc
        if system in ("radec", "sky"):
            return self.pixels_to_coords(xc, yc)
        raise InvalidParameterError(f"system must be 'xy' or 'radec', got {system!r}")

    def get_footprint_radius(self, margin=0.0) -> float:
        """Radius (deg) of a cone around the image centre that covers the whole frame.

        Parameters
        ----------
        margin : float, default 0
            Extra pixels around the frame.
        """
        from astropy.coordinates import angular_separation
        margin = as_number(margin, "margin", "pixels")
        ny, nx = self.shape
        rac, decc = self.get_center("radec")
        cx = np.array([-0.5 - margin, nx - 0.5 + margin, nx - 0.5 + margin, -0.5 - margin])
        cy = np.array([-0.5 - margin, -0.5 - margin, ny - 0.5 + margin, ny - 0.5 + margin])
        ra, dec = self.pixels_to_coords(cx, cy)
        sep = angular_separation(*np.radians([rac, decc]), np.radians(ra), np.radians(dec))
        return float(np.degrees(np.max(sep)))

    # ------------------------------------------------------------------ conversions
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
        # no MAGZPUNC in the header: no zero-point term in the error (as IPAC's catalogues)
        zpunc = self.magzpunc
        return _phot.counts_to_mag(counts, error, magzp=self.magzp,
                                   magzpunc=0.0 if zpunc is None else zpunc,
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
            ``ellipse_scale``, are masked too. The cache key holds their values.
        ellipse_scale : float, default 3
            Scale of the source ellipses (in units of ``a``, ``b``).
        bits : int, optional
            Mask bits; default every bit, including the source bits 1 and 11.
        fthresh : float, default 0
            sep's median-filter threshold, DN.

        Returns
        -------
        ztfimg.background.Background
            Its maps are read-only. This does not change :attr:`background`.
        """
        from .. import background as _bkg
        box_size = _bkg.DEFAULT_BOX_SIZE if box_size is None else box_size
        filter_size = _bkg.DEFAULT_FILTER_SIZE if filter_size is None else filter_size
        bits = _bitmask.BACKGROUND_BITS if bits is None else bits
        ellipses = None
        skey = None
        if sources is not None:
            missing = [c for c in ("x", "y", "a", "b", "theta") if c not in sources]
            if missing:
                raise InvalidParameterError(f"sources lacks the column(s) {missing}; expected "
                                            "x, y, a, b, theta (extract_sources output)")
            ellipses = {c: np.asarray(sources[c], dtype=np.float64)
                        for c in ("x", "y", "a", "b", "theta")}
            skey = content_key(*ellipses.values())
        key = (repr(box_size), repr(filter_size), skey, float(ellipse_scale), int(bits),
               float(fthresh))
        return self._products.get("background", key, lambda: _bkg.estimate_background(
            self._pixels(), self._mask_owner(bits), box_size=box_size, filter_size=filter_size,
            fthresh=fthresh, ellipses=ellipses, ellipse_scale=ellipse_scale))

    @property
    def background(self):
        """The current background (:class:`ztfimg.background.Background`).

        The default one (:meth:`get_background`) unless :meth:`load_source_background` or
        :meth:`set_background` chose another.
        """
        return self._background if self._background is not None else self.get_background()

    def set_background(self, background):
        """Use ``background`` from now on (None: back to the default :meth:`get_background`).

        Parameters
        ----------
        background : ztfimg.background.Background or None
            Its shape must be the image's.

        Returns
        -------
        self
            ``dataclean``, the compute array and later measurements follow it.
        """
        from ..background import Background
        if background is not None:
            if not isinstance(background, Background):
                raise InvalidParameterError(
                    f"set_background needs a ztfimg.background.Background (from get_background) "
                    f"or None; got {type(background).__name__}")
            if tuple(background.shape) != tuple(self.shape):
                raise ShapeMismatchError(f"background of shape {background.shape} for an image "
                                         f"of shape {self.shape}")
        self._background = background
        self._bkg_version += 1
        self._products.drop("compute")
        self._products.drop("prepared")
        return self

    def load_source_background(self, thresh=3.0, ellipse_scale=3.0, **kwargs):
        """Background estimated with the pixels of detected sources masked, then kept.

        See :func:`ztfimg.workflows.source_masked_background`.

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
        from .. import workflows  # facade: level 3
        bkg = workflows.source_masked_background(self, thresh=thresh,
                                                 ellipse_scale=ellipse_scale, **kwargs)
        self.set_background(bkg)
        return bkg

    # ------------------------------------------------------------------ derived pixels
    def _compute(self):
        """The compute array: current-background-subtracted pixels, bad pixels (every bit
        but 1 and 11, and non-finite) set to 0. Handed to level-1 functions together with
        the detection mask, so they need no copy. Private and never returned."""
        def make():
            det = self._mask_owner(_bitmask.DETECTION_BITS)   # (reads the raw NaNs)
            bkg = self.background
            if self.pixels_on_demand and self._imagefile is not None:
                # the raw pixels become the compute array (no second full-frame array);
                # they are read again from the file if asked for
                out, self._data = self._pixels(), None
                bkg.subtract(out, out=out)
            else:
                out = bkg.subtract(self._pixels())
            out[det] = 0.0
            with np.errstate(invalid="ignore", over="ignore"):
                total = out.sum()                 # in float32: 3x faster than float64
            if not np.isfinite(total):            # checked without a full-frame temporary
                out[~np.isfinite(out)] = 0.0
            return out
        return self._products.get("compute", self._bkg_version, make)

    @property
    def datamasked(self):
        """Pixels with the bad ones (every bit but 1 and 11) set to NaN (a new float32 array)."""
        out = self._pixels().copy()
        out[self._mask_owner(_bitmask.DETECTION_BITS)] = np.nan
        return out

    @property
    def dataclean(self):
        """Masked (NaN) and background-subtracted pixels (a new float32 array)."""
        out = self._compute().copy()
        out[self._mask_owner(_bitmask.DETECTION_BITS)] = np.nan
        return out

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
        apply_mask, rm_bkgd = as_bool(apply_mask, "apply_mask"), as_bool(rm_bkgd, "rm_bkgd")
        if not apply_mask and not rm_bkgd:
            return self.data
        out = self.background.subtract(self._pixels()) if rm_bkgd else self._pixels().copy()
        if apply_mask:
            out[self.get_mask(**maskkw)] = maskvalue
        return out

    def _named_data(self, data, compute=False):
        """Pixels by selector. ``compute=True``: the NaN-free arrays handed to level-1
        functions with the detection mask (identical results, no copies; private)."""
        if isinstance(data, np.ndarray):
            if data.shape != self.shape:
                raise ShapeMismatchError(f"data of shape {data.shape} given for an image of "
                                         f"{self.shape}")
            return data
        name = normalise_selector(data)
        if name == "background":
            return self.background.back
        if name == "rms":
            return self.background.rms
        if compute:
            return self._compute() if name == "dataclean" else self._pixels()
        if name == "data":
            return self.data
        return self.datamasked if name == "datamasked" else self.dataclean

    def drop_products(self, name=None):
        """Free memoised products (all, or one kind: 'mask', 'background', 'compute',
        'prepared', 'wcs').

        The user state (current background choice, sources, PSF, catalogues) is kept; the
        products are recomputed on demand.
        """
        names = ("mask", "background", "compute", "prepared", "wcs")
        if name is not None and not (isinstance(name, str) and name in names):
            raise InvalidParameterError(f"drop_products takes one of {names} or nothing (all); "
                                        f"got {name!r}")
        self._products.drop(name)
        return self

    @property
    def products(self):
        """What the product store holds: a list of ``(name, parameters, MB)``."""
        return self._products.summary()

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
