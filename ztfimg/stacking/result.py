""":class:`Stack`, the result of :func:`~ztfimg.stacking.stack`, and its FITS header (level 3).

The header follows the keywords a ZTF reference image carries, so that
:class:`~ztfimg.image.ReferenceImage` reads a written stack back: the grid's WCS,
``MAGZP`` (the stack's zero point), ``NFRAMES``, ``GLOBMED`` (the constant sky level,
DN), identity keywords that all frames share (``FILTER``, ``FIELDID``/``DBFIELD``,
``CCDID``, ``QID``, ``RCID``/``DBRCID``, ``FILTERID``/``DBFID`` ...), and the effective
``GAIN`` (e-/DN) and ``READNOI`` (e-) of a fully covered pixel, so that Poisson errors of
photometry on the stack stay right.  Aperture corrections, ``MAGLIM`` and the other
per-exposure keywords of the inputs are not copied: they do not describe the stack.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
from astropy.io import fits

from ..errors import FileFormatError, InvalidParameterError
from ..fitsio import check_fits_path, read_fits, readonly

__all__ = ["Stack", "build_header", "frames_table", "IDENTITY_KEYS"]

#: Keywords copied to the stack when every frame used has the same value.
IDENTITY_KEYS = ("ORIGIN", "FILTER", "FILTERID", "FIELDID", "CCDID", "QID", "RCID", "DBFIELD",
                 "DBRCID", "DBFID", "PIXSCALE", "PCOLOR")
#: Reference-image spellings filled in from the science ones.
_DB_KEYS = {"DBFIELD": "FIELDID", "DBRCID": "RCID", "DBFID": "FILTERID"}


def frames_table(frames, used):
    """One row per input frame: what the stack did with it.

    Parameters
    ----------
    frames : list of FrameInput
    used : sequence of bool
        Whether each frame contributed pixels.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``magzp``, ``scale``, ``sky``, ``rms`` (DN, the frame's units),
        ``weight``, ``exptime``, ``obsjd``, ``seeing``, ``used``.

    Examples
    --------
    >>> stack(files).frames[["name", "scale", "used"]]              # doctest: +SKIP
    """
    return pd.DataFrame({
        "name": [f.name for f in frames],
        "magzp": [f.magzp for f in frames],
        "scale": [f.extra["scale"] for f in frames],
        "sky": [f.sky for f in frames],
        "rms": [f.rms for f in frames],
        "weight": [f.extra["weight"] for f in frames],
        "exptime": [f.exptime for f in frames],
        "obsjd": [np.nan if f.obsjd is None else f.obsjd for f in frames],
        "seeing": [np.nan if f.seeing is None else f.seeing for f in frames],
        "used": np.asarray(used, dtype=bool),
    })


def _common(frames, key):
    values = {f.header.get(key) for f in frames}
    if len(values) == 1:
        value = values.pop()
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return None


def _robust_rms(data):
    from astropy.stats import sigma_clipped_stats
    good = data[np.isfinite(data)]
    if good.size < 10:
        return float("nan")
    sample = good[:: max(1, good.size // 1_000_000)]
    return float(sigma_clipped_stats(sample, sigma=3.0, maxiters=5)[2])


def build_header(grid, frames, used, *, zp, globmed, combine, sigma, reproject, data):
    """The FITS header of a stack (see the module notes for the keywords).

    Parameters
    ----------
    grid : Grid
    frames : list of FrameInput
    used : sequence of bool
    zp, globmed : float
        Zero point (mag) and sky level added back (DN).
    combine, sigma, reproject :
        The options of the stack.
    data : numpy.ndarray
        The stacked pixels (for GLOBRMS).

    Returns
    -------
    astropy.io.fits.Header

    Examples
    --------
    >>> stack(files).header["NFRAMES"]                              # doctest: +SKIP
    12
    """
    from .. import __version__
    use = [f for f, u in zip(frames, used) if u]
    h = fits.Header()
    h["BUNIT"] = ("DN", "at the zero point MAGZP")
    h["IMGTYPE"] = ("stack", "ztfimg.stacking co-add")
    for key in IDENTITY_KEYS:
        value = _common(use, key)
        if value is not None:
            h[key] = value
    for db, sci in _DB_KEYS.items():
        if db not in h and sci in h:
            h[db] = h[sci]
    h.extend(grid.header.cards, update=True)
    n = len(use)
    scale = np.array([f.extra["scale"] for f in use])
    w = np.array([f.extra["weight"] for f in use])
    h["MAGZP"] = (float(zp), "Magnitude zero point of the stack [mag]")
    zpunc = [f.magzpunc for f in use if f.magzpunc is not None]
    if zpunc:  # frames without MAGZPUNC leave it out
        h["MAGZPUNC"] = (float(np.median(zpunc)), "median MAGZPUNC of the frames [mag]")
    if all(f.clrcoeff is not None for f in use):
        h["CLRCOEFF"] = (float(np.average([f.clrcoeff for f in use], weights=w)),
                         "weighted mean CLRCOEFF of the frames")
    h["NFRAMES"] = (n, "Number of frames in the stack")
    h["GLOBMED"] = (float(globmed), "Global median (sky) of the stack [DN]")
    rms = _robust_rms(data)
    if math.isfinite(rms):
        h["GLOBRMS"] = (rms, "Robust RMS of the stack pixels [DN]")
    factor = 2 / math.pi if combine == "median" else 1.0
    if all(f.gain for f in use):
        g = np.array([f.gain for f in use])
        gain = factor * w.sum() ** 2 / np.sum(w**2 * scale / g)
        h["GAIN"] = (float(gain), "Effective gain of a fully covered pixel e-/DN")
        if all(f.readnoise is not None for f in use):
            rn = np.array([f.readnoise for f in use])
            var_rn = np.sum(w**2 * scale**2 * (rn / g) ** 2) / w.sum() ** 2 / factor
            h["READNOI"] = (float(gain * math.sqrt(var_rn)), "Effective read noise e-")
    if all(f.saturation is not None for f in use):
        sat = min((f.saturation - f.sky) * f.extra["scale"] for f in use) + globmed
        h["SATURATE"] = (float(sat), "Lowest level where a frame saturates [DN]")
    h["EXPTIME"] = (float(sum(f.exptime for f in use)), "Total exposure time (s)")
    seeing = [f.seeing for f in use if f.seeing is not None]
    if seeing:
        h["SEEING"] = (float(np.median(seeing)), "median SEEING of the frames [pixels]")
    jd = [f.obsjd for f in use if f.obsjd is not None]
    if jd:
        h["OBSJDST"] = (float(min(jd)), "Earliest OBSJD of the frames (day)")
        h["OBSJDEN"] = (float(max(jd)), "Latest OBSJD of the frames (day)")
    h["COMBINE"] = (combine, "mean: sigma-clipped weighted mean; median")
    h["SIGCLIP"] = (-1.0 if sigma is None or combine == "median" else float(sigma),
                    "clipping threshold (sigma), -1: none")
    h["REPROJ"] = (reproject, "resampling: interp (bilinear), adaptive, exact")
    h["ZTFIMGV"] = (__version__, "ztfimg version")
    for f, u in zip(frames, used):
        if u:
            h.add_history(f"{os.path.basename(f.name)} MAGZP={f.magzp:.4f} "
                          f"scale={f.extra['scale']:.5f} sky={f.sky:.2f}")
    return h


class Stack:
    """A stack of frames on one grid: pixels, weight, exposure and coverage maps, header.

    Parameters
    ----------
    data : 2-D array_like
        DN at the zero point ``header['MAGZP']``, the sky GLOBMED included (NaN where no
        frame contributed).
    weight : 2-D array_like
        Inverse variance of ``data`` from the frames' sky noise, 1/DN^2 (0 where no frame
        contributed). Resampling correlates neighbouring pixels and is not in it, nor the
        sources' own Poisson noise.
    exposure : 2-D array_like
        Sum of the exposure times of the frames used at each pixel, s.
    count : 2-D array_like of int
        Number of frames used at each pixel (after masks and clipping).
    header : astropy.io.fits.Header
    frames : pandas.DataFrame, optional
        The input table (see :func:`frames_table`).

    Notes
    -----
    The arrays are read-only; ``header`` and ``frames`` return copies.

    Examples
    --------
    >>> st = stack(files)                                            # doctest: +SKIP
    >>> st                                                              # doctest: +SKIP
    <Stack 300x300 of 12 frames (mean), MAGZP=26.300, GLOBMED=160.02>
    >>> st.write("deep.fits"); ref = st.to_image()                      # doctest: +SKIP
    """

    def __init__(self, data, weight, exposure, count, header, frames=None):
        self._data = readonly(np.asarray(data, np.float32))
        shape = self._data.shape
        arrays = {"weight": (weight, np.float32), "exposure": (exposure, np.float32),
                  "count": (count, None)}
        for name, (value, dtype) in arrays.items():
            arr = np.asarray(value) if dtype is None else np.asarray(value, dtype)
            if arr.shape != shape:
                raise InvalidParameterError(f"Stack: {name} has shape {arr.shape}, data "
                                            f"{shape}")
            setattr(self, f"_{name}", readonly(arr))
        self._header = fits.Header(header)
        self._frames = frames

    data = property(lambda self: self._data, doc="numpy.ndarray: the stacked pixels, DN.")
    weight = property(lambda self: self._weight, doc="numpy.ndarray: inverse variance, 1/DN^2.")
    exposure = property(lambda self: self._exposure, doc="numpy.ndarray: exposure map, s.")
    count = property(lambda self: self._count, doc="numpy.ndarray: frames used per pixel.")

    @property
    def header(self):
        """astropy.io.fits.Header: a copy of the header."""
        return self._header.copy()

    @property
    def frames(self):
        """pandas.DataFrame or None: a copy of the input-frames table."""
        return None if self._frames is None else self._frames.copy()

    @property
    def shape(self):
        """tuple of int: (rows, columns)."""
        return self._data.shape

    @property
    def variance(self):
        """numpy.ndarray: ``1 / weight``, DN^2 (NaN where no frame contributed)."""
        with np.errstate(divide="ignore"):
            return np.where(self._weight > 0, 1.0 / self._weight, np.nan).astype(np.float32)

    @property
    def zeropoint(self):
        """float: MAGZP of the stack, mag."""
        return float(self._header["MAGZP"])

    @property
    def nframes(self):
        """int: NFRAMES, the frames that contributed pixels."""
        return int(self._header["NFRAMES"])

    @property
    def globmed(self):
        """float: GLOBMED, the sky level of the stack, DN."""
        return float(self._header["GLOBMED"])

    @property
    def wcs(self):
        """astropy.wcs.WCS: the grid's WCS (a new object)."""
        from .inputs import _parse_wcs
        return _parse_wcs(self._header, "stack")

    def __repr__(self):
        ny, nx = self.shape
        return (f"<Stack {ny}x{nx} of {self.nframes} frames ({self._header.get('COMBINE')}), "
                f"MAGZP={self.zeropoint:.3f}, GLOBMED={self.globmed:.2f}>")

    def write(self, path, overwrite=False):
        """Write the stack as FITS: pixels in the primary HDU, then WEIGHT, EXPOSURE, COUNT.

        The primary HDU alone is what :class:`~ztfimg.image.ReferenceImage` reads.

        Parameters
        ----------
        path : str or path-like
        overwrite : bool, default False

        Returns
        -------
        str
            The path written.

        Raises
        ------
        OSError
            The file exists (and not ``overwrite``) or cannot be written.

        Examples
        --------
        >>> st.write("deep_refimg.fits", overwrite=True)             # doctest: +SKIP
        """
        path = os.fsdecode(os.fspath(path))
        hdus = fits.HDUList([fits.PrimaryHDU(self._data, header=self._header),
                             fits.ImageHDU(self._weight, name="WEIGHT"),
                             fits.ImageHDU(self._exposure, name="EXPOSURE"),
                             fits.ImageHDU(self._count, name="COUNT")])
        hdus[1].header["BUNIT"] = "1/DN^2"
        hdus[2].header["BUNIT"] = "s"
        hdus.writeto(path, overwrite=overwrite)
        return path

    @classmethod
    def from_file(cls, path):
        """Read a stack written by :meth:`write`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        Stack

        Raises
        ------
        MissingFileError
            No such file.
        FileFormatError
            Not a stack written by ztfimg (no WEIGHT/EXPOSURE/COUNT extensions).

        Examples
        --------
        >>> st = Stack.from_file("deep.fits")                         # doctest: +SKIP
        """
        path = check_fits_path(path)
        data, header = read_fits(path, dtype=np.float32)
        try:
            with fits.open(path, memmap=False) as hdul:
                maps = [np.asarray(hdul[name].data) for name in ("WEIGHT", "EXPOSURE",
                                                                  "COUNT")]
        except KeyError as exc:
            raise FileFormatError(f"{path!r} is not a ztfimg stack ({exc}); a stack file has "
                                  "WEIGHT, EXPOSURE and COUNT extensions") from None
        return cls(data, *maps, header)

    def to_image(self):
        """The stack as a :class:`~ztfimg.image.ReferenceImage` (no file written).

        Returns
        -------
        ztfimg.image.ReferenceImage

        Examples
        --------
        >>> ref = st.to_image(); ref.get_background().globalback       # doctest: +SKIP
        """
        from ..image import ReferenceImage
        return ReferenceImage.from_arrays(self._data, self._header)

    def show(self, which="data", ax=None, **kwargs):
        """Draw the stack (or one of its maps) and return the Axes.

        Parameters
        ----------
        which : {'data', 'weight', 'exposure', 'count'}, default 'data'
        ax : matplotlib.axes.Axes, optional
        **kwargs
            Passed to :func:`ztfimg.plotting.show_image` (``scale``, ``cmap`` ...).

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        InvalidParameterError
            Unknown ``which``.

        Examples
        --------
        >>> ax = st.show(); ax.figure.savefig("stack.png")             # doctest: +SKIP
        """
        from ..plotting import show_image
        maps = {"data": self._data, "weight": self._weight, "exposure": self._exposure,
                "count": self._count}
        if which not in maps:
            raise InvalidParameterError(f"which must be one of {tuple(maps)}; got {which!r}")
        kwargs.setdefault("title", f"{which} ({self.nframes} frames)")
        return show_image(np.asarray(maps[which], dtype=np.float32), ax=ax, **kwargs)
