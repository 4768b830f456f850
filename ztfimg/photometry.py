"""Conversions between counts (DN), AB magnitudes and flux densities.

Conventions (ZTF.md section 5):

* ``m = magzp - 2.5 log10(counts)``; with a PS1 colour ``C`` and the frame's colour
  coefficient, ``m_PS1 = magzp + clrcoeff*C - 2.5 log10(counts)``.
* Magnitude error: ``1.0857 * sigma_counts / counts`` with ``magzpunc`` added in quadrature.
* AB flux density per Angstrom: ``f_lambda = 10**(-0.4*(m + 2.406)) / lambda**2`` in
  erg s^-1 cm^-2 A^-1; per Hertz: ``f_nu = 10**(-0.4*(m + 48.6))`` in erg s^-1 cm^-2 Hz^-1.

Every function takes ``(value, error=None, ...)`` and returns ``(value, error)`` (the error
is None when none was given), vectorised over numpy arrays; inputs are never modified.
Non-positive or NaN counts/fluxes give NaN magnitudes, silently (no RuntimeWarning flood).
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidParameterError
from .filters import FILTERS, get_filter
from .validation import as_numbers, check_same_shape

__all__ = [
    "MAG_ERR_FACTOR",
    "ZTF_WAVELENGTHS",
    "filter_wavelength",
    "counts_to_mag",
    "mag_to_counts",
    "mag_to_flux",
    "flux_to_mag",
    "counts_to_flux",
    "flux_to_counts",
]

#: 2.5 / ln(10): converts a relative flux error into a magnitude error.
MAG_ERR_FACTOR = 2.5 / np.log(10)

#: Effective wavelengths of the ZTF filters, Angstrom, keyed by filter name (``'ztfg'``
#: ...); derived from the filter table :data:`ztfimg.filters.FILTERS`.
ZTF_WAVELENGTHS = {f.name: f.wavelength for f in FILTERS}

#: Flux-density units of the conversions (any case): erg/s/cm2/A, erg/s/cm2/Hz, Jy, mJy, uJy.
FLUX_UNITS = ("flam", "fnu", "jy", "mjy", "ujy")
_FLUX_UNITS = FLUX_UNITS


def filter_wavelength(filtername) -> float:
    """Effective wavelength of a ZTF filter, from :data:`ztfimg.filters.FILTERS`.

    Parameters
    ----------
    filtername : str or int
        Any spelling :func:`ztfimg.filters.normalise_filter` accepts: ``'ztfg'``,
        ``'zg'``, ``'g'``, ``'ZTF_g'``, ``'ZTF g'``, FILTERID 1 ...

    Returns
    -------
    float
        Effective wavelength, Angstrom.

    Raises
    ------
    InvalidParameterError
        Not a ZTF filter.

    Examples
    --------
    >>> filter_wavelength("ZTF_r")
    6421.81
    """
    return get_filter(filtername).wavelength


def _arr(value, name="value"):
    return as_numbers(value, name=name)


def _check(context, **values):
    """Every array input is numbers, and arrays line up (the package's one rule)."""
    arrays = {k: _arr(v, k) for k, v in values.items()
              if v is not None or k not in ("error", "colour")}
    check_same_shape(context, **arrays)


def _ret(value, error, scalar):
    # a plain number goes with an array: the answer is then an array
    if scalar and np.ndim(value) == 0 and (error is None or np.ndim(error) == 0):
        value = float(value)
        error = None if error is None else float(error)
    return value, error


def counts_to_mag(counts, error=None, *, magzp, magzpunc=0.0, clrcoeff=None, colour=None):
    """Convert counts (DN) to AB magnitudes.

    Parameters
    ----------
    counts : float or array_like
        Total counts in DN (background subtracted).
    error : float or array_like, optional
        1-sigma uncertainty on ``counts``, DN.
    magzp : float
        Zero point (mag), the frame's ``MAGZP``.
    magzpunc : float, default 0
        Zero-point uncertainty (mag), added in quadrature to the magnitude error.
    clrcoeff : float, optional
        Colour coefficient (``CLRCOEFF``); used only together with ``colour``.
    colour : float or array_like, optional
        PS1 colour of the source (``g-r`` for zg/zr, ``r-i`` for zi). When given, the
        magnitude is on the PS1 system: ``magzp + clrcoeff*colour - 2.5 log10(counts)``.

    Returns
    -------
    mag, magerr : float or numpy.ndarray
        Magnitudes (NaN where counts <= 0 or NaN) and their errors (None if ``error`` is None).
    """
    _check("counts_to_mag", counts=counts, error=error, colour=colour)
    scalar = np.ndim(counts) == 0
    c = _arr(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = c > 0
        mag = np.where(good, magzp - 2.5 * np.log10(np.where(good, c, 1.0)), np.nan)
        if colour is not None:
            if clrcoeff is None:
                raise InvalidParameterError("a colour was given but no clrcoeff")
            mag = mag + clrcoeff * _arr(colour)
        magerr = None
        if error is not None:
            e = _arr(error)
            rel = np.where(good, e / np.where(good, c, 1.0), np.nan)
            magerr = np.sqrt((MAG_ERR_FACTOR * rel) ** 2 + float(magzpunc) ** 2)
    return _ret(mag, magerr, scalar and np.ndim(colour) == 0)


def mag_to_counts(mag, error=None, *, magzp, clrcoeff=None, colour=None):
    """Convert AB magnitudes to counts (DN); inverse of :func:`counts_to_mag`.

    Parameters
    ----------
    mag : float or array_like
        Magnitudes.
    error : float or array_like, optional
        Magnitude errors; converted as ``counts * error / 1.0857`` (the zero-point
        uncertainty is not removed).
    magzp : float
        Zero point (mag).
    clrcoeff, colour : float, optional
        Colour term, as in :func:`counts_to_mag`.

    Returns
    -------
    counts, counts_err : float or numpy.ndarray
    """
    _check("mag_to_counts", mag=mag, error=error, colour=colour)
    scalar = np.ndim(mag) == 0
    m = _arr(mag)
    if colour is not None:
        if clrcoeff is None:
            raise InvalidParameterError("a colour was given but no clrcoeff")
        m = m - clrcoeff * _arr(colour)
    counts = 10 ** (-0.4 * (m - magzp))
    err = None if error is None else counts * _arr(error) / MAG_ERR_FACTOR
    return _ret(counts, err, scalar and np.ndim(colour) == 0)


def _check_unit(unit):
    unit = str(unit).lower()
    if unit not in _FLUX_UNITS:
        raise InvalidParameterError(f"unknown flux unit {unit!r}; expected one of {_FLUX_UNITS}")
    return unit


_JY = {"jy": 1e-23, "mjy": 1e-26, "ujy": 1e-29}  # erg/s/cm2/Hz per unit


def mag_to_flux(mag, error=None, *, wavelength, unit="flam"):
    """Convert AB magnitudes to flux densities.

    Parameters
    ----------
    mag : float or array_like
        AB magnitudes.
    error : float or array_like, optional
        Magnitude errors.
    wavelength : float
        Effective wavelength in Angstrom (see :data:`ZTF_WAVELENGTHS`); used for 'flam'.
    unit : {'flam', 'fnu', 'jy', 'mjy', 'ujy'}, default 'flam'
        'flam': erg s^-1 cm^-2 A^-1; 'fnu': erg s^-1 cm^-2 Hz^-1; 'jy', 'mjy', 'ujy':
        Jansky, milli- and micro-Jansky.

    Returns
    -------
    flux, flux_err : float or numpy.ndarray
    """
    _check("mag_to_flux", mag=mag, error=error)
    unit = _check_unit(unit)
    scalar = np.ndim(mag) == 0
    m = _arr(mag)
    if unit == "flam":
        flux = 10 ** (-0.4 * (m + 2.406)) / float(wavelength) ** 2
    else:
        flux = 10 ** (-0.4 * (m + 48.6))
        if unit in _JY:
            flux = flux / _JY[unit]
    err = None if error is None else flux * _arr(error) / MAG_ERR_FACTOR
    return _ret(flux, err, scalar)


def flux_to_mag(flux, error=None, *, wavelength, unit="flam"):
    """Convert flux densities to AB magnitudes; inverse of :func:`mag_to_flux`.

    Parameters
    ----------
    flux : float or array_like
        Flux densities in ``unit``; non-positive values give NaN.
    error : float or array_like, optional
        Flux errors, same unit.
    wavelength : float
        Effective wavelength in Angstrom (used for 'flam').
    unit : {'flam', 'fnu', 'jy', 'mjy', 'ujy'}, default 'flam'

    Returns
    -------
    mag, magerr : float or numpy.ndarray
    """
    _check("flux_to_mag", flux=flux, error=error)
    unit = _check_unit(unit)
    scalar = np.ndim(flux) == 0
    f = _arr(flux)
    if unit == "flam":
        # m = -2.5 log10(f * lambda^2) - 2.406
        zp = -2.406 - 5 * np.log10(float(wavelength))
    elif unit == "fnu":
        zp = -48.6
    else:
        zp = -48.6 - 2.5 * np.log10(_JY[unit])
    mag, magerr = counts_to_mag(f, error, magzp=zp)
    return _ret(mag, magerr, scalar)


def _flux_per_count(magzp, wavelength, unit, clrcoeff, colour):
    """Flux density of one count (DN): the linear factor between counts and flux."""
    if colour is not None and clrcoeff is None:
        raise InvalidParameterError("a colour was given but no clrcoeff")
    mag_one = magzp if colour is None else magzp + clrcoeff * _arr(colour)
    return mag_to_flux(mag_one, None, wavelength=wavelength, unit=unit)[0]


def counts_to_flux(counts, error=None, *, magzp, wavelength, unit="flam", clrcoeff=None,
                   colour=None):
    """Convert counts (DN) to flux densities through the zero point.

    The conversion is linear, so negative counts (forced photometry on faint sources)
    give negative fluxes rather than NaN: ``flux = counts * f(magzp)`` with ``f(m)`` the
    flux density of an AB magnitude ``m``.

    Parameters
    ----------
    counts, error : float or array_like
        Counts and their errors, DN.
    magzp : float
        Zero point (mag).
    wavelength : float
        Effective wavelength, Angstrom.
    unit : {'flam', 'fnu', 'jy', 'mjy', 'ujy'}, default 'flam'
    clrcoeff, colour : float, optional
        Colour term, as in :func:`counts_to_mag`.

    Returns
    -------
    flux, flux_err : float or numpy.ndarray
        The error is the counts error scaled (the zero-point uncertainty is not included).
    """
    _check("counts_to_flux", counts=counts, error=error, colour=colour)
    unit = _check_unit(unit)
    scalar = np.ndim(counts) == 0 and np.ndim(colour) == 0
    factor = _flux_per_count(magzp, wavelength, unit, clrcoeff, colour)
    flux = _arr(counts) * factor
    err = None if error is None else _arr(error) * factor
    return _ret(flux, err, scalar)


def flux_to_counts(flux, error=None, *, magzp, wavelength, unit="flam", clrcoeff=None,
                   colour=None):
    """Convert flux densities to counts (DN); inverse of :func:`counts_to_flux` (linear).

    Parameters
    ----------
    flux, error : float or array_like
        Flux densities and errors in ``unit``.
    magzp : float
        Zero point (mag).
    wavelength : float
        Effective wavelength, Angstrom.
    unit : {'flam', 'fnu', 'jy', 'mjy', 'ujy'}, default 'flam'
    clrcoeff, colour : float, optional
        Colour term.

    Returns
    -------
    counts, counts_err : float or numpy.ndarray
    """
    _check("flux_to_counts", flux=flux, error=error, colour=colour)
    unit = _check_unit(unit)
    scalar = np.ndim(flux) == 0 and np.ndim(colour) == 0
    factor = _flux_per_count(magzp, wavelength, unit, clrcoeff, colour)
    counts = _arr(flux) / factor
    err = None if error is None else _arr(error) / factor
    return _ret(counts, err, scalar)
