"""ZTF aperture corrections: the header's APCOR table, the correction at a radius, and
its application to sums or fluxes (level 1).

IPAC writes, for each fixed aperture diameter ``FIXAPERS``, ``APCORn = PSF mag - aperture
mag`` and its uncertainty ``APCORUNn``; the corrected (total) counts are the aperture
counts times ``10**(-0.4 * apcor)``. These are re-exported by :mod:`ztfimg.aperture`.
"""

from __future__ import annotations

import numpy as np

from .errors import HeaderKeywordError, InvalidParameterError

__all__ = ["apcor_table_from_header", "aperture_correction", "apply_aperture_correction"]


def apcor_table_from_header(header):
    """ZTF aperture corrections from a science header.

    Parameters
    ----------
    header : astropy.io.fits.Header or mapping
        Needs ``FIXAPERS`` (aperture **diameters**, pixels, e.g. ``'2,3,4,6,10,14'``) and
        ``APCOR1..n``, ``APCORUN1..n``.

    Returns
    -------
    dict
        ``{diameter_px: (apcor, apcorunc)}`` in magnitudes, where
        ``apcor = m_PSF - m_aperture``.

    Raises
    ------
    HeaderKeywordError
        A keyword is missing or unreadable.
    """
    if not (hasattr(header, "__getitem__") and hasattr(header, "__contains__")) or isinstance(
            header, (str, bytes, np.ndarray)):
        raise InvalidParameterError(f"apcor_table_from_header needs a FITS header (or a mapping "
                                    f"of keywords); got {type(header).__name__}")
    try:
        diam = [float(v) for v in str(header["FIXAPERS"]).split(",")]
    except KeyError:
        raise HeaderKeywordError("header has no FIXAPERS keyword (aperture diameters); "
                                 "cannot build the aperture-correction table") from None
    except ValueError:
        raise HeaderKeywordError(
            f"FIXAPERS={header['FIXAPERS']!r} is not a comma-separated list of numbers") from None
    table = {}
    for i, d in enumerate(diam, start=1):
        try:
            table[d] = (float(header[f"APCOR{i}"]), float(header[f"APCORUN{i}"]))
        except KeyError as exc:
            raise HeaderKeywordError(f"header lacks {exc.args[0]} (aperture correction "
                                     f"for diameter {d:g} px)") from None
    return table


def aperture_correction(radius, apcor):
    """Look up the ZTF aperture correction for an aperture radius.

    Parameters
    ----------
    radius : float
        Aperture radius, pixels (the table is keyed by diameter = 2 * radius).
    apcor : dict
        ``{diameter_px: (apcor, apcorunc)}``, e.g. from :func:`apcor_table_from_header`.

    Returns
    -------
    (float, float)
        ``(apcor, apcorunc)`` in magnitudes.

    Raises
    ------
    InvalidParameterError
        No entry for that diameter (use :func:`curve_of_growth` for other radii).
    """
    if (isinstance(radius, (bool, np.bool_)) or not isinstance(radius, (int, float, np.number))
            or not np.isfinite(radius) or radius <= 0):
        raise InvalidParameterError(f"radius must be a positive number of pixels; got {radius!r}")
    if not hasattr(apcor, "items"):
        raise InvalidParameterError(f"apcor must be a dict {{diameter_px: (apcor, apcorunc)}} "
                                    f"(apcor_table_from_header); got {type(apcor).__name__}")
    d = 2.0 * float(radius)
    for key, val in apcor.items():
        if abs(float(key) - d) < 1e-6:
            return float(val[0]), float(val[1])
    raise InvalidParameterError(
        f"no aperture correction for radius {radius} px (diameter {d:g}); available "
        f"diameters: {sorted(float(k) for k in apcor)}. Use curve_of_growth for other radii.")


def apply_aperture_correction(value, error=None, *, radius, apcor, kind="flux"):
    """Correct aperture fluxes or magnitudes to total (PSF-scale) values.

    ``m_total = m_aperture + apcor``, i.e. ``flux_total = flux * 10**(-0.4 * apcor)``;
    the table uncertainty is added in quadrature (ZTF.md section 5).

    Parameters
    ----------
    value : float or array_like
        Aperture fluxes (data units) or magnitudes.
    error : float or array_like, optional
        Their errors (same units). Default None.
    radius : float
        Aperture radius, pixels.
    apcor : dict
        ``{diameter_px: (apcor, apcorunc)}`` (:func:`apcor_table_from_header`).
    kind : {"flux", "mag"}, optional
        What ``value`` is. Default "flux".

    Returns
    -------
    (numpy.ndarray or float, numpy.ndarray or float or None)
        Corrected values and errors (None if ``error`` is None).

    Raises
    ------
    InvalidParameterError
        Unknown ``kind`` or no correction for ``radius``.
    """
    if kind not in ("flux", "mag"):
        raise InvalidParameterError(f"kind must be 'flux' or 'mag'; got {kind!r}")
    corr, unc = aperture_correction(radius, apcor)
    scalar = np.ndim(value) == 0
    v = np.asarray(value, dtype=np.float64)
    e = None if error is None else np.asarray(error, dtype=np.float64)
    if kind == "mag":
        out = v + corr
        oerr = None if e is None else np.hypot(e, unc)
    else:
        fac = 10.0 ** (-0.4 * corr)
        out = v * fac
        oerr = None if e is None else np.hypot(e * fac, out * 0.4 * np.log(10.0) * unc)
    if scalar:
        return float(out), (None if oerr is None else float(oerr))
    return out, oerr
