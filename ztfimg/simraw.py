"""Simulated raw CCD frames with known bias, dark, flat and noise, for calibration tests.

A :class:`RawCamera` draws, once from its seed, the fixed properties of a detector: a
bias *structure* (per-column offsets, a few warm columns, a smooth 2-D ramp), a dark
current map (a mean rate and hot pixels, e-/s) and a flat field (pixel-to-pixel response
times vignetting, median 1).  Each exposure then adds what changes from frame to frame:
a floating bias level (an offset and a smooth drift along the rows, the same in the
overscan columns as in the data), Poisson noise of the dark and light electrons, and read
noise.  Frames are ``(rows, columns + overscan)`` arrays in DN with the overscan columns
on the right, described by :attr:`RawCamera.layout` (``DATASEC``/``BIASSEC`` in their
headers too), and carry their truth: what a perfect calibration returns.

:func:`write_ztf_like` writes four frames as one file laid out as
:func:`ztfimg.calibframes.ztf_raw_layout` reads ZTF raw CCD files (quadrants in HDUs 1-4,
their overscans in HDUs 5-8, both axes flipped): a layout taken from the earlier ztfimg
package and not checked on real ZTF raw data here.

Examples
--------
>>> from ztfimg import simraw
>>> cam = simraw.RawCamera(shape=(64, 64), seed=0)
>>> b = cam.bias(seed=1)
>>> b.data.shape, b.kind
((64, 96), 'bias')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from .calibframes.raw import RawLayout
from .calibframes.sections import format_section
from .errors import InvalidParameterError
from .simulate import gaussian_stars
from .validation import as_shape

__all__ = ["RawCamera", "RawFrame", "write_ztf_like"]


@dataclass(eq=False)
class RawFrame:
    """One simulated raw exposure.

    Attributes
    ----------
    data : numpy.ndarray of float32
        ``(rows, columns + overscan)``, DN: data section then overscan columns.
    header : astropy.io.fits.Header
        ``IMGTYPE``, ``EXPTIME`` (s), ``GAIN`` (e-/DN), ``READNOI`` (e-), ``DATASEC``,
        ``BIASSEC``.
    kind : {'bias', 'dark', 'flat', 'science'}
    exptime : float
        Seconds.
    level : numpy.ndarray
        The floating bias level of each row, DN (what the overscan measures).
    signal : numpy.ndarray
        The light that reached the detector before the flat field, DN: what
        ``calibrate`` should return (0 for bias and dark frames).
    truth : pandas.DataFrame or None
        Science frames: the stars (``x``, ``y``, ``flux`` in DN).

    Examples
    --------
    >>> frame = RawCamera(shape=(32, 32)).dark(60.0, seed=1)
    >>> frame.kind, frame.exptime, frame.header["BIASSEC"]
    ('dark', 60.0, '[33:64,1:32]')
    """

    data: np.ndarray
    header: fits.Header
    kind: str
    exptime: float
    level: np.ndarray
    signal: np.ndarray
    truth: object = field(default=None, repr=False)


def _positive(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value < 0:
        raise InvalidParameterError(f"{name} must be a number >= 0; got {value!r}")
    return float(value)


class RawCamera:
    """A simulated CCD with a fixed bias structure, dark current and flat field.

    Parameters
    ----------
    shape : tuple of int, default (256, 256)
        (rows, columns) of the light-sensitive section.
    seed : int, default 0
        Seed of the fixed properties (exposures take their own seeds).
    overscan : int, default 32
        Overscan columns, on the right of the data section.
    gain : float, default 6.0
        e-/DN (ZTF's ~6).
    readnoise : float, default 9.0
        e- (ZTF's ~9).
    bias_level : float, default 1000.0
        Mean floating bias level, DN.
    bias_jitter : float, default 5.0
        Frame-to-frame scatter of the level, DN.
    row_drift : float, default 2.0
        Amplitude of the smooth (quadratic) drift of the level along the rows, DN.
    column_rms : float, default 2.0
        Scatter of the per-column bias offsets, DN.
    warm_columns : int, default 2
        Columns 15 DN above the others.
    dark_rate : float, default 0.05
        Mean dark current, e-/s per pixel.
    hot_fraction : float, default 0.002
        Fraction of hot pixels (5 e-/s more).
    flat_rms : float, default 0.01
        Pixel-to-pixel response scatter (relative).
    vignetting : float, default 0.15
        Relative loss of response at the corners (quadratic in radius).

    Attributes
    ----------
    bias_structure : numpy.ndarray
        The bias above the floating level, DN (what a master bias recovers).
    dark_current : numpy.ndarray
        Dark current, DN/s (what a master dark recovers).
    flat_field : numpy.ndarray
        The flat field, median 1 (what a master flat recovers).
    layout : ztfimg.calibframes.RawLayout
        The data section and the overscan of the frames.

    Raises
    ------
    InvalidParameterError
        A shape smaller than 16x16, fewer than 2 overscan columns, negative parameters.

    Examples
    --------
    >>> cam = RawCamera(shape=(128, 128), seed=3)
    >>> flat = cam.flat(20000.0, seed=5)
    >>> float(abs(np.median(cam.flat_field) - 1)) < 1e-6
    True
    """

    def __init__(self, shape=(256, 256), seed=0, *, overscan=32, gain=6.0, readnoise=9.0,
                 bias_level=1000.0, bias_jitter=5.0, row_drift=2.0, column_rms=2.0,
                 warm_columns=2, dark_rate=0.05, hot_fraction=0.002, flat_rms=0.01,
                 vignetting=0.15):
        ny, nx = as_shape(shape, minimum=16)
        if isinstance(overscan, bool) or not isinstance(overscan, (int, np.integer)) \
                or overscan < 2:
            raise InvalidParameterError(f"overscan must be an integer >= 2 columns; got "
                                        f"{overscan!r}")
        self.shape = (ny, nx)
        self.overscan = int(overscan)
        self.gain = _positive(gain, "gain")
        if self.gain == 0:
            raise InvalidParameterError("gain must be > 0 e-/DN")
        self.readnoise = _positive(readnoise, "readnoise")
        self.bias_level = float(bias_level)
        self.bias_jitter = _positive(bias_jitter, "bias_jitter")
        self.row_drift = _positive(row_drift, "row_drift")
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
        cols = rng.normal(0.0, _positive(column_rms, "column_rms"), nx)
        warm = rng.choice(nx, size=min(int(warm_columns), nx), replace=False)
        cols[warm] += 15.0
        ramp = 1.5 * (xx / nx) - 1.0 * (yy / ny) ** 2
        self.bias_structure = (cols[None, :] + ramp).astype(np.float32)
        rate = np.full((ny, nx), _positive(dark_rate, "dark_rate"))
        hot = rng.random((ny, nx)) < _positive(hot_fraction, "hot_fraction")
        rate[hot] += 5.0
        self._dark_e = rate
        self.dark_current = (rate / self.gain).astype(np.float32)
        r2 = ((xx - (nx - 1) / 2) ** 2 + (yy - (ny - 1) / 2) ** 2) / (((nx - 1) / 2) ** 2
                                                                     + ((ny - 1) / 2) ** 2)
        flat = rng.normal(1.0, _positive(flat_rms, "flat_rms"), (ny, nx)) * (
            1.0 - _positive(vignetting, "vignetting") * r2)
        self.flat_field = (flat / np.median(flat)).astype(np.float32)
        self.layout = RawLayout(data=format_section(slice(0, ny), slice(0, nx)),
                                overscan=format_section(slice(0, ny),
                                                        slice(nx, nx + self.overscan)))

    def __repr__(self):
        ny, nx = self.shape
        return (f"<RawCamera {ny}x{nx} + {self.overscan} overscan columns, gain "
                f"{self.gain:g} e-/DN, read noise {self.readnoise:g} e->")

    def expose(self, kind, exptime, light=0.0, seed=0, truth=None):
        """One raw exposure of ``light`` (DN before the flat field) for ``exptime`` s.

        Parameters
        ----------
        kind : {'bias', 'dark', 'flat', 'science'}
        exptime : float
            Seconds (dark current accumulates over it).
        light : float or 2-D array, default 0
            Light reaching the detector, DN (sky, stars, lamp).
        seed : int, default 0
        truth : pandas.DataFrame, optional
            Kept as the frame's ``truth``.

        Returns
        -------
        RawFrame

        Raises
        ------
        InvalidParameterError
            Unknown kind, negative exposure time or light of the wrong shape.

        Examples
        --------
        >>> cam = RawCamera(shape=(32, 32))
        >>> cam.expose("flat", 2.0, light=1000.0, seed=3).data.shape
        (32, 64)
        """
        if kind not in ("bias", "dark", "flat", "science"):
            raise InvalidParameterError(f"kind must be bias, dark, flat or science; got "
                                        f"{kind!r}")
        exptime = _positive(exptime, "exptime")
        ny, nx = self.shape
        light = np.broadcast_to(np.asarray(light, dtype=np.float64), (ny, nx)) \
            if np.ndim(light) == 0 else np.asarray(light, dtype=np.float64)
        if light.shape != (ny, nx):
            raise InvalidParameterError(f"light must be a number or an array of shape "
                                        f"{(ny, nx)}; got {light.shape}")
        rng = np.random.default_rng(seed)
        t = np.linspace(-1.0, 1.0, ny)
        a, b = rng.normal(0.0, 1.0, 2)
        level = (self.bias_level + rng.normal(0.0, self.bias_jitter)
                 + self.row_drift * (a * t + b * (t * t - 1 / 3)))
        electrons = rng.poisson(np.clip(self.gain * light * self.flat_field
                                        + self._dark_e * exptime, 0, None)).astype(np.float64)
        rn = self.readnoise / self.gain
        data = level[:, None] + self.bias_structure + electrons / self.gain \
            + rng.normal(0.0, rn, (ny, nx))
        over = level[:, None] + rng.normal(0.0, rn, (ny, self.overscan))
        h = fits.Header()
        h["IMGTYPE"] = ({"science": "object"}.get(kind, kind), "simulated raw frame")
        h["EXPTIME"] = (exptime, "Exposure time (s)")
        h["GAIN"] = (self.gain, "Gain e-/DN")
        h["READNOI"] = (self.readnoise, "Read noise e-")
        h["DATASEC"] = self.layout.data
        h["BIASSEC"] = self.layout.overscan
        return RawFrame(np.hstack([data, over]).astype(np.float32), h, kind, exptime,
                        level.astype(np.float32), np.array(light, np.float32), truth)

    def bias(self, seed=0):
        """A bias frame (no exposure, no light).

        Parameters
        ----------
        seed : int, default 0

        Returns
        -------
        RawFrame

        Examples
        --------
        >>> RawCamera(shape=(32, 32)).bias(seed=1).exptime
        0.0
        """
        return self.expose("bias", 0.0, 0.0, seed)

    def dark(self, exptime=300.0, seed=0):
        """A dark frame (shutter closed).

        Parameters
        ----------
        exptime : float, default 300
            Seconds.
        seed : int, default 0

        Returns
        -------
        RawFrame

        Raises
        ------
        InvalidParameterError
            A negative exposure time.

        Examples
        --------
        >>> RawCamera(shape=(32, 32)).dark(300.0, seed=2).kind
        'dark'
        """
        return self.expose("dark", exptime, 0.0, seed)

    def flat(self, level=20000.0, seed=0, exptime=1.0):
        """A flat-field exposure of a uniform source.

        Parameters
        ----------
        level : float, default 20000
            Light per pixel, DN (before the flat field).
        seed : int, default 0
        exptime : float, default 1
            Seconds.

        Returns
        -------
        RawFrame

        Raises
        ------
        InvalidParameterError
            A negative level or exposure time.

        Examples
        --------
        >>> float(RawCamera(shape=(32, 32)).flat(20000.0, seed=3).signal.mean())
        20000.0
        """
        return self.expose("flat", exptime, _positive(level, "level"), seed)

    def science(self, exptime=30.0, seed=0, *, sky=150.0, nstars=30, fwhm=2.5,
                flux_range=(2e3, 2e5)):
        """A science exposure: a flat sky and Gaussian stars.

        Parameters
        ----------
        exptime : float, default 30
            Seconds.
        seed : int, default 0
        sky : float, default 150
            Sky, DN per pixel.
        nstars : int, default 30
        fwhm : float, default 2.5
            Pixels.
        flux_range : tuple of float, default (2e3, 2e5)
            Total star fluxes, DN (log-uniform).

        Returns
        -------
        RawFrame
            ``signal`` = sky + stars (DN), ``truth`` the stars.

        Raises
        ------
        InvalidParameterError
            A negative sky or exposure time.

        Examples
        --------
        >>> sci = RawCamera(shape=(64, 64)).science(30.0, seed=4, nstars=5)
        >>> len(sci.truth), float(sci.signal.min())
        (5, 150.0)
        """
        import pandas as pd
        rng = np.random.default_rng((seed, 7))
        ny, nx = self.shape
        x = rng.uniform(5, nx - 6, int(nstars))
        y = rng.uniform(5, ny - 6, int(nstars))
        lo, hi = np.log10(flux_range)
        flux = 10 ** rng.uniform(lo, hi, int(nstars))
        light = _positive(sky, "sky") + gaussian_stars(self.shape, x, y, flux, fwhm)
        stars = pd.DataFrame({"x": x, "y": y, "flux": flux})
        return self.expose("science", exptime, light, seed, truth=stars)



def write_ztf_like(path, frames, overwrite=True):
    """Write four raw frames as one ZTF-like raw CCD file (the unverified ZTF layout).

    HDU 0 holds the exposure keywords, HDUs 1-4 the quadrants' data sections and HDUs 5-8
    their overscans, each flipped on both axes (as :func:`ztfimg.calibframes.ztf_raw_layout`
    expects).

    Parameters
    ----------
    path : str or path-like
    frames : sequence of 4 RawFrame
        Quadrants 1-4, from a camera with 30 overscan columns.
    overwrite : bool, default True

    Returns
    -------
    str
        The path written.

    Raises
    ------
    InvalidParameterError
        Not four frames, or frames without 30 overscan columns.

    Examples
    --------
    >>> cam = RawCamera(shape=(64, 64), overscan=30)                # doctest: +SKIP
    >>> write_ztf_like("ztf_raw.fits", [cam.bias(seed=q) for q in range(4)]) # doctest: +SKIP
    """
    frames = list(frames)
    if len(frames) != 4:
        raise InvalidParameterError(f"a ZTF CCD file holds 4 quadrants; got {len(frames)} "
                                    f"frames")
    primary = fits.Header()
    primary["EXPTIME"] = frames[0].exptime
    primary["IMGTYPE"] = frames[0].header["IMGTYPE"]
    data_hdus, over_hdus = [], []
    for q, f in enumerate(frames, start=1):
        nx = f.data.shape[1] - 30
        if nx < 1 or f.header.get("BIASSEC") != format_section(
                slice(0, f.data.shape[0]), slice(nx, nx + 30)):
            raise InvalidParameterError("write_ztf_like needs frames with 30 overscan "
                                        "columns (RawCamera(overscan=30))")
        h = fits.Header()
        h["QID"] = q
        for key in ("EXPTIME", "GAIN", "READNOI"):
            h[key] = f.header[key]
        data_hdus.append(fits.ImageHDU(f.data[:, :nx][::-1, ::-1], header=h))
        over_hdus.append(fits.ImageHDU(f.data[:, nx:][::-1, ::-1]))
    hdul = fits.HDUList([fits.PrimaryHDU(header=primary)] + data_hdus + over_hdus)
    path = os.fsdecode(os.fspath(path))
    hdul.writeto(path, overwrite=overwrite)
    return path
