"""The bits of a light-curve point: :class:`~ztfimg.flags.LightCurveFlag` in use (level 3).

A point of a light curve (one star, one frame, one aperture) carries the flags of its
measurement, translated from the measurement's own kind (:class:`ztfimg.flags.ApertureFlag`
for apertures, :class:`ztfimg.flags.PSFFlag` for PSF fits), plus the flags of its frame
(IPAC's ``INFOBITS`` and ``STATUS``, a seeing worse than the run's limit).  One class for
both methods, so a light curve's ``flag`` column means the same whatever measured it.

The class itself is registered with the other flags in :mod:`ztfimg.flags` (re-exported
here and as ``ztfimg.lightcurves.LightCurveFlag``); this module holds the light-curve rules
built on it: the :data:`UNUSABLE` and :data:`SUSPECT` groups and the translations
:func:`from_aperture_flags` and :func:`from_psf_flags`.
``ztfimg.flags.decode_flags(values, LightCurveFlag)`` names the bits.
"""

from __future__ import annotations

import numpy as np

from ..flags import ApertureFlag, LightCurveFlag, PSFFlag

__all__ = ["LightCurveFlag", "UNUSABLE", "SUSPECT", "from_aperture_flags", "from_psf_flags"]


#: Bits of a point without a value (its flux and error are NaN).
UNUSABLE = (LightCurveFlag.OFF_IMAGE | LightCurveFlag.ALL_MASKED | LightCurveFlag.BAD_POSITION
            | LightCurveFlag.NO_SKY | LightCurveFlag.NO_DATA)
#: Bits of a point with a value that may be biased (edge, masked pixels).
SUSPECT = LightCurveFlag.PARTIAL | LightCurveFlag.MASKED

_FROM_APERTURE = ((ApertureFlag.PARTIAL, LightCurveFlag.PARTIAL),
                  (ApertureFlag.OFF_IMAGE, LightCurveFlag.OFF_IMAGE),
                  (ApertureFlag.HAS_MASKED, LightCurveFlag.MASKED),
                  (ApertureFlag.ALL_MASKED, LightCurveFlag.ALL_MASKED),
                  (ApertureFlag.BAD_POSITION, LightCurveFlag.BAD_POSITION),
                  (ApertureFlag.NO_SKY, LightCurveFlag.NO_SKY))
_FROM_PSF = ((PSFFlag.OFF_IMAGE, LightCurveFlag.OFF_IMAGE),
             (PSFFlag.EDGE, LightCurveFlag.PARTIAL),
             (PSFFlag.MASKED, LightCurveFlag.MASKED),
             (PSFFlag.NO_DATA, LightCurveFlag.NO_DATA),
             (PSFFlag.SINGULAR, LightCurveFlag.NO_DATA))
# PSFFlag.NEGATIVE has no counterpart: a negative forced flux is a measurement.


def _translate(values, table):
    v = np.asarray(values, dtype=np.int64)
    out = np.zeros(v.shape, dtype=np.int32)
    for src, dst in table:
        out[(v & int(src)) != 0] |= np.int32(dst)
    return out


def from_aperture_flags(values):
    """:class:`~ztfimg.flags.ApertureFlag` values as :class:`LightCurveFlag` bits.

    Parameters
    ----------
    values : array_like of int
        ``aper_flag`` values.

    Returns
    -------
    numpy.ndarray of int32
        Same shape.

    Examples
    --------
    >>> from_aperture_flags([0, 1, 4]).tolist()
    [0, 1, 4]
    """
    return _translate(values, _FROM_APERTURE)


def from_psf_flags(values):
    """:class:`~ztfimg.flags.PSFFlag` values as :class:`LightCurveFlag` bits.

    Parameters
    ----------
    values : array_like of int
        ``psf_flag`` values.

    Returns
    -------
    numpy.ndarray of int32
        Same shape (``NEGATIVE`` is dropped: the flux is kept).

    Examples
    --------
    >>> from_psf_flags([1, 2, 16]).tolist()
    [2, 1, 64]
    """
    return _translate(values, _FROM_PSF)
