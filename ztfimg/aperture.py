"""Circular aperture photometry and curves of growth (the ZTF aperture corrections are in
:mod:`ztfimg.apcor`, re-exported here).

:func:`aperture_photometry` sums an image in circles with exact pixel overlap
(``sep.sum_circle``, ``subpix=0``) and optionally subtracts a local sky measured in an
annulus from the pixels whose centre falls in it: their mean (``sep.sum_circann``, or
exact-overlap weights with ``sky_subpix=0``), median or sigma-clipped mean (vectorised
over all positions with :func:`ztfimg.stamps.cut_stamps`). Masked pixels are left out
of every sum (sep would rescale the sum to the full area; ztfimg does not).

Output layout (like photutils): one row per input position, same order and index as the
input. With a scalar ``radius`` the columns are ``sum``, ``sumerr``, ``area``,
``npix_masked``, ``masked_frac``, ``aper_flag``; with several radii each of these gets a
suffix ``_0``, ``_1`` ... in the order of ``radius`` (``df.attrs["radius"]`` lists them)
and ``aper_flag`` is the OR over radii. The sky columns ``sky``, ``skyerr``, ``sky_npix``
are shared by all radii. The flag bits are :class:`ztfimg.flags.ApertureFlag`
(``ztfimg.flags.decode_flags(df["aper_flag"], "aper_flag")`` names them).

Radii and annuli are pixels, or astropy Quantities in ``u.pix`` or angles (with
``pixel_scale``); inputs are checked by :mod:`ztfimg.validation`.

Errors (variance in data units squared)::

    sumerr**2 = rms**2 * area + max(sum, 0) / gain + area**2 * skyerr**2

with ``area`` the unmasked aperture area, ``rms`` the per-pixel sky noise (a scalar or a
map, then summed over the aperture) and ``skyerr`` the error on the per-pixel sky:
``sigma / sqrt(sky_npix)`` for the mean and the clipped mean, ``sqrt(pi/2)`` times that
for the median.

Pixel convention: 0-based, ``x`` = column, ``y`` = row (``data[y, x]``), like sep.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import sep

from .background import _bool_mask, _finite_inputs, _native_float
from .errors import InvalidParameterError, ZTFImgWarning
from .flags import ApertureFlag
from . import overlap as _overlap
from .stamps import cut_stamps
from .apcor import apcor_table_from_header, aperture_correction, apply_aperture_correction
from .validation import as_annulus, as_choice, as_gain, as_positions, as_radii, as_rms

__all__ = [
    "aperture_photometry", "curve_of_growth", "apcor_table_from_header",
    "aperture_correction", "apply_aperture_correction",
    "APER_PARTIAL", "APER_OFF_IMAGE", "APER_HAS_MASKED", "APER_ALL_MASKED",
    "APER_BAD_POSITION", "APER_NO_SKY", "SKY_ESTIMATORS", "AnnulusOverlapWarning",
    "PreparedImage", "prepare_image", "ENGINES",
]

# Aliases of the ApertureFlag members, kept so that old code keeps working.
#: Alias of :attr:`ztfimg.flags.ApertureFlag.PARTIAL` (aperture partly off the image).
APER_PARTIAL = ApertureFlag.PARTIAL
#: Alias of :attr:`ztfimg.flags.ApertureFlag.OFF_IMAGE` (aperture entirely off the image).
APER_OFF_IMAGE = ApertureFlag.OFF_IMAGE
#: Alias of :attr:`ztfimg.flags.ApertureFlag.HAS_MASKED` (some pixels masked or NaN).
APER_HAS_MASKED = ApertureFlag.HAS_MASKED
#: Alias of :attr:`ztfimg.flags.ApertureFlag.ALL_MASKED` (every in-image pixel masked).
APER_ALL_MASKED = ApertureFlag.ALL_MASKED
#: Alias of :attr:`ztfimg.flags.ApertureFlag.BAD_POSITION` (NaN or infinite position).
APER_BAD_POSITION = ApertureFlag.BAD_POSITION
#: Alias of :attr:`ztfimg.flags.ApertureFlag.NO_SKY` (no usable annulus pixel).
APER_NO_SKY = ApertureFlag.NO_SKY

#: Accepted values of ``engine``.
ENGINES = ("auto", "kernel", "sep")

#: Accepted values of ``sky_estimator``.
SKY_ESTIMATORS = ("mean", "median", "sigclip")

_PER_RADIUS = ("sum", "sumerr", "area", "npix_masked", "masked_frac", "aper_flag")
_STAMP_BUDGET = 4_000_000  # pixels per chunk for the median / clipped annulus sky
_TINY = 1e-9


def _geometry(xs, ys, r, shape):
    """Off-image and partial flags of circles of radius r on a frame of ``shape``."""
    ny, nx = shape
    lo_x, hi_x, lo_y, hi_y = -0.5, nx - 0.5, -0.5, ny - 0.5
    ddx = np.maximum(np.maximum(lo_x - xs, xs - hi_x), 0.0)
    ddy = np.maximum(np.maximum(lo_y - ys, ys - hi_y), 0.0)
    off = np.hypot(ddx, ddy) >= r
    partial = ~off & ((xs - r < lo_x) | (xs + r > hi_x) | (ys - r < lo_y) | (ys + r > hi_y))
    return off, partial


class AnnulusOverlapWarning(ZTFImgWarning):
    """The sky annulus overlaps an aperture: the sky estimate holds the source's light."""


def _dilate_blocks(blocks, k):
    """True where any block within ``k`` blocks (a (2k+1)^2 box) is True.

    The same as a maximum filter with a False border, from an integral image: no scipy
    import for one small filter.
    """
    ny, nx = blocks.shape
    c = np.zeros((ny + 1, nx + 1), np.int32)
    np.cumsum(np.cumsum(blocks, axis=0, dtype=np.int32), axis=1, out=c[1:, 1:])
    iy, ix = np.arange(ny), np.arange(nx)
    y0, y1 = np.clip(iy - k, 0, ny), np.clip(iy + k + 1, 0, ny)
    x0, x1 = np.clip(ix - k, 0, nx), np.clip(ix + k + 1, 0, nx)
    total = (c[np.ix_(y1, x1)] - c[np.ix_(y0, x1)] - c[np.ix_(y1, x0)] + c[np.ix_(y0, x0)])
    return total > 0


class _MaskNeighbourhood:
    """Which positions have a masked pixel within a radius (conservative, block based).

    Calling sep a second time on the (unmasked-pixel) weight map is only needed near
    masked pixels; this finds those positions from a 16x16-block "any" map.
    """

    block = 16

    def __init__(self, bmask):
        ny, nx = bmask.shape
        b = self.block
        py, px = -ny % b, -nx % b
        padded = np.pad(bmask, ((0, py), (0, px))) if (py or px) else bmask
        # two reductions over byte views (5x faster than .any over a 4-D reshape)
        rows = padded.view(np.uint8).reshape((ny + py) // b, b, nx + px).max(axis=1)
        self.blocks = rows.reshape((ny + py) // b, (nx + px) // b, b).max(axis=2).astype(bool)
        self._cache = {}

    def near(self, xs, ys, radius):
        k = int(np.ceil((radius + 1.0) / self.block))
        if k not in self._cache:
            self._cache[k] = _dilate_blocks(self.blocks, k)
        dil = self._cache[k]
        bx = np.clip(np.floor((xs + 0.5) / self.block).astype(np.int64), 0, dil.shape[1] - 1)
        by = np.clip(np.floor((ys + 0.5) / self.block).astype(np.int64), 0, dil.shape[0] - 1)
        return dil[by, bx]


class PreparedImage:
    """An image made ready for many aperture calls: what depends only on the frame, once.

    Build it with :func:`prepare_image` and pass it as ``data`` to
    :func:`aperture_photometry` (and :func:`curve_of_growth`): the non-finite scan, the
    zeroing of masked pixels, the mask's block map and its byte view are then not redone
    on every call (a frame object keeps one per pixel selection). A noise map checked here
    is not checked again when it is passed back as ``rms=prepared.rms``.

    Like the arrays it holds (not copied unless the input needed one), it assumes that
    its inputs are not modified afterwards.

    Attributes
    ----------
    data : numpy.ndarray
        Native float, finite, masked pixels 0 (a copy only when the input needed one).
    mask : numpy.ndarray of bool or None
        Pixels left out (the input mask plus non-finite pixels), None when nothing is.
    rms : numpy.ndarray or None
        The checked noise map (read-only view), None when none was given.
    shape : tuple of int
    """

    def __init__(self, data, mask, rms=None):
        self.data = data
        self.mask = mask
        self.shape = data.shape
        self.rms = rms
        self._maskf = None if mask is None else mask.view(np.uint8)
        self._neighbourhood = None

    @property
    def _neigh(self):
        """The mask's block map (only the sep engine needs it; built on first use)."""
        if self._neighbourhood is None and self.mask is not None:
            self._neighbourhood = _MaskNeighbourhood(self.mask)
        return self._neighbourhood

    def __repr__(self):
        nmask = 0 if self.mask is None else int(np.count_nonzero(self.mask))
        noise = "" if self.rms is None else ", with a noise map"
        return f"<PreparedImage {self.shape[1]}x{self.shape[0]}, {nmask} masked pixels{noise}>"


def prepare_image(data, mask=None, *, rms=None):
    """Check and prepare an image once for many :func:`aperture_photometry` calls.

    Parameters
    ----------
    data : numpy.ndarray or PreparedImage
        2-D image (never modified). A :class:`PreparedImage` is returned as it is, or with
        ``rms`` added.
    mask : numpy.ndarray, optional
        Pixels to leave out (bool, or integer non-zero = masked), same shape.
    rms : numpy.ndarray, optional
        A noise map (1 sigma per pixel, data units; finite, >= 0, the data's shape) checked
        once and kept as ``rms``: pass ``rms=prepared.rms`` to the calls. Default None.

    Returns
    -------
    PreparedImage

    Raises
    ------
    ShapeMismatchError, InvalidParameterError
        As :func:`aperture_photometry`; ``rms`` a number (give numbers to the calls).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.random.default_rng(0).normal(0.0, 2.0, (200, 200))
    >>> prep = prepare_image(img, rms=np.full((200, 200), 2.0))
    >>> phot = aperture_photometry(prep, [50.0, 120.0], [60.0, 80.0], 4.0, rms=prep.rms)
    >>> bool(np.isfinite(phot["sumerr"]).all())
    True
    """
    checked = None
    if rms is not None:
        if np.ndim(rms) == 0:
            raise InvalidParameterError("prepare_image keeps a noise *map*; give a number "
                                        f"as rms= to the calls instead (got {rms!r})")
        shape = data.shape if isinstance(data, PreparedImage) else np.shape(data)
        checked = np.asarray(as_rms(rms, shape)).view()
        checked.flags.writeable = False
    if isinstance(data, PreparedImage):
        if mask is not None:
            raise InvalidParameterError("a PreparedImage carries its mask; pass mask=None")
        if checked is None:
            return data
        out = PreparedImage(data.data, data.mask, checked)
        out._neighbourhood = data._neighbourhood
        return out
    arr = _native_float(data)
    bmask = _bool_mask(mask, arr.shape)
    arr, bmask = _finite_inputs(arr, bmask)
    if bmask is not None:
        if not bmask.any():
            bmask = None
        elif np.any(arr[bmask] != 0):
            # masked pixels are left out by summing zeros there (sep would rescale sums)
            arr = np.where(bmask, arr.dtype.type(0), arr)
    return PreparedImage(arr, bmask, checked)


def _annulus_pixels(arr, bmask, xs, ys, rin, rout):
    """Values of the pixels whose centre lies in the annulus: (n, m) array, NaN elsewhere."""
    size = int(2 * np.ceil(rout) + 3)
    size = min(size, arr.shape[0], arr.shape[1])
    st = cut_stamps(arr, xs, ys, size, mask=bmask)
    yy, xx = np.mgrid[0:size, 0:size]
    d2 = (xx[None] - st.x[:, None, None]) ** 2 + (yy[None] - st.y[:, None, None]) ** 2
    sel = (d2 > rin * rin) & (d2 < rout * rout)  # sep and the kernel: rin < d < rout
    vals = st.data.astype(np.float64)
    bad = ~sel | ~np.isfinite(vals)
    if st.mask is not None:
        bad |= st.mask
    vals[bad] = np.nan
    return vals.reshape(len(xs), -1)


def _robust_sky(arr, bmask, xs, ys, rin, rout, estimator, sigma, maxiters):
    """Median or sigma-clipped-mean sky per position: (sky, std, npix)."""
    n = len(xs)
    sky = np.full(n, np.nan)
    std = np.full(n, np.nan)
    npix = np.zeros(n, dtype=np.int64)
    size = int(2 * np.ceil(rout) + 3)
    chunk = max(1, _STAMP_BUDGET // (size * size))
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))
        vals = _annulus_pixels(arr, bmask, xs[sl], ys[sl], rin, rout)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows -> NaN
            if estimator == "sigclip":
                from astropy.stats import sigma_clip

                from astropy.utils.exceptions import AstropyUserWarning

                warnings.simplefilter("ignore", AstropyUserWarning)  # NaN = not in annulus
                vals = sigma_clip(vals, sigma=sigma, maxiters=maxiters, axis=1,
                                  masked=False, cenfunc="median", stdfunc="std")
                sky[sl] = np.nanmean(vals, axis=1)
            else:
                sky[sl] = np.nanmedian(vals, axis=1)
            std[sl] = np.nanstd(vals, axis=1, ddof=1) if vals.shape[1] > 1 else np.nan
        npix[sl] = np.count_nonzero(np.isfinite(vals), axis=1)
    return sky, std, npix


def _use_kernel(engine, subpix, sky_subpix, n_threads):
    """True when the compiled kernel does the sums (see ``engine`` of aperture_photometry)."""
    engine = as_choice(engine, "engine", ENGINES)
    if engine == "auto":
        engine = _overlap.engine_setting()
    _overlap._check_threads(n_threads)
    fits = subpix in (0, 1) and sky_subpix in (0, 1)
    if engine == "sep":
        return False
    if engine == "kernel":
        if not _overlap.HAVE_KERNEL:
            _overlap.library()  # raises the package's error: not built at install time
        if not fits:
            raise InvalidParameterError(
                "engine='kernel' does exact overlap (subpix=0) and centre sampling "
                f"(subpix=1) only; got subpix={subpix}, sky_subpix={sky_subpix}: use "
                "engine='sep'")
        return True
    # auto: the kernel whenever it is installed and the sampling allows (it has no load
    # or compile cost); the choice depends on the call alone, so the same call gives
    # bit-identical results in any process
    return fits and _overlap.HAVE_KERNEL


def _sums_sep(prepared, xg, yg, badpos, radii, ann, var_map, subpix, sky_subpix, n_threads):
    """Per radius (sum, in-image area, masked area, var sum) and the annulus' (sum,
    unmasked area, var sum), through sep (masked pixels are zeros in ``prepared.data``)."""
    arr, neigh, maskf = prepared.data, prepared._neigh, prepared._maskf
    n = xg.size
    # sep 1.4's exact overlap returns the whole pixel for a circle of r <= ~0.7 px centred
    # exactly on a pixel centre (r = 0.3: area 1 instead of 0.283); one floating-point
    # step off the centre it is exact (the sums move by ~1e-16 relative). Centre sampling
    # (subpix=1) keeps the true centre: a pixel centre exactly on the circle stays out.
    centred = (xg == np.rint(xg)) & (yg == np.rint(yg))
    xn = np.where(centred, np.nextafter(xg, np.inf), xg) if centred.any() else xg
    if prepared.mask is not None and var_map is not None:
        var_map = np.where(prepared.mask, 0.0, var_map)

    def masked_area(xp, rin, rout, sp):
        # sep sums the bool mask viewed as bytes, only where a masked pixel is near
        out = np.zeros(n)
        if neigh is None:
            return out
        idx = np.flatnonzero(neigh.near(xg, yg, rout) & ~badpos)
        if idx.size:
            if rin is None:
                out[idx] = sep.sum_circle(maskf, xp[idx], yg[idx], rout, subpix=sp)[0]
            else:
                out[idx] = sep.sum_circann(maskf, xp[idx], yg[idx], rin, rout, subpix=sp)[0]
        return out

    annres = None
    if ann is not None:
        rin, rout = ann
        # err=1 makes sep return the in-image annulus area as sumerr**2 in the same pass
        xp = xn if sky_subpix == 0 else xg
        s_ann, e_ann, _ = sep.sum_circann(arr, xp, yg, rin, rout, err=1.0, subpix=sky_subpix)
        a_ann = np.clip(e_ann ** 2 - masked_area(xp, rin, rout, sky_subpix), 0.0, None)
        v_ann = None if var_map is None else sep.sum_circann(
            var_map, xp, yg, rin, rout, subpix=sky_subpix)[0]
        annres = (s_ann, a_ann, v_ann)
    circ = []
    xp = xn if subpix == 0 else xg
    for r in radii:
        raw, e_in, _ = sep.sum_circle(arr, xp, yg, r, err=1.0, subpix=subpix)
        vs = None if var_map is None else sep.sum_circle(var_map, xp, yg, r, subpix=subpix)[0]
        circ.append((raw, e_in ** 2, masked_area(xp, None, r, subpix), vs))
    return circ, annres


def _sums_kernel(prepared, xg, yg, badpos, radii, ann, rms_map, subpix, sky_subpix, n_threads):
    """As :func:`_sums_sep`, through the compiled kernel of :mod:`ztfimg.overlap`."""
    method = "exact" if subpix == 0 else "center"
    ann_method = "exact" if sky_subpix == 0 else "center"
    res, ares = _overlap.aperture_sums(prepared.data, xg, yg, radii, annulus=ann,
                                       mask=prepared.mask, rms=rms_map, method=method,
                                       annulus_method=ann_method, n_threads=n_threads)
    annres = None
    if ares is not None:
        annres = (ares.sum, np.clip(ares.area - ares.masked_area, 0.0, None), ares.var_sum)
    return [(c.sum, c.area, c.masked_area, c.var_sum) for c in res], annres


def _empty_frame(radii, scalar, index=None):
    cols = {"x": [], "y": []}
    names = _PER_RADIUS if scalar else [f"{c}_{k}" for k in range(len(radii)) for c in _PER_RADIUS]
    for c in names:
        cols[c] = np.array([], dtype=np.int64 if c.startswith("aper_flag") else np.float64)
    cols.update(sky=np.array([], float), skyerr=np.array([], float),
                sky_npix=np.array([], np.int64))
    if not scalar:
        cols["aper_flag"] = np.array([], dtype=np.int64)
    df = pd.DataFrame(cols, index=index)
    df.attrs["radius"] = [float(r) for r in radii]
    return df


def aperture_photometry(data, x, y, radius, *, rms=None, gain=None, mask=None, bkgann=None,
                        sky_estimator="mean", sigma=3.0, maxiters=5, subpix=0, sky_subpix=1,
                        pixel_scale=None, engine="auto", n_threads=None):
    """Sum an image in circular apertures, with optional local sky subtraction.

    Parameters
    ----------
    data : numpy.ndarray or PreparedImage
        2-D image, data units (DN), background-subtracted unless ``bkgann`` is given.
        Never modified; non-finite pixels are treated as masked. A :class:`PreparedImage`
        (:func:`prepare_image`, with its mask; ``mask`` then None) skips the per-frame work.
    x, y : float or array_like
        Aperture centres, 0-based pixels (``x`` = column). A scalar is used for every
        position of the other; arrays must have the same length. A pandas Series keeps
        its index in the output. NaN/inf positions give NaN values and
        :attr:`ApertureFlag.BAD_POSITION <ztfimg.flags.ApertureFlag>`.
    radius : float, sequence of float or astropy.units.Quantity
        Aperture radius (radii), pixels, applied to every position; each > 0. A Quantity
        in ``u.pix`` or an angle (arcsec ..., needs ``pixel_scale``) is converted.
    rms : float or numpy.ndarray, optional
        Sky noise per pixel (1 sigma), data units: a number > 0 or a map of the data's
        shape (finite, >= 0). Default None: the standard deviation of the annulus pixels
        if ``bkgann`` is given, else ``sumerr`` is NaN.
    gain : float, optional
        Gain in e-/DN (ZTF ``GAIN``) for the source Poisson term. Default None (none).
    mask : numpy.ndarray, optional
        Pixels to exclude (bool, or integer non-zero = masked), same shape as ``data``.
        For ZTF, every bit but 1 and 11. Masked pixels are left out of the sum (no
        correction) and counted in ``npix_masked``. Default None.
    bkgann : (float, float) or astropy.units.Quantity, optional
        Inner and outer radius of the sky annulus, pixels (``0 <= inner < outer``), or
        Quantities as for ``radius``. Default None (no sky subtraction; ``sky`` is 0).
    sky_estimator : {"mean", "median", "sigclip"}, optional
        Sky statistic in the annulus: exact-overlap mean (sep), median, or sigma-clipped
        mean (astropy ``sigma_clip`` around the median) of the pixels whose centre is in
        the annulus. Default "mean".
    sigma : float, optional
        Clipping threshold for "sigclip", in standard deviations. Default 3.
    maxiters : int, optional
        Maximum clipping iterations for "sigclip". Default 5.
    subpix : int, optional
        sep sub-pixel sampling of the aperture; 0 means exact overlap. Default 0.
    sky_subpix : int, optional
        Sampling of the annulus for the "mean" sky: 1 (default) takes the whole pixels
        whose centre lies in the annulus, the same pixel set as the "median" and
        "sigclip" estimators (and as photutils' ``method="center"``); 0 weights pixels by
        their exact overlap (photutils' ``method="exact"``), about twice the cost for the
        same statistical quality.
    pixel_scale : float or astropy.units.Quantity, optional
        Pixel scale, arcsec per pixel (ZTF: 1.012, header ``PIXSCALE``), used only to
        convert angular ``radius``/``bkgann``. Default None.
    engine : {"auto", "kernel", "sep"}, optional
        Code that sums the pixels; both give the same numbers (to ~1e-13 relative, flags
        identical). "kernel": ztfimg's compiled exact-overlap kernel
        (:mod:`ztfimg.overlap`, C built at install time), parallel over positions with
        the GIL released; it does exact overlap (``subpix=0``) and centre sampling
        (``subpix=1``) only. "sep": ``sep.sum_circle``/``sep.sum_circann`` (any
        ``subpix``; holds the GIL). Default "auto": the kernel when it was built and the
        sampling allows, else sep; the choice depends on the call alone, so a call gives
        bit-identical results in every process. The environment variable
        ``ZTFIMG_ENGINE`` (``kernel`` or ``sep``) overrides what "auto" picks.
    n_threads : int, optional
        Threads of the kernel (>= 1). Default None:
        :func:`ztfimg.overlap.default_threads` (``ZTFIMG_NUM_THREADS``, else
        ``OMP_NUM_THREADS``, else the usable cores), one thread below
        :data:`ztfimg.overlap.PARALLEL_MIN` positions. Ignored by sep.

    Returns
    -------
    pandas.DataFrame
        Same length, order and index as ``x``: ``x``, ``y``, then per radius ``sum``
        (sky-subtracted, data units), ``sumerr``, ``area`` (unmasked in-image area,
        pixels), ``npix_masked`` (masked area inside the image, pixels),
        ``masked_frac`` (``npix_masked`` / in-image area), ``aper_flag``
        (:class:`~ztfimg.flags.ApertureFlag` bits), then ``sky`` (per pixel, data
        units), ``skyerr`` (its error) and ``sky_npix`` (annulus pixels used). See the
        module doc for the multi-radius layout.

    Raises
    ------
    InvalidParameterError
        ``radius <= 0``, bad ``bkgann`` (inner >= outer), unknown ``sky_estimator``,
        ``rms``/``gain`` not positive, non-numeric positions, an angle without
        ``pixel_scale``.
    ShapeMismatchError
        ``x``/``y`` arrays of different lengths, ``mask``/``rms`` do not match ``data``.

    Examples
    --------
    >>> phot = aperture_photometry(sub, src.x, src.y, [2, 3, 4], rms=bkg.globalrms,
    ...                            gain=6.0, mask=detmask)               # doctest: +SKIP
    >>> phot["sum_1"]                                                    # doctest: +SKIP
    """
    radii, scalar = as_radii(radius, pixel_scale=pixel_scale)
    ann = as_annulus(bkgann, pixel_scale=pixel_scale)
    if ann is not None and ann[0] < radii.max():
        warnings.warn(
            f"the sky annulus ({ann[0]:g}-{ann[1]:g} px) starts inside the aperture (radius "
            f"{radii.max():g} px): the source's own light enters the sky and the sums are "
            "biased low; use an inner radius >= the largest aperture radius",
            AnnulusOverlapWarning, stacklevel=2)
    if sky_estimator not in SKY_ESTIMATORS:
        raise InvalidParameterError(
            f"sky_estimator must be one of {SKY_ESTIMATORS}; got {sky_estimator!r}")
    gain = as_gain(gain)
    if int(subpix) != subpix or subpix < 0:
        raise InvalidParameterError(f"subpix must be an integer >= 0; got {subpix!r}")
    if int(sky_subpix) != sky_subpix or sky_subpix < 0:
        raise InvalidParameterError(f"sky_subpix must be an integer >= 0; got {sky_subpix!r}")
    sky_subpix = int(sky_subpix)
    if not np.isfinite(sigma) or sigma <= 0:
        raise InvalidParameterError(f"sigma must be > 0; got {sigma!r}")
    prepared = prepare_image(data, mask)
    arr, bmask = prepared.data, prepared.mask
    index = x.index if isinstance(x, pd.Series) else (
        y.index if isinstance(y, pd.Series) else None)
    xs, ys, _ = as_positions(x, y)

    if rms is not None and prepared.rms is not None and rms is prepared.rms:
        pass                               # the map prepare_image checked
    else:
        rms = as_rms(rms, arr.shape)
    rms_map = rms if (rms is not None and not isinstance(rms, float)) else None

    n = len(xs)
    use_kernel = _use_kernel(engine, int(subpix), sky_subpix, n_threads)
    if index is not None and len(index) != n:  # pragma: no cover - Series are 1-D
        index = None
    if n == 0:
        return _empty_frame(radii, scalar, index)

    badpos = ~(np.isfinite(xs) & np.isfinite(ys))
    xg = np.where(badpos, 0.0, xs)
    yg = np.where(badpos, 0.0, ys)
    subpix = int(subpix)
    want_mean = ann is not None and sky_estimator == "mean"
    # a variance map only where it is read as one: sep's route and the robust estimators;
    # the kernel squares the rms map pixel by pixel
    need_var = rms_map is not None and (not use_kernel or (ann is not None and not want_mean))
    var_map = np.square(rms_map, dtype=np.float64) if need_var else None
    if use_kernel:
        circ, annres = _sums_kernel(prepared, xg, yg, badpos, radii,
                                    ann if want_mean else None, rms_map, subpix, sky_subpix,
                                    n_threads)
    else:
        circ, annres = _sums_sep(prepared, xg, yg, badpos, radii, ann if want_mean else None,
                                 var_map, subpix, sky_subpix, n_threads)

    # ------------------------------------------------------------------ sky
    sky = np.zeros(n)
    skyerr = np.zeros(n)
    sky_npix = np.zeros(n, dtype=np.int64)
    sky_sigma = np.full(n, np.nan) if rms is None else None
    skyflag = np.zeros(n, dtype=np.int64)
    if ann is not None:
        rin, rout = ann
        if sky_estimator == "mean":
            s_ann, a_ann, v_ann = annres
            with np.errstate(invalid="ignore", divide="ignore"):
                sky = np.where(a_ann > 0, s_ann / np.where(a_ann > 0, a_ann, 1.0), np.nan)
            npix_eff = a_ann
            if rms is None:
                # per-pixel scatter of the annulus (centre-in pixels)
                _, sky_sigma, _ = _robust_sky(arr, bmask, xg, yg, rin, rout, "median",
                                              sigma, maxiters)
            elif rms_map is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    sky_sigma = np.sqrt(v_ann / a_ann)
            factor = 1.0
        else:
            sky, sstd, npix_int = _robust_sky(arr, bmask, xg, yg, rin, rout, sky_estimator,
                                              sigma, maxiters)
            npix_eff = npix_int.astype(np.float64)
            if rms is None:
                sky_sigma = sstd
            elif rms_map is not None:
                v_ann, _, _ = _robust_sky(var_map, bmask, xg, yg, rin, rout, "median",
                                          sigma, maxiters)
                sky_sigma = np.sqrt(v_ann)
            factor = np.sqrt(np.pi / 2.0) if sky_estimator == "median" else 1.0
        if sky_sigma is None:
            sky_sigma = np.full(n, rms)
        with np.errstate(invalid="ignore", divide="ignore"):
            skyerr = factor * sky_sigma / np.sqrt(npix_eff)
        sky_npix = np.rint(npix_eff).astype(np.int64)
        nosky = ~np.isfinite(sky) | (npix_eff <= _TINY)
        skyflag[nosky] |= APER_NO_SKY
        sky = np.where(nosky, np.nan, sky)

    # -------------------------------------------------------------- apertures
    out = {"x": xs, "y": ys}
    flag_all = np.zeros(n, dtype=np.int64)
    for k, r in enumerate(radii):
        off, partial = _geometry(xs, ys, r, arr.shape)
        off |= badpos
        partial &= ~badpos
        flag = skyflag.copy()
        flag[partial] |= APER_PARTIAL
        flag[off] |= APER_OFF_IMAGE
        flag[badpos] = APER_BAD_POSITION
        raw, area_in, masked, var_sum = circ[k]
        area_in = np.where(off, 0.0, area_in)
        masked = np.clip(np.minimum(masked, area_in), 0.0, None)
        area = np.clip(area_in - masked, 0.0, None)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(area_in > 0, masked / area_in, np.nan)
        # relative to the aperture's own area: a tiny aperture on clean pixels is not masked
        flag[(masked > _TINY * area_in) & ~off] |= APER_HAS_MASKED
        allmasked = (area <= _TINY * area_in) & ~off
        flag[allmasked] |= APER_ALL_MASKED

        net = raw - sky * area
        if rms is None:
            noise = sky_sigma ** 2 * area if ann is not None else np.full(n, np.nan)
        elif rms_map is not None:
            noise = var_sum
        else:
            noise = rms ** 2 * area
        with np.errstate(invalid="ignore"):  # off-image rows: 0 area x no sky -> NaN, flagged
            var = noise + area ** 2 * skyerr ** 2
            if gain is not None:
                var = var + np.clip(np.nan_to_num(net), 0.0, None) / gain
            err = np.sqrt(var)

        dead = badpos | off | allmasked
        net = np.where(dead, np.nan, net)
        err = np.where(dead | np.isnan(net), np.nan, err)
        for name, val in (("area", area), ("npix_masked", masked), ("masked_frac", frac)):
            val = np.where(badpos | off, np.nan, val)
            out[name if scalar else f"{name}_{k}"] = val
        suffix = "" if scalar else f"_{k}"
        out["sum" + suffix] = net
        out["sumerr" + suffix] = err
        out["aper_flag" + suffix] = flag
        flag_all |= flag

    sky_out = np.where(badpos, np.nan, sky)
    skyerr_out = np.where(badpos | np.isnan(sky_out), np.nan, skyerr)
    if ann is None:
        sky_out = np.where(badpos, np.nan, 0.0)
        skyerr_out = np.where(badpos, np.nan, 0.0)
    out.update(sky=sky_out, skyerr=skyerr_out, sky_npix=np.where(badpos, 0, sky_npix))
    if not scalar:
        out["aper_flag"] = flag_all
    names = ["x", "y"]
    names += list(_PER_RADIUS) if scalar else [f"{c}_{k}" for k in range(len(radii))
                                               for c in _PER_RADIUS]
    names += ["sky", "skyerr", "sky_npix"] + ([] if scalar else ["aper_flag"])
    df = pd.DataFrame({c: out[c] for c in names}, index=index)
    df.attrs["radius"] = [float(r) for r in radii]
    return df


def curve_of_growth(data, x, y, radii, *, mask=None, bkgann=None, sky_estimator="median",
                    norm_radius=None, subpix=0, pixel_scale=None):
    """Normalised curve of growth from (bright, isolated) stars.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, background-subtracted unless ``bkgann`` is given.
    x, y : array_like
        Star positions, 0-based pixels. Stars with any flag (masked pixels, edge ...) or a
        non-positive flux at ``norm_radius`` are left out.
    radii : sequence of float or astropy.units.Quantity
        Aperture radii, pixels (> 0), or a Quantity as in :func:`aperture_photometry`.
    mask : numpy.ndarray, optional
        Pixels to exclude, as in :func:`aperture_photometry`.
    bkgann : (float, float), optional
        Sky annulus radii, pixels. Default None (no local sky).
    sky_estimator : {"mean", "median", "sigclip"}, optional
        Sky statistic in the annulus. Default "median".
    norm_radius : float, optional
        Radius at which the growth is 1, pixels. Default ``max(radii)`` (must be one of
        them).
    subpix : int, optional
        sep sub-pixel sampling; 0 = exact. Default 0.
    pixel_scale : float or astropy.units.Quantity, optional
        Pixel scale, arcsec per pixel, for angular ``radii``/``bkgann``. Default None.

    Returns
    -------
    pandas.DataFrame
        One row per radius (sorted, pixels): ``radius``, ``fraction`` (median over stars
        of ``sum(r) / sum(norm_radius)``), ``fraction_err`` (1.2533 x the MAD-based sigma
        (``astropy.stats.mad_std``) / sqrt(nstars)), ``nstars``.

    Raises
    ------
    InvalidParameterError
        Bad radii, ``norm_radius`` not among ``radii``.
    """
    radii = np.sort(as_radii(radii, pixel_scale=pixel_scale, name="radii")[0])
    norm_radius = float(radii.max() if norm_radius is None else norm_radius)
    hit = np.flatnonzero(np.isclose(radii, norm_radius))
    if hit.size == 0:
        raise InvalidParameterError(
            f"norm_radius {norm_radius} must be one of the radii {radii.tolist()}")
    phot = aperture_photometry(data, x, y, list(radii), mask=mask, bkgann=bkgann,
                               sky_estimator=sky_estimator, subpix=subpix,
                               pixel_scale=pixel_scale)
    sums = np.column_stack([phot[f"sum_{k}"].to_numpy() for k in range(len(radii))])
    ref = sums[:, hit[0]]
    keep = (phot["aper_flag"].to_numpy() == 0) & np.all(np.isfinite(sums), axis=1) & (ref > 0)
    frac = sums[keep] / ref[keep, None]
    nstars = int(keep.sum())
    if nstars:
        from astropy.stats import mad_std

        med = np.median(frac, axis=0)
        err = 1.2533 * mad_std(frac, axis=0) / np.sqrt(nstars)
    else:
        med = np.full(len(radii), np.nan)
        err = np.full(len(radii), np.nan)
    df = pd.DataFrame({"radius": radii, "fraction": med, "fraction_err": err,
                       "nstars": np.full(len(radii), nstars)})
    df.attrs["norm_radius"] = norm_radius
    return df
