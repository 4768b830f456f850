"""DAOPhot point-spread functions: read, evaluate, render and write IPAC ``*_sciimgdao.psf``.

The IPAC pipeline fits every ZTF science quadrant with DAOPHOT II and ships the
resulting PSF model as a small text file (``*_sciimgdao.psf``).  This module is
level 1 of ztfimg: it only needs numpy/scipy (and sep for exact apertures); it
knows nothing of images or headers.

The model (DAOPHOT II, Stetson 1987, PASP 99, 191)
--------------------------------------------------
A star of unit scale centred at frame position ``(x, y)`` puts, in a pixel
whose centre lies at offset ``(dx, dy)`` from the star (pixels)::

    P(dx, dy) = BRIGHT * A(dx, dy) + sum_k c_k(x, y) * T_k(2*dx + c, 2*dy + c)

* ``A`` is the analytic profile, integrated over the pixel (see below);
* ``T_k`` are the ``NEXP`` look-up tables of residuals, sampled every half
  pixel, centred at index ``c = (NPSF + 1)//2 - 1`` (0-based; 23 for ZTF's
  ``NPSF = 47``), interpolated with DAOPHOT's bicubic convolution kernel
  (Keys, a = -0.5: it passes through the table values, so there is no spline
  pre-filter to apply, unlike ``scipy.ndimage.map_coordinates(order=3)``);
* ``c_k`` are the spatial weights, Legendre polynomials of
  ``X = (x_1 - 1)/XPSF - 1``, ``Y = (y_1 - 1)/YPSF - 1`` for 1-based
  positions, i.e. ``X = x/XPSF - 1``, ``Y = y/YPSF - 1`` for 0-based ones:
  ``[1]`` (NEXP=1), ``[1, X, Y]`` (3), ``+ [1.5X^2-0.5, XY, 1.5Y^2-0.5]`` (6),
  ``+ [X(5P2(X)-2)/3, P2(X)Y, XP2(Y), Y(5P2(Y)-2)/3]`` (10), ``P2(u)=1.5u^2-0.5``.
  ``NEXP = 0`` (DAOPHOT ``VARIABLE = -1``: analytic only) is accepted too.
* the model is zero beyond the PSF radius ``(NPSF - 3)/4`` pixels (11 px for
  ZTF), where the tables can no longer be interpolated; DAOPHOT adds and
  subtracts stars within that radius only.

Flux scale: a fitted scale ``s`` is the magnitude ``PSFMAG - 2.5 log10(s)`` on a
25 mag zero point, so ``flux_DN = s * 10**(0.4*(25 - PSFMAG))``
(:attr:`DAOPhotReader.flux_scale`).  This reproduces IPAC ``psfcat`` fluxes.

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

Pixel convention
----------------
Public positions are **0-based**, x = column, y = row (``data[y, x]``), the
centre of the first pixel is (0, 0).  The file's ``XPSF``/``YPSF`` and the
spatial variables are 1-based; the conversion is done here.

File format (checked on real ZTF files)
---------------------------------------
Line 1, Fortran ``(1X, A8, 4I5, F9.3, F15.3, 2F9.1)``: label, NPSF, NPAR, NEXP,
NFRAC, PSFMAG, BRIGHT, XPSF, YPSF.  Line 2: NPAR parameters ``(1X, 6E13.6)``.
Then NEXP + NFRAC tables of NPSF x NPSF values, each starting on a new line,
``(1X, 6E13.6)``, x running fastest.  Fields are fixed-width and may touch
(``1.0E+00-2.4E+00``).

Examples
--------
>>> from ztfimg.dao import DAOPhotReader                      # doctest: +SKIP
>>> psf = DAOPhotReader("ztf_..._sciimgdao.psf")              # doctest: +SKIP
>>> stamp = psf.get_psf_at(1200.3, 800.7, size=23)            # doctest: +SKIP
>>> phot = psf.photometry(data, x, y, rms=12.0, gain=6.2)     # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
from scipy.special import erfc

from .errors import InvalidParameterError, MissingFileError, PSFFileError, ShapeMismatchError

__all__ = [
    "DAOPhotReader",
    "PROFILES",
    "read_psf_file",
    "parse_psf_string",
    "analytic_profile",
    "spatial_weights",
    "keys_cubic_weights",
    "psf_photometry",
]

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
_VALID_NEXP = (0, 1, 3, 6, 10)
_LN2 = math.log(2.0)
_FIELD = 13          # width of an E13.6 field
_PER_LINE = 6        # E13.6 fields per line
# 4-point Gauss-Legendre rule on [-0.5, 0.5] (nodes, weights summing to 1)
_GL_NODES = np.array([-0.43056816, -0.16999052, 0.16999052, 0.43056816])
_GL_WEIGHTS = np.array([0.17392742, 0.32607258, 0.32607258, 0.17392742])


# ============================================================================ #
#  Parsing and writing                                                         #
# ============================================================================ #
_FORTRAN_NOE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))([+-]\d{2,3})$")


def _ffloat(field, where):
    """Parse one Fortran real field (``E13.6``, ``F9.3`` ...).

    Accepts ``D`` exponents and the exponent-without-``E`` form Fortran uses
    for three-digit exponents (``1.000000+100``).  Raises PSFFileError naming
    ``where`` otherwise.
    """
    try:
        return float(field)
    except ValueError:
        pass
    s = field.strip().upper().replace("D", "E")
    try:
        return float(s)
    except ValueError:
        pass
    m = _FORTRAN_NOE.match(s)
    if m:
        return float(f"{m.group(1)}E{m.group(2)}")
    raise PSFFileError(f"DAOPhot PSF: cannot read a number from {field!r} ({where}).")


def _fint(field, name):
    try:
        return int(field)
    except ValueError:
        raise PSFFileError(
            f"DAOPhot PSF header: {name} must be an integer in its fixed-width field, "
            f"found {field!r}. Is this a DAOPHOT .psf file?") from None


def parse_psf_string(text, source="<string>"):
    """Parse the text of a DAOPhot PSF file.

    Parameters
    ----------
    text : str
        Whole file content.
    source : str, optional
        Name used in error messages (default ``"<string>"``).

    Returns
    -------
    dict
        Keys ``label`` (str), ``npsf``, ``npar``, ``nexp``, ``nfrac`` (int),
        ``psfmag`` (mag), ``bright`` (DN), ``xpsf``, ``ypsf`` (1-based pixels,
        as in the file), ``params`` (float ndarray of length NPAR) and
        ``tables`` (float ndarray of shape ``(NEXP, NPSF, NPSF)`` indexed
        ``[k, y, x]``).

    Raises
    ------
    PSFFileError
        Malformed or truncated file, unknown profile label, NPAR inconsistent
        with the label, NEXP not in {0, 1, 3, 6, 10}, or NFRAC != 0
        (fractional-pixel tables are not supported).
    """
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise PSFFileError(f"DAOPhot PSF {source}: the file is empty.")
    head = lines[0].rstrip()
    if len(head) < 71:
        raise PSFFileError(
            f"DAOPhot PSF {source}: header line is {len(head)} characters long, expected 71 "
            "(format 1X,A8,4I5,F9.3,F15.3,2F9.1); the file is truncated or not a DAOPHOT PSF.")
    label = head[1:9].strip().upper()
    if label not in PROFILES:
        raise PSFFileError(
            f"DAOPhot PSF {source}: unknown analytic profile label {label!r}; expected one of "
            f"{', '.join(PROFILES)}.")
    npsf = _fint(head[9:14], "NPSF")
    npar = _fint(head[14:19], "NPAR")
    nexp = _fint(head[19:24], "NEXP")
    nfrac = _fint(head[24:29], "NFRAC")
    psfmag = _ffloat(head[29:38], "PSFMAG")
    bright = _ffloat(head[38:53], "BRIGHT")
    xpsf = _ffloat(head[53:62], "XPSF")
    ypsf = _ffloat(head[62:71], "YPSF")
    if npar != PROFILES[label]:
        raise PSFFileError(
            f"DAOPhot PSF {source}: profile {label} has {PROFILES[label]} parameters, "
            f"the header says NPAR={npar}.")
    if nexp not in _VALID_NEXP:
        raise PSFFileError(
            f"DAOPhot PSF {source}: NEXP={nexp} is not a DAOPHOT spatial order; expected one of "
            "1, 3, 6, 10 (constant, linear, quadratic, cubic) or 0 (analytic only).")
    if nfrac != 0:
        raise PSFFileError(
            f"DAOPhot PSF {source}: NFRAC={nfrac}: fractional-pixel look-up tables are not "
            "supported by ztfimg (IPAC ZTF files have NFRAC=0).")
    if npsf < 5:
        raise PSFFileError(f"DAOPhot PSF {source}: NPSF={npsf} is too small (need >= 5).")
    if not (xpsf > 0 and ypsf > 0):
        raise PSFFileError(f"DAOPhot PSF {source}: XPSF, YPSF must be > 0, got {xpsf}, {ypsf}.")
    if len(lines) < 2:
        raise PSFFileError(f"DAOPhot PSF {source}: truncated after the header line (no parameters).")
    params = np.array(_read_fields(lines[1], npar, f"{source} line 2"), dtype=float)

    body = lines[2:]
    nval = npsf * npsf
    per_table = -(-nval // _PER_LINE)
    if nexp == 0:
        if any(s.strip() for s in body):
            raise PSFFileError(f"DAOPhot PSF {source}: NEXP=0 but look-up tables follow.")
        tables = np.zeros((0, npsf, npsf))
    else:
        continuous = -(-nexp * nval // _PER_LINE)
        if len(body) == nexp * per_table:       # DAOPHOT: each table starts a new line
            values = []
            for k in range(nexp):
                chunk = body[k * per_table:(k + 1) * per_table]
                values.extend(_read_block(chunk, nval, 2 + k * per_table + 1, source))
        elif len(body) == continuous:           # tolerated: tables written back to back
            values = _read_block(body, nexp * nval, 3, source)
        else:
            raise PSFFileError(
                f"DAOPhot PSF {source}: expected {nexp} table(s) of {npsf}x{npsf} values "
                f"({nexp * per_table} lines after the parameters), found {len(body)} lines; "
                "the file is truncated or corrupt.")
        tables = np.asarray(values, dtype=float).reshape(nexp, npsf, npsf)
    if not (np.all(np.isfinite(tables)) and np.all(np.isfinite(params))):
        raise PSFFileError(f"DAOPhot PSF {source}: non-finite parameter or table value.")
    return dict(label=label, npsf=npsf, npar=npar, nexp=nexp, nfrac=nfrac, psfmag=psfmag,
                bright=bright, xpsf=xpsf, ypsf=ypsf, params=params, tables=tables)


def _read_fields(line, count, where):
    """Read ``count`` E13.6 fields after the leading blank of ``line``."""
    need = 1 + _FIELD * count
    if len(line.rstrip()) < need:
        raise PSFFileError(
            f"DAOPhot PSF {where}: expected {count} fixed-width (13-character) numbers, "
            f"the line is too short: {line!r}. The file is truncated or corrupt.")
    return [_ffloat(line[1 + _FIELD * i:1 + _FIELD * (i + 1)], f"{where}, field {i + 1}")
            for i in range(count)]


def _read_block(lines, nval, first_lineno, source):
    values = []
    for i, line in enumerate(lines):
        count = min(_PER_LINE, nval - len(values))
        values.extend(_read_fields(line, count, f"{source} line {first_lineno + i}"))
    return values


def read_psf_file(path):
    """Read and parse a DAOPhot ``.psf`` file (see :func:`parse_psf_string`).

    Parameters
    ----------
    path : str or os.PathLike
        File name.

    Returns
    -------
    dict
        As :func:`parse_psf_string`.

    Raises
    ------
    MissingFileError
        The file does not exist.
    PSFFileError
        The file is malformed (see :func:`parse_psf_string`).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFileError(f"DAOPhot PSF file not found: {path!r}.")
    with open(path, "r", encoding="ascii", errors="replace") as fh:
        text = fh.read()
    return parse_psf_string(text, source=repr(path))


def _format_e13(values):
    return "".join(f"{v:13.6E}" for v in values)


# ============================================================================ #
#  Model building blocks                                                        #
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


def _as_positions(x, y, name="x, y"):
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    if x.ndim != 1 or y.ndim != 1:
        raise ShapeMismatchError(f"{name} must be scalars or 1-D arrays, got shapes {x.shape}, {y.shape}")
    if x.shape != y.shape:
        if x.size == 1:
            x = np.full(y.shape, x[0])
        elif y.size == 1:
            y = np.full(x.shape, y[0])
        else:
            raise ShapeMismatchError(f"{name} must have the same length, got {x.size} and {y.size}")
    return x, y


# ============================================================================ #
#  The PSF object                                                              #
# ============================================================================ #
class DAOPhotReader:
    """A DAOPHOT II point-spread function (IPAC ``*_sciimgdao.psf``).

    Parameters
    ----------
    psffile : str or os.PathLike
        Path of a DAOPhot ``.psf`` file.  Use :meth:`from_string`,
        :meth:`from_arrays` or :meth:`synthetic` for other sources.

    Attributes
    ----------
    label : str
        Analytic profile (``"GAUSSIAN"`` for ZTF).
    npsf : int
        Size of the look-up tables (half-pixel samples, 47 for ZTF).
    npar : int
        Number of analytic parameters.
    nexp : int
        Number of spatial terms / tables (1, 3, 6, 10; 3 for ZTF).
    nfrac : int
        Always 0 (fractional tables are not supported).
    psfmag : float
        Magnitude (25 mag zero point) of the PSF of unit scale.
    bright : float
        Central height (DN) of the analytic part of the unit-scale PSF.
    xpsf, ypsf : float
        The file's XPSF, YPSF (1-based frame centre minus one; 1535.5 and
        1539.5 for a ZTF quadrant).  The spatial variables vanish at the
        0-based position ``(xpsf, ypsf)``.
    params : ndarray
        The NPAR analytic parameters (GAUSSIAN: HWHM along x and y, pixels).
    tables : ndarray, shape (nexp, npsf, npsf)
        Look-up tables indexed ``[k, y, x]`` (DN, half-pixel sampling).
    filename : str or None
        Source file, if any.

    Raises
    ------
    MissingFileError, PSFFileError
        See :func:`read_psf_file`.

    Notes
    -----
    Stamps: :meth:`get_psf_at` and :meth:`get_psf_stamps` return pixel values
    (already integrated over the pixel) of a star of unit scale; multiply by
    ``flux / flux_scale`` to get DN.  A stamp of ``size`` pixels for a star at
    0-based ``(x, y)`` covers frame pixels ``x0 .. x0 + size - 1`` with
    ``x0 = floor(x + 0.5) - size // 2`` (same for y): the star sits in the
    central pixel ``size // 2``, at stamp position
    ``(size//2 + x - floor(x + 0.5), size//2 + y - floor(y + 0.5))``.

    Examples
    --------
    >>> psf = DAOPhotReader("ztf_20200924431759_000655_zr_c13_o_q3_sciimgdao.psf")  # doctest: +SKIP
    >>> psf.fwhm                                                     # doctest: +SKIP
    3.06
    """

    def __init__(self, psffile):
        self._setup(**read_psf_file(psffile))
        self.filename = os.fspath(psffile)

    # ------------------------------------------------------------------ #
    #  Constructors                                                        #
    # ------------------------------------------------------------------ #
    @classmethod
    def read(cls, psffile):
        """Read a DAOPhot ``.psf`` file (same as ``DAOPhotReader(psffile)``).

        Parameters
        ----------
        psffile : str or os.PathLike
            File name.

        Returns
        -------
        DAOPhotReader
        """
        return cls(psffile)

    @classmethod
    def from_string(cls, text):
        """Build from the text content of a DAOPhot ``.psf`` file.

        Parameters
        ----------
        text : str
            File content.

        Returns
        -------
        DAOPhotReader

        Raises
        ------
        PSFFileError
            Malformed text (see :func:`parse_psf_string`).
        """
        obj = cls.__new__(cls)
        obj._setup(**parse_psf_string(text))
        obj.filename = None
        return obj

    @classmethod
    def from_arrays(cls, label, params, tables, *, psfmag, bright, xpsf=1535.5, ypsf=1539.5):
        """Build from explicit values.

        Parameters
        ----------
        label : str
            Analytic profile, one of :data:`PROFILES`.
        params : sequence of float
            Its NPAR parameters (HWHM in pixels first).
        tables : array_like, shape (nexp, npsf, npsf) or (npsf, npsf)
            Look-up tables indexed ``[k, y, x]``, half-pixel sampled (DN);
            ``nexp`` in {0, 1, 3, 6, 10}, ``npsf`` odd.
        psfmag : float
            Magnitude of the unit-scale PSF on a 25 mag zero point.
        bright : float
            Central height of the analytic part (DN).
        xpsf, ypsf : float, optional
            Spatial normalisation (defaults: ZTF quadrant, 1535.5, 1539.5).

        Returns
        -------
        DAOPhotReader

        Raises
        ------
        InvalidParameterError
            Inconsistent values.
        """
        label = str(label).upper().strip()
        if label not in PROFILES:
            raise InvalidParameterError(f"unknown profile {label!r}; expected one of {', '.join(PROFILES)}")
        params = np.asarray(params, dtype=float).ravel()
        if params.size != PROFILES[label]:
            raise InvalidParameterError(f"{label} needs {PROFILES[label]} parameters, got {params.size}")
        tables = np.asarray(tables, dtype=float)
        if tables.ndim == 2:
            tables = tables[None]
        if tables.ndim != 3 or tables.shape[1] != tables.shape[2] or tables.shape[1] % 2 == 0 \
                or tables.shape[1] < 5:
            raise InvalidParameterError(
                f"tables must have shape (nexp, npsf, npsf) with npsf odd >= 5, got {tables.shape}")
        if tables.shape[0] not in _VALID_NEXP:
            raise InvalidParameterError(f"number of tables must be one of {_VALID_NEXP}, got {tables.shape[0]}")
        if not (np.all(np.isfinite(tables)) and np.all(np.isfinite(params))):
            raise InvalidParameterError("params and tables must be finite")
        if not (xpsf > 0 and ypsf > 0):
            raise InvalidParameterError(f"xpsf, ypsf must be > 0, got {xpsf}, {ypsf}")
        obj = cls.__new__(cls)
        obj._setup(label=label, npsf=tables.shape[1], npar=params.size, nexp=tables.shape[0],
                   nfrac=0, psfmag=float(psfmag), bright=float(bright), xpsf=float(xpsf),
                   ypsf=float(ypsf), params=params, tables=tables)
        obj.filename = None
        return obj

    @classmethod
    def synthetic(cls, hwhm=1.5, *, hwhm_y=None, npsf=47, nexp=3, psfmag=13.5, wings=0.05,
                  spatial=0.04, noise=0.002, xpsf=1535.5, ypsf=1539.5, seed=0):
        """A ZTF-like synthetic GAUSSIAN PSF for simulations.

        The analytic part is a pixel-integrated Gaussian; the tables hold
        zero-sum residuals: broader wings (table 0), an ellipticity changing
        along x (table 1) and a width changing along y (table 2), higher terms
        smaller again, plus smoothed random structure; every table has zero
        net flux.  BRIGHT is chosen so that the whole model sums to
        ``flux_scale`` everywhere in the frame.

        Parameters
        ----------
        hwhm : float, optional
            Half width at half maximum along x (pixels, default 1.5 i.e. a
            FWHM of 3 px ~ 3", typical ZTF seeing).
        hwhm_y : float, optional
            HWHM along y (default: ``hwhm``).
        npsf : int, optional
            Table size (odd; default 47 like ZTF: PSF radius 11 px).
        nexp : int, optional
            Spatial order: 1, 3, 6 or 10 terms (default 3 like ZTF).
        psfmag : float, optional
            PSFMAG (default 13.5 mag).
        wings : float, optional
            Fraction of the light moved from the core to wider wings (default 0.05).
        spatial : float, optional
            Amplitude of the spatial terms (fraction, default 0.04).
        noise : float, optional
            RMS of the smoothed random residuals relative to BRIGHT (default 0.002).
        xpsf, ypsf : float, optional
            Frame half size (default ZTF quadrant 1535.5, 1539.5).
        seed : int or None, optional
            Random seed (default 0: reproducible).

        Returns
        -------
        DAOPhotReader
        """
        from scipy.ndimage import gaussian_filter

        hwhm_y = hwhm if hwhm_y is None else hwhm_y
        if not (hwhm > 0 and hwhm_y > 0):
            raise InvalidParameterError(f"hwhm must be > 0, got {hwhm}, {hwhm_y}")
        if npsf % 2 == 0 or npsf < 11:
            raise InvalidParameterError(f"npsf must be odd and >= 11, got {npsf}")
        if nexp not in (1, 3, 6, 10):
            raise InvalidParameterError(f"nexp must be 1, 3, 6 or 10, got {nexp}")
        c = (npsf + 1) // 2 - 1
        u = (np.arange(npsf) - c) / 2.0
        dy, dx = np.meshgrid(u, u, indexing="ij")
        radius = (npsf - 3) / 4.0
        taper = np.clip((radius - np.hypot(dx, dy)) / 1.5, 0.0, 1.0)

        def gauss(hx, hy):  # unit volume * pi/ln2, like the base profile
            return analytic_profile("GAUSSIAN", [hx, hy], dx, dy)

        base = gauss(hwhm, hwhm_y)
        flux_scale = 10 ** (0.4 * (25.0 - psfmag))
        bright = flux_scale * _LN2 / math.pi
        shapes = [
            wings * (gauss(1.8 * hwhm, 1.8 * hwhm_y) - base),
            spatial * (gauss(1.15 * hwhm, hwhm_y / 1.15) - base),
            spatial * (gauss(1.15 * hwhm, 1.15 * hwhm_y) - base),
            0.5 * spatial * (gauss(0.9 * hwhm, 0.9 * hwhm_y) - base),
            0.5 * spatial * (gauss(1.1 * hwhm, hwhm_y / 1.1) - base),
            0.5 * spatial * (gauss(hwhm / 1.1, 1.1 * hwhm_y) - base),
        ]
        while len(shapes) < nexp:
            shapes.append(0.25 * spatial * (gauss(1.1 * hwhm, 1.1 * hwhm_y) - base))
        rng = np.random.default_rng(seed)
        tables = []
        for k in range(nexp):
            t = shapes[k] * bright
            if noise:
                n = gaussian_filter(rng.normal(size=(npsf, npsf)), 2.0)
                n *= noise * bright * (1.0 if k == 0 else 0.3) / max(n.std(), 1e-30)
                t = t + n * np.exp(-_LN2 * (dx ** 2 + dy ** 2) / (2 * hwhm * hwhm_y))
            t = t * taper
            tables.append(t - t.sum() * base / base.sum())   # zero net flux
        return cls.from_arrays("GAUSSIAN", [hwhm, hwhm_y], np.array(tables), psfmag=psfmag,
                               bright=bright, xpsf=xpsf, ypsf=ypsf)

    def _setup(self, label, npsf, npar, nexp, nfrac, psfmag, bright, xpsf, ypsf, params, tables):
        self.label = label
        self.npsf = int(npsf)
        self.npar = int(npar)
        self.nexp = int(nexp)
        self.nfrac = int(nfrac)
        self.psfmag = float(psfmag)
        self.bright = float(bright)
        self.xpsf = float(xpsf)
        self.ypsf = float(ypsf)
        self.params = np.array(params, dtype=float)
        self.tables = np.array(tables, dtype=float)
        self.params.setflags(write=False)
        self.tables.setflags(write=False)
        self._grid_cache = {}

    # ------------------------------------------------------------------ #
    #  Properties                                                          #
    # ------------------------------------------------------------------ #
    @property
    def centre_index(self):
        """int: 0-based index of the table centre, ``(npsf + 1)//2 - 1`` (23 for ZTF)."""
        return (self.npsf + 1) // 2 - 1

    @property
    def psf_radius(self):
        """float: radius (pixels) beyond which the model is zero, ``(npsf - 3)/4``."""
        return (self.npsf - 3) / 4.0

    @property
    def flux_scale(self):
        """float: DN of a star of unit scale, ``10**(0.4*(25 - psfmag))``."""
        return 10.0 ** (0.4 * (25.0 - self.psfmag))

    @property
    def fwhm(self):
        """float: FWHM (pixels) of the analytic profile, mean of x and y (2 x HWHM)."""
        return float(self.params[0] + self.params[1])

    # names used by the first ztfimg (seed compatibility)
    @property
    def modelname(self):
        """str: alias of :attr:`label`."""
        return self.label

    @property
    def structures(self):
        """ndarray: alias of :attr:`tables`."""
        return self.tables

    @property
    def nstructures(self):
        """int: alias of :attr:`nexp`."""
        return self.nexp

    @property
    def structurewidth(self):
        """int: alias of :attr:`npsf`."""
        return self.npsf

    @property
    def instnorm(self):
        """float: alias of :attr:`psfmag`."""
        return self.psfmag

    @property
    def centralheight(self):
        """float: alias of :attr:`bright`."""
        return self.bright

    @property
    def centralpixel(self):
        """tuple: ``(xpsf, ypsf)`` as in the file."""
        return self.xpsf, self.ypsf

    def __repr__(self):
        src = f" {os.path.basename(self.filename)!r}" if getattr(self, "filename", None) else ""
        pars = ", ".join(f"{p:.4g}" for p in self.params)
        return (f"<DAOPhotReader{src} {self.label}({pars}) npsf={self.npsf} nexp={self.nexp} "
                f"psfmag={self.psfmag:.3f} bright={self.bright:.1f}>")

    # ------------------------------------------------------------------ #
    #  Evaluation                                                          #
    # ------------------------------------------------------------------ #
    def spatial_weights(self, x, y):
        """Spatial weights of the tables at 0-based frame positions.

        Parameters
        ----------
        x, y : array_like
            0-based frame positions (pixels).

        Returns
        -------
        ndarray, shape ``(..., nexp)``
            See :func:`spatial_weights`.
        """
        return spatial_weights(x, y, self.nexp, self.xpsf, self.ypsf)

    def analytic(self, dx, dy):
        """Analytic part ``BRIGHT * A(dx, dy)`` (DN, pixel-integrated).

        Parameters
        ----------
        dx, dy : array_like
            Offsets of pixel centres from the star (pixels).

        Returns
        -------
        ndarray
        """
        return self.bright * analytic_profile(self.label, self.params, dx, dy)

    # Table interpolation on stamps.  Stamp pixels are one pixel = two table
    # samples apart, so for a star all stamp rows share the same four kernel
    # weights, and the first row's kernel starts at one of a handful of table
    # rows (the star is always within half a pixel of the stamp centre).  The
    # subsampled, shifted tables G[k, r, q] = T_k[base + r + 2j, base + q + 2i]
    # are therefore precomputed once per stamp size, and every stamp is a
    # linear combination of them: one matrix product for all the stars.
    _NTAP = 7

    def _table_grid(self, size):
        cache = self.__dict__.setdefault("_grid_cache", {})
        if size not in cache:
            c, h, n = self.centre_index, size // 2, self._NTAP
            base = c - 2 * h - 3
            lo = min(0, base)
            hi = max(self.npsf, base + n - 1 + 2 * (size - 1) + 1)
            pad = np.zeros((self.nexp, hi - lo, hi - lo))
            pad[:, -lo:-lo + self.npsf, -lo:-lo + self.npsf] = self.tables
            start = base - lo
            G = np.empty((self.nexp, n, n, size, size))
            for r in range(n):
                rows = slice(start + r, start + r + 2 * size - 1, 2)
                for q in range(n):
                    G[:, r, q] = pad[:, rows, start + q:start + q + 2 * size - 1:2]
            cache[size] = G.reshape(self.nexp * n * n, size * size)
        return cache[size]

    def _taps(self, d0, size):
        """Weights (n, _NTAP) of the shifted tables for first-row offsets ``d0``."""
        c, h = self.centre_index, size // 2
        t = 2.0 * d0 + c
        i0 = np.floor(t)
        w = keys_cubic_weights(t - i0)
        rel = i0.astype(np.int64) - 1 - (c - 2 * h - 3)
        W = np.zeros((d0.size, self._NTAP))
        rows = np.arange(d0.size)
        for b in range(4):
            W[rows, np.clip(rel + b, 0, self._NTAP - 1)] += w[:, b]
        return W

    def get_psf_stamps(self, x, y, size=None, *, frame_origin=(0.0, 0.0), chunk_size=2000):
        """Unit-scale PSF stamps of many stars at once (vectorised).

        Parameters
        ----------
        x, y : array_like
            0-based positions (pixels) of the stars in the data array.
        size : int, optional
            Stamp side (pixels); default ``2*ceil(psf_radius) + 1`` (23 for ZTF).
        frame_origin : tuple of float, optional
            0-based frame position of the data array's pixel (0, 0) (default
            (0, 0)).  Give it when working on a cutout so that the spatial
            variation is evaluated at the star's full-quadrant position
            ``x + frame_origin[0], y + frame_origin[1]``.
        chunk_size : int, optional
            Stars processed per batch (memory control, default 2000).

        Returns
        -------
        stamps : ndarray, shape (n, size, size)
            Pixel values (DN for unit scale; multiply by ``flux/flux_scale``).
        x0, y0 : ndarray of int, shape (n,)
            Data-array position of each stamp's pixel [0, 0]:
            ``x0 = floor(x + 0.5) - size//2``.

        Raises
        ------
        InvalidParameterError
            Non-finite positions or bad size.
        """
        x, y = _as_positions(x, y)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise InvalidParameterError("get_psf_stamps: positions must be finite")
        size = self._check_size(size)
        ox, oy = (float(v) for v in frame_origin)
        x0 = np.floor(x + 0.5).astype(np.int64) - size // 2
        y0 = np.floor(y + 0.5).astype(np.int64) - size // 2
        out = np.empty((x.size, size, size))
        ar = np.arange(size)
        r2max = self.psf_radius ** 2
        for s in range(0, x.size, max(int(chunk_size), 1)):
            sl = slice(s, s + chunk_size)
            dxs = (x0[sl, None] + ar) - x[sl, None]          # (n, size)
            dys = (y0[sl, None] + ar) - y[sl, None]
            if self.label == "GAUSSIAN":
                hx, hy = self.params[:2]
                gx = _gauss_pixel_1d(dxs, hx)
                gy = _gauss_pixel_1d(dys, hy)
                model = (self.bright / (hx * hy)) * gy[:, :, None] * gx[:, None, :]
            else:
                model = self.analytic(dxs[:, None, :], dys[:, :, None])
            if self.nexp:
                coef = self.spatial_weights(x[sl] + ox, y[sl] + oy)      # (n, nexp)
                wy = self._taps(dys[:, 0], size)                          # (n, ntap)
                wx = self._taps(dxs[:, 0], size)
                A = coef[:, :, None, None] * wy[:, None, :, None] * wx[:, None, None, :]
                model += (A.reshape(A.shape[0], -1) @ self._table_grid(size)).reshape(model.shape)
            r2 = dys[:, :, None] ** 2 + dxs[:, None, :] ** 2
            model[r2 > r2max] = 0.0
            out[sl] = model
        return out, x0, y0

    def _check_size(self, size):
        if size is None:
            return 2 * int(math.ceil(self.psf_radius)) + 1
        try:
            size = int(size)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"size must be a positive integer, got {size!r}") from None
        if size < 1:
            raise InvalidParameterError(f"size must be a positive integer, got {size}")
        return size

    def get_psf_at(self, x, y, size=None, normalize=False):
        """Pixel-integrated PSF stamp of a star at a 0-based frame position.

        Parameters
        ----------
        x, y : float
            0-based frame position (pixels); also sets the spatial variation.
        size : int, optional
            Stamp side in pixels (default ``2*ceil(psf_radius) + 1``, 23 for ZTF).
        normalize : bool, optional
            If True, divide by the stamp sum (sum = 1).  Default False: unit
            scale, i.e. a star of ``flux_scale`` DN.

        Returns
        -------
        ndarray, shape (size, size)
            Indexed ``[row, column]``.  The star sits in the central pixel
            ``size//2``, at stamp position ``(size//2 + x - floor(x + 0.5),
            size//2 + y - floor(y + 0.5))`` (0-based, x = column).

        Raises
        ------
        InvalidParameterError
            Non-finite position or bad size.
        """
        if not (np.ndim(x) == 0 and np.ndim(y) == 0):
            raise InvalidParameterError("get_psf_at takes one position; use get_psf_stamps for many")
        stamp = self.get_psf_stamps(x, y, size)[0][0]
        if normalize:
            total = stamp.sum()
            if not total > 0:
                raise InvalidParameterError("the PSF stamp sums to <= 0, cannot normalise")
            stamp = stamp / total
        return stamp

    def get_psf(self, coef_base=None, coefstruct=None, normed=True, inpixels=False):
        """PSF as a linear combination of the base profile and the tables.

        Kept for compatibility with the first ztfimg (``get_psf(coef_base,
        coefstruct)``).

        Parameters
        ----------
        coef_base : float, optional
            Multiplier of the analytic profile ``A`` (default :attr:`bright`).
        coefstruct : sequence of float, optional
            One weight per table (default the frame-centre weights ``[1, 0, 0...]``;
            use :meth:`spatial_weights` for a position).
        normed : bool, optional
            Divide by the sum of the returned array (default True).
        inpixels : bool, optional
            False (default): on the tables' half-pixel grid, ``(npsf, npsf)``;
            element ``[j, i]`` is the value of a pixel centred at offset
            ``((i - c)/2, (j - c)/2)`` from the star, ``c = centre_index``.  Its
            sum is 4 times the flux.  True: on the pixel grid, ``(s, s)`` with
            ``s = 2*ceil(psf_radius)+1``, star at the centre of pixel ``s//2``
            (table values at the pixel centres, model truncated at
            :attr:`psf_radius`).

        Returns
        -------
        ndarray
        """
        cb = self.bright if coef_base is None else float(coef_base)
        if coefstruct is None:
            coefstruct = np.zeros(self.nexp)
            if self.nexp:
                coefstruct[0] = 1.0
        coefstruct = np.asarray(coefstruct, dtype=float).ravel()
        if coefstruct.size != self.nexp:
            raise InvalidParameterError(f"coefstruct needs {self.nexp} values, got {coefstruct.size}")
        tabsum = np.tensordot(coefstruct, self.tables, axes=1) if self.nexp else 0.0
        if not inpixels:
            u = (np.arange(self.npsf) - self.centre_index) / 2.0
            arr = cb * analytic_profile(self.label, self.params, u[None, :], u[:, None]) + tabsum
        else:
            s = 2 * int(math.ceil(self.psf_radius)) + 1
            d = np.arange(s) - s // 2
            arr = cb * analytic_profile(self.label, self.params, d[None, :], d[:, None])
            if self.nexp:   # pixel centres fall on every other table node
                idx = 2 * d + self.centre_index
                ok = (idx >= 0) & (idx < self.npsf)
                sub = np.zeros((s, s))
                sub[np.ix_(ok, ok)] = tabsum[np.ix_(idx[ok], idx[ok])]
                arr = arr + sub
            arr = np.where(d[None, :] ** 2 + d[:, None] ** 2 > self.psf_radius ** 2, 0.0, arr)
        if normed:
            total = arr.sum()
            if not total > 0:
                raise InvalidParameterError("the PSF sums to <= 0, cannot normalise")
            arr = arr / total
        return arr

    # ------------------------------------------------------------------ #
    #  Photometric helpers                                                 #
    # ------------------------------------------------------------------ #
    def _phase_stamps(self, x, y, rmax, nphase):
        """Unit-scale stamps at ``nphase**2`` sub-pixel phases (or the exact position)."""
        x = self.xpsf if x is None else float(x)
        y = self.ypsf if y is None else float(y)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidParameterError(f"position must be finite, got {x}, {y}")
        nphase = int(nphase)
        if nphase < 1:
            raise InvalidParameterError(f"nphase must be >= 1, got {nphase}")
        if nphase == 1:
            xs, ys = np.array([x]), np.array([y])
        else:
            f = (np.arange(nphase) + 0.5) / nphase - 0.5
            py, px = np.meshgrid(f, f, indexing="ij")
            xs = math.floor(x + 0.5) + px.ravel()
            ys = math.floor(y + 0.5) + py.ravel()
        half = int(math.ceil(max(self.psf_radius, rmax))) + 2
        size = 2 * half + 1
        stamps, x0, y0 = self.get_psf_stamps(xs, ys, size)
        return stamps, xs - x0, ys - y0

    def aperture_sums(self, radii, x=None, y=None, nphase=5):
        """Unit-scale PSF flux (DN) within circular apertures (exact pixel overlap).

        Parameters
        ----------
        radii : float or array_like
            Aperture radii (pixels, > 0).
        x, y : float, optional
            0-based frame position (default: the frame centre ``xpsf, ypsf``
            where the spatial terms vanish).
        nphase : int, optional
            Average over ``nphase x nphase`` sub-pixel positions spread evenly
            over the pixel containing ``(x, y)``, as for stars falling at random
            phases (default 5).  ``nphase=1``: at ``(x, y)`` exactly.  Small
            apertures depend on the phase (~0.07 mag at 2 px diameter for ZTF).

        Returns
        -------
        ndarray
            Same shape as ``radii``.

        Raises
        ------
        InvalidParameterError
            Non-positive or non-finite radii, bad position or ``nphase``.
        """
        r = np.asarray(radii, dtype=float)
        if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
            raise InvalidParameterError(f"radii must be finite and > 0, got {radii!r}")
        sums, _ = self._phase_sums(r, x, y, nphase)
        return sums.mean(axis=0).reshape(r.shape)

    def _phase_sums(self, r, x, y, nphase):
        """Aperture sums (nstamp, nr) and stamp totals (nstamp,) over the phases."""
        import sep

        stamps, xs, ys = self._phase_stamps(x, y, float(r.max()), nphase)
        flat = r.ravel()
        sums = np.empty((len(stamps), flat.size))
        for i, (st, xc, yc) in enumerate(zip(stamps, xs, ys)):
            sums[i], _, _ = sep.sum_circle(np.ascontiguousarray(st), np.full(flat.size, xc),
                                           np.full(flat.size, yc), flat, subpix=0)
        return sums, stamps.sum(axis=(1, 2))

    def total_flux(self, x=None, y=None):
        """Sum (DN) of the whole unit-scale model (zero beyond :attr:`psf_radius`).

        Parameters
        ----------
        x, y : float, optional
            0-based frame position (default: frame centre).

        Returns
        -------
        float
            Close to :attr:`flux_scale` for IPAC ZTF PSFs (within 0.3% on the
            three real files checked).
        """
        stamps, _, _ = self._phase_stamps(x, y, 0.0, 1)
        return float(stamps[0].sum())

    def curve_of_growth(self, radii, x=None, y=None, nphase=5):
        """Fraction of the PSF flux within circular apertures.

        Parameters
        ----------
        radii : float or array_like
            Aperture radii (pixels, > 0).
        x, y : float, optional
            0-based frame position (default: frame centre ``xpsf, ypsf``).
        nphase : int, optional
            Sub-pixel phase averaging, see :meth:`aperture_sums` (default 5).

        Returns
        -------
        ndarray
            Aperture sum (exact circle/pixel overlap, sep) divided by the sum
            of the whole model (:meth:`total_flux`); same shape as ``radii``.
        """
        r = np.asarray(radii, dtype=float)
        if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
            raise InvalidParameterError(f"radii must be finite and > 0, got {radii!r}")
        sums, totals = self._phase_sums(r, x, y, nphase)
        return (sums / totals[:, None]).mean(axis=0).reshape(r.shape)

    def aperture_correction(self, diameter, x=None, y=None, nphase=5):
        """PSF magnitude minus aperture magnitude, comparable to IPAC ``APCORn``.

        Parameters
        ----------
        diameter : float or array_like
            Aperture diameters (pixels), e.g. the ZTF ``FIXAPERS`` 2, 3, 4, 6, 10, 14.
        x, y : float, optional
            0-based frame position (default: frame centre).
        nphase : int, optional
            Sub-pixel phase averaging, see :meth:`aperture_sums` (default 5).

        Returns
        -------
        ndarray
            ``2.5 log10(aperture_sum / flux_scale)`` (mag, negative: the
            aperture misses light), so that ``m_total = m_aperture + correction``
            with PSF fluxes on the ``flux_scale`` (PSFMAG) scale.
        """
        d = np.asarray(diameter, dtype=float)
        sums = self.aperture_sums(d / 2.0, x, y, nphase)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.5 * np.log10(np.where(sums > 0, sums, np.nan) / self.flux_scale)

    # ------------------------------------------------------------------ #
    #  Rendering and photometry                                            #
    # ------------------------------------------------------------------ #
    def render(self, shape, x, y, flux, *, size=None, frame_origin=(0.0, 0.0), chunk_size=2000):
        """Draw stars into a new image.

        Parameters
        ----------
        shape : tuple of int
            ``(ny, nx)`` of the output image.
        x, y : array_like
            0-based positions (pixels); stars whose stamp misses the image are
            skipped, stamps crossing the edge are clipped.
        flux : float or array_like
            Total flux of each star in DN (through the PSFMAG scaling: the
            star is ``flux / flux_scale`` times the unit-scale model).
            Non-finite fluxes are skipped.
        size : int, optional
            Stamp side (default ``2*ceil(psf_radius) + 1``).
        frame_origin : tuple of float, optional
            Frame position of pixel (0, 0), for the spatial variation (default (0, 0)).
        chunk_size : int, optional
            Stars per batch (default 2000).

        Returns
        -------
        ndarray of float64, shape ``shape``
        """
        try:
            ny, nx = (int(v) for v in shape)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"shape must be (ny, nx), got {shape!r}") from None
        if ny < 1 or nx < 1:
            raise InvalidParameterError(f"shape must be positive, got {shape!r}")
        x, y = _as_positions(x, y)
        flux = np.broadcast_to(np.asarray(flux, dtype=float), x.shape)
        size = self._check_size(size)
        h = size // 2
        ok = (np.isfinite(x) & np.isfinite(y) & np.isfinite(flux)
              & (x > -h - 1) & (x < nx + h) & (y > -h - 1) & (y < ny + h))
        x, y, flux = x[ok], y[ok], flux[ok]
        ar = np.arange(size)
        idx_parts, w_parts = [], []
        for s in range(0, x.size, max(int(chunk_size), 1)):
            sl = slice(s, s + chunk_size)
            st, x0, y0 = self.get_psf_stamps(x[sl], y[sl], size, frame_origin=frame_origin)
            st *= (flux[sl] / self.flux_scale)[:, None, None]
            iy = (y0[:, None] + ar)[:, :, None]
            ix = (x0[:, None] + ar)[:, None, :]
            inside = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
            flat = (iy * nx + ix)
            flat, inside = np.broadcast_arrays(flat, inside)
            idx_parts.append(flat[inside])
            w_parts.append(st[inside])
        if not idx_parts:
            return np.zeros((ny, nx))
        img = np.bincount(np.concatenate(idx_parts), weights=np.concatenate(w_parts),
                          minlength=ny * nx)
        return img.reshape(ny, nx)

    def photometry(self, data, x, y, **kwargs):
        """Forced PSF photometry with this PSF: see :func:`ztfimg.psfphot.psf_photometry`.

        Parameters
        ----------
        data : 2-D array
            Image (DN).
        x, y : array_like
            0-based positions.
        **kwargs
            Passed to :func:`ztfimg.psfphot.psf_photometry`.

        Returns
        -------
        pandas.DataFrame
        """
        return psf_photometry(data, x, y, self, **kwargs)

    # ------------------------------------------------------------------ #
    #  Output                                                              #
    # ------------------------------------------------------------------ #
    def to_string(self):
        """The model in the exact IPAC/DAOPHOT ``.psf`` text format.

        Returns
        -------
        str
            Text ending with a newline; :meth:`from_string` reads it back.

        Raises
        ------
        InvalidParameterError
            A value cannot be written in its fixed-width field.
        """
        vals = np.concatenate([self.params, self.tables.ravel()])
        if not np.all(np.isfinite(vals)) or np.any(np.abs(vals) >= 1e99):
            raise InvalidParameterError("parameters and tables must be finite and < 1e99 to be written")
        head = (f" {self.label:<8s}{self.npsf:5d}{self.npar:5d}{self.nexp:5d}{self.nfrac:5d}"
                f"{self.psfmag:9.3f}{self.bright:15.3f}{self.xpsf:9.1f}{self.ypsf:9.1f}")
        if len(head) != 71:
            raise InvalidParameterError(f"header values do not fit their Fortran fields: {head!r}")
        lines = [head, " " + _format_e13(self.params)]
        for k in range(self.nexp):
            flat = self.tables[k].ravel()   # [y, x] C order: x runs fastest, as DAOPHOT writes
            for i in range(0, flat.size, _PER_LINE):
                lines.append(" " + _format_e13(flat[i:i + _PER_LINE]))
        return "\n".join(lines) + "\n"

    def write(self, path, overwrite=True):
        """Write the model as an IPAC/DAOPHOT ``.psf`` file.

        Parameters
        ----------
        path : str or os.PathLike
            Output file.
        overwrite : bool, optional
            Replace an existing file (default True, as the simulator rewrites
            its products); False raises if the file exists.

        Raises
        ------
        InvalidParameterError
            The file exists and ``overwrite`` is False, or a value cannot be written.
        """
        path = os.fspath(path)
        if os.path.exists(path) and not overwrite:
            raise InvalidParameterError(f"{path!r} exists; pass overwrite=True to replace it")
        text = self.to_string()
        with open(path, "w", encoding="ascii", newline="\n") as fh:
            fh.write(text)

    def show(self, positions=None, axes=None, cmap="coolwarm"):
        """Plot the base profile, the tables and the PSF at a few frame positions.

        Parameters
        ----------
        positions : sequence of (x, y), optional
            0-based frame positions (default: the four corners and the centre
            of a ``2*xpsf+1`` by ``2*ypsf+1`` frame, i.e. three of them:
            lower-left, centre, upper-right).
        axes : sequence of matplotlib Axes, optional
            ``1 + nexp + len(positions)`` axes to draw in (default: a new figure).
        cmap : str, optional
            Colour map of the tables (default ``"coolwarm"``).

        Returns
        -------
        ndarray of matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if positions is None:
            positions = [(0.0, 0.0), (self.xpsf, self.ypsf), (2 * self.xpsf, 2 * self.ypsf)]
        npanel = 1 + self.nexp + len(positions)
        if axes is None:
            _, axes = plt.subplots(1, npanel, figsize=(2.4 * npanel, 2.6), squeeze=False)
            axes = axes[0]
        axes = np.asarray(axes, dtype=object).ravel()
        if axes.size < npanel:
            raise InvalidParameterError(f"show needs {npanel} axes, got {axes.size}")
        half = self.centre_index / 2.0
        ext = (-half - 0.25, half + 0.25, -half - 0.25, half + 0.25)
        base = self.get_psf(coef_base=self.bright, coefstruct=np.zeros(self.nexp), normed=False)
        axes[0].imshow(base, origin="lower", extent=ext, cmap="viridis")
        axes[0].set_title(f"{self.label} x BRIGHT", fontsize="small")
        names = ["1", "X", "Y", "P2(X)", "XY", "P2(Y)", "P3(X)", "P2(X)Y", "XP2(Y)", "P3(Y)"]
        for k in range(self.nexp):
            t = self.tables[k]
            v = max(np.abs(t).max(), 1e-30)
            axes[1 + k].imshow(t, origin="lower", extent=ext, cmap=cmap, vmin=-v, vmax=v)
            axes[1 + k].set_title(f"table {k} ({names[k]})", fontsize="small")
        size = 2 * int(math.ceil(self.psf_radius)) + 1
        h = size // 2
        for i, (px, py) in enumerate(positions):
            ax = axes[1 + self.nexp + i]
            st = self.get_psf_at(px, py, size=size)
            ax.imshow(st, origin="lower", extent=(-h - 0.5, h + 0.5, -h - 0.5, h + 0.5), cmap="viridis")
            ax.set_title(f"PSF at ({px:.0f}, {py:.0f})", fontsize="small")
        for ax in axes[:npanel]:
            ax.set_xlabel("dx [px]", fontsize="x-small")
            ax.tick_params(labelsize="x-small")
        return axes[:npanel]


from .psfphot import psf_photometry  # noqa: E402  (re-exported; psfphot does not import dao)
