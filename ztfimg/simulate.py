"""Realistic simulated ZTF quadrants with known truth, for demos, tests and benchmarks.

A simulated frame has what a real ``sciimg``/``mskimg`` pair has: the 3072x3080 geometry
(smaller on request), the real science keyword set, a TPV WCS whose ``PV1_0``/``PV2_0`` terms
are non-zero (so CRPIX does not map to CRVAL, as on real frames), a smooth sky with a
gradient, stars with a seeing-sized point spread function (pixel-integrated Gaussian by
default, or any model with a ``render`` method such as a DAOPhot PSF), Poisson noise through
GAIN plus read noise, saturation flagged with bit 8, a low-responsivity column, dead, noisy,
NaN and spike pixels with their bits, and bits 1 and 11 on the stars as IPAC sets them.

Everything is deterministic for a given ``seed``.

Examples
--------
>>> from ztfimg import simulate
>>> frame = simulate.simulate_quadrant(shape=(512, 512), seed=1)
>>> frame.truth.columns.tolist()[:6]
['ra', 'dec', 'mag', 'colour', 'x', 'y']
>>> img = frame.to_image()          # a ScienceImage, no file written
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from astropy.io import fits
from scipy.special import erf

from . import filenames as _filenames
from .bitmask import MASK_LEGEND, ZTFBit
from .errors import InvalidParameterError
from .filters import FILTERS, get_filter
from .validation import as_shape

#: The file-name filter codes the simulator writes (zg, zr, zi).
_CODES = tuple(f.code for f in FILTERS)

__all__ = [
    "SimulatedFrame",
    "simulate_quadrant",
    "simulate_reference",
    "make_header",
    "random_catalog",
    "ps1_like_catalog",
    "gaussian_stars",
    "REAL_PV",
]

#: TPV distortion terms of a real ZTF quadrant (field 655, c13 q3, 2020-09-24). Including
#: the non-zero PV1_0/PV2_0 offsets (~0.2 arcsec).
REAL_PV = {
    "PV1_0": -4.918160589556e-05, "PV1_1": 1.000036677143e00, "PV1_2": 9.414366939841e-05,
    "PV1_4": 2.468747878423e-04, "PV1_5": 1.182803710539e-04, "PV1_6": 1.574760892938e-04,
    "PV1_7": -2.698341462040e-04, "PV1_8": -2.751596394360e-05, "PV1_9": -2.120740162179e-04,
    "PV1_10": 5.327060610469e-05, "PV1_12": 3.424492102187e-04, "PV1_13": -6.333928772276e-05,
    "PV1_14": -2.366713982005e-04, "PV1_15": -1.924313411189e-04, "PV1_16": 1.653907566755e-04,
    "PV2_0": -4.496491941919e-05, "PV2_1": 9.999973619179e-01, "PV2_2": 3.137152858532e-05,
    "PV2_4": 3.836347992086e-04, "PV2_5": 1.760204670234e-04, "PV2_6": 1.466134464032e-04,
    "PV2_7": -1.578966474684e-04, "PV2_8": 1.958075027578e-05, "PV2_9": -2.388863964860e-04,
    "PV2_10": -1.953664098563e-05, "PV2_12": -3.463408216418e-04, "PV2_13": -3.585498528435e-04,
    "PV2_14": 2.869904224971e-05, "PV2_15": -4.121078147806e-05, "PV2_16": -7.959859563520e-05,
}

_FIXAPERS = (2.0, 3.0, 4.0, 6.0, 10.0, 14.0)
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _gaussian_apcor(fwhm: float, diameter: float) -> float:
    """APCOR (mag, <= 0) of the simulator's stars: 2.5 log10 of the light an exact aperture
    of this diameter collects, averaged over the star's sub-pixel position.

    The stars are pixel-integrated Gaussians (:func:`gaussian_stars`) and an exact-overlap
    aperture sums pixel values times the pixel's overlap with the disc; averaged over the
    centre's phase that is the disc integral of the Gaussian convolved *twice* with the
    pixel box, i.e. per axis with the triangle on [-1, 1] (the continuous Gaussian's
    ``1 - exp(-r^2 / 2 sigma^2)`` reads 0.10 mag too bright at 3 px for a 2 px FWHM).
    IPAC measures its APCORn on the image, so they include this too. Gauss-Legendre
    quadrature: the outer integral over x = R sin(phi), the inner per-axis CDF exact
    through erf, the triangle by 2 x 48 nodes (accurate to < 1e-7 mag).
    """
    from numpy.polynomial.legendre import leggauss
    from scipy.special import erf

    s = fwhm * _FWHM_TO_SIGMA
    r = diameter / 2.0
    t, wt = leggauss(48)
    tri_t = np.concatenate([0.5 * (t - 1.0), 0.5 * (t + 1.0)])
    tri_w = np.concatenate([0.5 * wt, 0.5 * wt]) * (1.0 - np.abs(np.concatenate(
        [0.5 * (t - 1.0), 0.5 * (t + 1.0)])))
    phi, wphi = leggauss(96)
    phi, wphi = 0.5 * np.pi * phi, 0.5 * np.pi * wphi
    x, h = r * np.sin(phi), r * np.cos(phi)
    dens = np.sum(tri_w * np.exp(-0.5 * ((x[:, None] - tri_t) / s) ** 2), axis=1) / (
        np.sqrt(2.0 * np.pi) * s)
    inner = np.sum(tri_w * 0.5 * (erf((h[:, None] - tri_t) / (np.sqrt(2.0) * s))
                                  - erf((-h[:, None] - tri_t) / (np.sqrt(2.0) * s))), axis=1)
    frac = float(np.sum(wphi * h * dens * inner))
    return 2.5 * np.log10(frac)


def make_header(shape=(3080, 3072), *, ra=55.0608, dec=33.35, fieldid=655, ccdid=13, qid=3,
                filtername="zr", obsjd=2459116.9317708, exptime=30.0, gain=6.0, readnoise=9.0,
                saturation=58647.0, seeing=2.0, magzp=26.3, magzpunc=4e-6, magzprms=0.025,
                clrcoeff=0.08, maglim=20.8, rotation=0.0, pixel_scale=1.012, pv=True):
    """A ZTF science header with the real keyword set and a TPV WCS.

    Parameters
    ----------
    shape : tuple of int, default (3080, 3072)
        (rows, columns) of the image.
    ra, dec : float
        Sky position of the reference pixel (CRVAL), degrees.
    fieldid, ccdid, qid : int
        Field, CCD (1-16) and quadrant (1-4).
    filtername : {'zg', 'zr', 'zi'}
        Filter.
    obsjd : float
        Julian date of the exposure.
    exptime : float, default 30
        Seconds.
    gain, readnoise, saturation : float
        e-/DN, e-, DN.
    seeing : float, default 2.0
        FWHM in pixels written to SEEING (the simulated PSF uses the same value).
    magzp, magzpunc, magzprms, clrcoeff, maglim : float
        Calibration keywords (mag).
    rotation : float, default 0
        Rotation of the pixel grid on the sky, degrees.
    pixel_scale : float, default 1.012
        arcsec per pixel.
    pv : bool, default True
        Include the TPV distortion terms of a real quadrant (:data:`REAL_PV`).

    Returns
    -------
    astropy.io.fits.Header
    """
    if filtername not in _CODES:
        raise InvalidParameterError(f"filtername must be zg, zr or zi, got {filtername!r}")
    ny, nx = shape
    scale = pixel_scale / 3600.0
    c, s = np.cos(np.radians(rotation)), np.sin(np.radians(rotation))
    # ZTF quadrants have both axes flipped with respect to (east, north) in this quadrant.
    cd = np.array([[-scale * c, -scale * s], [scale * s, -scale * c]])
    rec = get_filter(filtername)
    fname, fid = f"ZTF_{rec.ps1_band}", rec.filterid  # the 2020 header spelling
    ffd = _filenames.filefracday_from_jd(obsjd)
    h = fits.Header()
    cards = [
        ("BUNIT", "Data Value", None), ("ORIGIN", "Zwicky Transient Facility (simulated)", None),
        ("IMGTYPE", "object", "Image type"), ("EXPOSURE", float(exptime), "Total Exposure Time (s)"),
        ("EXPTIME", float(exptime), "Requested Exposure Time (s)"),
        ("PIXSCALE", float(pixel_scale), "Pixel scale, in arcsec per pixel"),
        ("FIELDID", int(fieldid), "ZTF field ID number"),
        ("OBJRAD", float(ra), "Object right ascension (deg)"),
        ("OBJDECD", float(dec), "Object declination (deg)"),
        ("RAD", float(ra), "Requested right ascension (deg)"),
        ("DECD", float(dec), "Requested declination (deg)"),
        ("FILTERID", fid, "Filter ID code"), ("FILTER", fname, "Filter name"),
        ("OBSJD", float(obsjd), "Julian day corresponds to UTC-OBS (day)"),
        ("OBSMJD", float(obsjd) - 2400000.5, "MJD corresponds to UTC-OBS (day)"),
        ("GAIN", float(gain), "Gain e-/adu"), ("READNOI", float(readnoise), "Read noise e-"),
        ("RADESYS", "ICRS", None), ("CTYPE1", "RA---TPV", None), ("CTYPE2", "DEC--TPV", None),
        ("CRPIX1", nx / 2 + 0.5, None), ("CRPIX2", ny / 2 + 0.5, None),
        ("CRVAL1", float(ra), None), ("CRVAL2", float(dec), None),
        ("CUNIT1", "deg", None), ("CUNIT2", "deg", None),
        ("CD1_1", cd[0, 0], None), ("CD1_2", cd[0, 1], None),
        ("CD2_1", cd[1, 0], None), ("CD2_2", cd[1, 1], None),
    ]
    if pv:
        cards += [(k, v, "Projection distortion parameter") for k, v in REAL_PV.items()]
    else:
        cards += [("PV1_1", 1.0, None), ("PV2_1", 1.0, None)]
    cards += [
        ("MAGZP", float(magzp), "Magnitude zero point for PSF-photometry [mag]"),
        ("MAGZPUNC", float(magzpunc), "Magnitude zero point uncertainty [mag]"),
        ("MAGZPRMS", float(magzprms), "Magnitude zero point RMS deviation [mag]"),
        ("CLRCOEFF", float(clrcoeff), "Color coefficient from linear fit"),
        ("CLRCOUNC", 1e-5, "Color coefficient uncertainty from linear fit"),
        ("ZPCLRCOV", -5e-6, "Covariance in MAGZP and CLRCOEFF [mag^2]"),
        ("PCOLOR", "r - i" if filtername == "zi" else "g - R",
         "Calibrator color used for PSF-fit calibration"),
        ("SATURATE", float(saturation), "Saturation value in final science image [DN]"),
        ("FIXAPERS", ",".join(f"{d:g}" for d in _FIXAPERS), "fixed aperture diameters used [pixels]"),
    ]
    for i, diam in enumerate(_FIXAPERS, start=1):
        cards.append((f"APCOR{i}", round(_gaussian_apcor(seeing, diam), 8),
                      f"PSF_mag - AP_mag for AP.diam={diam:4.1f} pix."))
        cards.append((f"APCORUN{i}", 0.0007, f"Uncertainty in APCOR{i} [mag]"))
    cards += [
        ("CCDID", int(ccdid), None), ("QID", int(qid), None),
        ("RCID", _filenames.rcid_from_ccd_qid(ccdid, qid), None),
        ("INFOBITS", 0, "infoBits string; bit(s) = null"),
        ("SEEING", float(seeing), "seeing FWHM [pixels]"),
        ("MAGLIM", float(maglim), "5-sigma mag-limit in PSF-fit catalog [mag]"),
        ("STATUS", 1, "overall processing flag: 0 = bad; 1 = usable"),
        ("DBFIELD", int(fieldid), "Database field"),
        ("DBRCID", _filenames.rcid_from_ccd_qid(ccdid, qid), "Database readout-channel ID"),
        ("DBFID", fid, "Database filter ID"),
        ("FILENAME", f"ztf_{ffd}_{int(fieldid):06d}_{filtername}_c{int(ccdid):02d}_o.fits", "File name"),
    ]
    for key, value, comment in cards:
        h[key] = (value, comment) if comment else value
    return h


def random_catalog(header, n, *, rng, mag_range=(14.0, 21.5), margin=-10.0, slope=0.3,
                   colour_mean=0.6, colour_std=0.3):
    """Random stars over the footprint of a header, with a realistic magnitude distribution.

    Parameters
    ----------
    header : astropy.io.fits.Header
        Frame header (size and WCS).
    n : int
        Number of stars.
    rng : numpy.random.Generator
    mag_range : tuple of float, default (14, 21.5)
        Magnitudes are drawn from ``dN/dm ∝ 10**(slope*m)`` in this range.
    margin : float, default -10
        Pixels added around the frame (negative: stars also fall partly off the edge).
    slope : float, default 0.3
        Logarithmic slope of the number counts.
    colour_mean, colour_std : float
        PS1 colour distribution (mag).

    Returns
    -------
    pandas.DataFrame
        ``ra``, ``dec`` (deg), ``mag``, ``colour``.
    """
    from astropy.wcs import WCS
    nx = int(header.get("NAXIS1", 2 * (header["CRPIX1"] - 0.5)))
    ny = int(header.get("NAXIS2", 2 * (header["CRPIX2"] - 0.5)))
    x = rng.uniform(margin - 0.5, nx - 0.5 - margin, n)
    y = rng.uniform(margin - 0.5, ny - 0.5 - margin, n)
    a, b = 10 ** (slope * mag_range[0]), 10 ** (slope * mag_range[1])
    mag = np.log10(rng.uniform(a, b, n)) / slope
    ra, dec = WCS(header).all_pix2world(x, y, 0)
    return pd.DataFrame({"ra": ra, "dec": dec, "mag": mag,
                         "colour": rng.normal(colour_mean, colour_std, n)})


def ps1_like_catalog(ra, dec, radius, n, *, seed=0, mag_range=(14.0, 21.5), slope=0.3,
                     id_offset=100000000000000000):
    """A Pan-STARRS1-like catalogue of stars in a cone, with the normalised ztfimg columns.

    Uniform on the sphere within ``radius`` of (``ra``, ``dec``) (a square cut in RA/Dec,
    then the cone), ``r`` magnitudes from ``dN/dm ∝ 10**(slope*m)``, stellar-locus-like
    colours (``g-r`` ~ N(0.6, 0.35), ``r-i`` ≈ 0.45 (g-r)) and PS1-like errors. Feed it to
    :func:`simulate_quadrant` (``catalog=``) to draw the frame, and to
    ``tests/support/vizier_votable.py`` (test support) to serve it as VizieR does.

    Parameters
    ----------
    ra, dec : float
        Centre, degrees.
    radius : float
        Cone radius, degrees.
    n : int
        Number of stars drawn in the enclosing box (fewer remain in the cone).
    seed : int, default 0
    mag_range : tuple, default (14, 21.5)
        Range of ``rmag``.
    slope : float, default 0.3
    id_offset : int
        First ``objid``.

    Returns
    -------
    pandas.DataFrame
        ``objid`` (int64), ``ra``, ``dec``, ``qual``, ``gmag`` ... ``ymag`` and ``e_gmag`` ...
        ``e_ymag``.
    """
    rng = np.random.default_rng(seed)
    s0, s1 = np.sin(np.radians(dec - radius)), np.sin(np.radians(min(dec + radius, 90.0)))
    d = np.degrees(np.arcsin(s0 + rng.uniform(0, 1, n) * (s1 - s0)))
    r = ra + rng.uniform(-radius, radius, n) / max(np.cos(np.radians(dec)), 1e-3)
    rmag = np.log10(rng.uniform(10 ** (slope * mag_range[0]), 10 ** (slope * mag_range[1]), n)) / slope
    gr = rng.normal(0.6, 0.35, n)
    ri = 0.45 * gr + rng.normal(0, 0.05, n)
    df = pd.DataFrame({"objid": np.int64(id_offset) + np.arange(n, dtype=np.int64),
                       "ra": np.mod(r, 360.0), "dec": d, "qual": np.int16(52),
                       "gmag": rmag + gr, "rmag": rmag, "imag": rmag - ri})
    df["zmag"], df["ymag"] = df["imag"] - 0.2, df["imag"] - 0.3
    for b in "grizy":
        df[f"e_{b}mag"] = 0.002 + 0.01 * 10 ** (0.4 * (df[f"{b}mag"] - 20))
    c1, c2 = np.radians(dec), np.radians(df["dec"].to_numpy())
    cosang = (np.sin(c1) * np.sin(c2) + np.cos(c1) * np.cos(c2)
              * np.cos(np.radians(df["ra"].to_numpy() - ra)))
    keep = np.degrees(np.arccos(np.clip(cosang, -1, 1))) <= radius
    return df[keep].reset_index(drop=True)


def gaussian_stars(shape, x, y, flux, fwhm, *, halfsize=None, dtype=np.float64):
    """Noise-free image of pixel-integrated circular Gaussian stars.

    Parameters
    ----------
    shape : tuple of int
        (rows, columns).
    x, y : array_like
        0-based positions (pixel centres at integers).
    flux : array_like
        Total flux of each star, DN (the integral over the whole plane).
    fwhm : float
        Full width at half maximum, pixels.
    halfsize : int, optional
        Half-size of the stamp drawn per star (default ``ceil(5*fwhm)``, which holds
        > 99.99% of the light).

    Returns
    -------
    numpy.ndarray
        The image (stars partly off the frame contribute their inside part only).
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    flux = np.broadcast_to(np.asarray(flux, dtype=float), x.shape)
    ny, nx = shape
    h = int(np.ceil(5 * fwhm)) if halfsize is None else int(halfsize)
    pad = 2 * h + 1
    img = np.zeros((ny + 2 * pad, nx + 2 * pad), dtype=dtype)
    keep = (x > -h) & (x < nx - 1 + h) & (y > -h) & (y < ny - 1 + h) & np.isfinite(flux)
    x, y, flux = x[keep], y[keep], flux[keep]
    if x.size == 0:
        return img[pad:pad + ny, pad:pad + nx].copy()
    s2 = np.sqrt(2.0) * fwhm * _FWHM_TO_SIGMA
    x0 = np.round(x).astype(int)
    y0 = np.round(y).astype(int)
    off = np.arange(-h, h + 1)
    # integral of the 1-D Gaussian over each pixel [i-0.5, i+0.5]
    ex = (x0[:, None] + off) - x[:, None]
    ey = (y0[:, None] + off) - y[:, None]
    px = 0.5 * (erf((ex + 0.5) / s2) - erf((ex - 0.5) / s2))
    py = 0.5 * (erf((ey + 0.5) / s2) - erf((ey - 0.5) / s2))
    stamps = flux[:, None, None] * py[:, :, None] * px[:, None, :]
    rows = (y0[:, None] + off + pad)[:, :, None]
    cols = (x0[:, None] + off + pad)[:, None, :]
    np.add.at(img, (np.broadcast_to(rows, stamps.shape), np.broadcast_to(cols, stamps.shape)), stamps)
    return img[pad:pad + ny, pad:pad + nx].copy()


@dataclass
class SimulatedFrame:
    """A simulated ZTF quadrant and its truth.

    Attributes
    ----------
    data : numpy.ndarray
        Pixels in DN, float32, with noise.
    mask : numpy.ndarray
        ZTF bit mask, int16.
    header : astropy.io.fits.Header
        Science header (TPV WCS, MAGZP, GAIN ...).
    truth : pandas.DataFrame
        One row per star: ``ra``, ``dec`` (deg), ``x``, ``y`` (0-based px), ``flux`` (total DN),
        ``mag`` (AB, frame system), ``snr`` (expected S/N in an optimal aperture), ``inside``
        (centre on the frame), plus the columns of an input catalogue.
    sky : numpy.ndarray
        Noise-free sky in DN.
    model : numpy.ndarray
        Noise-free image (sky + stars) in DN, before saturation.
    maskheader : astropy.io.fits.Header
        Header of the mask file with IPAC's bit legend.
    kind : {'science', 'reference'}
    """

    data: np.ndarray
    mask: np.ndarray | None
    header: fits.Header
    truth: pd.DataFrame
    sky: np.ndarray
    model: np.ndarray
    maskheader: fits.Header | None = None
    kind: str = "science"
    psf: object = field(default=None, repr=False)

    @property
    def gain(self) -> float:
        """GAIN, e-/DN."""
        return float(self.header["GAIN"])

    @property
    def readnoise(self) -> float:
        """READNOI, e-."""
        return float(self.header["READNOI"])

    @property
    def filename(self) -> str:
        """The ZTF file name this frame is written under.

        Read from the header with the frame classes' keyword spellings
        (:class:`ztfimg.image.HeaderAccess`): the field is FIELDID, else DBFIELD (a
        reference header has only DBFIELD), the filter FILTERID, else DBFID, then CCDID
        (or CCD_ID), QID and, for a science frame, OBSJD (the ``filefracday``,
        :func:`ztfimg.filenames.filefracday_from_jd`).

        Raises
        ------
        HeaderKeywordError
            The header has no spelling of one of these keywords (the message names them).
        """
        from .image.header import HeaderAccess as _H
        from .image.header import read_keyword

        def card(decl):
            return read_keyword(self.header, decl.keys, cast=decl.cast,
                                where=f"the header of this simulated {self.kind} frame")

        filt = get_filter(card(_H._filterid)).code
        ids = card(_H.fieldid), filt, card(_H._ccdid), card(_H._qid)
        if self.kind == "reference":
            return _filenames.build_reference_filename(*ids)
        ffd = _filenames.filefracday_from_jd(card(_H.obsjd))
        return _filenames.build_science_filename(ffd, *ids)

    def write(self, directory, overwrite=True):
        """Write the frame as FITS files with ZTF names.

        Parameters
        ----------
        directory : str or path-like
            Created if needed.
        overwrite : bool, default True

        Returns
        -------
        str or tuple of str
            ``(sciimg_path, mskimg_path)`` for a science frame, the ``refimg`` path for a
            reference image. A DAOPhot PSF, when the frame has one with a ``write`` method,
            is written beside as ``*_sciimgdao.psf``.
        """
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(os.fspath(directory), self.filename)
        header = self.header.copy()
        for key in ("NAXIS", "NAXIS1", "NAXIS2"):
            header.remove(key, ignore_missing=True)
        fits.PrimaryHDU(self.data.astype(">f4"), header=header).writeto(path, overwrite=overwrite)
        if self.kind == "reference":
            return path
        mpath = _filenames.sibling(path, "mskimg")
        mh = self.maskheader.copy()
        fits.PrimaryHDU(self.mask.astype(">i2"), header=mh).writeto(mpath, overwrite=overwrite)
        if self.psf is not None and hasattr(self.psf, "write"):
            self.psf.write(_filenames.sibling(path, "sciimgdao.psf"))
        return path, mpath

    def to_image(self):
        """The frame as a :class:`~ztfimg.image.ScienceImage` (or ReferenceImage), no file."""
        from .image import ReferenceImage, ScienceImage
        if self.kind == "reference":
            return ReferenceImage.from_arrays(self.data, self.header)
        return ScienceImage.from_arrays(self.data, self.header, self.mask)


def _mask_header(header):
    mh = fits.Header()
    for key in ("FIELDID", "CCDID", "QID", "RCID", "FILTER", "OBSJD"):
        if key in header:
            mh[key] = header[key]
    mh["COMMENT"] = "bit-mask definitions:"
    for bit in range(16):
        mh[f"BIT{bit:02d}"] = (bit, MASK_LEGEND.get(bit, "RESERVED FOR FUTURE USE"))
    return mh


def _stars_image(shape, truth, seeing, psf):
    if psf is not None:
        return np.asarray(psf.render(shape, truth["x"].to_numpy(), truth["y"].to_numpy(),
                                     truth["flux"].to_numpy()), dtype=float)
    return gaussian_stars(shape, truth["x"].to_numpy(), truth["y"].to_numpy(),
                          truth["flux"].to_numpy(), seeing)


def simulate_quadrant(shape=(3080, 3072), seed=0, *, nstars=None, catalog=None, ra=55.0608,
                      dec=33.35, fieldid=655, ccdid=13, qid=3, filtername="zr",
                      obsjd=2459116.9317708, seeing=2.0, sky=160.0, sky_gradient=(0.03, -0.02),
                      magzp=26.3, clrcoeff=0.08, gain=6.0, readnoise=9.0, saturation=58647.0,
                      psf=None, defects=True, rotation=0.0, mag_range=(14.0, 21.5)):
    """Simulate one ZTF science quadrant with its mask and truth.

    Parameters
    ----------
    shape : tuple of int, default (3080, 3072)
        (rows, columns). A real quadrant is 3080 x 3072; smaller shapes keep tests fast.
    seed : int, default 0
        Seed of the random generator: same seed, same frame.
    nstars : int, optional
        Number of random stars; default scales 8000 stars per full quadrant by area.
    catalog : pandas.DataFrame, optional
        Stars to draw instead of random ones: ``ra``, ``dec`` and either ``mag`` (frame
        system) or the PS1 band magnitude of the filter (``gmag``/``rmag``/``imag``) with the
        colour used by the calibration (``g-r``; ``r-i`` for zi), to which ``clrcoeff``
        applies: ``counts = 10**(-0.4*(m_PS1 - clrcoeff*colour - magzp))``.
    ra, dec : float
        CRVAL of the frame, degrees.
    fieldid, ccdid, qid, filtername, obsjd :
        Frame identity (see :func:`make_header`).
    seeing : float, default 2.0
        FWHM of the Gaussian PSF, pixels (ZTF's typical ~2 arcsec).
    sky : float, default 160
        Mean sky level, DN (a 30 s ZTF r exposure has ~150-200).
    sky_gradient : tuple of float, default (0.03, -0.02)
        Relative change of the sky across the frame in x and y.
    magzp, clrcoeff : float
        Zero point (mag, for total DN) and colour coefficient.
    gain, readnoise, saturation : float
        e-/DN, e-, DN.
    psf : object, optional
        A PSF model with ``render(shape, x, y, flux)`` (e.g. :class:`ztfimg.dao.DAOPhotPSF`)
        used instead of the Gaussian; it is written beside the frame by ``write``.
    defects : bool, default True
        Add a low-responsivity column, dead, noisy, NaN and spike pixels with their bits.
    rotation : float, default 0
        Sky rotation of the pixel grid, degrees.
    mag_range : tuple, default (14, 21.5)
        Magnitude range of random stars.

    Returns
    -------
    SimulatedFrame
    """
    shape = as_shape(shape, minimum=16)
    rng = np.random.default_rng(seed)
    header = make_header(shape, ra=ra, dec=dec, fieldid=fieldid, ccdid=ccdid, qid=qid,
                         filtername=filtername, obsjd=obsjd, gain=gain, readnoise=readnoise,
                         saturation=saturation, seeing=seeing, magzp=magzp, clrcoeff=clrcoeff,
                         rotation=rotation)
    header["NAXIS1"], header["NAXIS2"] = shape[1], shape[0]
    if psf is not None and hasattr(psf, "aperture_correction"):
        # the header's APCORn must describe the PSF the stars are drawn with
        for i, diam in enumerate(_FIXAPERS, start=1):
            header[f"APCOR{i}"] = round(float(psf.aperture_correction(diam)), 8)
    from astropy.wcs import WCS
    wcs = WCS(header)
    ny, nx = shape

    if catalog is None:
        n = int(round(8000 * nx * ny / (3072 * 3080))) if nstars is None else int(nstars)
        truth = random_catalog(header, n, rng=rng, mag_range=mag_range)
        counts_mag = truth["mag"].to_numpy()
    else:
        truth = pd.DataFrame(catalog).reset_index(drop=True).copy()
        missing = {"ra", "dec"} - set(truth.columns)
        if missing:
            raise InvalidParameterError(f"catalog lacks column(s) {sorted(missing)}")
        rec = get_filter(filtername)
        band = f"{rec.ps1_band}mag"
        if "mag" in truth.columns:
            counts_mag = truth["mag"].to_numpy(float)
        elif band in truth.columns:
            c1, c2 = (f"{b}mag" for b in rec.colour_bands)
            colour = truth[c1].to_numpy(float) - truth[c2].to_numpy(float)
            counts_mag = truth[band].to_numpy(float) - clrcoeff * colour
            truth["colour"] = colour
            truth["mag"] = counts_mag
        else:
            raise InvalidParameterError(f"catalog needs a 'mag' or '{band}' column")
    x, y = wcs.all_world2pix(truth["ra"].to_numpy(float), truth["dec"].to_numpy(float), 0)
    truth["x"], truth["y"] = x, y
    truth["flux"] = 10 ** (-0.4 * (counts_mag - magzp))
    truth["inside"] = (x >= -0.5) & (x <= nx - 0.5) & (y >= -0.5) & (y <= ny - 0.5)

    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    gx, gy = sky_gradient
    skymap = sky * (1 + gx * (xx - (nx - 1) / 2) / nx + gy * (yy - (ny - 1) / 2) / ny
                    + 0.01 * np.sin(2 * np.pi * xx / max(nx, 64) * 0.7) * np.cos(2 * np.pi * yy / max(ny, 64) * 0.5))
    del xx, yy
    stars = _stars_image(shape, truth, seeing, psf)
    model = skymap + stars
    # Poisson noise in electrons, plus read noise, back to DN
    electrons = rng.poisson(np.clip(model, 0, None) * gain).astype(np.float64)
    data = (electrons + rng.normal(0.0, readnoise, shape)) / gain
    mask = np.zeros(shape, dtype=np.int16)

    pixsig = np.sqrt(skymap / gain + (readnoise / gain) ** 2)
    sigma_psf = seeing * _FWHM_TO_SIGMA
    # S/N of each star in an optimal (PSF-weighted) measurement
    neff = 4 * np.pi * sigma_psf**2
    skyvar = sky / gain + (readnoise / gain) ** 2
    flux = truth["flux"].to_numpy()
    truth["snr"] = flux / np.sqrt(flux / gain + neff * skyvar)
    # bit 1: pixels above ~1.5 sigma of the sky in the noise-free star light (SExtractor's isophote)
    mask[stars > 1.5 * pixsig] |= np.int16(ZTFBit.SEXSOURCES)
    # bit 11: 3x3 pixels at the position of each star PSF-fit would extract (S/N > 5)
    det = truth[(truth["snr"] > 5) & truth["inside"]]
    xi = np.clip(np.round(det["x"].to_numpy()).astype(int), 0, nx - 1)
    yi = np.clip(np.round(det["y"].to_numpy()).astype(int), 0, ny - 1)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            mask[np.clip(yi + dy, 0, ny - 1), np.clip(xi + dx, 0, nx - 1)] |= np.int16(ZTFBit.PSFSOURCES)

    if defects:
        col = int(rng.integers(nx // 4, 3 * nx // 4))
        data[:, col] = skymap[:, col] * 0.6 + (data[:, col] - skymap[:, col])
        mask[:, col] |= np.int16(ZTFBit.LOWRESPONSIVITY)
        npix = max(4, nx * ny // 400_000)
        for bit, n, action in ((ZTFBit.DEAD, npix, "dead"), (ZTFBit.NOISY, npix, "noisy"),
                               (ZTFBit.NAN, max(2, npix // 4), "nan"), (ZTFBit.SPIKES, npix, "spike")):
            yy = rng.integers(0, ny, n)
            xx = rng.integers(0, nx, n)
            if action == "dead":
                data[yy, xx] = rng.normal(0.0, 1.0, n)
            elif action == "noisy":
                data[yy, xx] += rng.normal(0.0, 20 * pixsig[yy, xx])
            elif action == "nan":
                data[yy, xx] = np.nan
            else:
                data[yy, xx] += rng.uniform(300, 5000, n)
            mask[yy, xx] |= np.int16(bit)

    sat = data >= saturation
    data[sat] = saturation
    mask[sat] |= np.int16(ZTFBit.SATURATED)
    return SimulatedFrame(data=data.astype(np.float32), mask=mask, header=header, truth=truth,
                          sky=skymap.astype(np.float32), model=model.astype(np.float32),
                          maskheader=_mask_header(header), kind="science", psf=psf)


def simulate_reference(frame: SimulatedFrame, seed=1, *, nframes=20, globmed=None):
    """A reference image matching a simulated science frame: same stars and WCS, deeper.

    The co-add of ``nframes`` exposures is modelled as one image whose noise is
    ``1/sqrt(nframes)`` of the science frame's; the sky is flat at ``GLOBMED``.

    Parameters
    ----------
    frame : SimulatedFrame
        The science frame it references.
    seed : int, default 1
    nframes : int, default 20
        Number of co-added frames (NFRAMES).
    globmed : float, optional
        Sky level (GLOBMED), DN; default the science frame's mean sky.

    Returns
    -------
    SimulatedFrame
        ``kind='reference'``, no mask.
    """
    rng = np.random.default_rng(seed)
    h = frame.header.copy()
    for key in ("FIELDID", "RCID", "FILTERID", "OBSJD", "OBSMJD", "FILENAME", "SEEING"):
        h.remove(key, ignore_missing=True)
    globmed = float(np.mean(frame.sky)) if globmed is None else float(globmed)
    h["GLOBMED"] = (globmed, "Global median of image [DN]")
    h["NFRAMES"] = (int(nframes), "Number of frames in co-add")
    gain = float(h["GAIN"]) * nframes
    h["GAIN"] = (gain, "Effective gain of the co-add e-/adu")
    shape = frame.data.shape
    stars = frame.model - frame.sky
    model = globmed + stars
    data = rng.poisson(np.clip(model, 0, None) * gain) / gain
    data = data + rng.normal(0.0, float(h["READNOI"]) / gain / np.sqrt(nframes), shape)
    return SimulatedFrame(data=data.astype(np.float32), mask=None, header=h,
                          truth=frame.truth.copy(), sky=np.full(shape, globmed, np.float32),
                          model=model.astype(np.float32), kind="reference")
