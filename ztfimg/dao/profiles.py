"""Building blocks of the DAOPHOT II model: analytic profiles, spatial weights, table kernel.

The model (see :mod:`ztfimg.dao.model`) is ``BRIGHT * A(dx, dy) + sum_k c_k(x, y) T_k``;
this module holds the pure functions behind its three ingredients, all on plain arrays:

* :func:`analytic_profile`: the analytic profile ``A``, averaged over the pixel;
* :func:`spatial_weights`: the weights ``c_k`` of the look-up tables at a frame position;
* :func:`keys_cubic_weights`: DAOPHOT's bicubic kernel that interpolates the tables ``T_k``.

Analytic profiles (DAOPHOT II ``PROFIL``; ``P1..P5`` are the file's parameters,
``x, y`` offsets in pixels; every profile is averaged over the pixel)
----------------------------------------------------------------------------------------
``GAUSSIAN`` (2 par.)
    ``exp(-ln2 [(x/P1)^2 + (y/P2)^2]) / (P1 P2)``: P1, P2 are the half widths
    at half maximum (HWHM) along x and y.  Integrated exactly with ``erf``
    (DAOPHOT uses Gauss-Legendre; the difference is < 1e-5 of the peak).
``MOFFAT15``, ``MOFFAT25``, ``MOFFAT35`` (3 par., beta = 1.5, 2.5, 3.5)
    ``(beta - 1) / (P1 P2) * [1 + a((x/P1)^2 + (y/P2)^2 + xy P3)]^-beta`` with
    ``a = 2^(1/beta) - 1`` so that P1, P2 are HWHMs; P3 is a cross term.
``LORENTZ`` (3 par.)
    ``1 / [1 + (x/P1)^2 + (y/P2)^2 + xy P3]``.
``PENNY1`` (4 par.)
    Gaussian core plus Lorentzian wings, the Gaussian may be tilted:
    ``P3 exp(-ln2 [r^2 + xy P4]) + (1 - P3) / (1 + r^2)``,
    ``r^2 = (x/P1)^2 + (y/P2)^2``.
``PENNY2`` (5 par.)
    Same, both components tilted independently:
    ``P3 exp(-ln2 [r^2 + xy P4]) + (1 - P3) / (1 + r^2 + xy P5)``.
Non-Gaussian profiles are pixel-averaged with a 4 x 4 point Gauss-Legendre
rule on every pixel (DAOPHOT lowers the number of points in the faint wings).

Spatial weights
---------------
Legendre polynomials of ``X = (x_1 - 1)/XPSF - 1``, ``Y = (y_1 - 1)/YPSF - 1``
for 1-based positions, i.e. ``X = x/XPSF - 1``, ``Y = y/YPSF - 1`` for 0-based
ones: ``[1]`` (NEXP=1), ``[1, X, Y]`` (3), ``+ [1.5X^2-0.5, XY, 1.5Y^2-0.5]``
(6), ``+ [X(5P2(X)-2)/3, P2(X)Y, XP2(Y), Y(5P2(Y)-2)/3]`` (10),
``P2(u)=1.5u^2-0.5``.  ``NEXP = 0`` (DAOPHOT ``VARIABLE = -1``: analytic only)
is accepted too.

Table interpolation
-------------------
Keys' cubic convolution kernel with a = -0.5: it passes through the table
values, so there is no spline pre-filter to apply, unlike
``scipy.ndimage.map_coordinates(order=3)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from ..errors import InvalidParameterError

__all__ = ["PROFILES", "analytic_profile", "spatial_weights", "keys_cubic_weights"]

#: Known analytic profiles and their number of parameters (DAOPHOT II).
PROFILES = {
    "GAUSSIAN": 2,
    "MOFFAT15": 3,
    "MOFFAT25": 3,
    "MOFFAT35": 3,
    "LORENTZ": 3,
    "PENNY1": 4,
    "PENNY2": 5,
}
_MOFFAT_BETA = {"MOFFAT15": 1.5, "MOFFAT25": 2.5, "MOFFAT35": 3.5}
_VALID_NEXP = (0, 1, 3, 6, 10)   # DAOPHOT spatial orders: none, constant, linear, quadratic, cubic
_LN2 = math.log(2.0)
# 4-point Gauss-Legendre rule on [-0.5, 0.5] (nodes, weights summing to 1)
_GL_NODES = np.array([-0.43056816, -0.16999052, 0.16999052, 0.43056816])
_GL_WEIGHTS = np.array([0.17392742, 0.32607258, 0.32607258, 0.17392742])


# ============================================================================ #
#  Analytic profiles                                                           #
# ============================================================================ #
def _gauss_pixel_1d(d, hwhm):
    """Integral of ``exp(-ln2 (t/hwhm)^2)`` over ``[d - 0.5, d + 0.5]``."""
    k = math.sqrt(_LN2) / hwhm
    a = np.abs(d)
    return (math.sqrt(math.pi) / (2.0 * k)) * (erfc(k * (a - 0.5)) - erfc(k * (a + 0.5)))


def _profile_point(label, params, x, y):
    """Analytic profile (not pixel-integrated) at offsets x, y."""
    p = params
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if label == "GAUSSIAN":
            return np.exp(-_LN2 * ((x / p[0]) ** 2 + (y / p[1]) ** 2)) / (p[0] * p[1])
        if label in _MOFFAT_BETA:
            beta = _MOFFAT_BETA[label]
            alpha = 2.0 ** (1.0 / beta) - 1.0
            den = 1.0 + alpha * ((x / p[0]) ** 2 + (y / p[1]) ** 2 + x * y * p[2])
            out = (beta - 1.0) / (p[0] * p[1]) * np.where(den > 0, den, 1.0) ** -beta
            return np.where(den > 0, out, 0.0)
        if label == "LORENTZ":
            den = 1.0 + (x / p[0]) ** 2 + (y / p[1]) ** 2 + x * y * p[2]
            return np.where(den > 0, 1.0 / np.where(den > 0, den, 1.0), 0.0)
        rsq = (x / p[0]) ** 2 + (y / p[1]) ** 2
        gauss = np.exp(-_LN2 * np.minimum(rsq + x * y * p[3], 1e3))
        if label == "PENNY1":
            lor = 1.0 / (1.0 + rsq)
        else:  # PENNY2
            den = 1.0 + rsq + x * y * p[4]
            lor = np.where(den > 0, 1.0 / np.where(den > 0, den, 1.0), 0.0)
        return p[2] * gauss + (1.0 - p[2]) * lor


def analytic_profile(label, params, dx, dy):
    """Pixel-integrated DAOPHOT analytic profile.

    Parameters
    ----------
    label : str
        One of :data:`PROFILES` (``"GAUSSIAN"``, ``"MOFFAT15"`` ...).
    params : sequence of float
        The NPAR profile parameters (P1, P2 are half widths at half maximum,
        pixels).
    dx, dy : array_like
        Offsets (pixels) of pixel centres from the star centre; broadcast.

    Returns
    -------
    ndarray
        Profile averaged over the unit pixel centred at each offset (the
        profile definitions are in the module docstring; no BRIGHT factor).

    Raises
    ------
    InvalidParameterError
        Unknown ``label`` or fewer than NPAR parameters.
    """
    label = str(label).upper()
    if label not in PROFILES:
        raise InvalidParameterError(f"unknown profile {label!r}; expected one of {', '.join(PROFILES)}")
    params = np.asarray(params, dtype=float)
    if params.size < PROFILES[label]:
        raise InvalidParameterError(f"{label} needs {PROFILES[label]} parameters, got {params.size}")
    dx = np.asarray(dx, dtype=float)
    dy = np.asarray(dy, dtype=float)
    if label == "GAUSSIAN":
        return (_gauss_pixel_1d(dx, params[0]) * _gauss_pixel_1d(dy, params[1])
                / (params[0] * params[1]))
    dx, dy = np.broadcast_arrays(dx, dy)
    out = np.zeros(dx.shape)
    for wy, uy in zip(_GL_WEIGHTS, _GL_NODES):
        for wx, ux in zip(_GL_WEIGHTS, _GL_NODES):
            out += (wx * wy) * _profile_point(label, params, dx + ux, dy + uy)
    return out


# ============================================================================ #
#  Spatial weights and table interpolation                                     #
# ============================================================================ #
def spatial_weights(x, y, nexp, xpsf, ypsf):
    """DAOPHOT spatial weights of the look-up tables.

    Parameters
    ----------
    x, y : array_like
        0-based frame positions (pixels), broadcast together.
    nexp : int
        0, 1, 3, 6 or 10.
    xpsf, ypsf : float
        The file's XPSF, YPSF (half the frame size, 1535.5 and 1539.5 for ZTF).

    Returns
    -------
    ndarray, shape ``(..., nexp)``
        ``[1, X, Y, 1.5X^2-0.5, XY, 1.5Y^2-0.5, X(5P2x-2)/3, P2x Y, X P2y,
        Y(5P2y-2)/3][:nexp]`` with ``X = x/xpsf - 1``, ``Y = y/ypsf - 1``
        (= ``(x_1 - 1)/XPSF - 1`` for 1-based ``x_1``).

    Raises
    ------
    InvalidParameterError
        ``nexp`` not in {0, 1, 3, 6, 10}.
    """
    if nexp not in _VALID_NEXP:
        raise InvalidParameterError(f"nexp must be one of {_VALID_NEXP}, got {nexp}")
    X = np.asarray(x, dtype=float) / xpsf - 1.0
    Y = np.asarray(y, dtype=float) / ypsf - 1.0
    X, Y = np.broadcast_arrays(X, Y)
    terms = [np.ones_like(X), X, Y]
    if nexp >= 6:
        p2x, p2y = 1.5 * X ** 2 - 0.5, 1.5 * Y ** 2 - 0.5
        terms += [p2x, X * Y, p2y]
        if nexp >= 10:
            terms += [X * (5.0 * p2x - 2.0) / 3.0, p2x * Y, X * p2y, Y * (5.0 * p2y - 2.0) / 3.0]
    return np.stack(terms[:nexp], axis=-1) if nexp else np.zeros(X.shape + (0,))


def keys_cubic_weights(t):
    """Weights of DAOPHOT's bicubic interpolation kernel (Keys, a = -0.5).

    Parameters
    ----------
    t : array_like
        Fractional position in [0, 1) between samples ``i`` and ``i + 1``.

    Returns
    -------
    ndarray, shape ``t.shape + (4,)``
        Weights of samples ``i - 1, i, i + 1, i + 2``.  They sum to 1 and the
        interpolant passes through the samples (no pre-filter needed).
    """
    t = np.asarray(t, dtype=float)
    t2, t3 = t * t, t * t * t
    return np.stack([0.5 * (-t3 + 2 * t2 - t),
                     0.5 * (3 * t3 - 5 * t2 + 2),
                     0.5 * (-3 * t3 + 4 * t2 + t),
                     0.5 * (t3 - t2)], axis=-1)
