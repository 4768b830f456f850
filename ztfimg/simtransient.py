"""Simulated transients on galaxies: science frames, reference, difference images, truth (level 3).

:func:`simulate_transient_series` makes what IPAC's archive holds for a field where
supernovae explode on their host galaxies:

* a deep **reference** (``*_refimg.fits``): ``nframes_ref`` co-added exposures in good
  seeing, from :func:`ztfimg.simulate.simulate_reference`, with the galaxies in it;
* **science frames** (``*_sciimg.fits`` + ``*_mskimg.fits``), one per epoch, from
  :func:`ztfimg.simulate.simulate_quadrant` with the same stars (fixed catalogue) under the
  epoch's seeing, sky and zero point; the galaxies (Sersic profiles convolved with the
  seeing and integrated over the pixels) and the transients (pixel-integrated Gaussians at
  their sub-pixel positions) are added with their own Poisson noise (a sum of Poisson
  variables is Poisson: the frame's noise is that of its total light);
* **difference images** (``*_scimrefdiffimg.fits.fz``, tile-compressed by astropy): the
  science frame minus its sky and minus the reference PSF-matched to the epoch (an ideal
  subtraction: the static scene at the epoch's seeing and zero point, plus the reference's
  own noise convolved with the matching Gaussian kernel and scaled to the epoch), plus a
  small constant residual background (``diff_offset``); so the static sources leave their
  photon noise but no light, the transients their light;
* the difference PSFs (``*_diffimgpsf.fits``: 25x25 pixel-integrated Gaussian of the
  epoch's seeing, centred on the central pixel, unit sum, as IPAC ships them);
* the **truth**: per epoch and transient the flux in DN (on the epoch's MAGZP) and in uJy,
  the magnitude, the zero point, the seeing.

The light curves rise and fade: 0 before ``t_explosion``, then ``(1 - exp(-t/rise)) *
exp(-t/fall)`` scaled to the peak magnitude.  The difference header is the science header
(a real one carries the science keywords: MAGZP, GAIN, SEEING, WCS ...).

Small frames (256x256) keep tests fast; the full 3080x3072 quadrant is for benchmarks.

Examples
--------
>>> from ztfimg import simtransient                                   # doctest: +SKIP
>>> series = simtransient.simulate_transient_series(shape=(256, 256), n_epochs=20,
...                                                  seed=1)  # doctest: +SKIP
>>> files = series.write("frames/")     # the written paths, one row an epoch  # doctest: +SKIP
>>> series.truth[["epoch", "obsjd", "flux_dn", "flux_ujy", "magzp"]]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from astropy.io import fits

from . import filenames as _filenames
from . import simulate as _sim
from .bitmask import ZTFBit
from .errors import InvalidParameterError
from .validation import as_number

__all__ = ["TransientEpoch", "TransientSeries", "simulate_transient_series", "sersic_image",
           "light_curve", "psf_image", "AB_UJY", "PSF_SIZE"]

#: Flux density of AB magnitude 0 in microjansky (10**(-0.4 * 48.6) erg/s/cm2/Hz = 3630.78 Jy, as
#: :mod:`ztfimg.photometry` converts).
AB_UJY = 10 ** (-0.4 * 48.6) / 1e-29
#: Side of the written ``*_diffimgpsf.fits`` images, pixels (IPAC's).
PSF_SIZE = 25
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def light_curve(t, t_explosion, peak_flux, rise=5.0, fall=25.0):
    """Transient flux at times ``t``: zero before the explosion, a rise and a fading tail.

    Parameters
    ----------
    t : float or array_like
        Times (days).
    t_explosion : float
        Explosion time (days).
    peak_flux : float
        Maximum of the curve (any unit; the output has the same).
    rise, fall : float
        Rise and decline time scales (days, > 0; ``fall > rise``).

    Returns
    -------
    numpy.ndarray
        ``peak * (1 - exp(-dt/rise)) exp(-dt/fall) / max`` for ``dt = t - t_explosion > 0``,
        else 0.

    Raises
    ------
    InvalidParameterError
        Non-positive time scales, or ``fall <= rise``.

    Examples
    --------
    >>> light_curve([-1.0, 10.0], 0.0, 100.0, rise=3.0, fall=20.0).round(1).tolist()
    [0.0, 91.3]
    """
    rise = as_number(rise, "rise", "days", positive=True)
    fall = as_number(fall, "fall", "days", positive=True)
    if fall <= rise:
        raise InvalidParameterError(f"fall ({fall}) must exceed rise ({rise})")
    dt = np.asarray(t, dtype=float) - float(t_explosion)
    tp = rise * np.log(1.0 + fall / rise)                       # time of the maximum
    norm = (1.0 - np.exp(-tp / rise)) * np.exp(-tp / fall)
    with np.errstate(over="ignore"):
        shape = np.where(dt > 0, (1.0 - np.exp(-np.clip(dt, 0, None) / rise))
                         * np.exp(-np.clip(dt, 0, None) / fall), 0.0)
    return float(peak_flux) * shape / norm


def psf_image(fwhm, size=PSF_SIZE):
    """A pixel-integrated circular Gaussian of unit sum, centred on the central pixel.

    Parameters
    ----------
    fwhm : float
        Pixels.
    size : int, default 25
        Odd side of the image.

    Returns
    -------
    numpy.ndarray
        float32 ``(size, size)``.

    Raises
    ------
    InvalidParameterError
        ``size`` not an odd integer >= 3.

    Examples
    --------
    >>> psf_image(2.5).shape
    (25, 25)
    """
    if int(size) != size or size < 3 or size % 2 == 0:
        raise InvalidParameterError(f"size must be an odd integer >= 3; got {size!r}")
    c = (size - 1) / 2.0
    img = _sim.gaussian_stars((size, size), [c], [c], [1.0], fwhm, halfsize=size)
    return (img / img.sum()).astype(np.float32)


def _sersic_fine(r_e, n, q, theta, dx, dy, h, o):
    """The Sersic profile sampled ``o`` times per pixel on a ``(2h+1) o`` square grid.

    ``dx, dy``: the galaxy centre minus the grid's central pixel (pixels).
    """
    from scipy.special import gammaincinv
    fine = (np.arange((2 * h + 1) * o) + 0.5) / o - h - 0.5     # fine-sample offsets (pixels)
    u0, v0 = fine[None, :] - dx, fine[:, None] - dy
    c, s = np.cos(theta), np.sin(theta)
    u, v = u0 * c + v0 * s, -u0 * s + v0 * c
    r = np.sqrt(u ** 2 + (v / q) ** 2)
    bn = gammaincinv(2.0 * n, 0.5)
    return np.exp(-bn * ((r / r_e) ** (1.0 / n) - 1.0))


def _convolve_and_sample(fine_fft, m, o, fwhm):
    """Seeing (Gaussian) and pixel (box) convolution in Fourier space, sampled per pixel."""
    size = m * o
    fy = np.fft.fftfreq(size, d=1.0 / o)[:, None]               # cycles per pixel
    fx = np.fft.rfftfreq(size, d=1.0 / o)[None, :]
    sig = fwhm * _FWHM_TO_SIGMA
    transfer = (np.exp(-2.0 * np.pi ** 2 * sig ** 2 * (fx ** 2 + fy ** 2))
                * np.sinc(fx) * np.sinc(fy))
    conv = np.fft.irfft2(fine_fft * transfer, s=(size, size))
    return conv[o // 2::o, o // 2::o]                            # the pixel centres


def _paste(shape, pix, xc, yc, h):
    out = np.zeros(shape)
    ny, nx = shape
    m = 2 * h + 1
    y0, x0 = yc - h, xc - h
    ys, xs = slice(max(y0, 0), min(y0 + m, ny)), slice(max(x0, 0), min(x0 + m, nx))
    if ys.start < ys.stop and xs.start < xs.stop:
        out[ys, xs] = pix[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return out


class _Galaxy:
    """A Sersic galaxy whose transform is kept, so each epoch's seeing costs one inverse FFT."""

    def __init__(self, x, y, r_e, n, q, theta, max_fwhm, oversample=5):
        r_e = as_number(r_e, "r_e", "pixels", positive=True)
        n = as_number(n, "n", positive=True)
        if not (0.3 <= n <= 8.0) or not (0 < q <= 1):
            raise InvalidParameterError(f"need 0.3 <= n <= 8 and 0 < q <= 1; got n={n}, q={q}")
        self.o = int(oversample) | 1                              # odd: pixel centres on samples
        self.h = int(np.ceil(max(8.0 * r_e, 5.0 * max_fwhm))) + 2
        self.xc, self.yc = int(np.round(x)), int(np.round(y))
        fine = _sersic_fine(r_e, n, q, theta, x - self.xc, y - self.yc, self.h, self.o)
        self.fft = np.fft.rfft2(fine)

    def image(self, shape, flux, fwhm):
        pix = _convolve_and_sample(self.fft, 2 * self.h + 1, self.o, fwhm)
        pix *= float(flux) / pix.sum()
        return _paste(shape, pix, self.xc, self.yc, self.h)


def sersic_image(shape, x, y, flux, r_e, n, fwhm, *, q=1.0, theta=0.0, oversample=5):
    """Noise-free image of a Sersic galaxy convolved with a Gaussian seeing, pixel-integrated.

    The profile ``exp(-b_n ((r/r_e)^(1/n) - 1))`` (``b_n`` from the incomplete gamma
    function, so ``r_e`` holds half the light) is sampled ``oversample`` times per pixel
    within ``max(8 r_e, 5 fwhm)`` of the centre, convolved in Fourier space with the
    Gaussian seeing and the pixel's box (so the values are pixel integrals), sampled at the
    pixel centres and scaled to ``flux`` (the flux of the truncated profile; light falling
    off the frame is lost).

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)``.
    x, y : float
        0-based centre.
    flux : float
        Total flux, DN.
    r_e : float
        Half-light semi-major axis, pixels (> 0).
    n : float
        Sersic index (0.3-8; 1 exponential, 4 de Vaucouleurs).
    fwhm : float
        Seeing FWHM, pixels (> 0).
    q : float, default 1
        Axis ratio b/a (0 < q <= 1).
    theta : float, default 0
        Position angle of the major axis from the x axis, radians.
    oversample : int, default 5
        Samples per pixel (made odd).

    Returns
    -------
    numpy.ndarray
        float64 image of ``shape``.

    Raises
    ------
    InvalidParameterError
        Non-positive sizes, ``n`` or ``q`` out of range.

    Examples
    --------
    >>> img = sersic_image((101, 101), 50.3, 49.8, 1000.0, r_e=5.0, n=1.0, fwhm=2.5)
    >>> round(float(img.sum()), 6)
    1000.0
    """
    fwhm = as_number(fwhm, "fwhm", "pixels", positive=True)
    return _Galaxy(x, y, r_e, n, q, theta, fwhm, oversample).image(shape, flux, fwhm)


@dataclass
class TransientEpoch:
    """One epoch: the science frame, its difference image and PSF, and its truth.

    Attributes
    ----------
    science : ztfimg.simulate.SimulatedFrame
        The science frame (galaxies and transients included in ``data`` and ``model``).
    difference : numpy.ndarray
        float32 difference image, DN on the science zero point.
    header : astropy.io.fits.Header
        The difference image's header (the science header; FILENAME changed).
    psf : numpy.ndarray
        The 25x25 difference PSF (unit sum).
    truth : pandas.DataFrame
        This epoch's rows of :attr:`TransientSeries.truth`.
    static : numpy.ndarray
        The noise-free static scene (stars and galaxies, DN) that the ideal subtraction
        removed.
    """

    science: object
    difference: np.ndarray
    header: fits.Header
    psf: np.ndarray
    truth: pd.DataFrame
    static: np.ndarray = field(repr=False, default=None)

    @property
    def filename(self) -> str:
        """The ``*_scimrefdiffimg.fits.fz`` name of this epoch."""
        return _filenames.sibling(self.science.filename, "scimrefdiffimg.fits.fz")

    def to_image(self):
        """This epoch as a :class:`~ztfimg.image.DifferenceImage` with its science frame."""
        from .image import DifferenceImage
        return DifferenceImage.from_arrays(self.difference, self.header, self.science.mask,
                                           psf=self.psf, science=self.science.to_image())

    def write(self, directory, *, lossless=False, quantize_level=16.0, overwrite=True):
        """Write the epoch's files: sciimg, mskimg, scimrefdiffimg.fits.fz, diffimgpsf.

        Parameters
        ----------
        directory : str or path-like
        lossless : bool, default False
            Compress the difference image losslessly (GZIP_2, no quantisation) instead of
            IPAC's way (RICE_1 on floats quantised to ``rms / quantize_level``).
        quantize_level : float, default 16
        overwrite : bool, default True

        Returns
        -------
        dict
            ``sciimg``, ``mskimg``, ``diffimg``, ``diffimgpsf`` paths.

        Raises
        ------
        OSError
            The directory cannot be written (or a file exists and ``overwrite`` is False).

        Examples
        --------
        >>> paths = series.epochs[0].write("frames/")                    # doctest: +SKIP
        """
        sci, msk = self.science.write(directory, overwrite=overwrite)
        dpath = _filenames.sibling(sci, "scimrefdiffimg.fits.fz")
        hdr = self.header.copy()
        for key in ("NAXIS", "NAXIS1", "NAXIS2", "BITPIX", "EXTEND", "SIMPLE"):
            hdr.remove(key, ignore_missing=True)
        kw = (dict(compression_type="GZIP_2", quantize_level=0.0) if lossless else
              dict(compression_type="RICE_1", quantize_level=float(quantize_level)))
        comp = fits.CompImageHDU(self.difference.astype(np.float32), header=hdr, **kw)
        fits.HDUList([fits.PrimaryHDU(), comp]).writeto(dpath, overwrite=overwrite)
        ppath = _filenames.sibling(sci, "diffimgpsf.fits")
        ph = fits.Header()
        ph["COMMENT"] = "difference-image PSF, unit sum, centred on the central pixel"
        fits.PrimaryHDU(self.psf.astype(">f4"), header=ph).writeto(ppath, overwrite=overwrite)
        return {"sciimg": sci, "mskimg": msk, "diffimg": dpath, "diffimgpsf": ppath}


@dataclass
class TransientSeries:
    """A simulated field with transients on galaxies (see :func:`simulate_transient_series`).

    Attributes
    ----------
    reference : ztfimg.simulate.SimulatedFrame
        The deep reference (``kind='reference'``, galaxies included).
    epochs : list of TransientEpoch
    truth : pandas.DataFrame
        One row per (epoch, transient): ``epoch``, ``transient``, ``obsjd``, ``mjd``,
        ``filename`` (difference image), ``flux_dn`` (DN on ``magzp``), ``flux_ujy``,
        ``mag`` (AB; NaN before the explosion), ``magzp``, ``magzpunc``, ``seeing``,
        ``sky``, ``diff_offset`` (DN), ``x``, ``y``, ``ra``, ``dec``.
    hosts : pandas.DataFrame
        One row per transient: its position (``x``, ``y``, ``ra``, ``dec``), the host
        galaxy's (``gal_x``, ``gal_y``, ``gal_ra``, ``gal_dec``, ``gal_mag``, ``gal_re``,
        ``gal_n``, ``gal_q``, ``gal_theta``) and the light curve's (``peak_mag``,
        ``t_explosion``, ``rise``, ``fall``).
    stars : pandas.DataFrame
        The fixed star catalogue (``ra``, ``dec``, ``mag``).
    """

    reference: object
    epochs: list
    truth: pd.DataFrame
    hosts: pd.DataFrame
    stars: pd.DataFrame

    def write(self, directory, *, lossless=False, quantize_level=16.0, overwrite=True):
        """Write the reference and every epoch with ZTF names.

        Parameters
        ----------
        directory : str or path-like
            Created if needed.
        lossless, quantize_level, overwrite :
            See :meth:`TransientEpoch.write`.

        Returns
        -------
        pandas.DataFrame
            One row per epoch: ``epoch``, ``obsjd``, ``sciimg``, ``mskimg``, ``diffimg``,
            ``diffimgpsf`` paths; ``attrs['refimg']`` is the reference path.

        Raises
        ------
        OSError
            The directory cannot be written.

        Examples
        --------
        >>> files = series.write("frames/")                              # doctest: +SKIP
        >>> DifferenceImage.from_filename(files.diffimg[0])              # doctest: +SKIP
        """
        os.makedirs(directory, exist_ok=True)
        ref = self.reference.write(directory, overwrite=overwrite)
        rows = []
        for i, ep in enumerate(self.epochs):
            paths = ep.write(directory, lossless=lossless, quantize_level=quantize_level,
                             overwrite=overwrite)
            rows.append({"epoch": i, "obsjd": float(ep.header["OBSJD"]), **paths})
        out = pd.DataFrame(rows)
        out.attrs["refimg"] = ref
        return out


def _place_hosts(rng, shape, n, margin, spacing):
    """``n`` host positions on a jittered grid at least ``spacing`` apart."""
    ny, nx = shape
    cols = max(1, int((nx - 2 * margin) // spacing) + 1)
    rows = max(1, int((ny - 2 * margin) // spacing) + 1)
    if cols * rows < n:
        raise InvalidParameterError(
            f"{n} hosts do not fit in a {nx}x{ny} frame with {spacing:g} px between them and "
            f"{margin:g} px margins (room for {cols * rows}); use fewer or a larger frame")
    cells = rng.choice(cols * rows, size=n, replace=False)
    gx = margin + (cells % cols) * spacing + rng.uniform(-0.15, 0.15, n) * spacing
    gy = margin + (cells // cols) * spacing + rng.uniform(-0.15, 0.15, n) * spacing
    return np.clip(gx, margin, nx - 1 - margin), np.clip(gy, margin, ny - 1 - margin)


def simulate_transient_series(shape=(256, 256), n_epochs=30, seed=0, *, n_transients=1,
                              ra=150.1, dec=2.2, fieldid=600, ccdid=7, qid=2, filtername="zr",
                              jd0=2459300.70, cadence=2.0, t_explosion=None,
                              peak_mag=(17.8, 18.8), rise=(4.0, 8.0), fall=(20.0, 35.0),
                              gal_mag=(16.5, 17.5), gal_re=(2.0, 4.5), gal_n=(0.8, 2.5),
                              offset=(0.5, 3.0), seeing=(2.0, 3.2), ref_seeing=1.8,
                              sky=(130.0, 230.0), magzp=(26.15, 26.40), ref_magzp=26.6,
                              gain=6.0, readnoise=9.0, nframes_ref=30, nstars=None,
                              diff_offset=0.5, defects=True):
    """Simulate a field with transients on galaxies: reference, epochs, differences, truth.

    Parameters
    ----------
    shape : (int, int), default (256, 256)
        ``(ny, nx)`` of every frame (a real quadrant is (3080, 3072)).
    n_epochs : int, default 30
        Number of science epochs (>= 1).
    seed : int, default 0
        Everything is deterministic for a given seed.
    n_transients : int, default 1
        Transients, each on its own host galaxy (hosts >= 48 px apart).
    ra, dec, fieldid, ccdid, qid, filtername :
        The field (see :func:`ztfimg.simulate.make_header`).
    jd0 : float
        Julian date of the first epoch.
    cadence : float, default 2
        Days between epochs (each epoch jittered by up to 0.1 day).
    t_explosion : float or array_like, optional
        Explosion JD(s); default a third of the way into the series (jittered per
        transient by +-2 days), so the first third of the epochs have no transient light.
    peak_mag, rise, fall, gal_mag, gal_re, gal_n, offset : (float, float)
        Ranges drawn uniformly per transient: peak AB magnitude, rise and fall time scales
        (days), host magnitude, half-light radius (pixels), Sersic index, offset of the
        transient from the host centre (pixels, random direction).
    seeing, sky, magzp : (float, float)
        Ranges drawn per epoch: seeing FWHM (pixels; > ``ref_seeing``), sky (DN), MAGZP.
    ref_seeing : float, default 1.8
        FWHM of the reference (PSF matching convolves it to each epoch's seeing).
    ref_magzp : float, default 26.6
        Zero point of the reference.
    gain, readnoise : float
        e-/DN and e- of the science frames.
    nframes_ref : int, default 30
        Frames co-added in the reference (its noise is ``1/sqrt(n)`` of a frame's).
    nstars : int, optional
        Stars in the field (default 8000 per full quadrant, by area).
    diff_offset : float, default 0.5
        Standard deviation (DN) of the constant residual background of each difference.
    defects : bool, default True
        Detector defects and their mask bits in the science frames.

    Returns
    -------
    TransientSeries

    Raises
    ------
    InvalidParameterError
        Bad ranges, seeing not above ``ref_seeing``, hosts that do not fit the frame.

    Examples
    --------
    >>> series = simulate_transient_series(shape=(128, 128), n_epochs=3, seed=2)  # doctest: +SKIP
    >>> series.truth[["epoch", "flux_dn", "flux_ujy", "magzp"]]          # doctest: +SKIP
    >>> diff = series.epochs[-1].to_image()      # a DifferenceImage  # doctest: +SKIP
    """
    shape = (int(shape[0]), int(shape[1]))
    n_epochs = int(n_epochs)
    if n_epochs < 1 or int(n_transients) < 1:
        raise InvalidParameterError("n_epochs and n_transients must be >= 1")
    if min(seeing) <= ref_seeing:
        raise InvalidParameterError(f"the epochs' seeing {seeing} must exceed the reference's "
                                    f"{ref_seeing} (PSF matching convolves the reference)")
    rng = np.random.default_rng(seed)
    ntr = int(n_transients)
    ny, nx = shape
    hdr0 = _sim.make_header(shape, ra=ra, dec=dec, fieldid=fieldid, ccdid=ccdid, qid=qid,
                            filtername=filtername, obsjd=jd0)
    hdr0["NAXIS1"], hdr0["NAXIS2"] = nx, ny
    from astropy.wcs import WCS
    wcs = WCS(hdr0)
    n_st = int(round(8000 * nx * ny / (3072 * 3080))) if nstars is None else int(nstars)
    stars = _sim.random_catalog(hdr0, n_st, rng=rng)[["ra", "dec", "mag"]]

    def draw(rangepair, size):
        lo, hi = (float(v) for v in rangepair)
        return rng.uniform(lo, hi, size)

    gx, gy = _place_hosts(rng, shape, ntr, margin=24.0, spacing=48.0)
    hosts = pd.DataFrame({"gal_x": gx, "gal_y": gy, "gal_mag": draw(gal_mag, ntr),
                          "gal_re": draw(gal_re, ntr), "gal_n": draw(gal_n, ntr),
                          "gal_q": rng.uniform(0.5, 1.0, ntr),
                          "gal_theta": rng.uniform(0, np.pi, ntr)})
    ang, rad = rng.uniform(0, 2 * np.pi, ntr), draw(offset, ntr)
    hosts["x"], hosts["y"] = gx + rad * np.cos(ang), gy + rad * np.sin(ang)
    jds = jd0 + np.arange(n_epochs) * float(cadence) + rng.uniform(-0.1, 0.1, n_epochs)
    if t_explosion is None:
        t_exp = jds[0] + (jds[-1] - jds[0]) / 3.0 + rng.uniform(-2, 2, ntr)
    else:
        t_exp = np.broadcast_to(np.asarray(t_explosion, float), (ntr,)).copy()
    hosts["peak_mag"], hosts["t_explosion"] = draw(peak_mag, ntr), t_exp
    hosts["rise"], hosts["fall"] = draw(rise, ntr), draw(fall, ntr)
    for pre, (cx, cy) in (("", ("x", "y")), ("gal_", ("gal_x", "gal_y"))):
        r_, d_ = wcs.all_pix2world(hosts[cx].to_numpy(), hosts[cy].to_numpy(), 0)
        hosts[pre + "ra"], hosts[pre + "dec"] = r_, d_

    models = [_Galaxy(h.gal_x, h.gal_y, h.gal_re, h.gal_n, h.gal_q, h.gal_theta,
                      max(seeing)) for h in hosts.itertuples()]

    def galaxies(fwhm, zp):
        img = np.zeros(shape)
        for g, mag in zip(models, hosts["gal_mag"]):
            img += g.image(shape, 10 ** (-0.4 * (mag - zp)), fwhm)
        return img

    # --- the reference: stars and galaxies at ref_seeing, deep
    ref_epoch = _sim.simulate_quadrant(shape, seed=seed * 7919 + 1, catalog=stars, ra=ra,
                                       dec=dec, fieldid=fieldid, ccdid=ccdid, qid=qid,
                                       filtername=filtername, obsjd=jd0 - 200.0,
                                       seeing=ref_seeing, sky=float(np.mean(sky)),
                                       magzp=ref_magzp, gain=gain, readnoise=readnoise,
                                       defects=False)
    reference = _sim.simulate_reference(ref_epoch, seed=seed * 7919 + 2, nframes=nframes_ref)
    ref_gal = galaxies(ref_seeing, ref_magzp)
    ref_gain = float(reference.header["GAIN"])
    reference.data = (reference.data + rng.poisson(np.clip(ref_gal, 0, None) * ref_gain)
                      / ref_gain).astype(np.float32)
    reference.model = (reference.model + ref_gal).astype(np.float32)
    reference.header["MAGZP"] = float(ref_magzp)
    ref_noise = reference.data.astype(np.float64) - reference.model

    from scipy import ndimage
    epochs, truth_rows = [], []
    for e in range(n_epochs):
        fw, sk, zp = draw(seeing, 1)[0], draw(sky, 1)[0], draw(magzp, 1)[0]
        frame = _sim.simulate_quadrant(shape, seed=seed * 7919 + 10 + e, catalog=stars, ra=ra,
                                       dec=dec, fieldid=fieldid, ccdid=ccdid, qid=qid,
                                       filtername=filtername, obsjd=float(jds[e]), seeing=fw,
                                       sky=sk, magzp=zp, gain=gain, readnoise=readnoise,
                                       defects=defects)
        stars_img = frame.model.astype(np.float64) - frame.sky
        gal = galaxies(fw, zp)
        flux = np.array([light_curve(jds[e], h.t_explosion, 10 ** (-0.4 * (h.peak_mag - zp)),
                                     h.rise, h.fall) for h in hosts.itertuples()])
        trans = _sim.gaussian_stars(shape, hosts["x"].to_numpy(), hosts["y"].to_numpy(), flux, fw)
        extra = gal + trans
        data = frame.data.astype(np.float64) + rng.poisson(np.clip(extra, 0, None) * gain) / gain
        pixsig = np.sqrt(frame.sky / gain + (readnoise / gain) ** 2)
        mask = frame.mask.copy()
        mask[extra > 1.5 * pixsig] |= np.int16(ZTFBit.SEXSOURCES)
        sat = data >= float(frame.header["SATURATE"])
        data[sat] = float(frame.header["SATURATE"])
        mask[sat] |= np.int16(ZTFBit.SATURATED)
        frame.data, frame.mask = data.astype(np.float32), mask
        frame.model = (frame.model + extra).astype(np.float32)
        # the ideal subtraction: the static scene at this epoch's seeing and zero point, plus
        # the reference's noise PSF-matched (Gaussian kernel) and scaled to this zero point
        sig_k = np.sqrt(fw ** 2 - ref_seeing ** 2) * _FWHM_TO_SIGMA
        scale = 10 ** (0.4 * (zp - ref_magzp))
        matched_noise = scale * ndimage.gaussian_filter(ref_noise, sig_k, mode="reflect",
                                                        truncate=5.0)
        static = stars_img + gal
        off = float(rng.normal(0.0, diff_offset)) if diff_offset else 0.0
        diff = data - frame.sky - static - matched_noise + off
        diff[~np.isfinite(frame.data)] = np.nan
        header = frame.header.copy()
        header["FILENAME"] = (_filenames.sibling(frame.filename, "scimrefdiffimg.fits.fz"), "")
        header["COMMENT"] = ("simulated difference image: science minus PSF-matched "
                             "reference, on the science zero point")
        fname = header["FILENAME"]
        for k, h in enumerate(hosts.itertuples()):
            fdn = float(flux[k])
            truth_rows.append({"epoch": e, "transient": k, "obsjd": float(jds[e]),
                               "mjd": float(jds[e]) - 2400000.5, "filename": fname,
                               "flux_dn": fdn, "flux_ujy": fdn * 10 ** (-0.4 * zp) * AB_UJY,
                               "mag": zp - 2.5 * np.log10(fdn) if fdn > 0 else np.nan,
                               "magzp": zp, "magzpunc": float(header["MAGZPUNC"]),
                               "seeing": fw, "sky": sk, "diff_offset": off, "x": h.x,
                               "y": h.y, "ra": h.ra, "dec": h.dec})
        epochs.append(TransientEpoch(science=frame, difference=diff.astype(np.float32),
                                     header=header, psf=psf_image(fw), truth=None,
                                     static=static.astype(np.float32)))
    truth = pd.DataFrame(truth_rows)
    for e, ep in enumerate(epochs):
        ep.truth = truth[truth["epoch"] == e].reset_index(drop=True)
    return TransientSeries(reference=reference, epochs=epochs, truth=truth, hosts=hosts,
                           stars=stars.reset_index(drop=True))
