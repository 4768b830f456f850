"""Source detection on an image (a thin layer over ``sep.extract``).

:func:`extract_sources` returns a pandas DataFrame with sep's columns (0-based ``x``, ``y``,
ellipse ``a``, ``b``, ``theta``, isophotal ``flux`` ...) plus

* ``fluxerr``: error on the isophotal flux, ``sqrt(npix * err**2 + max(flux, 0) / gain)``
  (the Poisson term only when ``gain`` is given);
* ``maskbits``: the OR of the bits of an integer mask (e.g. the ZTF ``mskimg``) touched by
  the source;
* ``sep_flag``: sep's extraction flags, :class:`ztfimg.flags.SourceFlag` bits (named
  ``sep_flag`` so that it is not confused with the other tables' flags);
* ``segid``: the label of the source in the segmentation map (row index + 1).

Threshold and speed: by default the noise is a **scalar** (the global sky rms) and the
detection image is the data convolved with the (normalised) 3x3 kernel, compared with
``thresh * rms`` pixel by pixel. Because the convolution lowers the noise (by ~0.375 for
the default kernel), ``thresh=5`` finds stars whose peak pixel is above ~10 sigma on ZTF
seeing; SExtractor's usual ``thresh=1.5`` finds >= 98% of the stars peaking at 5 sigma
with no spurious detection on a simulated frame. An rms *map* as ``err`` keeps the same
meaning with ``filter_type="conv"`` (the default here); sep's own default
``filter_type="matched"`` then switches to its matched filter, whose threshold is in units
of the *filtered* noise (many more, fainter detections at the same ``thresh``) and which is
about 2.5x slower on a quadrant (0.96 s instead of 0.38 s). Per-pixel noise is rarely
needed on single-epoch frames, whose noise is nearly uniform.

Pixel convention: 0-based, ``x`` = column, ``y`` = row (``data[y, x]``), like sep.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sep

from .background import (Background, _bool_mask, _finite_inputs, _native_float,
                         estimate_background)
from .errors import InvalidParameterError, ShapeMismatchError
from .flags import SourceFlag
from .validation import as_gain, as_rms

__all__ = ["extract_sources", "windowed_positions", "OBJ_MERGED", "OBJ_TRUNC", "OBJ_DOVERFLOW", "OBJ_SINGU",
           "DEFAULT_KERNEL"]

# Aliases of the SourceFlag members (same values as sep's), kept so old code keeps working.
#: Alias of :attr:`ztfimg.flags.SourceFlag.MERGED` (``sep.OBJ_MERGED``: deblended).
OBJ_MERGED = SourceFlag.MERGED
#: Alias of :attr:`ztfimg.flags.SourceFlag.TRUNC` (``sep.OBJ_TRUNC``: truncated at an edge).
OBJ_TRUNC = SourceFlag.TRUNC
#: Alias of :attr:`ztfimg.flags.SourceFlag.DOVERFLOW` (``sep.OBJ_DOVERFLOW``).
OBJ_DOVERFLOW = SourceFlag.DOVERFLOW
#: Alias of :attr:`ztfimg.flags.SourceFlag.SINGU` (``sep.OBJ_SINGU``: singular moments).
OBJ_SINGU = SourceFlag.SINGU

#: sep's default 3x3 detection kernel ``[[1, 2, 1], [2, 4, 2], [1, 2, 1]]``.
DEFAULT_KERNEL = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32)

_MAX_PIXSTACK = 100_000_000
_MAX_SUBOBJECTS = 1 << 20
_MAX_RETRIES = 8
_GATHER_CHUNK = 4_000_000  # pixels gathered at once when OR-ing mask bits


def _extract_with_retry(*args, **kwargs):
    """Call ``sep.extract``; on buffer/sub-object overflow raise the limit and retry.

    sep's limits are process-global: the previous values are restored afterwards.
    """
    old_stack = sep.get_extract_pixstack()
    old_sub = sep.get_sub_object_limit()
    try:
        for _ in range(_MAX_RETRIES + 1):
            try:
                return sep.extract(*args, **kwargs)
            except Exception as exc:  # sep raises bare Exception
                msg = str(exc).lower()
                if "pixel buffer full" in msg and sep.get_extract_pixstack() < _MAX_PIXSTACK:
                    sep.set_extract_pixstack(min(_MAX_PIXSTACK, sep.get_extract_pixstack() * 4))
                elif "deblending overflow" in msg and sep.get_sub_object_limit() < _MAX_SUBOBJECTS:
                    sep.set_sub_object_limit(min(_MAX_SUBOBJECTS, sep.get_sub_object_limit() * 4))
                else:
                    raise
        raise InvalidParameterError(  # pragma: no cover - only with absurd thresholds
            "sep.extract overflowed even after raising its limits; raise thresh or minarea")
    finally:
        sep.set_extract_pixstack(old_stack)
        sep.set_sub_object_limit(old_sub)


def _bbox_pixels(xmin, xmax, ymin, ymax, start, stop):
    """Flat pixel coordinates of the bounding boxes of objects ``start:stop``.

    Returns ``(owner, yy, xx, offsets)``: the object (relative to ``start``) each pixel
    belongs to, its coordinates, and where each object's run starts.
    """
    w = (xmax[start:stop] - xmin[start:stop] + 1).astype(np.int64)
    h = (ymax[start:stop] - ymin[start:stop] + 1).astype(np.int64)
    area = w * h
    offsets = np.concatenate([[0], np.cumsum(area)[:-1]])
    owner = np.repeat(np.arange(stop - start), area)
    local = np.arange(area.sum()) - offsets[owner]
    yy = ymin[start:stop][owner] + local // w[owner]
    xx = xmin[start:stop][owner] + local % w[owner]
    return owner, yy, xx, offsets


def _use_compiled():
    """The compiled OR loop (``ztfimg/_kernel.c``) unless it was not built or
    ``ZTFIMG_ENGINE=sep`` asks for the numpy route."""
    from .overlap import HAVE_KERNEL, engine_setting
    return HAVE_KERNEL and engine_setting() != "sep"


def _or_mask_bits(objects, bitmask, segmap, detmask, mode):
    """OR of ``bitmask`` over the pixels touched by each object.

    The compiled loop (one pass, no temporaries), else vectorised numpy by chunks; the two
    give the same integers (tested)."""
    n = len(objects)
    out = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out
    if _use_compiled():
        from ._ckernel import or_bits
        bits = np.ascontiguousarray(bitmask)
        if bits.dtype.kind == "b":
            bits = bits.view(np.uint8)
        elif bits.dtype.kind not in "iu":
            bits = bits.astype(np.int64)
        use_seg = mode == "segmentation"
        seg = np.ascontiguousarray(segmap, dtype=np.int32) if use_seg else None
        det = None
        if use_seg and detmask is not None:
            dm = np.asarray(detmask)
            det = np.ascontiguousarray(dm if dm.dtype == np.bool_ else dm != 0).view(np.uint8)
        ny, nx = bits.shape
        # the C loop reads inside the boxes only: keep them on the image
        box = [np.clip(np.asarray(objects[c], dtype=np.int64), 0, hi) for c, hi in
               (("xmin", nx - 1), ("xmax", nx - 1), ("ymin", ny - 1), ("ymax", ny - 1))]
        return or_bits(bits, seg, det, *box)
    return _or_mask_bits_numpy(objects, bitmask, segmap, detmask, mode)


def _or_mask_bits_numpy(objects, bitmask, segmap, detmask, mode):
    """The vectorised numpy route of :func:`_or_mask_bits` (by chunks of pixels)."""
    n = len(objects)
    out = np.zeros(n, dtype=np.int64)
    xmin = objects["xmin"].astype(np.int64)
    xmax = objects["xmax"].astype(np.int64)
    ymin = objects["ymin"].astype(np.int64)
    ymax = objects["ymax"].astype(np.int64)
    area = (xmax - xmin + 1) * (ymax - ymin + 1)
    cum = np.cumsum(area)
    start = 0
    while start < n:
        # at least one object per chunk, otherwise up to _GATHER_CHUNK pixels
        base = cum[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(cum, base + _GATHER_CHUNK, side="right")))
        stop = min(stop, n)
        owner, yy, xx, offsets = _bbox_pixels(xmin, xmax, ymin, ymax, start, stop)
        bits = bitmask[yy, xx].astype(np.int64)
        if mode == "segmentation":
            seg = segmap[yy, xx]
            keep = seg == (owner + start + 1)
            if detmask is not None:
                # masked pixels (e.g. a saturated core) are not in the segment: count the
                # masked pixels of the bbox that no other object claims.
                keep |= (seg == 0) & detmask[yy, xx]
            bits = np.where(keep, bits, 0)
        out[start:stop] = np.bitwise_or.reduceat(bits, offsets)
        start = stop
    return out


def extract_sources(data, *, thresh=5.0, err=None, mask=None, gain=None, minarea=5,
                    deblend_nthresh=32, deblend_cont=0.005, clean=True, clean_param=1.0,
                    filter_kernel=DEFAULT_KERNEL, filter_type="conv", segmentation=False,
                    bitmask=None,
                    maskbits_from="segmentation", background=None):
    """Detect sources with ``sep.extract`` and return them as a DataFrame.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, **background-subtracted** unless ``background`` is given (any numeric
        dtype or byte order; converted once to native float). Never modified.
    thresh : float, optional
        Detection threshold in units of ``err`` (sigma). Default 5.
    err : float or numpy.ndarray, optional
        1-sigma noise per pixel, data units: a number > 0, or a map of the data's shape
        (finite, >= 0). Default None: the global sky rms, from
        ``background.globalrms`` if a :class:`~ztfimg.background.Background` is given,
        otherwise measured with :func:`~ztfimg.background.estimate_background`. An array
        makes sep use its (slow) per-pixel matched filter. Pass ``err=1`` to make
        ``thresh`` an absolute level in data units.
    mask : numpy.ndarray, optional
        Pixels to ignore for detection (bool, or integer non-zero = masked), same shape
        as ``data``. For ZTF mask every bit **but** 1 and 11 (those mark the stars).
        Non-finite pixels are always masked. Default None.
    gain : float, optional
        Gain in e-/DN (ZTF header ``GAIN``), for the Poisson term of ``fluxerr``.
        Default None (no Poisson term).
    minarea : int, optional
        Minimum number of pixels above threshold. Default 5.
    deblend_nthresh : int, optional
        Number of deblending thresholds. Default 32.
    deblend_cont : float, optional
        Minimum contrast for deblending; 1 disables deblending. Default 0.005.
    clean : bool, optional
        Clean spurious detections near bright objects. Default True.
    clean_param : float, optional
        Cleaning parameter. Default 1.
    filter_kernel : numpy.ndarray or None, optional
        Detection kernel; None disables filtering. Default sep's 3x3 kernel
        (:data:`DEFAULT_KERNEL`).
    filter_type : {"conv", "matched"}, optional
        How an ``err`` *map* enters the filtering (no effect with a scalar ``err``):
        "conv" thresholds the convolved data at ``thresh * err`` like the scalar case;
        "matched" (sep's default) thresholds in units of the filtered noise - deeper and
        ~2.5x slower. Default "conv".
    segmentation : bool, optional
        Also return the segmentation map (int32, 0 = sky, ``segid`` otherwise).
        Default False.
    bitmask : numpy.ndarray of int, optional
        Integer bit mask (e.g. the ZTF ``mskimg``) whose bits are OR-ed per source into
        the ``maskbits`` column. Default None (``maskbits`` is 0).
    maskbits_from : {"segmentation", "bbox"}, optional
        Pixels a source "touches": its segment plus the masked pixels of its bounding box
        not claimed by another source (so the masked core of a saturated star counts),
        or its whole isophotal bounding box. Default "segmentation".
    background : Background, float or numpy.ndarray, optional
        Sky to subtract before detection (a new array is made); a ``Background`` also
        provides the default ``err``. Default None (``data`` already subtracted).

    Returns
    -------
    pandas.DataFrame
        One row per source, sep's columns (``x``, ``y`` 0-based pixels; ``a``, ``b``
        pixels; ``theta`` radians; ``flux``, ``peak`` ... data units), ``fluxerr``,
        ``maskbits`` (int64), ``sep_flag`` (int64, :class:`~ztfimg.flags.SourceFlag`
        bits) and ``segid``.
        ``df.attrs`` holds ``thresh``, ``err`` (scalar or "map") and ``minarea``.
    numpy.ndarray
        The segmentation map, only if ``segmentation=True``.

    Raises
    ------
    ShapeMismatchError
        ``mask``, ``bitmask``, ``err`` or ``background`` do not match ``data``.
    InvalidParameterError
        ``thresh``, ``err``, ``gain`` or ``minarea`` not positive, an ``err`` map with
        non-finite or negative pixels, unknown ``maskbits_from``.

    Notes
    -----
    If sep's internal pixel buffer or its sub-object limit overflows (crowded fields,
    low thresholds), the limits are raised (x4, up to 1e8 pixels) and the extraction is
    retried; the process-global sep limits are restored afterwards.

    Examples
    --------
    >>> bkg = estimate_background(data, mask=msk != 0)                      # doctest: +SKIP
    >>> src = extract_sources(data, background=bkg, mask=detmask, gain=6.0,
    ...                       bitmask=msk)                                   # doctest: +SKIP
    """
    arr = _native_float(data)
    shape = arr.shape
    if (isinstance(thresh, (bool, np.bool_)) or not isinstance(thresh, (int, float, np.number))
            or not np.isfinite(thresh) or thresh <= 0):
        raise InvalidParameterError(f"thresh must be a positive number (sigma); got {thresh!r}")
    if (isinstance(minarea, (bool, np.bool_)) or not isinstance(minarea, (int, float, np.number))
            or not np.isfinite(minarea) or int(minarea) != minarea or minarea < 1):
        raise InvalidParameterError(f"minarea must be a positive integer; got {minarea!r}")
    gain = as_gain(gain)
    if filter_type not in ("conv", "matched"):
        raise InvalidParameterError(f"filter_type must be 'conv' or 'matched'; got {filter_type!r}")
    if maskbits_from not in ("segmentation", "bbox"):
        raise InvalidParameterError(
            f"maskbits_from must be 'segmentation' or 'bbox'; got {maskbits_from!r}")
    bmask = _bool_mask(mask, shape)

    if background is not None:
        back = background.back if isinstance(background, Background) else background
        back = np.asarray(back)
        if back.ndim != 0 and back.shape != shape:
            raise ShapeMismatchError(
                f"background has shape {back.shape} but data has shape {shape}")
        arr = np.subtract(arr, back, dtype=arr.dtype)
        if err is None and isinstance(background, Background):
            err = background.globalrms
    arr, bmask = _finite_inputs(arr, bmask)

    if err is None:
        err = estimate_background(arr, bmask).globalrms
    err = as_rms(err, shape, name="err")
    if isinstance(err, float):
        err_desc = err
    else:
        err = _native_float(err, "err")
        err_desc = "map"

    ibits = None
    if bitmask is not None:
        ibits = np.asarray(bitmask)
        if ibits.shape != shape:
            raise ShapeMismatchError(
                f"bitmask has shape {ibits.shape} but data has shape {shape}")
        if ibits.dtype.kind not in "iub":
            raise InvalidParameterError(f"bitmask must be an integer array; got {ibits.dtype}")

    need_seg = segmentation or not np.isscalar(err) or (
        ibits is not None and maskbits_from == "segmentation")
    kernel = None if filter_kernel is None else np.asarray(filter_kernel, dtype=np.float32)
    res = _extract_with_retry(arr, float(thresh), err=err, mask=bmask, minarea=int(minarea),
                              filter_kernel=kernel, filter_type=filter_type,
                              deblend_nthresh=int(deblend_nthresh),
                              deblend_cont=float(deblend_cont), clean=bool(clean),
                              clean_param=float(clean_param), segmentation_map=need_seg)
    objects, segmap = res if need_seg else (res, None)

    df = pd.DataFrame({name: objects[name] for name in objects.dtype.names})
    n = len(df)
    if np.isscalar(err):
        noise_var = df["npix"].to_numpy(np.float64) * err ** 2
    else:
        sums = np.bincount(segmap.ravel(), weights=(err.astype(np.float64) ** 2).ravel(),
                           minlength=n + 1)
        noise_var = sums[1:n + 1]
    flux = df["flux"].to_numpy(np.float64)
    var = noise_var.copy()
    if gain is not None:
        var += np.clip(flux, 0, None) / float(gain)
    df.insert(df.columns.get_loc("flux") + 1, "fluxerr", np.sqrt(var))
    if ibits is not None:
        df["maskbits"] = _or_mask_bits(objects, ibits, segmap, bmask, maskbits_from)
    else:
        df["maskbits"] = np.zeros(n, dtype=np.int64)
    df["sep_flag"] = df.pop("flag").astype(np.int64)
    df["segid"] = np.arange(1, n + 1, dtype=np.int64)
    df.attrs.update(thresh=float(thresh), err=err_desc, minarea=int(minarea))
    if segmentation:
        return df, segmap
    return df


def windowed_positions(data, x, y, fwhm, *, mask=None):
    """SExtractor's windowed centroids (``XWIN_IMAGE``/``YWIN_IMAGE``) through ``sep.winpos``.

    The centroid is iterated with a Gaussian window of ``sigma = fwhm / 2.3548``; it is
    far less biased by the wings, neighbours and noise than the isophotal barycentre of
    :func:`extract_sources`, which makes it the position to use for astrometry.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image, background-subtracted (never modified; non-finite pixels are masked).
    x, y : array_like
        Starting positions, 0-based pixels (``x`` = column), e.g. the extracted ``x``, ``y``.
    fwhm : float or array_like
        Full width at half maximum of the stars, pixels (> 0), one or one per position.
    mask : numpy.ndarray, optional
        Pixels to leave out (bool, or integer non-zero = masked), shape of ``data``.

    Returns
    -------
    xwin, ywin : numpy.ndarray
        Windowed centroids, 0-based pixels; NaN where sep flagged the position (or the
        start was NaN).
    flag : numpy.ndarray of int
        sep's flags (0 = fine).

    Raises
    ------
    InvalidParameterError, ShapeMismatchError
        Bad positions, ``fwhm`` <= 0 or not finite, a mask of another shape.
    """
    from .validation import as_per_position, as_positions
    arr = _native_float(data)
    bmask = _bool_mask(mask, arr.shape)
    arr, bmask = _finite_inputs(arr, bmask)
    xs, ys, _ = as_positions(x, y)
    sig = as_per_position(fwhm, len(xs), name="fwhm") / 2.3548
    if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise InvalidParameterError("fwhm must be finite and > 0 (pixels)")
    good = np.isfinite(xs) & np.isfinite(ys)
    xw = np.full(len(xs), np.nan)
    yw = np.full(len(xs), np.nan)
    flag = np.zeros(len(xs), dtype=np.int64)
    if good.any():
        kw = {} if bmask is None else {"mask": bmask.view(np.uint8)}
        a, b, f = sep.winpos(arr, xs[good], ys[good], sig[good],
                             **kw)
        f = np.asarray(f, dtype=np.int64)
        bad = (f != 0) | ~np.isfinite(a) | ~np.isfinite(b)
        xw[good] = np.where(bad, np.nan, a)
        yw[good] = np.where(bad, np.nan, b)
        flag[good] = f
    return xw, yw, flag
