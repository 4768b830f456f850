"""Display helpers shared by images, stamps and backgrounds.

:func:`show_image` draws a 2-D array with a robust intensity scale (astropy's
``ZScaleInterval`` by default), optional WCS axes, a colour bar and an overlay of positions
or ellipses from a sources table. It never modifies the array and returns the Axes, so
calls can be combined::

    ax = show_image(data, overlay=sources)
    ax.set_title("my frame")

Pixel convention: 0-based, ``x`` = column, ``y`` = row; the image is drawn with
``origin="lower"`` (row 0 at the bottom, as in ds9), pixel (0, 0) centred on (0, 0).
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidParameterError, ShapeMismatchError

__all__ = ["show_image", "block_average", "SCALES", "STRETCHES", "MASK_COLOR",
           "DISPLAY_MAX_SIDE"]

#: Accepted values of ``scale``.
SCALES = ("zscale", "percentile", "minmax")
#: Accepted values of ``stretch``.
STRETCHES = ("linear", "sqrt", "log", "asinh")
#: Default colour of masked / non-finite pixels in :func:`show_image`.
MASK_COLOR = "#3f7fbf"
#: ``downsample="auto"`` block-averages images whose longer side exceeds this (pixels).
DISPLAY_MAX_SIDE = 1100


def block_average(data, factor):
    """``data`` averaged in ``factor`` x ``factor`` blocks; a block with a NaN is NaN.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image (not modified).
    factor : int
        Block side, pixels (>= 1; 1 gives a float32 copy). Rows and columns beyond a whole
        number of blocks are dropped.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(ny // factor, nx // factor)``. Masked (NaN) pixels spread to
        their block, so a dead column stays visible instead of being averaged away.

    Raises
    ------
    ShapeMismatchError
        ``data`` is not 2-D, or smaller than one block.
    InvalidParameterError
        ``factor`` is not an integer >= 1.

    Examples
    --------
    >>> block_average(np.arange(16.0).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """
    if isinstance(factor, (bool, np.bool_)) or not isinstance(factor, (int, np.integer)) \
            or factor < 1:
        raise InvalidParameterError(f"factor must be an integer >= 1; got {factor!r}")
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ShapeMismatchError(f"data must be a 2-D array; got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InvalidParameterError(f"data must be numeric; got dtype {arr.dtype}")
    f = int(factor)
    ny, nx = (arr.shape[0] // f) * f, (arr.shape[1] // f) * f
    if ny == 0 or nx == 0:
        raise ShapeMismatchError(f"data of shape {arr.shape} is smaller than one {f}x{f} block")
    if f == 1:
        return arr.astype(np.float32)
    out = np.zeros((ny // f, nx // f), dtype=np.float32)
    for i in range(f):          # f^2 strided views summed: no full-size temporary
        for j in range(f):
            out += arr[i:ny:f, j:nx:f]
    out /= f * f
    return out


def _display_factor(downsample, shape):
    if downsample is None:
        return 1
    if isinstance(downsample, str):
        if downsample != "auto":
            raise InvalidParameterError(f"downsample must be 'auto', None or an integer >= 1; "
                                        f"got {downsample!r}")
        return max(1, -(-max(shape) // DISPLAY_MAX_SIDE))
    if isinstance(downsample, (bool, np.bool_)) or not isinstance(
            downsample, (int, np.integer)) or downsample < 1:
        raise InvalidParameterError(f"downsample must be 'auto', None or an integer >= 1; "
                                    f"got {downsample!r}")
    return int(downsample)


def _interval(scale, percentile):
    from astropy.visualization import (AsymmetricPercentileInterval, MinMaxInterval,
                                       ZScaleInterval)

    if scale == "zscale":
        return ZScaleInterval()
    if scale == "percentile":
        lo, hi = (float(p) for p in percentile)
        if not 0 <= lo < hi <= 100:
            raise InvalidParameterError(
                f"percentile must be (low, high) with 0 <= low < high <= 100; got {percentile!r}")
        return AsymmetricPercentileInterval(lo, hi)
    if scale == "minmax":
        return MinMaxInterval()
    raise InvalidParameterError(f"scale must be one of {SCALES}; got {scale!r}")


def _stretch(stretch):
    from astropy.visualization import AsinhStretch, LinearStretch, LogStretch, SqrtStretch

    table = {"linear": LinearStretch, "sqrt": SqrtStretch, "log": LogStretch,
             "asinh": AsinhStretch}
    if stretch not in table:
        raise InvalidParameterError(f"stretch must be one of {STRETCHES}; got {stretch!r}")
    return table[stretch]()


def show_image(data, ax=None, *, scale="zscale", percentile=(1, 99), vmin=None, vmax=None,
               stretch="linear", cmap="gray", wcs=None, colorbar=True, mask=None,
               overlay=None, overlay_scale=3.0, overlay_kwargs=None, title=None,
               colorbar_label="DN", mask_color=MASK_COLOR, north_up=False, downsample="auto",
               **imshow_kwargs):
    """Display a 2-D array with a robust intensity scale.

    Parameters
    ----------
    data : numpy.ndarray
        2-D array to show (never modified). Non-finite values are left blank.
    ax : matplotlib.axes.Axes, optional
        Axes to draw in. Default None: a new figure, with WCS axes if ``wcs`` is given.
    scale : {"zscale", "percentile", "minmax"}, optional
        How the display limits are chosen: IRAF zscale (astropy ``ZScaleInterval``),
        the ``percentile`` range, or the full range. Default "zscale".
    percentile : (float, float), optional
        Lower and upper percentiles for ``scale="percentile"``. Default (1, 99).
    vmin, vmax : float, optional
        Explicit display limits, overriding the scale's value for that end.
    stretch : {"linear", "sqrt", "log", "asinh"}, optional
        Intensity stretch. Default "linear".
    cmap : str or matplotlib.colors.Colormap, optional
        Colour map. Default "gray".
    wcs : astropy.wcs.WCS, optional
        Celestial WCS of ``data``: used for the axes when ``ax`` is None (WCSAxes with
        RA/Dec ticks). Default None (pixel axes).
    colorbar : bool, optional
        Add a colour bar. Default True.
    mask : numpy.ndarray of bool, optional
        Pixels to blank (shown as NaN) in the display, same shape as ``data``.
    overlay : pandas.DataFrame or mapping, optional
        Positions to mark: columns ``x``, ``y`` (0-based pixels); with ``a``, ``b``,
        ``theta`` (pixels, radians, sep convention) ellipses are drawn instead of markers.
    overlay_scale : float, optional
        Factor applied to ``a`` and ``b`` of the overlay ellipses. Default 3.
    overlay_kwargs : dict, optional
        Style of the overlay (matplotlib keywords), e.g. ``{"edgecolor": "red"}``.
    title : str, optional
        Axes title.
    colorbar_label : str, optional
        Label of the colour bar. Default "DN" (the unit of ZTF pixels).
    mask_color : str or None, optional
        Colour of masked and non-finite pixels, so that a dead column does not look like
        sky or like a saturated star. Default :data:`MASK_COLOR` (a blue none of the grey
        levels has); None leaves them transparent.
    north_up : bool, optional
        Orient the display north up, east left (needs ``wcs``): the array is shown
        transposed when its columns run north-south, and each axis is reversed when it
        runs the wrong way, as ds9's "north up" does for frames aligned with the sky
        (ZTF quadrants are, to a fraction of a degree; a residual rotation is left as it
        is). Pixel coordinates of the overlay follow. Default False (file orientation).
    downsample : "auto", int or None, optional
        Show the image averaged in blocks of this many pixels a side
        (:func:`block_average`: a block with a masked pixel stays masked), drawn over the
        same pixel coordinates, so axes, WCS ticks and overlays are unchanged. Default
        "auto": the smallest factor that brings the longer side to at most
        :data:`DISPLAY_MAX_SIDE` pixels (3 for a ZTF quadrant: a figure of a full frame
        then renders in a fraction of the time and memory, and a screen could not show
        more pixels anyway); 1 or None: every pixel. The display limits are computed on
        what is shown.
    **imshow_kwargs
        Passed to ``Axes.imshow`` (e.g. ``interpolation``).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn in.

    Raises
    ------
    ShapeMismatchError
        ``data`` is not 2-D or ``mask`` does not match it.
    InvalidParameterError
        Unknown ``scale``/``stretch``, bad ``percentile``, ``overlay`` without ``x``/``y``.

    Examples
    --------
    >>> ax = show_image(data, scale="percentile", percentile=(5, 99.5))  # doctest: +SKIP
    >>> ax = show_image(data, wcs=WCS(header), overlay=sources)        # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from astropy.visualization import ImageNormalize

    img = np.asarray(data)
    if img.ndim != 2:
        raise ShapeMismatchError(f"data must be a 2-D array; got shape {img.shape}")
    interval = _interval(scale, percentile)
    stretch_obj = _stretch(stretch)
    factor = _display_factor(downsample, img.shape)

    shown = img.astype(np.float32 if factor > 1 else np.float64) if img.dtype.kind != "f" \
        else img
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != img.shape:
            raise ShapeMismatchError(
                f"mask has shape {m.shape} but data has shape {img.shape}; they must match")
        shown = np.where(m.astype(bool), np.asarray(np.nan, shown.dtype), shown)  # a copy
    # pixel-coordinate extent of what is drawn (blocks cover factor x factor pixels)
    ny, nx = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    extent = [-0.5, nx - 0.5, -0.5, ny - 0.5]
    if factor > 1:
        shown = block_average(shown, factor)

    finite = shown[np.isfinite(shown)]
    if finite.size:
        lo, hi = interval.get_limits(finite)
    else:
        lo, hi = 0.0, 1.0
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    if not hi > lo:
        hi = lo + 1.0
    norm = ImageNormalize(vmin=lo, vmax=hi, stretch=stretch_obj, clip=False)

    if ax is not None and not hasattr(ax, "imshow"):
        raise InvalidParameterError(f"ax must be a matplotlib Axes (or None for a new figure); "
                                    f"got {type(ax).__name__}")
    flip_x = flip_y = transpose = False
    if north_up:
        if wcs is None:
            raise InvalidParameterError("north_up needs the image's WCS (wcs=...)")
        transpose, flip_x, flip_y = _north_up(wcs)
        if transpose:
            shown = shown.T
            extent = extent[2:] + extent[:2]
            wcs = wcs.swapaxes(0, 1)
            if overlay is not None:
                overlay = _swapped(overlay)
    if ax is None:
        fig = plt.figure()
        ax = fig.add_subplot(111, projection=wcs) if wcs is not None else fig.add_subplot(111)
    imshow_kwargs.setdefault("interpolation", "nearest")
    import matplotlib as mpl
    cmap_obj = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    if mask_color is not None:
        cmap_obj = cmap_obj.with_extremes(bad=mask_color)  # a new colour map
    imshow_kwargs.setdefault("extent", extent)
    im = ax.imshow(shown, origin="lower", cmap=cmap_obj, norm=norm, **imshow_kwargs)
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax)
        if colorbar_label:
            cb.set_label(colorbar_label)
    _label_axes(ax, transpose)
    if flip_x:
        ax.invert_xaxis()
    if flip_y:
        ax.invert_yaxis()

    if overlay is not None:
        xlim, ylim = ax.get_xlim(), ax.get_ylim()
        _draw_overlay(ax, overlay, overlay_scale, overlay_kwargs or {})
        ax.set_xlim(xlim)  # markers off the image must not change the view
        ax.set_ylim(ylim)
    if title is not None:
        ax.set_title(title)
    return ax


def _north_up(wcs):
    """(transpose, flip_x, flip_y) that bring a celestial WCS to north up, east left."""
    m = np.asarray(wcs.celestial.pixel_scale_matrix)    # d(ra, dec) / d(x, y), deg/px
    transpose = abs(m[1, 0]) > abs(m[1, 1])            # dec changes along x: columns N-S
    if transpose:
        m = m[:, ::-1]
    # east left: ra grows to the left (d ra / dx < 0); north up: d dec / dy > 0
    return bool(transpose), bool(m[0, 0] > 0), bool(m[1, 1] < 0)


def _swapped(overlay):
    import pandas as pd
    df = pd.DataFrame(overlay).copy()
    df["x"], df["y"] = np.asarray(overlay["y"], float), np.asarray(overlay["x"], float)
    if "theta" in df:
        df["theta"] = np.pi / 2 - np.asarray(overlay["theta"], float)
    return df


def _label_axes(ax, transposed):
    """Axis labels with units: RA/Dec on WCS axes, pixels otherwise."""
    coords = getattr(ax, "coords", None)
    if coords is not None:
        try:
            coords[0].set_axislabel("RA (ICRS)")
            coords[1].set_axislabel("Dec (ICRS)")
            return
        except (IndexError, KeyError, AttributeError):
            pass
    ax.set_xlabel("y [px]" if transposed else "x [px]")
    ax.set_ylabel("x [px]" if transposed else "y [px]")


def _draw_overlay(ax, overlay, scale, style):
    from matplotlib.collections import EllipseCollection

    if "x" not in overlay or "y" not in overlay:
        raise InvalidParameterError("overlay needs 'x' and 'y' columns (0-based pixels)")
    x = np.asarray(overlay["x"], dtype=float)
    y = np.asarray(overlay["y"], dtype=float)
    if all(c in overlay for c in ("a", "b", "theta")):
        a = np.asarray(overlay["a"], dtype=float) * scale
        b = np.asarray(overlay["b"], dtype=float) * scale
        theta = np.degrees(np.asarray(overlay["theta"], dtype=float))
        many = len(x) > 1000  # a full frame: thin lines stay readable
        kw = {"facecolors": "none", "edgecolors": "red", "linewidths": 0.4 if many else 0.8,
              "alpha": 0.8 if many else 1.0}
        if "edgecolor" in style:
            style = dict(style)
            kw["edgecolors"] = style.pop("edgecolor")
        kw.update(style)
        coll = EllipseCollection(2 * a, 2 * b, theta, units="xy", offsets=np.c_[x, y],
                                 offset_transform=ax.transData, **kw)
        ax.add_collection(coll)
    else:
        many = len(x) > 1000
        kw = {"marker": "o", "facecolors": "none", "edgecolors": "red",
              "s": 12 if many else 40, "linewidths": 0.4 if many else 1.0}
        kw.update(style)
        ax.scatter(x, y, **kw)
