"""Synthetic ZTF-like DAOPhot PSFs for simulations: :meth:`DAOPhotPSF.synthetic`.

A pixel-integrated Gaussian core with zero-sum residual tables (wings, spatial
changes of ellipticity and width, smoothed random structure), written and read
like a real IPAC file.  The classmethod is defined here in a mixin of
:class:`ztfimg.dao.model.DAOPhotPSF`; the rendering of stars with any model is
:meth:`~ztfimg.dao.model.DAOPhotPSF.render`.

Examples
--------
>>> from ztfimg.dao import DAOPhotPSF                        # doctest: +SKIP
>>> psf = DAOPhotPSF.synthetic(hwhm=1.5, nexp=3, seed=0)     # doctest: +SKIP
>>> psf.write("synthetic_sciimgdao.psf")                     # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidParameterError
from .profiles import _LN2, analytic_profile

__all__ = []


class _SyntheticMixin:
    """The :meth:`synthetic` constructor of :class:`~ztfimg.dao.model.DAOPhotPSF`.

    Relies on the model's ``from_arrays``.
    """

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
        DAOPhotPSF
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
