"""The DAOPhot PSF model on pixels, fast: stamps of many stars at once, images of many stars.

These are methods of :class:`ztfimg.dao.model.DAOPhotPSF`, defined here in a
mixin: :meth:`~_RenderingMixin.get_psf_stamps` (unit-scale stamps of many stars,
vectorised) and :meth:`~_RenderingMixin.render` (stars of given fluxes drawn into
a new image, as the simulator and star subtraction need).

The look-up tables are interpolated with DAOPHOT's bicubic kernel
(:func:`~ztfimg.dao.profiles.keys_cubic_weights`) through tables subsampled and
shifted once per stamp size, so that all the stars' stamps come out of one
matrix product (see the comment above ``_table_grid``).

The stamp convention (where a star sits in its stamp) is in the Notes of
:class:`~ztfimg.dao.model.DAOPhotPSF`.

Examples
--------
>>> stamps, x0, y0 = psf.get_psf_stamps(x, y, size=23)           # doctest: +SKIP
>>> image = psf.render((3080, 3072), x, y, flux)                 # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidParameterError
from ..validation import as_per_position, as_positions, as_shape
from .profiles import _gauss_pixel_1d, keys_cubic_weights

__all__ = []


def _as_positions(x, y, name="x, y"):
    """1-D float arrays of positions by the package's one rule (:mod:`ztfimg.validation`)."""
    xs, ys, _ = as_positions(x, y, name=name)
    return xs, ys


def _as_origin(frame_origin):
    """``frame_origin`` as two finite floats, or InvalidParameterError."""
    try:
        ox, oy = (float(v) for v in frame_origin)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"frame_origin must be two numbers (x, y), the 0-based frame "
                                    f"position of the array's pixel (0, 0); got "
                                    f"{frame_origin!r:.80}") from None
    if not (math.isfinite(ox) and math.isfinite(oy)):
        raise InvalidParameterError(f"frame_origin must be finite, got {frame_origin!r}")
    return ox, oy


def _as_chunk(chunk_size):
    try:
        chunk = int(chunk_size)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(f"chunk_size must be a positive integer, got "
                                    f"{chunk_size!r:.60}") from None
    return max(chunk, 1)


class _RenderingMixin:
    """Stamp and image rendering of :class:`~ztfimg.dao.model.DAOPhotPSF`.

    Relies on the model's ``tables``, ``npsf``, ``nexp``, ``centre_index``,
    ``psf_radius``, ``label``, ``params``, ``bright``, ``flux_scale``,
    ``analytic`` and ``spatial_weights``.
    """

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

        Notes
        -----
        The spatial terms are evaluated at the frame position clamped into
        :attr:`~ztfimg.dao.model.DAOPhotPSF.valid_range` (the fitted frame plus
        :attr:`~ztfimg.dao.model.DAOPhotPSF.frame_margin`): a star beyond it gets
        the PSF of the nearest position where the model is defined, never an
        extrapolation, and never an error, so that photometry of a list with
        off-frame stars goes through (:func:`ztfimg.psfphot.psf_photometry` flags
        them).  Positions inside the range are not changed.

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
            Non-finite positions, bad size, ``frame_origin`` or ``chunk_size``, or
            a model that evaluates to non-finite values (impossible for values
            the parser or :meth:`from_arrays` accept).
        """
        x, y = _as_positions(x, y)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise InvalidParameterError("get_psf_stamps: positions must be finite")
        size = self._check_size(size)
        ox, oy = _as_origin(frame_origin)
        chunk_size = _as_chunk(chunk_size)
        x0 = np.floor(x + 0.5).astype(np.int64) - size // 2
        y0 = np.floor(y + 0.5).astype(np.int64) - size // 2
        out = np.empty((x.size, size, size))
        ar = np.arange(size)
        r2max = self.psf_radius ** 2
        for s in range(0, x.size, chunk_size):
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
                coef = self.spatial_weights(x[sl] + ox, y[sl] + oy, clamp=True)  # (n, nexp)
                wy = self._taps(dys[:, 0], size)                          # (n, ntap)
                wx = self._taps(dxs[:, 0], size)
                A = coef[:, :, None, None] * wy[:, None, :, None] * wx[:, None, None, :]
                model += (A.reshape(A.shape[0], -1) @ self._table_grid(size)).reshape(model.shape)
            r2 = dys[:, :, None] ** 2 + dxs[:, None, :] ** 2
            model[r2 > r2max] = 0.0
            if not np.all(np.isfinite(model)):
                raise InvalidParameterError(
                    f"the PSF model {self.label}({', '.join(f'{p:g}' for p in self.params)}) "
                    f"with BRIGHT={self.bright:g} evaluates to non-finite values; its values "
                    "are outside what the profile can be evaluated with: check the .psf file "
                    "or the values given to from_arrays")
            out[sl] = model
        return out, x0, y0

    #: Largest stamp side accepted (pixels): far beyond any PSF radius DAOPHOT allows (51 px).
    _MAX_SIZE = 1001

    def _check_size(self, size):
        if size is None:
            return 2 * int(math.ceil(self.psf_radius)) + 1
        if isinstance(size, (bool, np.bool_)):
            size = None
        try:
            isize = int(size)
            if isize != size:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            raise InvalidParameterError(f"size must be a positive integer (pixels), got "
                                        f"{size!r:.60}") from None
        if not 1 <= isize <= self._MAX_SIZE:
            raise InvalidParameterError(f"size must be a positive integer up to {self._MAX_SIZE} "
                                        f"pixels, got {isize}; the model is zero beyond "
                                        f"{self.psf_radius:g} pixels from the star")
        return isize

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
            Stars beyond the model's :attr:`~ztfimg.dao.model.DAOPhotPSF.valid_range`
            are drawn with the PSF of the nearest valid position (see
            :meth:`get_psf_stamps`).
        chunk_size : int, optional
            Stars per batch (default 2000).

        Returns
        -------
        ndarray of float64, shape ``shape``

        Raises
        ------
        InvalidParameterError
            Bad ``shape``, non-numeric positions or fluxes, bad ``size``,
            ``frame_origin`` or ``chunk_size``.
        ShapeMismatchError
            ``x``, ``y`` and ``flux`` arrays of different lengths.
        """
        ny, nx = as_shape(shape)
        x, y = _as_positions(x, y)
        flux = as_per_position(flux, x.size, name="flux")
        size = self._check_size(size)
        _as_origin(frame_origin)
        chunk_size = _as_chunk(chunk_size)
        h = size // 2
        ok = (np.isfinite(x) & np.isfinite(y) & np.isfinite(flux)
              & (x > -h - 1) & (x < nx + h) & (y > -h - 1) & (y < ny + h))
        x, y, flux = x[ok], y[ok], flux[ok]
        ar = np.arange(size)
        idx_parts, w_parts = [], []
        for s in range(0, x.size, chunk_size):
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
