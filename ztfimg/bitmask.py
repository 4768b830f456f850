"""The ZTF pixel mask bits (``mskimg.fits``) and conversions to boolean masks.

Bits (ZTF.md section 4, checked against the legend in real mask headers):

===  ==================  =========================================
bit  name                meaning
===  ==================  =========================================
0    TRACKS              aircraft/satellite track
1    SEXSOURCES          contains SExtractor detection
2    LOWRESPONSIVITY     low responsivity
3    HIGHRESPONSIVITY    high responsivity
4    NOISY               noisy
5    GHOSTS              ghost from bright source
6    SPILLAGE            possible ghost from charge spillage
7    SPIKES              pixel spike (possible rad hit)
8    SATURATED           saturated
9    DEAD                dead (unresponsive)
10   NAN                 NaN
11   PSFSOURCES          contains PSF-extracted source position
12   BRIGHTSTARHALO      halo from bright source
===  ==================  =========================================

Two default selections:

* :data:`BACKGROUND_BITS` masks everything (stars included) for a sky estimate;
* :data:`DETECTION_BITS` masks everything **but** bits 1 and 11, which mark every
  star: masking them for detection or photometry removes the stars themselves.
"""

from __future__ import annotations

import enum
import re
import warnings

import numpy as np

from .errors import InvalidParameterError, ZTFImgWarning
from .validation import as_bool

__all__ = [
    "ZTFBit",
    "as_bits",
    "has_mask_legend",
    "BACKGROUND_BITS",
    "DETECTION_BITS",
    "KEYWORD_BITS",
    "MASK_LEGEND",
    "bits_from_keywords",
    "to_bool",
    "count_bits",
    "check_legend",
    "MaskLegendWarning",
]


class ZTFBit(enum.IntFlag):
    """The ZTF mask bits as flags (value ``1 << bit``)."""

    TRACKS = 1 << 0
    SEXSOURCES = 1 << 1
    LOWRESPONSIVITY = 1 << 2
    HIGHRESPONSIVITY = 1 << 3
    NOISY = 1 << 4
    GHOSTS = 1 << 5
    SPILLAGE = 1 << 6
    SPIKES = 1 << 7
    SATURATED = 1 << 8
    DEAD = 1 << 9
    NAN = 1 << 10
    PSFSOURCES = 1 << 11
    BRIGHTSTARHALO = 1 << 12


#: Every defined bit: the selection for background estimation.
BACKGROUND_BITS = ZTFBit(sum(b.value for b in ZTFBit))
#: Every defined bit but the two source markers (1 and 11): for detection and photometry.
DETECTION_BITS = BACKGROUND_BITS & ~(ZTFBit.SEXSOURCES | ZTFBit.PSFSOURCES)

#: The keyword names users pass to ``get_mask`` and the bit each one selects.
KEYWORD_BITS = {
    "tracks": ZTFBit.TRACKS,
    "sexsources": ZTFBit.SEXSOURCES,
    "lowresponsivity": ZTFBit.LOWRESPONSIVITY,
    "highresponsivity": ZTFBit.HIGHRESPONSIVITY,
    "noisy": ZTFBit.NOISY,
    "ghosts": ZTFBit.GHOSTS,
    "spillage": ZTFBit.SPILLAGE,
    "spikes": ZTFBit.SPIKES,
    "saturated": ZTFBit.SATURATED,
    "dead": ZTFBit.DEAD,
    "nan": ZTFBit.NAN,
    "psfsources": ZTFBit.PSFSOURCES,
    "brightstarhalo": ZTFBit.BRIGHTSTARHALO,
}

#: The legend IPAC writes in mask headers (``BITnn`` comments), for :func:`check_legend`.
MASK_LEGEND = {
    0: "AIRCRAFT/SATELLITE TRACK",
    1: "CONTAINS SEXTRACTOR DETECTION",
    2: "LOW RESPONSIVITY",
    3: "HIGH RESPONSIVITY",
    4: "NOISY",
    5: "GHOST FROM BRIGHT SOURCE",
    6: "POSSIBLE GHOST FROM CHARGE SPILLAGE",
    7: "PIXEL SPIKE (POSSIBLE RAD HIT)",
    8: "SATURATED",
    9: "DEAD (UNRESPONSIVE)",
    10: "NAN (NOT A NUMBER)",
    11: "CONTAINS PSF-EXTRACTED SOURCE POSITION",
    12: "HALO FROM BRIGHT SOURCE",
}


class MaskLegendWarning(ZTFImgWarning):
    """A mask header's own bit legend differs from the table ztfimg uses."""


def bits_from_keywords(**flags: bool) -> ZTFBit:
    """Combine the bits selected by ``get_mask``-style keywords.

    Parameters
    ----------
    **flags : bool
        Any of the keys of :data:`KEYWORD_BITS` (``tracks=True, sexsources=False, ...``).

    Returns
    -------
    ZTFBit
        The OR of the bits whose keyword is True.

    Raises
    ------
    InvalidParameterError
        For an unknown keyword.
    """
    unknown = set(flags) - set(KEYWORD_BITS)
    if unknown:
        raise InvalidParameterError(
            f"unknown mask keyword(s) {sorted(unknown)}; known: {sorted(KEYWORD_BITS)}")
    out = ZTFBit(0)
    for key, on in flags.items():
        if as_bool(on, f"mask keyword {key}"):
            out |= KEYWORD_BITS[key]
    return out


def as_bits(bits) -> int:
    """Check a bit selection: an integer (or :class:`ZTFBit`) within the 16 mask bits.

    Parameters
    ----------
    bits : int or ZTFBit

    Returns
    -------
    int

    Raises
    ------
    InvalidParameterError
        Not an integer, negative, or a bit beyond the 16 of a ZTF ``mskimg`` (int16).
    """
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)):
        raise InvalidParameterError(
            f"bits must be an integer bit selection (e.g. ztfimg.bitmask.DETECTION_BITS or "
            f"ZTFBit.SATURATED | ZTFBit.DEAD); got {type(bits).__name__} {bits!r}")
    value = int(bits)
    if value < 0 or value >= 1 << 16:
        raise InvalidParameterError(
            f"bits={value} selects bits outside the 16 of a ZTF mask (0 <= bits < 65536); "
            "combine ZTFBit members instead")
    return value


def has_mask_legend(header) -> bool:
    """True when ``header`` carries the ZTF bit-mask legend (``BITnn`` cards naming the
    mask bits): the header of a ``*_mskimg.fits`` file, not of an image."""
    if not hasattr(header, "comments"):
        raise InvalidParameterError(f"expected an astropy.io.fits.Header (with its comments); "
                                    f"got {type(header).__name__}")
    for key in header:
        m = _BITKEY.match(str(key))
        if m:
            text = _norm(header.comments[key])
            if "SEXTRACTOR DETECTION" in text or "AIRCRAFT" in text:
                return True
    return False


def to_bool(mask, bits=DETECTION_BITS) -> np.ndarray:
    """Boolean mask (True = masked) of the pixels with any of ``bits`` set.

    Parameters
    ----------
    mask : array_like of int
        A ZTF bit mask (int16 as stored, any endianness).
    bits : int or ZTFBit, default DETECTION_BITS
        Bits to select.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``mask``; a new array (``mask`` is not modified). A bool array is
        what sep accepts.
    """
    arr = np.asarray(mask)
    if arr.dtype.kind not in "iu":
        raise InvalidParameterError(f"a bit mask must be an integer array, got dtype {arr.dtype}")
    bits = as_bits(bits)
    if arr.ndim != 2 or arr.size < 1 << 20:
        return (arr & bits) != 0
    # row blocks: the integer temporary of ``mask & bits`` stays small on a full quadrant
    out = np.empty(arr.shape, dtype=bool)
    tmp = np.empty((256, arr.shape[1]), dtype=arr.dtype)
    for start in range(0, arr.shape[0], 256):
        rows = slice(start, min(start + 256, arr.shape[0]))
        t = tmp[: rows.stop - rows.start]
        np.bitwise_and(arr[rows], bits, out=t, casting="unsafe")
        np.not_equal(t, 0, out=out[rows])
    return out


def count_bits(mask) -> dict[ZTFBit, int]:
    """Number of pixels that have each ZTF bit set.

    Parameters
    ----------
    mask : array_like of int
        A ZTF bit mask.

    Returns
    -------
    dict
        ``{ZTFBit: count}`` for all 13 bits, in bit order.
    """
    arr = np.asarray(mask)
    if arr.dtype.kind not in "iu":
        raise InvalidParameterError(f"a bit mask must be an integer array, got dtype {arr.dtype}")
    # one pass over the pixels: histogram of the 16-bit values, then bit counts per value
    counts = np.bincount((arr.astype(np.int64) & 0xFFFF).ravel(), minlength=1 << 16)
    values = np.arange(1 << 16)
    return {b: int(counts[(values & b.value) != 0].sum()) for b in ZTFBit}


_BITKEY = re.compile(r"^BIT(\d\d)$")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().upper()


def check_legend(header, warn: bool = True) -> dict[int, tuple[str, str]]:
    """Compare a mask header's ``BITnn`` legend with :data:`MASK_LEGEND`.

    Only headers that carry a mask legend are checked (science headers use ``BITnn`` for
    INFOBITS and are recognised by the absence of the mask wording).

    Parameters
    ----------
    header : astropy.io.fits.Header
        A mask image header.
    warn : bool, default True
        Emit a :class:`MaskLegendWarning` listing the differences.

    Returns
    -------
    dict
        ``{bit: (expected, found)}`` for every bit whose description differs.
    """
    if not has_mask_legend(header):
        return {}
    found = {}
    for key in header:
        m = _BITKEY.match(str(key))
        if m:
            found[int(m.group(1))] = _norm(header.comments[key])
    diffs = {bit: (MASK_LEGEND[bit], found.get(bit, "<missing>"))
             for bit in MASK_LEGEND if _norm(MASK_LEGEND[bit]) != found.get(bit)}
    if diffs and warn:
        lines = "; ".join(f"bit {b}: expected {e!r}, header says {f!r}" for b, (e, f) in diffs.items())
        warnings.warn(f"mask header legend differs from ztfimg's bit table: {lines}",
                      MaskLegendWarning, stacklevel=2)
    return diffs
