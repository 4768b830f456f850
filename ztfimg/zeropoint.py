"""Photometric zero point and colour term from matched reference stars.

ZTF calibrates on Pan-STARRS1 with ``m_PS1 - m_inst = ZP + c * colour`` where
``m_inst = -2.5 log10(counts)`` and the colour is the PS1 colour of the star
(``g - r`` for zg and zr, ``r - i`` for zi; the header keyword ``PCOLOR``
names it).  :func:`fit_zeropoint` fits that relation by weighted least squares
with iterative sigma clipping and returns a :class:`ZeroPointResult`, whose
``zp``, ``clrcoeff`` and ``covariance`` play the roles of the header keywords
``MAGZP``, ``CLRCOEFF`` and ``ZPCLRCOV``.

Example
-------
>>> res = fit_zeropoint(inst_mag, ps1_rmag, colour=ps1_gmag - ps1_rmag,
...                     inst_err=inst_err, ref_err=ps1_e_rmag)      # doctest: +SKIP
>>> res.zp, res.zp_err, res.clrcoeff                                 # doctest: +SKIP
>>> res.show()                                                       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.stats import mad_std

from .errors import InvalidParameterError, ShapeMismatchError
from .validation import as_numbers

__all__ = ["fit_zeropoint", "ZeroPointResult"]



@dataclass(repr=False)
class ZeroPointResult:
    """Result of :func:`fit_zeropoint` (all magnitudes in mag).

    Attributes
    ----------
    zp : float
        Zero point ZP of ``ref - inst = ZP + c * colour`` (colour 0).
    zp_err : float
        1-sigma uncertainty of ``zp``.
    clrcoeff : float
        Colour coefficient c; NaN when no colour was given.
    clrcoeff_err : float
        1-sigma uncertainty of ``clrcoeff``; NaN when no colour was given.
    covariance : numpy.ndarray
        Parameter covariance, 2x2 (zp, clrcoeff) or 1x1 (zp only), mag^2.
    nstars : int
        Stars used in the final fit (after clipping).
    rms : float
        Unweighted standard deviation of the residuals of the used stars.
    used : numpy.ndarray of bool
        Per input star: used in the final fit (False for clipped or non-finite).
    residuals : numpy.ndarray
        Per input star: ``(ref - inst) - model``; NaN where an input is NaN.
    chi2_red : float
        Reduced chi-square of the final fit (weights 1 when no errors given).
    niter : int
        Clipping iterations run.
    inst_mag, ref_mag, colour, x, y : numpy.ndarray or None
        Inputs, kept for :meth:`show`.
    """

    zp: float
    zp_err: float
    clrcoeff: float
    clrcoeff_err: float
    covariance: np.ndarray
    nstars: int
    rms: float
    used: np.ndarray
    residuals: np.ndarray
    chi2_red: float
    niter: int
    inst_mag: np.ndarray = field(default=None)
    ref_mag: np.ndarray = field(default=None)
    colour: np.ndarray = field(default=None)
    x: np.ndarray = field(default=None)
    y: np.ndarray = field(default=None)

    @property
    def has_colour(self):
        """bool: whether a colour term was fitted."""
        return self.colour is not None

    @property
    def zpclrcov(self):
        """float: covariance of zp and clrcoeff (mag^2); NaN without colour."""
        return float(self.covariance[0, 1]) if self.has_colour else float("nan")

    def __repr__(self):
        txt = f"ZeroPointResult(zp={self.zp:.4f}±{self.zp_err:.4f}"
        if self.has_colour:
            txt += f", clrcoeff={self.clrcoeff:.4f}±{self.clrcoeff_err:.4f}"
        return txt + f", nstars={self.nstars}/{len(self.used)}, rms={self.rms:.4f})"

    def calibrate(self, inst_mag, colour=None):
        """Calibrated magnitudes ``inst + zp + clrcoeff * colour``.

        Parameters
        ----------
        inst_mag : array_like
            Instrumental magnitudes, ``-2.5 log10(counts)``.
        colour : array_like, optional
            Colours in the fitted system; required when a colour term was fitted.

        Returns
        -------
        numpy.ndarray
        """
        inst = np.asarray(inst_mag, dtype=float)
        if not self.has_colour:
            return inst + self.zp
        if colour is None:
            raise InvalidParameterError("this zero point has a colour term: give colour=")
        return inst + self.zp + self.clrcoeff * np.asarray(colour, dtype=float)

    def to_dict(self):
        """Scalars of the fit as a dict (header-like names in comments).

        Returns
        -------
        dict
            ``zp`` (MAGZP), ``zp_err`` (MAGZPUNC), ``rms`` (MAGZPRMS),
            ``clrcoeff`` (CLRCOEFF), ``clrcoeff_err`` (CLRCOUNC),
            ``zpclrcov`` (ZPCLRCOV), ``nstars``, ``chi2_red``.
        """
        return {"zp": self.zp, "zp_err": self.zp_err, "rms": self.rms,
                "clrcoeff": self.clrcoeff, "clrcoeff_err": self.clrcoeff_err,
                "zpclrcov": self.zpclrcov, "nstars": self.nstars, "chi2_red": self.chi2_red}

    def show(self, axes=None):
        """Plot the residuals against magnitude, colour and position.

        Parameters
        ----------
        axes : sequence of matplotlib.axes.Axes, optional
            Axes to draw in, one per panel (reference magnitude, then colour if
            fitted, then x and y if given).  Default: a new figure.

        Returns
        -------
        numpy.ndarray of matplotlib.axes.Axes
            The panels drawn.
        """
        import matplotlib.pyplot as plt

        panels = [("ref_mag", self.ref_mag, "reference magnitude [mag]")]
        if self.has_colour:
            panels.append(("colour", self.colour, "colour [mag]"))
        if self.x is not None:
            panels.append(("x", self.x, "x [pixel]"))
        if self.y is not None:
            panels.append(("y", self.y, "y [pixel]"))
        new_figure = axes is None
        if new_figure:
            fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.8),
                                     sharey=True, squeeze=False, layout="constrained")
            axes = axes[0]
        axes = np.atleast_1d(np.asarray(axes, dtype=object))
        if len(axes) < len(panels):
            raise InvalidParameterError(f"show() needs {len(panels)} axes, got {len(axes)}")
        lim = 5 * max(self.rms, 1e-3)
        for ax, (_, values, label) in zip(axes, panels):
            ax.scatter(values[self.used], self.residuals[self.used], s=6, c="C0",
                       label=f"used ({self.nstars})")
            clipped = ~self.used & np.isfinite(self.residuals)
            if clipped.any():
                ax.scatter(values[clipped], self.residuals[clipped], s=10, marker="x",
                           c="C3", label=f"clipped ({int(clipped.sum())})")
            ax.axhline(0, color="k", lw=0.8)
            ax.set_xlabel(label)
            ax.set_ylim(-lim, lim)
        axes[0].set_ylabel("residual (ref - inst - model) [mag]")
        axes[0].legend(loc="upper left", fontsize="small")
        title = f"zero point {self.zp:.4f} ± {self.zp_err:.4f} mag"
        if self.has_colour:
            title += f", colour term {self.clrcoeff:.4f} ± {self.clrcoeff_err:.4f}"
        title += f"; {self.nstars} of {len(self.used)} stars used, rms {self.rms:.3f} mag"
        if new_figure:
            axes[0].figure.suptitle(title)
        else:
            axes[0].set_title(title, loc="left")
        return axes[: len(panels)]


def _array(name, values, n):
    if values is None:
        return None
    arr = as_numbers(values, name=name).ravel()
    if n is not None and arr.shape != (n,):
        raise ShapeMismatchError(f"{name} has {arr.size} values, expected {n} like inst_mag")
    return arr


def _solve(A, dmag, w):
    """Weighted least squares: parameters, unscaled covariance, chi2."""
    Aw = A * w[:, None]
    normal = A.T @ Aw
    if np.linalg.cond(normal) > 1e12:
        raise InvalidParameterError(
            "the fit is degenerate: the colours of the stars used have no spread")
    cov = np.linalg.inv(normal)
    p = cov @ (Aw.T @ dmag)
    r = dmag - A @ p
    return p, cov, float(np.sum(w * r * r))


def fit_zeropoint(inst_mag, ref_mag, colour=None, inst_err=None, ref_err=None,
                  sigma_clip=3.0, maxiter=10, *, x=None, y=None, min_stars=5):
    """Fit ``ref_mag - inst_mag = ZP + c * colour`` with sigma clipping.

    Weighted least squares with weights ``1 / (inst_err^2 + ref_err^2)`` (all
    1 when no errors are given).  After each fit, stars whose normalised
    residual ``r * sqrt(w)`` deviates from the median by more than
    ``sigma_clip`` robust standard deviations (1.4826 x MAD) are rejected,
    and the fit is repeated on the original set minus the rejected stars
    until the selection stops changing or ``maxiter`` fits were made.

    The covariance is ``(A^T W A)^-1`` scaled by the reduced chi-square when
    that exceeds 1 (errors that under-state the scatter inflate the
    uncertainties; they are never shrunk).  Without errors it is scaled by
    the residual variance.

    Parameters
    ----------
    inst_mag : array_like
        Instrumental magnitudes ``-2.5 log10(counts)``, mag.
    ref_mag : array_like
        Reference (e.g. PS1) magnitudes of the same stars, mag.
    colour : array_like, optional
        Reference colours (e.g. ``g - r``), mag.  Without it only ZP is fitted.
    inst_err, ref_err : array_like or float, optional
        1-sigma errors of ``inst_mag`` and ``ref_mag``, mag (scalars are
        broadcast).  A star with a negative or NaN error, or a total error of
        zero, is excluded.
    sigma_clip : float or None, optional
        Rejection threshold in robust standard deviations. Default 3; None or
        inf disables clipping.
    maxiter : int, optional
        Maximum number of fits. Default 10.
    x, y : array_like, optional
        Star positions (pixels), kept for :meth:`ZeroPointResult.show`.
    min_stars : int, optional
        Minimum number of stars in the final fit. Default 5 (never less than
        the number of parameters + 1).

    Returns
    -------
    ZeroPointResult

    Raises
    ------
    ShapeMismatchError
        Inputs of different lengths.
    InvalidParameterError
        Fewer than ``min_stars`` usable stars (before or after clipping), a
        colour without spread, or invalid ``sigma_clip``/``maxiter``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.uniform(14, 19, 200); col = rng.uniform(0, 1.5, 200)
    >>> inst = ref - 26.3 - 0.1 * col + rng.normal(0, 0.01, 200)
    >>> res = fit_zeropoint(inst, ref, colour=col)
    >>> round(res.zp, 2), round(res.clrcoeff, 2)
    (26.3, 0.1)
    """
    for name, value in (("inst_mag", inst_mag), ("ref_mag", ref_mag)):
        if value is None:
            raise InvalidParameterError(f"fit_zeropoint needs {name} (magnitudes, one per star); "
                                        "got None")
    inst = _array("inst_mag", inst_mag, None)
    n = inst.size
    ref = _array("ref_mag", ref_mag, n)
    col = _array("colour", colour, n)
    xs = _array("x", x, n)
    ys = _array("y", y, n)

    def err(name, e):
        if e is None:
            return None
        e = as_numbers(e, name=name)
        return np.broadcast_to(e, (n,)).astype(float) if e.ndim == 0 else _array(name, e, n)

    ierr, rerr = err("inst_err", inst_err), err("ref_err", ref_err)
    if sigma_clip is not None and not (np.isinf(sigma_clip) or float(sigma_clip) > 0):
        raise InvalidParameterError(f"sigma_clip must be positive or None, got {sigma_clip}")
    maxiter = int(maxiter)
    if maxiter < 1:
        raise InvalidParameterError(f"maxiter must be >= 1, got {maxiter}")
    npar = 2 if col is not None else 1
    min_stars = max(int(min_stars), npar + 1)

    dmag = ref - inst
    weighted = ierr is not None or rerr is not None
    var = np.zeros(n)
    if ierr is not None:
        var = var + ierr ** 2
    if rerr is not None:
        var = var + rerr ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / var if weighted else np.ones(n)
    good = np.isfinite(dmag) & np.isfinite(w) & (w > 0)
    for e in (ierr, rerr):
        if e is not None:
            good &= np.isfinite(e) & (e >= 0)
    if col is not None:
        good &= np.isfinite(col)
    if good.sum() < min_stars:
        raise InvalidParameterError(
            f"too few stars for a zero-point fit: {int(good.sum())} of {n} have finite "
            f"magnitudes{', colours' if col is not None else ''}{' and errors' if weighted else ''}; "
            f"need at least {min_stars}")
    A = np.ones((n, npar))
    if col is not None:
        A[:, 1] = np.where(np.isfinite(col), col, 0.0)

    used = good.copy()
    niter = 0
    while True:
        niter += 1
        p, cov, chi2 = _solve(A[used], dmag[used], w[used])
        resid = np.full(n, np.nan)
        resid[good] = dmag[good] - A[good] @ p
        if sigma_clip is None or np.isinf(sigma_clip) or niter >= maxiter:
            break
        z = resid * np.sqrt(w)
        zu = z[used]
        centre = np.median(zu)
        scale = mad_std(zu)
        if scale <= 0:
            break
        new = good & (np.abs(z - centre) <= sigma_clip * scale)
        if new.sum() < min_stars:
            raise InvalidParameterError(
                f"too few stars left after {sigma_clip}-sigma clipping: {int(new.sum())} "
                f"(need {min_stars})")
        if np.array_equal(new, used):
            break
        used = new

    nused = int(used.sum())
    dof = nused - npar
    chi2_red = chi2 / dof
    cov = cov * (max(chi2_red, 1.0) if weighted else chi2_red)
    rms = float(np.std(resid[used], ddof=npar))
    return ZeroPointResult(
        zp=float(p[0]), zp_err=float(np.sqrt(cov[0, 0])),
        clrcoeff=float(p[1]) if npar == 2 else float("nan"),
        clrcoeff_err=float(np.sqrt(cov[1, 1])) if npar == 2 else float("nan"),
        covariance=cov, nstars=nused, rms=rms, used=used, residuals=resid,
        chi2_red=float(chi2_red), niter=niter,
        inst_mag=inst, ref_mag=ref, colour=col, x=xs, y=ys)
