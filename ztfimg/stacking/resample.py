"""Resampling one frame onto one tile of the output grid (level 3).

The pixel mapping (output pixel -> input pixel) is evaluated exactly with the two WCS
(TPV distortion included) on a coarse grid of nodes every ``coord_step`` pixels of the
tile, edges included, and interpolated between the nodes by bicubic splines
(:class:`scipy.interpolate.RectBivariateSpline`): a ZTF mapping is a smooth low-order
polynomial, and the splines reproduce it to ~1e-5 pixel with nodes every 16 pixels while
costing ~1/250 of the WCS calls.  The nodes' sky positions are computed once per tile and
shared by all frames.  The same splines give the Jacobian of the mapping, whose
determinant is the area of an output pixel in input pixels: multiplying the resampled
surface brightness by it conserves flux whatever the two pixel scales.

Three resampling methods, as in :mod:`reproject`:

* ``'interp'``: bilinear interpolation of the input pixels at the mapped positions, with
  ``reproject``'s edge convention (positions within half a pixel outside the frame take the
  edge pixel, farther ones are NaN); numerically the same as
  ``reproject.reproject_interp(order='bilinear')`` (which evaluates the WCS at every pixel
  and interpolates with :func:`scipy.ndimage.map_coordinates`).  The kernel is a small
  C loop (``ztfimg/_kernel.c``, threads over rows) because it must do what
  ``map_coordinates`` does not: give a neighbour whose weight is (within :data:`SNAP`)
  zero no say, so that a masked pixel masks the same output pixels whatever the tiling;
* ``'adaptive'``: :func:`reproject.reproject_adaptive` (anti-aliased, Gaussian kernel), and
* ``'exact'``: :func:`reproject.reproject_exact` (spherical-polygon overlap), both on the
  section of the frame that covers the tile.

A NaN input pixel (masked, or outside the frame) makes every output pixel that uses it NaN,
so masks propagate: for bilinear interpolation, the output pixels less than one input pixel
away.  A mapping that is a translation by whole pixels (the grid of the first frame, for
that frame) is a copy, exact, and masks exactly the masked pixels.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["METHODS", "TileNodes", "FrameMap", "frame_map", "resample", "PADDING"]

#: Accepted resampling methods.
METHODS = ("interp", "adaptive", "exact")

#: Interpolation weights below this are 0 (positions this close to a pixel centre are put
#: on it); a mapping whose nodes all fall this close to pixel centres shifted by one whole
#: number of pixels is a translation, resampled by copying.
SNAP = 1e-6

#: Input pixels read beyond the mapped positions on each side, per method.
PADDING = {"interp": 1, "adaptive": 6, "exact": 2}


def _nodes(n, step):
    nodes = np.arange(0, n, step, dtype=np.float64)
    if nodes[-1] != n - 1:
        nodes = np.append(nodes, n - 1)
    return nodes


class TileNodes:
    """The node grid of one tile and its sky positions (shared by all frames).

    Parameters
    ----------
    grid : Grid
    tile : Tile
    step : int
        Node spacing, output pixels (1: every pixel, the exact mapping).

    Attributes
    ----------
    yn, xn : numpy.ndarray
        Node rows and columns, relative to the tile's first pixel.
    ra, dec : numpy.ndarray
        Their sky positions, degrees, shape ``(len(yn), len(xn))``.

    Examples
    --------
    >>> nodes = TileNodes(grid, tiles[0], step=16)                  # doctest: +SKIP
    >>> nodes.ra.shape                                                  # doctest: +SKIP
    (33, 33)
    """

    def __init__(self, grid, tile, step):
        th, tw = tile.shape
        self.tile = tile
        # at least 4 nodes a side (bicubic splines, and their derivatives, need them)
        self.step = max(1, min(int(step), (min(th, tw) - 1) // 3)) if min(th, tw) >= 4 else 1
        self.yn = _nodes(th, self.step)
        self.xn = _nodes(tw, self.step)
        yy, xx = np.meshgrid(self.yn + tile.y0, self.xn + tile.x0, indexing="ij")
        self.ra, self.dec = grid.wcs.all_pix2world(xx, yy, 0)


@dataclass
class FrameMap:
    """Where the pixels of one tile fall in one frame.

    Attributes
    ----------
    x, y : numpy.ndarray of float64
        Input (frame) pixel position of each output pixel of the tile, 0-based.
    area : numpy.ndarray of float64
        Area of each output pixel in input pixels (the Jacobian determinant).
    section : tuple of int
        ``(y0, y1, x0, x1)``: the part of the frame to read (end excluded).
    shift : (int, int) or None
        ``(dy, dx)`` when the mapping is a translation by whole pixels (input = output +
        shift; ``x``, ``y`` are then None and ``area`` is 1): resampling is a copy.

    Examples
    --------
    >>> fm = frame_map(grid, nodes, frame)                          # doctest: +SKIP
    >>> fm.x.shape == tiles[0].shape, float(fm.area.mean())             # doctest: +SKIP
    (True, 1.0001)
    """

    x: np.ndarray | None
    y: np.ndarray | None
    area: np.ndarray | float
    section: tuple
    shift: tuple | None = None


def _world2pix(wcs, ra, dec):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return wcs.all_world2pix(ra, dec, 0)
    except Exception:  # noqa: BLE001 - no convergence far outside the frame
        return np.full_like(ra, np.nan), np.full_like(ra, np.nan)


def _splined(nodes, fx, fy, th, tw):
    from scipy.interpolate import RectBivariateSpline
    ky, kx = min(3, len(nodes.yn) - 1), min(3, len(nodes.xn) - 1)
    yf = np.arange(th, dtype=np.float64)
    xf = np.arange(tw, dtype=np.float64)
    sx = RectBivariateSpline(nodes.yn, nodes.xn, fx, kx=ky, ky=kx, s=0)
    sy = RectBivariateSpline(nodes.yn, nodes.xn, fy, kx=ky, ky=kx, s=0)
    # Jacobian at the nodes, then splined like the positions
    dxdr = sx(nodes.yn, nodes.xn, dx=1)
    dxdc = sx(nodes.yn, nodes.xn, dy=1)
    dydr = sy(nodes.yn, nodes.xn, dx=1)
    dydc = sy(nodes.yn, nodes.xn, dy=1)
    det = np.abs(dxdc * dydr - dxdr * dydc)
    # the pixel-area ratio varies by ~1e-4 over a quadrant: linear between the nodes is
    # exact to ~1e-9 and cheaper than a third spline
    k, w = _linear_weights(nodes.xn, xf)
    rows = det[:, k - 1] * (1 - w) + det[:, k] * w
    k, w = _linear_weights(nodes.yn, yf)
    area = rows[k - 1] * (1 - w)[:, None] + rows[k] * w[:, None]
    return sx(yf, xf), sy(yf, xf), area


def _linear_weights(nodes, points):
    """Right-hand node index and weight of each point for linear interpolation."""
    k = np.clip(np.searchsorted(nodes, points, side="right"), 1, len(nodes) - 1)
    w = (points - nodes[k - 1]) / (nodes[k] - nodes[k - 1])
    return k, w


def _exact(grid, tile, frame):
    th, tw = tile.shape
    yy, xx = np.meshgrid(np.arange(tile.y0, tile.y1, dtype=np.float64),
                         np.arange(tile.x0, tile.x1, dtype=np.float64), indexing="ij")
    ra, dec = grid.wcs.all_pix2world(xx, yy, 0)
    x, y = _world2pix(frame.wcs, ra, dec)
    if th > 1 and tw > 1:
        dxdr, dxdc = np.gradient(x)
        dydr, dydc = np.gradient(y)
        area = np.abs(dxdc * dydr - dxdr * dydc)
    else:  # a degenerate tile: the local pixel-area ratio at its first pixel
        area = np.full((th, tw), _local_area(grid, frame, tile.y0, tile.x0))
    return x, y, area


def _local_area(grid, frame, y, x):
    ra, dec = grid.wcs.all_pix2world([x, x + 1.0, x], [y, y, y + 1.0], 0)
    fx, fy = _world2pix(frame.wcs, ra, dec)
    return abs((fx[1] - fx[0]) * (fy[2] - fy[0]) - (fx[2] - fx[0]) * (fy[1] - fy[0]))


def frame_map(grid, nodes, frame, method="interp"):
    """The mapping of one tile into one frame, or None when they do not overlap.

    Parameters
    ----------
    grid : Grid
    nodes : TileNodes
        The tile's nodes (their sky positions).
    frame : FrameInput
    method : {'interp', 'adaptive', 'exact'}, default 'interp'
        Sets the padding of the section to read.

    Returns
    -------
    FrameMap or None

    Examples
    --------
    >>> fm = frame_map(grid, TileNodes(grid, tile, 16), frames[2])  # doctest: +SKIP
    >>> fm.section                                                      # doctest: +SKIP
    (0, 300, 0, 297)
    """
    tile = nodes.tile
    th, tw = tile.shape
    ny, nx = frame.shape
    fx, fy = _world2pix(frame.wcs, nodes.ra, nodes.dec)
    finite = np.isfinite(fx) & np.isfinite(fy)
    if not finite.any():
        return None
    if nodes.step == 1 or not finite.all():
        x, y, area = _exact(grid, tile, frame)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return None
        xs, ys = x[ok], y[ok]
    else:
        xs, ys = fx, fy
        x = y = area = None
    if xs.max() < -0.5 or xs.min() > nx - 0.5 or ys.max() < -0.5 or ys.min() > ny - 0.5:
        return None
    pad = PADDING[method]
    x0 = max(0, int(math.floor(np.nanmin(xs))) - pad)
    x1 = min(nx, int(math.ceil(np.nanmax(xs))) + 1 + pad)
    y0 = max(0, int(math.floor(np.nanmin(ys))) - pad)
    y1 = min(ny, int(math.ceil(np.nanmax(ys))) + 1 + pad)
    if x0 >= x1 or y0 >= y1:
        return None
    if x is None:
        shift = _integer_shift(nodes, fx, fy)
        if shift is not None:
            return FrameMap(None, None, 1.0, (y0, y1, x0, x1), shift)
        x, y, area = _splined(nodes, fx, fy, th, tw)
    return FrameMap(x, y, area, (y0, y1, x0, x1))


def _integer_shift(nodes, fx, fy):
    """(dy, dx) when the nodes map to pixel centres shifted by whole pixels, else None."""
    ix, iy = np.rint(fx), np.rint(fy)
    if np.max(np.abs(fx - ix)) >= SNAP or np.max(np.abs(fy - iy)) >= SNAP:
        return None
    dx = ix - (nodes.xn[None, :] + nodes.tile.x0)
    dy = iy - (nodes.yn[:, None] + nodes.tile.y0)
    if np.all(dx == dx.flat[0]) and np.all(dy == dy.flat[0]):
        return int(dy.flat[0]), int(dx.flat[0])
    return None


def _copy_shifted(section, fmap, tile):
    """The tile from a whole-pixel translation: a copy of the section, NaN outside."""
    dy, dx = fmap.shift
    y0, y1, x0, x1 = fmap.section
    th, tw = tile.shape
    out = np.full((th, tw), np.nan, np.float32)
    # output local rows r map to input rows r + tile.y0 + dy, inside [y0, y1)
    r0 = max(0, y0 - tile.y0 - dy)
    r1 = min(th, y1 - tile.y0 - dy)
    c0 = max(0, x0 - tile.x0 - dx)
    c1 = min(tw, x1 - tile.x0 - dx)
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = section[r0 + tile.y0 + dy - y0:r1 + tile.y0 + dy - y0,
                                    c0 + tile.x0 + dx - x0:c1 + tile.x0 + dx - x0]
    return out


def _interp(section, fmap, frame_shape):
    """Bilinear interpolation at the map's frame positions (the compiled loop of
    ``ztfimg/_kernel.c``: positions more than half a pixel outside the frame give NaN,
    positions in the outer half pixel take the edge pixel, reproject's convention; a weight
    within :data:`SNAP` of 0 is 0; a NaN neighbour with a non-zero weight gives NaN)."""
    from .._ckernel import bilinear
    ny, nx = frame_shape
    y0, _, x0, _ = fmap.section
    return bilinear(np.ascontiguousarray(section, dtype=np.float32),
                    np.ascontiguousarray(fmap.x, dtype=np.float64),
                    np.ascontiguousarray(fmap.y, dtype=np.float64), x0, y0, ny, nx, SNAP)


def resample(section, fmap, frame, grid, tile, method="interp"):
    """Resample a frame's section onto a tile, as surface brightness (input units / pixel).

    Parameters
    ----------
    section : numpy.ndarray of float32
        The frame's pixels ``fmap.section`` (NaN where masked).
    fmap : FrameMap
    frame : FrameInput
    grid : Grid
    tile : Tile
    method : {'interp', 'adaptive', 'exact'}, default 'interp'

    Returns
    -------
    numpy.ndarray of float32
        Shape of the tile, NaN where the frame does not cover it or a masked pixel is used.
        Multiply by ``fmap.area`` for the flux in each output pixel.

    Examples
    --------
    >>> plane = resample(section, fm, frames[2], grid, tile) * fm.area  # doctest: +SKIP
    """
    if method == "interp" and fmap.shift is not None:
        return _copy_shifted(section, fmap, tile)
    if method == "interp":
        return _interp(section, fmap, frame.shape)
    import reproject as _rp
    y0, y1, x0, x1 = fmap.section
    sec_wcs = frame.wcs[y0:y1, x0:x1]
    out_wcs = grid.wcs[tile.y0:tile.y1, tile.x0:tile.x1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "adaptive":
            arr, cover = _rp.reproject_adaptive((section, sec_wcs), out_wcs,
                                                shape_out=tile.shape, conserve_flux=False,
                                                boundary_mode="strict",
                                                bad_value_mode="strict")
        else:
            arr, cover = _rp.reproject_exact((section, sec_wcs), out_wcs,
                                             shape_out=tile.shape)
    arr = np.asarray(arr, dtype=np.float32)
    arr[~(np.asarray(cover) > 0.999)] = np.nan
    return arr
