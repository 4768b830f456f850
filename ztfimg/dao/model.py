"""The DAOPHOT II point-spread function model: :class:`DAOPhotPSF`.

The model (DAOPHOT II, Stetson 1987, PASP 99, 191)
--------------------------------------------------
A star of unit scale centred at frame position ``(x, y)`` puts, in a pixel
whose centre lies at offset ``(dx, dy)`` from the star (pixels)::

    P(dx, dy) = BRIGHT * A(dx, dy) + sum_k c_k(x, y) * T_k(2*dx + c, 2*dy + c)

* ``A`` is the analytic profile, integrated over the pixel
  (:func:`~ztfimg.dao.profiles.analytic_profile`);
* ``T_k`` are the ``NEXP`` look-up tables of residuals, sampled every half
  pixel, centred at index ``c = (NPSF + 1)//2 - 1`` (0-based; 23 for ZTF's
  ``NPSF = 47``), interpolated with DAOPHOT's bicubic convolution kernel
  (:func:`~ztfimg.dao.profiles.keys_cubic_weights`);
* ``c_k`` are the spatial weights, Legendre polynomials of the frame position
  (:func:`~ztfimg.dao.profiles.spatial_weights`);
* the model is zero beyond the PSF radius ``(NPSF - 3)/4`` pixels (11 px for
  ZTF), where the tables can no longer be interpolated; DAOPHOT adds and
  subtracts stars within that radius only.

Flux scale: a fitted scale ``s`` is the magnitude ``PSFMAG - 2.5 log10(s)`` on a
25 mag zero point, so ``flux_DN = s * 10**(0.4*(25 - PSFMAG))``
(:attr:`DAOPhotPSF.flux_scale`).  This reproduces IPAC ``psfcat`` fluxes.

Pixel convention
----------------
Public positions are **0-based**, x = column, y = row (``data[y, x]``), the
centre of the first pixel is (0, 0).  The file's ``XPSF``/``YPSF`` and the
spatial variables are 1-based; the conversion is done here.

Where the model is defined
--------------------------
The spatial terms are polynomials fitted on one frame: 0-based ``x`` from 0 to
``2*xpsf`` (``X`` from -1 to 1), the same for y.  Beyond it they extrapolate
wildly (pixel values of -2e4 a million pixels away).  The model is evaluated
within the frame plus a margin of :attr:`DAOPhotPSF.frame_margin` (a quarter)
of the frame size on each side, :attr:`DAOPhotPSF.valid_range`: single-position
evaluations (:meth:`~DAOPhotPSF.get_psf_at`, :meth:`~DAOPhotPSF.get_psf` with a
position, :meth:`~DAOPhotPSF.spatial_weights`, the aperture quantities) refuse a
position beyond it with :class:`~ztfimg.errors.InvalidParameterError`; the
vectorised paths used by photometry and rendering
(:meth:`~DAOPhotPSF.get_psf_stamps`, :meth:`~DAOPhotPSF.render`) evaluate the
spatial terms at the position clamped into that range (positions inside it are
unchanged), so that they never raise for an off-frame star
(:func:`ztfimg.psfphot.psf_photometry` flags off-image stars).

This module holds the model's data, constructors, properties, single-star
evaluation (``get_psf_at``, the ``get_psf`` compositions), forced photometry and
file output.  The rest is mixed in from one module per concern: vectorised
stamps and rendering (:mod:`ztfimg.dao.rendering`), aperture quantities
(:mod:`ztfimg.dao.apertures`), the synthetic PSF (:mod:`ztfimg.dao.synthetic`)
and :meth:`~DAOPhotPSF.show` (:mod:`ztfimg.dao.plotting`).
``DAOPhotReader`` is the name of the class in the first ztfimg, kept as an alias.

Examples
--------
>>> from ztfimg.dao import DAOPhotPSF                         # doctest: +SKIP
>>> psf = DAOPhotPSF("ztf_..._sciimgdao.psf")                 # doctest: +SKIP
>>> stamp = psf.get_psf_at(1200.3, 800.7, size=23)            # doctest: +SKIP
>>> phot = psf.photometry(data, x, y, rms=12.0, gain=6.2)     # doctest: +SKIP
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from .apertures import _AperturesMixin
from .fileformat import (_model_value_problem, format_psf_string, parse_psf_string,
                         read_psf_file, write_psf_file)
from .plotting import _PlottingMixin
from .profiles import _VALID_NEXP, PROFILES, analytic_profile, spatial_weights
from .rendering import _RenderingMixin
from .synthetic import _SyntheticMixin

__all__ = ["DAOPhotPSF", "DAOPhotReader"]


def _float_array(value, name, expected):
    """``value`` as a new float ndarray, or InvalidParameterError saying what was expected."""
    if value is None or isinstance(value, (str, bytes)):
        raise InvalidParameterError(f"{name} must be {expected}, found {type(value).__name__} "
                                    f"{value!r:.60}")
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} must be {expected} of numbers; {exc}") from None


def _float_scalar(value, name):
    """``value`` as a Python float (a real number, not bool), or InvalidParameterError."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None or np.ndim(value) != 0:
        raise InvalidParameterError(f"{name} must be one real number, found "
                                    f"{type(value).__name__} {value!r:.60}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be one real number, found "
                                    f"{type(value).__name__} {value!r:.60}") from None


# ============================================================================ #
#  The PSF object                                                              #
# ============================================================================ #
class DAOPhotPSF(_RenderingMixin, _AperturesMixin, _SyntheticMixin, _PlottingMixin):
    """A DAOPHOT II point-spread function (IPAC ``*_sciimgdao.psf``).

    ``DAOPhotReader`` (the first ztfimg's name) is the same class.

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
    frame_margin : float
        Class attribute, 0.25: how far beyond the fitted frame (``0 .. 2*xpsf``,
        ``0 .. 2*ypsf``, 0-based) the model may be evaluated, as a fraction of the
        frame size on each side; see :attr:`valid_range`.  Set it on an instance
        (or a subclass) to widen or narrow the domain.

    Raises
    ------
    MissingFileError, PSFFileError
        See :func:`~ztfimg.dao.fileformat.read_psf_file`.

    Notes
    -----
    Methods by module: the constructors, properties, :meth:`get_psf_at`,
    :meth:`get_psf`, :meth:`photometry` and output are defined here;
    :meth:`get_psf_stamps` and :meth:`render` in :mod:`ztfimg.dao.rendering`;
    :meth:`aperture_sums`, :meth:`total_flux`, :meth:`curve_of_growth` and
    :meth:`aperture_correction` in :mod:`ztfimg.dao.apertures`; :meth:`synthetic`
    in :mod:`ztfimg.dao.synthetic`; :meth:`show` in :mod:`ztfimg.dao.plotting`.

    Stamps: :meth:`get_psf_at` and :meth:`get_psf_stamps` return pixel values
    (already integrated over the pixel) of a star of unit scale; multiply by
    ``flux / flux_scale`` to get DN.  A stamp of ``size`` pixels for a star at
    0-based ``(x, y)`` covers frame pixels ``x0 .. x0 + size - 1`` with
    ``x0 = floor(x + 0.5) - size // 2`` (same for y): the star sits in the
    central pixel ``size // 2``, at stamp position
    ``(size//2 + x - floor(x + 0.5), size//2 + y - floor(y + 0.5))``.

    Examples
    --------
    >>> psf = DAOPhotPSF("ztf_20200924431759_000655_zr_c13_o_q3_sciimgdao.psf")  # doctest: +SKIP
    >>> psf.fwhm                                                  # doctest: +SKIP
    3.06
    """

    #: Margin beyond the fitted frame, as a fraction of the frame size on each side, within
    #: which the model may be evaluated (see :attr:`valid_range`).
    frame_margin = 0.25

    def __init__(self, psffile):
        self._setup(**read_psf_file(psffile))
        self.filename = os.fspath(psffile)

    # ------------------------------------------------------------------ #
    #  Constructors                                                        #
    # ------------------------------------------------------------------ #
    @classmethod
    def read(cls, psffile):
        """Read a DAOPhot ``.psf`` file (same as ``DAOPhotPSF(psffile)``).

        Parameters
        ----------
        psffile : str or os.PathLike
            File name.

        Returns
        -------
        DAOPhotPSF
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
        DAOPhotPSF

        Raises
        ------
        PSFFileError
            Malformed text (see :func:`~ztfimg.dao.fileformat.parse_psf_string`).
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
            Analytic profile, one of :data:`~ztfimg.dao.profiles.PROFILES`.
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
        DAOPhotPSF

        Raises
        ------
        InvalidParameterError
            Inconsistent or non-numeric values, or values the model cannot be
            evaluated with (the limits of :func:`~ztfimg.dao.parse_psf_string`:
            NPSF <= 207, finite numbers below 1e99, half widths >= 1e-6 px ...).
        """
        label = str(label).upper().strip()
        if label not in PROFILES:
            raise InvalidParameterError(f"unknown profile {label!r}; expected one of {', '.join(PROFILES)}")
        params = _float_array(params, "params", "a sequence of numbers").ravel()
        if params.size != PROFILES[label]:
            raise InvalidParameterError(f"{label} needs {PROFILES[label]} parameters, got {params.size}")
        tables = _float_array(tables, "tables", "an array of shape (nexp, npsf, npsf)")
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
        psfmag, bright, xpsf, ypsf = (_float_scalar(v, name) for v, name in
                                      ((psfmag, "psfmag"), (bright, "bright"),
                                       (xpsf, "xpsf"), (ypsf, "ypsf")))
        if not (xpsf > 0 and ypsf > 0):
            raise InvalidParameterError(f"xpsf, ypsf must be > 0, got {xpsf}, {ypsf}")
        problem = _model_value_problem(label, tables.shape[1], params, psfmag, bright, xpsf,
                                       ypsf, tables)
        if problem:
            raise InvalidParameterError(f"from_arrays: {problem}")
        obj = cls.__new__(cls)
        obj._setup(label=label, npsf=tables.shape[1], npar=params.size, nexp=tables.shape[0],
                   nfrac=0, psfmag=psfmag, bright=bright, xpsf=xpsf, ypsf=ypsf, params=params,
                   tables=tables)
        obj.filename = None
        return obj

    def _setup(self, label, npsf, npar, nexp, nfrac, psfmag, bright, xpsf, ypsf, params, tables):
        """Store the file's values (the keys of ``parse_psf_string``); the arrays read-only."""
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
        return (f"<DAOPhotPSF{src} {self.label}({pars}) npsf={self.npsf} nexp={self.nexp} "
                f"psfmag={self.psfmag:.3f} bright={self.bright:.1f}>")

    # ------------------------------------------------------------------ #
    #  Evaluation                                                          #
    # ------------------------------------------------------------------ #
    @property
    def frame_size(self):
        """tuple of float: ``(2*xpsf, 2*ypsf)``, extent (pixels) of the frame the model was fitted on."""
        return 2.0 * self.xpsf, 2.0 * self.ypsf

    @property
    def valid_range(self):
        """tuple: ``((xmin, xmax), (ymin, ymax))``, 0-based positions where the model is defined.

        The fitted frame ``0 .. 2*xpsf`` (spatial variable ``X`` from -1 to 1) widened by
        :attr:`frame_margin` times its size on each side: ``-767.75 .. 3838.75`` in x and
        ``-769.75 .. 3848.75`` in y for a ZTF quadrant (``|X|, |Y| <= 1.5``).
        """
        m = float(self.frame_margin)
        fx, fy = self.frame_size
        return (-m * fx, (1.0 + m) * fx), (-m * fy, (1.0 + m) * fy)

    def _check_position(self, x, y, func):
        """InvalidParameterError unless the (arrays of) positions lie in :attr:`valid_range`."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        (x0, x1), (y0, y1) = self.valid_range
        good = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)     # False for NaN
        if not np.all(good):
            bx, by = np.broadcast_arrays(x, y)
            i = int(np.flatnonzero(~np.broadcast_to(good, bx.shape).ravel())[0])
            px, py = float(bx.ravel()[i]), float(by.ravel()[i])
            fx, fy = self.frame_size
            raise InvalidParameterError(
                f"{func}: position (x={px:g}, y={py:g}) is outside the range where this PSF "
                f"model is defined: x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}] (0-based "
                f"pixels: the {fx:g} x {fy:g} pixel frame it was fitted on, centre "
                f"({self.xpsf:g}, {self.ypsf:g}), plus a margin of frame_margin="
                f"{self.frame_margin:g} of its size). Its spatial terms cannot be "
                "extrapolated further. Pass a position on the frame (with frame_origin for a "
                "cutout); get_psf_stamps and render evaluate out-of-range positions at the "
                "nearest valid one.")

    def spatial_weights(self, x, y, *, clamp=False):
        """Spatial weights of the tables at 0-based frame positions.

        Parameters
        ----------
        x, y : array_like
            0-based frame positions (pixels), finite.
        clamp : bool, optional
            False (default): positions beyond :attr:`valid_range` are refused.
            True: they are evaluated at the nearest position of that range
            (positions inside it are unchanged), as :meth:`get_psf_stamps` does.

        Returns
        -------
        ndarray, shape ``(..., nexp)``
            See :func:`~ztfimg.dao.profiles.spatial_weights`.

        Raises
        ------
        InvalidParameterError
            Non-numeric or non-finite positions, or (unless ``clamp``) a position
            beyond :attr:`valid_range`.
        ShapeMismatchError
            ``x`` and ``y`` do not broadcast together.
        """
        x = _float_array(x, "x", "a number or an array")
        y = _float_array(y, "y", "a number or an array")
        try:
            x, y = np.broadcast_arrays(x, y)
        except ValueError:
            raise ShapeMismatchError(f"spatial_weights: x has shape {x.shape} and y {y.shape}; "
                                     "give arrays of the same shape (or a number)") from None
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise InvalidParameterError("spatial_weights: positions must be finite numbers, "
                                        "found NaN or inf; pass finite 0-based positions")
        if clamp:
            (x0, x1), (y0, y1) = self.valid_range
            x, y = np.clip(x, x0, x1), np.clip(y, y0, y1)
        else:
            self._check_position(x, y, "spatial_weights")
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
            Non-numeric or non-finite position, a position beyond
            :attr:`valid_range` (the frame the model was fitted on plus
            :attr:`frame_margin`), or a bad size.
        """
        if not (np.ndim(x) == 0 and np.ndim(y) == 0):
            raise InvalidParameterError("get_psf_at takes one position; use get_psf_stamps for many")
        x, y = _float_scalar(x, "x"), _float_scalar(y, "y")
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidParameterError(f"get_psf_at: the position must be finite, got "
                                        f"({x}, {y}); pass a 0-based frame position")
        self._check_position(x, y, "get_psf_at")
        stamp = self.get_psf_stamps(x, y, size)[0][0]
        if normalize:
            total = stamp.sum()
            if not total > 0:
                raise InvalidParameterError("the PSF stamp sums to <= 0, cannot normalise")
            stamp = stamp / total
        return stamp

    def get_psf(self, coef_base=None, coefstruct=None, normed=True, inpixels=False, *,
                x=None, y=None):
        """PSF as a linear combination of the base profile and the tables.

        Kept for compatibility with the first ztfimg (``get_psf(coef_base,
        coefstruct)``).

        Parameters
        ----------
        coef_base : float, optional
            Multiplier of the analytic profile ``A`` (default :attr:`bright`).
        coefstruct : sequence of float, optional
            One weight per table (default the frame-centre weights ``[1, 0, 0...]``,
            or those of the position ``x, y``).
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
        x, y : float, optional
            Keyword only: a 0-based frame position whose spatial weights
            (:meth:`spatial_weights`) are used as ``coefstruct``; it must lie in
            :attr:`valid_range`.  Give both or neither, and no ``coefstruct``.

        Returns
        -------
        ndarray

        Raises
        ------
        InvalidParameterError
            Non-numeric or non-finite coefficients, ``coefstruct`` of the wrong
            length, a position beyond :attr:`valid_range`, or ``normed`` with a
            model summing to <= 0.
        """
        cb = self.bright if coef_base is None else _float_scalar(coef_base, "coef_base")
        if (x is None) != (y is None):
            raise InvalidParameterError("get_psf: give both x and y (a frame position) or neither")
        if x is not None:
            if coefstruct is not None:
                raise InvalidParameterError("get_psf: give either coefstruct or a position x, y, "
                                            "not both")
            x, y = _float_scalar(x, "x"), _float_scalar(y, "y")
            if not (math.isfinite(x) and math.isfinite(y)):
                raise InvalidParameterError(f"get_psf: the position must be finite, got ({x}, {y})")
            self._check_position(x, y, "get_psf")
            coefstruct = self.spatial_weights(x, y)
        if coefstruct is None:
            coefstruct = np.zeros(self.nexp)
            if self.nexp:
                coefstruct[0] = 1.0
        coefstruct = _float_array(coefstruct, "coefstruct", f"{self.nexp} weights").ravel()
        if coefstruct.size != self.nexp:
            raise InvalidParameterError(f"coefstruct needs {self.nexp} values, got {coefstruct.size}")
        if not (math.isfinite(cb) and np.all(np.isfinite(coefstruct))):
            raise InvalidParameterError(f"get_psf: coef_base and coefstruct must be finite, got "
                                        f"{cb} and {coefstruct.tolist()}")
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
    #  Forced photometry                                                   #
    # ------------------------------------------------------------------ #
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
        from ..psfphot import psf_photometry

        return psf_photometry(data, x, y, self, **kwargs)

    # ------------------------------------------------------------------ #
    #  Output                                                              #
    # ------------------------------------------------------------------ #
    def _fields(self):
        """The file's values, as :func:`~ztfimg.dao.fileformat.parse_psf_string` returns them."""
        return dict(label=self.label, npsf=self.npsf, npar=self.npar, nexp=self.nexp,
                    nfrac=self.nfrac, psfmag=self.psfmag, bright=self.bright, xpsf=self.xpsf,
                    ypsf=self.ypsf, params=self.params, tables=self.tables)

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
        return format_psf_string(self._fields())

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
        write_psf_file(path, self._fields(), overwrite=overwrite)


#: The first ztfimg's name of :class:`DAOPhotPSF` (same class: construction and isinstance).
DAOPhotReader = DAOPhotPSF
