"""The one registry of the bit flags that ztfimg tables carry.

Each kind of measurement has its own :class:`enum.IntFlag` and its own column name, so a
flag column says by its name which bits it holds (bit 1 never means two things):

============== ==================== =====================================================
column         flags                produced by
============== ==================== =====================================================
``aper_flag``  :class:`ApertureFlag` :func:`ztfimg.aperture.aperture_photometry` (per radius
                                    ``aper_flag_0``, ``aper_flag_1`` ...; ``aper_flag`` is
                                    then the OR over the radii)
``sep_flag``   :class:`SourceFlag`  :func:`ztfimg.sources.extract_sources` (sep's flags)
``psf_flag``   :class:`PSFFlag`     :func:`ztfimg.psfphot.psf_photometry`
``stamp_flag`` :class:`StampFlag`   stamps (:attr:`ztfimg.stamps.Stamps.flag` holds these
                                    bits; a table of stamps names the column so)
============== ==================== =====================================================

Two more kinds live here for the orchestration layer, held in arrays rather than in a named
column: :class:`LightCurveFlag`, the bits of a light-curve point
(:attr:`ztfimg.lightcurves.LightCurves.flags`, the ``flag`` column of a light curve), and
:class:`StackFlag`, the bits of a frame of a stamp stack
(:attr:`ztfimg.collection.StampStack.flags`); :func:`decode_flags` takes their class.

The columns hold plain ``int64`` values; compare them with the members
(``df.aper_flag & ApertureFlag.PARTIAL``) or decode them::

    >>> from ztfimg.flags import ApertureFlag, decode_flags
    >>> decode_flags(3, "aper_flag")
    ['PARTIAL', 'OFF_IMAGE']
    >>> decode_flags(phot["aper_flag"], ApertureFlag)     # doctest: +SKIP
    >>> describe_flags(phot)                               # doctest: +SKIP

The members are ints (``ApertureFlag.PARTIAL == 1``) and behave as scalars with numpy and
pandas (``series & ApertureFlag.PARTIAL`` works): unlike a plain :class:`enum.IntFlag`,
their members are not iterable (iterate over the class instead, ``list(ApertureFlag)``).
"""

from __future__ import annotations

import enum
import re

import numpy as np
import pandas as pd

from .errors import InvalidParameterError

__all__ = ["ApertureFlag", "SourceFlag", "PSFFlag", "StampFlag", "LightCurveFlag", "StackFlag",
           "FLAG_COLUMNS", "decode_flags", "describe_flags"]


class _ScalarFlag(enum.IntFlag):
    """IntFlag whose members pandas and numpy treat as scalars (not as sequences).

    Python 3.11 makes flag members iterable; pandas then refuses ``series & member``
    ("dtype-less sequence"). Members of ztfimg's flags are not iterable.
    """

    __iter__ = None


class ApertureFlag(_ScalarFlag):
    """Bits of the ``aper_flag`` columns of :func:`ztfimg.aperture.aperture_photometry`.

    ============ ===== ==============================================================
    member       value meaning
    ============ ===== ==============================================================
    NONE         0     nothing to report
    PARTIAL      1     the aperture is partly outside the image (sum over the inside
                       part only)
    OFF_IMAGE    2     the aperture is entirely outside the image (NaN values)
    HAS_MASKED   4     some aperture pixels are masked or NaN (left out of the sum,
                       not corrected for)
    ALL_MASKED   8     every aperture pixel inside the image is masked (NaN values)
    BAD_POSITION 16    the position is NaN or infinite (NaN values)
    NO_SKY       32    no usable pixel in the sky annulus (NaN values)
    ============ ===== ==============================================================
    """

    NONE = 0
    PARTIAL = 1
    OFF_IMAGE = 2
    HAS_MASKED = 4
    ALL_MASKED = 8
    BAD_POSITION = 16
    NO_SKY = 32


class SourceFlag(_ScalarFlag):
    """Bits of the ``sep_flag`` column of :func:`ztfimg.sources.extract_sources`.

    The extraction flags of ``sep.extract``, with sep's values (``sep.OBJ_MERGED`` ...).

    ========== ===== ================================================================
    member     value meaning
    ========== ===== ================================================================
    NONE       0     nothing to report
    MERGED     1     the object was deblended from a merged detection (it had a
                     neighbour)
    TRUNC      2     the object is truncated at the image edge (or by masked pixels)
    DOVERFLOW  4     the deblending buffer overflowed for this object
    SINGU      8     singular moments (e.g. a one-pixel-wide object): shape unreliable
    ========== ===== ================================================================
    """

    NONE = 0
    MERGED = 1
    TRUNC = 2
    DOVERFLOW = 4
    SINGU = 8


class PSFFlag(_ScalarFlag):
    """Bits of the ``psf_flag`` column of :func:`ztfimg.psfphot.psf_photometry`.

    ========== ===== ================================================================
    member     value meaning
    ========== ===== ================================================================
    NONE       0     nothing to report
    OFF_IMAGE  1     position outside the image or not finite: no measurement
    EDGE       2     the fit disc crosses the image edge (measured on the rest)
    MASKED     4     some pixels of the fit disc are masked or not finite
    NO_DATA    8     fewer usable pixels than free parameters + 1: no measurement
    SINGULAR   16    degenerate normal equations (e.g. PSF ~ constant): no measurement
    NEGATIVE   32    fitted flux <= 0 (the magnitude is NaN)
    ========== ===== ================================================================
    """

    NONE = 0
    OFF_IMAGE = 1
    EDGE = 2
    MASKED = 4
    NO_DATA = 8
    SINGULAR = 16
    NEGATIVE = 32


class StampFlag(_ScalarFlag):
    """Bits of :attr:`ztfimg.stamps.Stamps.flag` / :attr:`ztfimg.stamps.Stamp.flag`.

    A table of stamps calls the column ``stamp_flag``.

    ============ ===== ==============================================================
    member       value meaning
    ============ ===== ==============================================================
    NONE         0     nothing to report
    EDGE         1     the stamp crosses the frame edge (padded with ``fill``)
    OFF_IMAGE    2     the stamp lies entirely outside the frame (all ``fill``)
    BAD_POSITION 4     the position is NaN or infinite (all ``fill``)
    ============ ===== ==============================================================
    """

    NONE = 0
    EDGE = 1
    OFF_IMAGE = 2
    BAD_POSITION = 4


class LightCurveFlag(_ScalarFlag):
    """Bits of a light-curve point (:attr:`ztfimg.lightcurves.LightCurves.flags`).

    One class for aperture and PSF photometry (:mod:`ztfimg.lightcurves.pointflags`
    translates :class:`ApertureFlag` and :class:`PSFFlag` into it), plus the flags of the
    point's frame, so a light curve's ``flag`` column means the same whatever measured it.

    ============ ===== ==============================================================
    member       value meaning
    ============ ===== ==============================================================
    NONE         0     nothing to report
    PARTIAL      1     the aperture (PSF fit disc) crosses the frame edge
    OFF_IMAGE    2     the position is not on the frame (NaN values)
    MASKED       4     masked pixels in the aperture (fit disc), left out
    ALL_MASKED   8     every pixel of the aperture is masked (NaN values)
    BAD_POSITION 16    the position is NaN or infinite (NaN values)
    NO_SKY       32    no usable pixel in the sky annulus (NaN values)
    NO_DATA      64    PSF fit impossible: too few pixels or singular (NaN values)
    INFOBITS     128   the frame's IPAC ``INFOBITS`` is not 0
    BAD_SEEING   256   the frame's seeing (``SEEING``) exceeds the run's ``max_seeing``
    BAD_STATUS   512   the frame's IPAC ``STATUS`` is 0 (unusable)
    ============ ===== ==============================================================

    Examples
    --------
    >>> decode_flags(LightCurveFlag.MASKED | LightCurveFlag.INFOBITS, LightCurveFlag)
    ['MASKED', 'INFOBITS']
    """

    NONE = 0
    PARTIAL = 1
    OFF_IMAGE = 2
    MASKED = 4
    ALL_MASKED = 8
    BAD_POSITION = 16
    NO_SKY = 32
    NO_DATA = 64
    INFOBITS = 128
    BAD_SEEING = 256
    BAD_STATUS = 512


class StackFlag(_ScalarFlag):
    """Bits of :attr:`ztfimg.collection.StampStack.flags` (the low three are
    :class:`StampFlag`'s).

    ============ ===== ==============================================================
    member       value meaning
    ============ ===== ==============================================================
    NONE         0     nothing to report
    EDGE         1     the stamp crosses the frame edge (padded with NaN)
    OFF_IMAGE    2     the frame does not cover the position (all NaN)
    BAD_POSITION 4     the position is NaN or infinite in this frame (all NaN)
    MASKED       8     a masked pixel lies near the position (``mask_radius``)
    FAILED       16    the frame could not be read (all NaN; see the stack's ``errors``)
    ============ ===== ==============================================================

    Examples
    --------
    >>> StackFlag(9)
    <StackFlag.EDGE|MASKED: 9>
    >>> masked = (stack.flags & StackFlag.MASKED) != 0                  # doctest: +SKIP
    """

    NONE = 0
    EDGE = int(StampFlag.EDGE)
    OFF_IMAGE = int(StampFlag.OFF_IMAGE)
    BAD_POSITION = int(StampFlag.BAD_POSITION)
    MASKED = 8
    FAILED = 16


#: Flag column name -> the IntFlag its bits belong to. A per-radius suffix (``_0``,
#: ``_1`` ...) keeps the kind: ``aper_flag_2`` holds :class:`ApertureFlag` bits.
FLAG_COLUMNS = {"aper_flag": ApertureFlag, "sep_flag": SourceFlag, "psf_flag": PSFFlag,
                "stamp_flag": StampFlag}

_SUFFIX = re.compile(r"^(?P<base>.+?)(?:_(?P<k>\d+))?$")


def _bits(cls):
    """The single-bit members of a flag class, in increasing value."""
    out = {}
    for member in cls.__members__.values():
        v = int(member)
        if v > 0 and v & (v - 1) == 0 and v not in out:
            out[v] = member
    return [out[v] for v in sorted(out)]


def _flag_column_base(name):
    """Registry name of a flag column (``aper_flag_1`` -> ``aper_flag``), or None."""
    if not isinstance(name, str):
        return None
    if name in FLAG_COLUMNS:
        return name
    m = _SUFFIX.match(name)
    if m and m["k"] is not None and m["base"] in FLAG_COLUMNS:
        return m["base"]
    return None


def _flag_class(kind):
    if isinstance(kind, type) and issubclass(kind, enum.IntFlag):
        return kind
    base = _flag_column_base(kind)
    if base is None:
        raise InvalidParameterError(
            f"kind must be a flag class (ApertureFlag, SourceFlag, PSFFlag, StampFlag, "
            f"LightCurveFlag, StackFlag ...) or a "
            f"flag column name ({', '.join(FLAG_COLUMNS)}, with an optional per-radius "
            f"suffix such as '_0'); got {kind!r}")
    return FLAG_COLUMNS[base]


def _check_known(values, cls):
    """Raise if ``values`` (non-negative int64) hold bits that ``cls`` does not define."""
    known = 0
    for m in _bits(cls):
        known |= int(m)
    stray = int(np.bitwise_or.reduce(values & ~np.int64(known))) if values.size else 0
    if stray:
        bits = [b for b in range(63) if stray >> b & 1]
        raise InvalidParameterError(
            f"flag values have bit(s) {bits} (value {stray}) that {cls.__name__} does not "
            f"define (known: {', '.join(f'{m.name}={int(m)}' for m in _bits(cls))}); "
            f"is this the right kind of flag column?")


def _as_flag_ints(values, cls):
    """Flag values as a 1-D int64 array (missing values -> 0) and the input's index."""
    index = values.index if isinstance(values, pd.Series) else None
    if isinstance(values, pd.DataFrame):
        raise InvalidParameterError(
            "decode_flags takes one flag column (a Series or an array), got a DataFrame; "
            "pick a column (df['aper_flag']) or use describe_flags(df)")
    if isinstance(values, pd.Series):
        arr = values.to_numpy()
    else:
        arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidParameterError(
            f"flag values must be a number or a 1-D array; got an array of shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "iu":
        ints = arr.astype(np.int64)
    else:
        if kind == "b" or kind in "USMmcV":
            raise InvalidParameterError(
                f"flag values must be integers ({cls.__name__} bits); got dtype {arr.dtype}")
        try:
            flt = pd.Series(arr).to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"flag values must be integers ({cls.__name__} bits); got {values!r:.80}"
            ) from None
        missing = np.isnan(flt)
        good = flt[~missing]
        if np.any(good != np.round(good)) or np.any(np.isinf(good)):
            raise InvalidParameterError(
                f"flag values must be whole numbers ({cls.__name__} bits); got non-integer "
                f"values such as {good[good != np.round(good)][:3].tolist()}")
        ints = np.where(missing, 0.0, flt).astype(np.int64)
    if np.any(ints < 0):
        raise InvalidParameterError(
            f"flag values must be >= 0; got {ints[ints < 0][:3].tolist()}")
    _check_known(ints, cls)
    return ints, index


def decode_flags(values, kind):
    """Decode flag values into the names of their set bits.

    Parameters
    ----------
    values : int, numpy.ndarray or pandas.Series
        One flag value, or a 1-D array / Series of them (e.g. ``phot["aper_flag"]``).
        Missing values (NaN, ``pd.NA``, as after a merge) decode to no bit set.
    kind : type or str
        The flag class (:class:`ApertureFlag`, :class:`SourceFlag`, :class:`PSFFlag`,
        :class:`StampFlag`) or a flag column name of :data:`FLAG_COLUMNS`; per-radius
        names such as ``"aper_flag_0"`` are accepted.

    Returns
    -------
    list of str or pandas.DataFrame
        For a scalar: the names of the set bits, in increasing bit order (``[]`` for 0).
        For an array or Series: one boolean column per bit of ``kind`` (member names, in
        increasing bit order), one row per value, with the Series' index.

    Raises
    ------
    InvalidParameterError
        Unknown ``kind``; values that are not non-negative whole numbers; bits that
        ``kind`` does not define (usually the wrong kind for the column).

    Examples
    --------
    >>> decode_flags(17, ApertureFlag)
    ['PARTIAL', 'BAD_POSITION']
    >>> decode_flags([0, 2], "psf_flag")["EDGE"].tolist()
    [False, True]
    """
    cls = _flag_class(kind)
    if values is None:
        raise InvalidParameterError(
            f"decode_flags needs a flag value or a column of them ({cls.__name__} bits); "
            "got None")
    if np.ndim(values) == 0 and not isinstance(values, (pd.Series, pd.DataFrame)):
        ints, _ = _as_flag_ints(np.atleast_1d(np.asarray(values)), cls)
        v = int(ints[0])
        return [m.name for m in _bits(cls) if v & int(m)]
    ints, index = _as_flag_ints(values, cls)
    return pd.DataFrame({m.name: (ints & int(m)) != 0 for m in _bits(cls)},
                        index=index if index is not None else pd.RangeIndex(len(ints)))


def describe_flags(df, *, all_bits=False):
    """Count the rows of a table per set bit, for every flag column it has.

    Parameters
    ----------
    df : pandas.DataFrame or pandas.Series
        A ztfimg table (aperture, source or PSF photometry ...). Its flag columns are
        those named in :data:`FLAG_COLUMNS`, with optional per-radius suffixes; a Series
        counts if its name is one.
    all_bits : bool, optional
        List every bit of each flag kind, including those no row has. Default False (only
        the bits that occur).

    Returns
    -------
    pandas.DataFrame
        One row per (column, bit), columns in table order, bits in increasing value:
        ``column``, ``flag`` (member name; ``NONE`` counts the rows with no bit set),
        ``value`` (the bit's value), ``count`` (rows with the bit set) and ``fraction``
        (``count`` / rows).

    Raises
    ------
    InvalidParameterError
        ``df`` is not a DataFrame/Series or has no flag column (the message lists the
        names looked for), or a column holds bits its kind does not define.

    Examples
    --------
    >>> describe_flags(phot)                                              # doctest: +SKIP
          column       flag  value  count  fraction
    0  aper_flag       NONE      0    281    0.9367
    1  aper_flag    PARTIAL      1     19    0.0633
    """
    if isinstance(df, pd.Series):
        df = df.to_frame()
    if not isinstance(df, pd.DataFrame):
        raise InvalidParameterError(
            f"describe_flags takes a pandas DataFrame; got {type(df).__name__}")
    cols = [c for c in df.columns if _flag_column_base(c) is not None]
    if not cols:
        raise InvalidParameterError(
            f"the table has no flag column; looked for {', '.join(FLAG_COLUMNS)} (optionally "
            f"with a suffix such as '_0'); columns: {', '.join(map(str, df.columns))}")
    rows = []
    n = len(df)
    for c in cols:
        cls = FLAG_COLUMNS[_flag_column_base(c)]
        ints, _ = _as_flag_ints(df[c], cls)
        nnone = int(np.count_nonzero(ints == 0))
        rows.append((c, "NONE", 0, nnone))
        for m in _bits(cls):
            cnt = int(np.count_nonzero(ints & int(m)))
            if cnt or all_bits:
                rows.append((c, m.name, int(m), cnt))
    out = pd.DataFrame(rows, columns=["column", "flag", "value", "count"])
    out["fraction"] = out["count"] / n if n else np.nan
    return out
