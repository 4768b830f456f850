"""Validation of the inputs of the array-level functions (one rule, one place).

Every level-1 function checks its inputs here, so they all accept the same things and fail
the same way, with a :mod:`ztfimg.errors` class whose message says what was expected, what
was found and what to do.

The broadcasting rule
    A scalar is used for every position; arrays must have exactly the same length.
    ``x=[1, 2]`` with ``y=[3]`` is a :class:`~ztfimg.errors.ShapeMismatchError` naming
    both lengths - never numpy's silent broadcast of a 1-element array.

Units
    Pixel quantities (positions, radii) are plain numbers in pixels or astropy
    Quantities in ``u.pix``; radii may also be angles (arcsec, arcmin, deg) converted with
    a pixel scale in arcsec/pixel (ZTF: 1.012, header ``PIXSCALE``). Sky positions are
    degrees, angle Quantities or a ``SkyCoord``.

astropy is imported only when a Quantity or a SkyCoord is actually passed.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .errors import InvalidParameterError, ShapeMismatchError

__all__ = ["as_positions", "as_radii", "as_annulus", "as_gain", "as_rms", "as_sky",
           "as_per_position", "as_numbers", "check_same_shape", "as_bool", "as_choice",
           "as_number", "as_shape"]

_MAX_SHOWN = 60


# --------------------------------------------------------------------------- helpers
def _found(value):
    """Short description of what was passed, for error messages."""
    if value is None:
        return "None"
    if isinstance(value, (str, bytes)):
        return f"the string {value!r:.{_MAX_SHOWN}}"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return f"{type(value).__name__} {text}"


def _is_quantity(value):
    return hasattr(value, "unit") and hasattr(value, "to_value")


def _maybe_quantity(value):
    """A list/tuple of Quantities as one Quantity (numpy would silently drop the units)."""
    if isinstance(value, (list, tuple)) and any(_is_quantity(v) for v in value):
        import astropy.units as u

        try:
            return u.Quantity(value)
        except (TypeError, ValueError, u.UnitsError) as exc:
            raise InvalidParameterError(
                f"a sequence mixing values with different or no units ({_found(value)}): "
                f"{exc}; give plain numbers or one Quantity") from None
    return value


def _float_values(value, name, expected):
    """``value`` as a float64 array of ndim 0 or 1 (a new array), or InvalidParameterError.

    Rejects None, strings, booleans, complex, non-numeric and 2-D input. NaN is kept.
    Quantities must be converted before.
    """
    if value is None or isinstance(value, (str, bytes)):
        raise InvalidParameterError(f"{name} must be {expected}; got {_found(value)}")
    if isinstance(value, (pd.Series, pd.Index)):
        kind = value.dtype.kind
        if kind == "b" or not pd.api.types.is_numeric_dtype(value.dtype):
            raise InvalidParameterError(
                f"{name} must be {expected}; got a {type(value).__name__} of dtype "
                f"{value.dtype}")
        arr = value.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(value)
        kind = arr.dtype.kind
        if kind == "O":
            flat = arr.ravel()
            if any(isinstance(v, (str, bytes, bool, np.bool_)) for v in flat):
                raise InvalidParameterError(f"{name} must be {expected}; got {_found(value)}")
            try:
                arr = np.array([np.nan if v is None or v is pd.NA else v for v in flat],
                               dtype=np.float64).reshape(arr.shape)
            except (TypeError, ValueError):
                raise InvalidParameterError(
                    f"{name} must be {expected}; got {_found(value)}") from None
        elif kind not in "iuf":
            what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "strings"}
            raise InvalidParameterError(
                f"{name} must be {expected}; got {what.get(kind, f'dtype {arr.dtype}')} "
                f"({_found(value)})")
    if arr.ndim > 1:
        raise InvalidParameterError(
            f"{name} must be {expected}; got an array of shape {arr.shape} (flatten it, or "
            "pass one row/column)")
    return np.array(arr, dtype=np.float64, copy=True)


def as_numbers(value, *, name="value"):
    """``value`` as a float64 array of any shape (a new array), for value conversions.

    Parameters
    ----------
    value : float, array_like or pandas.Series
        Numbers (NaN allowed).
    name : str, optional
        Name used in messages.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``value`` (0-d for a scalar).

    Raises
    ------
    InvalidParameterError
        None, strings, booleans, complex or non-numeric input.
    """
    expected = "a number or an array of numbers"
    if value is None or isinstance(value, (str, bytes)):
        raise InvalidParameterError(f"{name} must be {expected}; got {_found(value)}")
    if _is_quantity(value):
        raise InvalidParameterError(f"{name} must be plain numbers in the documented unit; "
                                    f"got a Quantity in {value.unit}")
    if isinstance(value, (pd.Series, pd.Index)):
        if value.dtype.kind == "b" or not pd.api.types.is_numeric_dtype(value.dtype):
            raise InvalidParameterError(f"{name} must be {expected}; got a "
                                        f"{type(value).__name__} of dtype {value.dtype}")
        return value.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        if arr.dtype.kind == "O":
            try:
                return np.array(arr, dtype=np.float64)
            except (TypeError, ValueError):
                pass
        raise InvalidParameterError(f"{name} must be {expected}; got {_found(value)}")
    return np.array(arr, dtype=np.float64, copy=True)


def as_bool(value, name):
    """``value`` as a bool: True/False (or numpy bools, 0 and 1), else the package's error.

    Parameters
    ----------
    value : bool
    name : str
        Parameter name, for the message.

    Raises
    ------
    InvalidParameterError
        Anything else (an array, a string ...): its truth would be ambiguous.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise InvalidParameterError(f"{name} must be True or False; got {_found(value)}")


def as_choice(value, name, choices):
    """``value`` when it is one of the strings ``choices``, else the package's error."""
    choices = (choices,) if isinstance(choices, str) else tuple(choices) if np.iterable(
        choices) else (choices,)
    if isinstance(value, str) and value in choices:
        return value
    raise InvalidParameterError(f"{name} must be one of {tuple(choices)}; got {_found(value)}")


def as_number(value, name, unit="", *, positive=False):
    """A finite plain number (``positive``: > 0), else the package's error.

    Parameters
    ----------
    value : float
    name : str
        Parameter name, for the message.
    unit : str, optional
        Unit, for the message.
    positive : bool, default False

    Returns
    -------
    float
    """
    what = "a positive" if positive else "a finite"
    return _one_number(value, name, f"{what} number{f' ({unit})' if unit else ''}", positive)


def as_shape(shape, *, name="shape", minimum=1):
    """An image shape ``(rows, columns)`` as two ints, each at least ``minimum``.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``: integers (Python or numpy) or whole floats (``3080.0``).
    name : str, default 'shape'
        Parameter name, for the message.
    minimum : int, default 1
        Smallest side allowed, pixels.

    Returns
    -------
    (int, int)

    Raises
    ------
    InvalidParameterError
        Not two whole numbers (a string, a bool, a fraction ...), or a side below
        ``minimum``.

    Examples
    --------
    >>> as_shape((3080.0, 3072))
    (3080, 3072)
    """
    try:
        sides = None if isinstance(shape, (str, bytes, dict)) else list(shape)
    except TypeError:
        sides = None
    ok = sides is not None and len(sides) == 2 and all(
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
        and np.isfinite(v) and float(v).is_integer() for v in sides)
    if not ok:
        raise InvalidParameterError(f"{name} must be (rows, columns), two whole numbers; "
                                    f"got {_found(shape)}")
    ny, nx = (int(v) for v in sides)
    if min(ny, nx) < minimum:
        need = "positive" if minimum == 1 else f"at least {minimum}x{minimum} pixels"
        raise InvalidParameterError(f"{name} must be {need}; got {(ny, nx)}")
    return ny, nx


def check_same_shape(context="values", **arrays):
    """The broadcasting rule for value arrays: plain numbers go with anything, arrays must
    have the same shape (never numpy's stretching of a length-1 or a smaller axis).

    Parameters
    ----------
    context : str, optional
        What is being computed, for the message.
    **arrays : numpy.ndarray or None
        Arrays by name (None entries are ignored).

    Raises
    ------
    ShapeMismatchError
        Two non-scalar arrays differ in shape.
    """
    shapes = {k: np.shape(v) for k, v in arrays.items() if v is not None and np.ndim(v) > 0}
    if len(set(shapes.values())) > 1:
        detail = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise ShapeMismatchError(f"{context}: arrays of different shapes ({detail}); give one "
                                 "value per element, or a plain number for all")


def _names(name, n):
    parts = [p.strip() for p in str(name).split(",")]
    if len(parts) == n and all(parts):
        return parts
    return [f"{name}[{k}]" for k in range(n)]


def _broadcast(arrays, names, context):
    """Apply the broadcasting rule to ndim-0/1 arrays: (list of 1-D arrays, scalar)."""
    sizes = [a.size for a in arrays if a.ndim == 1]
    if not sizes:
        return [a.reshape(1) for a in arrays], True
    n = sizes[0]
    if any(s != n for s in sizes):
        detail = " and ".join(f"{nm} has {a.size} value{'s' if a.size != 1 else ''}"
                              for a, nm in zip(arrays, names) if a.ndim == 1)
        raise ShapeMismatchError(
            f"{context}: arrays must have the same length, but {detail}; give "
            f"arrays of equal length (a plain number is repeated for every position, a "
            f"1-element array is not)")
    return [np.full(n, a[()]) if a.ndim == 0 else a for a in arrays], False


def _pixel_scale(pixel_scale):
    """arcsec per pixel as a positive float."""
    if _is_quantity(pixel_scale):
        import astropy.units as u

        try:
            pixel_scale = pixel_scale.to_value(u.arcsec / u.pix)
        except u.UnitsError:
            try:
                pixel_scale = pixel_scale.to_value(u.arcsec)
            except u.UnitsError:
                raise InvalidParameterError(
                    f"pixel_scale must be arcsec per pixel (a number, or a Quantity in "
                    f"arcsec/pix); got {pixel_scale!r}") from None
    if isinstance(pixel_scale, (bool, np.bool_, str, bytes)) or np.ndim(pixel_scale) != 0:
        raise InvalidParameterError(
            f"pixel_scale must be one number, arcsec per pixel (ZTF: 1.012); got "
            f"{_found(pixel_scale)}")
    try:
        scale = float(pixel_scale)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"pixel_scale must be a number, arcsec per pixel; got {_found(pixel_scale)}") from None
    if not (np.isfinite(scale) and scale > 0):
        raise InvalidParameterError(f"pixel_scale must be finite and > 0 arcsec/pixel; got {scale}")
    return scale


def _to_pixels(value, pixel_scale, name, expected):
    """Numbers (pixels) or a Quantity in pix / an angle -> float64 array in pixels."""
    value = _maybe_quantity(value)
    if not _is_quantity(value):
        return _float_values(value, name, expected)
    import astropy.units as u

    unit = value.unit
    if unit.is_equivalent(u.pix) or unit.is_equivalent(u.dimensionless_unscaled):
        target = u.pix if unit.is_equivalent(u.pix) else u.dimensionless_unscaled
        return _float_values(np.asarray(value.to_value(target)), name, expected)
    if unit.is_equivalent(u.arcsec):
        if pixel_scale is None:
            raise InvalidParameterError(
                f"{name} is an angle ({value!r:.{_MAX_SHOWN}}); converting it to pixels needs "
                f"the pixel scale: pass pixel_scale= (arcsec/pixel, ZTF: 1.012, header "
                f"PIXSCALE) or give {name} in pixels")
        scale = _pixel_scale(pixel_scale)
        return _float_values(np.asarray(value.to_value(u.arcsec)), name, expected) / scale
    raise InvalidParameterError(
        f"{name} must be in pixels (a number or u.pix) or an angle (arcsec, arcmin, deg); "
        f"got a Quantity in {unit}")


# --------------------------------------------------------------------------- positions
def as_positions(x, y, *, name="x, y"):
    """Validate pixel positions and apply the broadcasting rule.

    Parameters
    ----------
    x, y : float, array_like, pandas.Series or astropy.units.Quantity
        Positions, 0-based pixels (``x`` = column): numbers or 1-D arrays, or Quantities
        in ``u.pix``. A scalar is repeated for every position of the other; two arrays
        must have the same length. NaN and inf are kept (callers flag them).
    name : str, optional
        The names used in messages, comma-separated. Default ``"x, y"``.

    Returns
    -------
    xs, ys : numpy.ndarray
        float64, 1-D, same length (new arrays: the inputs are never shared or modified).
    scalar : bool
        True when both inputs were scalars (the arrays then have length 1).

    Raises
    ------
    InvalidParameterError
        None, strings, booleans, non-numeric, 2-D input, or a Quantity that is not pixels.
    ShapeMismatchError
        Two arrays of different lengths (the message gives both lengths).

    Examples
    --------
    >>> xs, ys, scalar = as_positions([1.0, 2.0], 5)
    >>> ys.tolist(), scalar
    ([5.0, 5.0], False)
    """
    nx, ny = _names(name, 2)
    arrays = []
    for value, nm in ((x, nx), (y, ny)):
        value = _maybe_quantity(value)
        if _is_quantity(value):
            import astropy.units as u

            if not (value.unit.is_equivalent(u.pix)
                    or value.unit.is_equivalent(u.dimensionless_unscaled)):
                raise InvalidParameterError(
                    f"{nm} must be pixel positions (numbers or u.pix); got a Quantity in "
                    f"{value.unit}; convert sky positions to pixels with the image WCS first")
        arrays.append(_to_pixels(value, None, nm, "a number or a 1-D array of pixel positions"))
    (xs, ys), scalar = _broadcast(arrays, (nx, ny), name)
    return xs, ys, scalar


def as_per_position(values, n, *, name="values"):
    """One value per position, with the broadcasting rule.

    Parameters
    ----------
    values : float or array_like
        A number (used for every position) or a 1-D array of exactly ``n`` values.
    n : int
        Number of positions.
    name : str, optional
        Name used in messages. Default ``"values"``.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n,)`` (a new array).

    Raises
    ------
    InvalidParameterError
        None, strings, non-numeric or 2-D ``values``.
    ShapeMismatchError
        An array whose length is not ``n``.
    """
    arr = _float_values(values, name, "a number or a 1-D array of numbers")
    if arr.ndim == 0:
        return np.full(int(n), arr[()])
    if arr.size != n:
        raise ShapeMismatchError(
            f"{name} has {arr.size} values but there are {n} positions; give one value per "
            f"position or a plain number for all")
    return arr


# --------------------------------------------------------------------------- radii
def as_radii(radius, *, pixel_scale=None, name="radius"):
    """Validate aperture radii and convert them to pixels.

    Parameters
    ----------
    radius : float, sequence of float or astropy.units.Quantity
        Radius or radii: numbers (pixels), a Quantity in ``u.pix``, or an angle (arcsec,
        arcmin, deg ...) converted with ``pixel_scale``. Each must be finite and > 0.
    pixel_scale : float or astropy.units.Quantity, optional
        Pixel scale, arcsec per pixel (ZTF: 1.012, header ``PIXSCALE``); needed only for
        angular radii. Default None.
    name : str, optional
        Name used in messages. Default ``"radius"``.

    Returns
    -------
    radii : numpy.ndarray
        float64, 1-D, pixels (a new array).
    scalar : bool
        True when ``radius`` was one number (``radii`` then has length 1).

    Raises
    ------
    InvalidParameterError
        Empty, 2-D, non-numeric, non-finite or <= 0 radii; an angle without
        ``pixel_scale``; a Quantity that is neither pixels nor an angle.

    Examples
    --------
    >>> import astropy.units as u
    >>> as_radii(2.024 * u.arcsec, pixel_scale=1.012)
    (array([2.]), True)
    """
    r = _to_pixels(radius, pixel_scale, name, "a number or a 1-D list of radii in pixels")
    scalar = r.ndim == 0
    r = np.atleast_1d(r)
    if r.size == 0:
        raise InvalidParameterError(f"{name} must hold at least one radius; got an empty list")
    bad = ~np.isfinite(r) | (r <= 0)
    if bad.any():
        raise InvalidParameterError(
            f"{name} must be finite and > 0 pixels; got {r[bad].tolist()[:5]} "
            f"(from {_found(radius)})")
    return r, scalar


def as_annulus(bkgann, *, pixel_scale=None):
    """Validate a sky annulus ``(inner, outer)`` and convert it to pixels.

    Parameters
    ----------
    bkgann : (float, float), astropy.units.Quantity or None
        Inner and outer radius: numbers (pixels), Quantities in ``u.pix`` or angles
        (converted with ``pixel_scale``), one 2-element Quantity or a pair of them;
        ``0 <= inner < outer``. None means no annulus.
    pixel_scale : float or astropy.units.Quantity, optional
        Pixel scale, arcsec per pixel; needed only for angles. Default None.

    Returns
    -------
    (float, float) or None
        ``(inner, outer)`` in pixels, or None.

    Raises
    ------
    InvalidParameterError
        Not two values, non-finite values, ``inner < 0`` or ``inner >= outer``, an angle
        without ``pixel_scale``.

    Examples
    --------
    >>> as_annulus((8, 13))
    (8.0, 13.0)
    """
    if bkgann is None:
        return None
    expected = "(inner, outer) radii in pixels"
    if isinstance(bkgann, (list, tuple)) and len(bkgann) == 2:
        vals = [_to_pixels(v, pixel_scale, "bkgann", expected) for v in bkgann]
        vals = np.array(vals) if all(v.ndim == 0 for v in vals) else np.zeros(0)
    else:
        vals = _to_pixels(bkgann, pixel_scale, "bkgann", expected)
    if vals.shape != (2,):
        raise InvalidParameterError(
            f"bkgann must be {expected} (two numbers); got {_found(bkgann)}")
    rin, rout = float(vals[0]), float(vals[1])
    if not (np.isfinite(rin) and np.isfinite(rout)) or rin < 0 or rin >= rout:
        raise InvalidParameterError(
            f"bkgann must satisfy 0 <= inner < outer (pixels); got inner={rin:g}, "
            f"outer={rout:g}; swap them or widen the annulus")
    return rin, rout


# --------------------------------------------------------------------------- noise
def _one_number(value, name, expected, positive=True):
    """The one rule for a scalar parameter: a finite number (``positive``: > 0)."""
    if (value is None or isinstance(value, (bool, np.bool_, str, bytes))
            or np.ndim(value) != 0):
        raise InvalidParameterError(f"{name} must be {expected}; got {_found(value)}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be {expected}; got {_found(value)}") from None
    if not (np.isfinite(out) and (out > 0 or not positive)):
        raise InvalidParameterError(f"{name} must be {expected}; got {out!r}")
    return out


def as_gain(gain):
    """Validate a detector gain.

    Parameters
    ----------
    gain : float or None
        Gain in e-/DN (ZTF header ``GAIN``, ~6), or None (no Poisson term).

    Returns
    -------
    float or None

    Raises
    ------
    InvalidParameterError
        Not one finite number > 0.

    Examples
    --------
    >>> as_gain(6), as_gain(None)
    (6.0, None)
    """
    if gain is None:
        return None
    return _one_number(gain, "gain", "a finite number > 0 (e-/DN) or None")


def as_rms(rms, shape=None, *, name="rms"):
    """Validate a sky noise: one number or a per-pixel map.

    Parameters
    ----------
    rms : float, numpy.ndarray or None
        1-sigma noise per pixel, data units: a finite number > 0, or a 2-D map of finite
        values >= 0 (pixels with 0 carry no noise information; callers decide). None is
        returned as None (callers then estimate the noise).
    shape : tuple of int, optional
        Shape the map must have (the data's). Default None (any 2-D shape).
    name : str, optional
        Name used in messages (e.g. ``"err"``). Default ``"rms"``.

    Returns
    -------
    float, numpy.ndarray or None
        The number as a float, or the map as a numpy array (not copied; never modified).

    Raises
    ------
    InvalidParameterError
        A number that is not finite and > 0; a map that is not 2-D, not real-valued, or
        has non-finite or negative pixels.
    ShapeMismatchError
        A map whose shape is not ``shape``.

    Examples
    --------
    >>> as_rms(5.8)
    5.8
    """
    if rms is None:
        return None
    if isinstance(rms, (str, bytes)) or _is_quantity(rms):
        raise InvalidParameterError(
            f"{name} must be a number > 0 or a 2-D map, in data units (plain numbers); got "
            f"{_found(rms)}")
    if np.ndim(rms) == 0:
        return _one_number(rms, name, "a finite number > 0 (data units) or a 2-D map")
    arr = np.asarray(rms)
    if arr.dtype.kind not in "iuf":
        raise InvalidParameterError(f"the {name} map must be real numbers; got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidParameterError(
            f"{name} must be a number or a 2-D map (the data's shape); got an array of shape "
            f"{arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ShapeMismatchError(
            f"{name} map has shape {arr.shape} but data has shape {tuple(shape)}; they must "
            f"match")
    if arr.size == 0:
        return arr
    # two reductions and no temporaries (a NaN makes the minimum NaN, an inf the maximum
    # inf); the pixels are counted only to word the error
    lo = arr.min()
    if arr.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(arr.max())):
        nbad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InvalidParameterError(
            f"the {name} map has {nbad} non-finite pixels; give them a finite value and "
            f"exclude those pixels with the mask instead")
    if lo < 0:
        raise InvalidParameterError(
            f"the {name} map has negative pixels (min {float(lo)}); a noise is >= 0")
    return arr


# --------------------------------------------------------------------------- sky
def _sky_values(value, name, allow_hourangle):
    value = _maybe_quantity(value)
    if _is_quantity(value):
        import astropy.units as u

        if not value.unit.is_equivalent(u.deg):
            raise InvalidParameterError(
                f"{name} must be an angle (degrees as numbers, or a Quantity in deg, rad, "
                f"arcmin{', hourangle' if allow_hourangle else ''}); got a Quantity in "
                f"{value.unit}")
        if not allow_hourangle and value.unit == u.hourangle:
            raise InvalidParameterError(
                f"{name} must be an angle in deg, rad or arcmin (hourangle is for right "
                f"ascension only); got a Quantity in hourangle")
        value = np.asarray(value.to_value(u.deg))
    return _float_values(value, name, "degrees (a number or a 1-D array), an angle "
                                      "Quantity, or a SkyCoord as ra with dec=None")


def _is_coordinate(value):
    mod = getattr(type(value), "__module__", "") or ""
    if not mod.startswith("astropy.coordinates"):
        return False
    from astropy.coordinates import BaseCoordinateFrame, SkyCoord

    return isinstance(value, (SkyCoord, BaseCoordinateFrame))


def as_sky(ra, dec=None):
    """Validate sky positions and convert them to ICRS degrees, with the broadcasting rule.

    Parameters
    ----------
    ra : float, array_like, astropy.units.Quantity or astropy.coordinates.SkyCoord
        Right ascension: degrees (numbers or a 1-D array), an angle Quantity (deg, rad,
        arcmin, arcsec, hourangle), or a ``SkyCoord`` / coordinate frame (then ``dec``
        must be None; converted to ICRS).
    dec : float, array_like or astropy.units.Quantity, optional
        Declination: degrees or an angle Quantity (not hourangle). Required unless ``ra``
        is a SkyCoord. Values are not range-checked (callers treat ``|dec| > 90`` like
        NaN).

    Returns
    -------
    ra_deg, dec_deg : numpy.ndarray
        float64, 1-D, same length, degrees (new arrays).
    scalar : bool
        True when the input was one position.

    Raises
    ------
    InvalidParameterError
        None, strings (parse sexagesimal with ``SkyCoord(..., unit=(u.hourangle, u.deg))``
        first), non-angle Quantities, a SkyCoord together with ``dec``, or ``dec`` missing.
    ShapeMismatchError
        ``ra`` and ``dec`` arrays of different lengths.

    Examples
    --------
    >>> import astropy.units as u
    >>> ra, dec, scalar = as_sky(np.pi * u.rad, 0.5 * u.deg)
    >>> ra.tolist(), dec.tolist(), scalar
    ([180.0], [0.5], True)
    """
    if _is_coordinate(ra):
        if dec is not None:
            raise InvalidParameterError(
                f"ra is a SkyCoord, which already holds the declination, but got also "
                f"dec={_found(dec)}; pass dec=None")
        from astropy.coordinates import SkyCoord

        c = ra if isinstance(ra, SkyCoord) else SkyCoord(ra)
        c = c.icrs
        ra_deg = np.array(np.atleast_1d(c.ra.deg), dtype=np.float64)
        dec_deg = np.array(np.atleast_1d(c.dec.deg), dtype=np.float64)
        if ra_deg.ndim != 1:
            raise InvalidParameterError(
                f"a SkyCoord of positions must be 0-d or 1-D; got shape {c.shape}")
        return ra_deg, dec_deg, bool(c.isscalar)
    if ra is None:
        raise InvalidParameterError(
            "ra must be degrees, an angle Quantity or a SkyCoord; got None")
    if dec is None:
        raise InvalidParameterError(
            f"dec is missing: give ra and dec (degrees or angle Quantities), or a SkyCoord "
            f"as ra; got ra={_found(ra)} and dec=None")
    ras = _sky_values(ra, "ra", True)
    decs = _sky_values(dec, "dec", False)
    (ras, decs), scalar = _broadcast([ras, decs], ("ra", "dec"), "ra, dec")
    return ras, decs, scalar

