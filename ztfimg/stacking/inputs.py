"""The frames of a stack: where their pixels are, their header values, their sky (level 3).

:func:`prepare_frames` turns what the user gives (file names, frame objects, arrays with a
header) into :class:`FrameInput` records that hold **no pixels**: a
:class:`~ztfimg.calibframes.SectionReader` for the image and one for the bit mask, the WCS,
and the header values a stack needs (MAGZP, EXPTIME, GAIN, SATURATE, SEEING, OBSJD ...).
Only :func:`sky_statistics` reads pixels here, about 64 evenly spaced rows per frame.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from .. import bitmask as _bitmask
from .. import filenames as _filenames
from ..calibframes.reader import SectionReader
from ..errors import (HeaderKeywordError, InvalidParameterError, ShapeMismatchError)
from ..filters import normalise_filter
from ..image.header import read_keyword

__all__ = ["FrameInput", "prepare_frames", "sky_statistics", "wcs_cards", "SKY_ROWS"]

#: Rows read per frame to measure its sky level and noise.
SKY_ROWS = 64

#: Header keywords of a celestial WCS (TPV, SIP and TAN families), as the frames read them.
_WCS_KEY = re.compile(r"^(WCSAXES|CTYPE\d|CRPIX\d|CRVAL\d|CUNIT\d|CDELT\d|CROTA\d|"
                      r"CD\d_\d|PC\d_\d|PV\d_\d+|[AB]P?_ORDER|[AB]P?_\d+_\d+|RADESYS|RADECSYS|"
                      r"EQUINOX|LONPOLE|LATPOLE)$")


def wcs_cards(header):
    """The WCS cards of a header, as a new header (what wcslib needs, nothing else).

    Parameters
    ----------
    header : astropy.io.fits.Header

    Returns
    -------
    astropy.io.fits.Header

    Examples
    --------
    >>> from ztfimg.simulate import make_header
    >>> "PV1_0" in wcs_cards(make_header((100, 100)))
    True
    """
    return fits.Header([c for c in header.cards if _WCS_KEY.match(c.keyword)])


def _parse_wcs(header, name):
    from astropy.wcs import WCS, FITSFixedWarning
    if "CTYPE1" not in header or "CTYPE2" not in header:
        raise HeaderKeywordError(f"{name}: the header has no WCS (CTYPE1/CTYPE2 missing); a "
                                 f"stack needs every frame's WCS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(wcs_cards(header), naxis=2)
    if not wcs.has_celestial:
        raise HeaderKeywordError(f"{name}: the header WCS has no celestial axes")
    return wcs


@dataclass(eq=False)
class FrameInput:
    """One input frame of a stack: readers, WCS and header values (no pixels held).

    Attributes
    ----------
    name : str
        File path, or ``'frame <i>'`` for an in-memory frame.
    image : SectionReader
        The pixels (DN).
    mask : SectionReader or None
        The ZTF bit mask.
    header : astropy.io.fits.Header
    wcs : astropy.wcs.WCS
    magzp : float
        Zero point, mag.
    magzpunc : float or None
        Its uncertainty, mag (None when the header has no MAGZPUNC, as the frames'
        ``magzpunc``).
    exptime : float
        Seconds (0 when absent).
    gain, readnoise, saturation, seeing, obsjd, clrcoeff : float or None
        From the header when present.
    filtername : str or None
        ``'ztfg'``, ``'ztfr'``, ``'ztfi'``.
    sky, rms : float
        Sky level and noise, DN (set by :func:`sky_statistics`).
    extra : dict
        Per-stack values (``scale``, ``weight``) set by :func:`~ztfimg.stacking.stack`.

    Examples
    --------
    >>> f = prepare_frames(["ztf_..._sciimg.fits"])[0]              # doctest: +SKIP
    >>> f.magzp, f.shape, f.mask is not None                            # doctest: +SKIP
    """

    name: str
    image: SectionReader
    mask: SectionReader | None
    header: fits.Header
    wcs: object
    magzp: float
    magzpunc: float | None = None
    exptime: float = 0.0
    gain: float | None = None
    readnoise: float | None = None
    saturation: float | None = None
    seeing: float | None = None
    obsjd: float | None = None
    clrcoeff: float | None = None
    filtername: str | None = None
    sky: float = float("nan")
    rms: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def shape(self):
        """tuple of int: (rows, columns)."""
        return self.image.shape


def _header_values(header, name):
    def opt(key):
        return read_keyword(header, (key,), default=None, where=name)
    try:
        magzp = read_keyword(header, ("MAGZP",), where=name)
    except HeaderKeywordError as exc:
        raise HeaderKeywordError(f"{exc}: a stack scales every frame to one zero point with "
                                 "10**(-0.4 (MAGZP - zeropoint)), so each frame needs MAGZP")\
            from None
    filt = None
    for key in ("FILTER", "FILTERID", "DBFID"):
        value = header.get(key)
        if value is not None and str(value).strip():
            try:
                filt = normalise_filter(value)
                break
            except InvalidParameterError:
                continue
    return dict(magzp=magzp, magzpunc=opt("MAGZPUNC"), exptime=opt("EXPTIME") or 0.0,
                gain=opt("GAIN"), readnoise=opt("READNOI"), saturation=opt("SATURATE"),
                seeing=opt("SEEING"), obsjd=opt("OBSJD"), clrcoeff=opt("CLRCOEFF"),
                filtername=filt)


def _mask_beside(path):
    """The ``mskimg`` file beside a ZTF science image, or None."""
    try:
        rec = _filenames.parse(path)
    except Exception:  # noqa: BLE001 - any non-ZTF name simply has no sibling mask
        return None
    if rec.kind != "science":
        return None
    candidate = _filenames.sibling(path, "mskimg")
    return candidate if os.path.isfile(candidate) else None


def _one_frame(item, i):
    """(name, image reader, mask reader or None, header) of one user item."""
    from ..image import ZTFImage
    if isinstance(item, (str, bytes, os.PathLike)):
        path = os.fsdecode(os.fspath(item))
        image = SectionReader(path)
        mpath = _mask_beside(path)
        mask = SectionReader(mpath) if mpath else None
        return path, image, mask, image.header
    if isinstance(item, ZTFImage):
        header = item.header
        if item.filename is not None:
            image = SectionReader(item.filename)
            mask = SectionReader(item.maskfile) if item.maskfile else None
            return item.filename, image, mask, header
        mask = item.mask
        return f"frame {i}", SectionReader(item.data), (None if mask is None else
                                                        SectionReader(mask)), header
    if isinstance(item, tuple) and len(item) in (2, 3):
        data, header = item[0], item[1]
        mask = item[2] if len(item) == 3 else None
    elif hasattr(item, "data") and hasattr(item, "header"):
        data, header, mask = item.data, item.header, getattr(item, "mask", None)
    else:
        raise InvalidParameterError(
            f"frame {i}: expected a FITS file name, a ZTFImage, a (data, header[, mask]) "
            f"tuple or an object with .data and .header; got {type(item).__name__}")
    if not isinstance(header, fits.Header):
        try:
            header = fits.Header(header)
        except Exception:  # noqa: BLE001
            raise InvalidParameterError(f"frame {i}: the header must be an astropy Header "
                                        f"or a mapping of cards") from None
    image = SectionReader(np.asarray(data))
    mreader = None
    if mask is not None:
        marr = np.asarray(mask)
        if marr.dtype.kind not in "iu":
            raise InvalidParameterError(f"frame {i}: the mask must be a ZTF integer bit mask; "
                                        f"got dtype {marr.dtype}")
        mreader = SectionReader(marr)
    return f"frame {i}", image, mreader, header


def prepare_frames(frames):
    """The :class:`FrameInput` of each frame, checked (headers read, no pixels).

    Parameters
    ----------
    frames : sequence
        Each one a FITS file name (a ZTF ``sciimg`` finds its ``mskimg`` beside it), a
        :class:`~ztfimg.image.ZTFImage` (its files are read by sections; one built from
        arrays is used from memory), a ``(data, header[, mask])`` tuple, or an object with
        ``.data``, ``.header`` (and ``.mask``), such as a
        :class:`~ztfimg.simulate.SimulatedFrame`. An object with a ``files`` attribute (an
        :class:`~ztfimg.collection.ImageCollection`) stands for its files.

    Returns
    -------
    list of FrameInput

    Raises
    ------
    InvalidParameterError
        No frames, or an item of an unknown kind.
    HeaderKeywordError
        A frame without MAGZP or without a celestial WCS.
    ShapeMismatchError
        A mask whose shape differs from its image.
    MissingFileError, FileFormatError
        A file cannot be read.

    Examples
    --------
    >>> from ztfimg import simulate
    >>> f = simulate.simulate_quadrant(shape=(64, 64), seed=1, nstars=5)
    >>> prepare_frames([f])[0].magzp
    26.3
    """
    if hasattr(frames, "files") and not isinstance(frames, (list, tuple)):
        frames = list(frames.files)
    single_tuple = (isinstance(frames, tuple) and len(frames) in (2, 3)
                    and isinstance(frames[1], (fits.Header, dict)))
    if isinstance(frames, (str, bytes, os.PathLike)) or single_tuple \
            or hasattr(frames, "header"):
        frames = [frames]
    try:
        items = list(frames)
    except TypeError:
        raise InvalidParameterError(f"frames must be a sequence of frames; got "
                                    f"{type(frames).__name__}") from None
    if not items:
        raise InvalidParameterError("no frames to stack: give at least one frame")
    out = []
    for i, item in enumerate(items):
        name, image, mask, header = _one_frame(item, i)
        if mask is not None and mask.shape != image.shape:
            raise ShapeMismatchError(f"{name}: mask shape {mask.shape} differs from the image "
                                     f"shape {image.shape}")
        wcs = _parse_wcs(header, name)
        out.append(FrameInput(name, image, mask, header, wcs, **_header_values(header, name)))
    return out


def sky_statistics(frame, nrows=SKY_ROWS):
    """Sigma-clipped sky level and pixel noise of a frame, from ~nrows rows.

    Pixels with any mask bit set (stars included, bits 1 and 11), non-finite and
    saturated pixels are left out.  The level is the 3-sigma clipped median of the pixels
    (5 iterations); the noise is the robust standard deviation (1.4826 times the median
    absolute deviation) of the differences of horizontally adjacent pixels divided by
    sqrt(2), which neither a smooth sky gradient nor the stars' wings inflate (right for
    frames with uncorrelated pixel noise, as ZTF science frames; on a resampled co-add it
    underestimates the per-pixel noise).

    Parameters
    ----------
    frame : FrameInput
    nrows : int, default 64
        Rows read (evenly spaced).

    Returns
    -------
    (float, float)
        Sky level and noise, DN.

    Raises
    ------
    InvalidParameterError
        Fewer than 100 usable pixels in the rows read.

    Examples
    --------
    >>> from ztfimg import simulate
    >>> f = prepare_frames([simulate.simulate_quadrant(shape=(128, 128), seed=1)])[0]
    >>> sky, rms = sky_statistics(f)
    >>> 140 < sky < 180, 4 < rms < 7
    (True, True)
    """
    from astropy.stats import sigma_clipped_stats
    ny = frame.shape[0]
    step = max(1, ny // int(nrows))
    vals, diffs = [], []
    for r in range(0, ny, step):
        row = frame.image.read(r, r + 1)[0]
        good = np.isfinite(row)
        if frame.mask is not None:
            good &= (frame.mask.read(r, r + 1, dtype=None)[0]
                     & int(_bitmask.BACKGROUND_BITS)) == 0
        if frame.saturation is not None:
            with np.errstate(invalid="ignore"):
                good &= row < frame.saturation
        vals.append(row[good])
        pair = good[1:] & good[:-1]
        diffs.append((row[1:] - row[:-1])[pair])
    v = np.concatenate(vals) if vals else np.empty(0)
    d = np.concatenate(diffs) if diffs else np.empty(0)
    if v.size < 100 or d.size < 100:
        raise InvalidParameterError(f"{frame.name}: only {v.size} unmasked pixels in the "
                                    f"{len(vals)} rows read: cannot measure its sky")
    _, med, _ = sigma_clipped_stats(v, sigma=3.0, maxiters=5)
    mad = np.median(np.abs(d - np.median(d)))
    return float(med), float(1.482602 * mad / np.sqrt(2.0))
