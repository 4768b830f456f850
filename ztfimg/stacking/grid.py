"""The output grid of a stack, each frame's footprint on it, and the tiles (level 3).

:func:`as_grid` reads what the user gives as ``grid`` (``'first'``, a frame, a header, a
file, a ``(WCS, shape)`` pair).  :func:`footprint` is the bounding box of a frame on the
grid (from its edges, so without touching its pixels).  :func:`plan_tiles` cuts the grid
into tiles of at most ``tile`` pixels a side, and cuts further any tile where the frames
overlapping it would need more than ``mem_limit`` bytes: a tile's working set is one
float32 plane per overlapping frame plus a fixed cost per pixel.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from ..errors import HeaderKeywordError, InvalidParameterError
from ..validation import as_shape
from .inputs import _parse_wcs, wcs_cards

__all__ = ["Grid", "Tile", "as_grid", "footprint", "plan_tiles", "BYTES_PER_PIXEL",
           "MIN_TILE"]

#: Working bytes per output pixel of a tile besides the frames' planes (coordinates,
#: Jacobian, combine outputs).
BYTES_PER_PIXEL = 96
#: Smallest tile side the planner cuts down to.
MIN_TILE = 16


@dataclass(eq=False)
class Grid:
    """The pixel grid of a stack.

    Attributes
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS (0-based pixel convention in all ztfimg calls).
    shape : tuple of int
        (rows, columns).
    header : astropy.io.fits.Header
        Its WCS cards, written into the stack's header.

    Examples
    --------
    >>> g = as_grid("first", prepare_frames(frames))                # doctest: +SKIP
    >>> g.shape, g.wcs.wcs.ctype[0]                                     # doctest: +SKIP
    ((300, 300), 'RA---TPV')
    """

    wcs: object
    shape: tuple
    header: fits.Header

    def tile_wcs(self, y0, x0):
        """The WCS of the sub-grid starting at row ``y0``, column ``x0``.

        Parameters
        ----------
        y0, x0 : int

        Returns
        -------
        astropy.wcs.WCS

        Examples
        --------
        >>> grid.tile_wcs(0, 512).wcs.crpix                         # doctest: +SKIP
        """
        ny, nx = self.shape
        return self.wcs[y0:ny, x0:nx]

    def centre_radius(self):
        """Sky centre (deg) and radius (deg) of a circle holding the grid.

        Returns
        -------
        (float, float, float)
            ra, dec, radius.

        Examples
        --------
        >>> ra, dec, radius = grid.centre_radius()                  # doctest: +SKIP
        """
        return _centre_radius(self.wcs, self.shape)


@dataclass(frozen=True)
class Tile:
    """A rectangle of the output grid and the frames that overlap it.

    Attributes
    ----------
    y0, y1, x0, x1 : int
        Rows ``y0:y1`` and columns ``x0:x1`` (0-based, end excluded).
    frames : tuple of int
        Indices of the frames whose footprint touches the tile.

    Examples
    --------
    >>> Tile(0, 512, 0, 1024, (0, 1, 2)).shape
    (512, 1024)
    """

    y0: int
    y1: int
    x0: int
    x1: int
    frames: tuple

    @property
    def shape(self):
        """tuple of int: (rows, columns)."""
        return (self.y1 - self.y0, self.x1 - self.x0)


def _edges(shape, n=16):
    """Pixel positions (x, y) along the outer edges of an image of ``shape``."""
    ny, nx = shape
    xs = np.linspace(-0.5, nx - 0.5, n)
    ys = np.linspace(-0.5, ny - 0.5, n)
    x = np.concatenate([xs, xs, np.full(n, -0.5), np.full(n, nx - 0.5)])
    y = np.concatenate([np.full(n, -0.5), np.full(n, ny - 0.5), ys, ys])
    return x, y


def _centre_radius(wcs, shape):
    from astropy.coordinates import angular_separation
    ny, nx = shape
    ra0, dec0 = wcs.all_pix2world([(nx - 1) / 2.0], [(ny - 1) / 2.0], 0)
    x, y = _edges(shape, 5)
    ra, dec = wcs.all_pix2world(x, y, 0)
    sep = angular_separation(np.radians(ra0[0]), np.radians(dec0[0]), np.radians(ra),
                             np.radians(dec))
    return float(ra0[0]), float(dec0[0]), float(np.degrees(np.nanmax(sep)))


def as_grid(grid, frames):
    """The output grid from the user's ``grid`` argument.

    Parameters
    ----------
    grid : 'first', ZTFImage, astropy.io.fits.Header, str/path-like or (WCS, shape)
        ``'first'``: the first frame's WCS and shape. A frame (e.g. a
        :class:`~ztfimg.image.ReferenceImage`): its WCS and shape. A header: its WCS with
        ``NAXIS1``/``NAXIS2``. A FITS file: its header. ``(wcs, (ny, nx))``: an astropy WCS
        and a shape. A bare WCS with ``pixel_shape`` set is taken with that shape.
    frames : list of FrameInput
        The frames (for ``'first'``).

    Returns
    -------
    Grid

    Raises
    ------
    InvalidParameterError
        An unknown ``grid``, a non-positive shape, or a WCS without a shape.
    HeaderKeywordError
        A header without WCS or without NAXIS1/NAXIS2.

    Examples
    --------
    >>> from astropy.wcs import WCS                                 # doctest: +SKIP
    >>> g = as_grid((WCS(header), (512, 512)), frames)                  # doctest: +SKIP
    """
    from astropy.wcs import WCS
    from ..image import ZTFImage
    if isinstance(grid, str) and grid == "first":
        f = frames[0]
        return Grid(f.wcs.deepcopy(), tuple(f.shape), wcs_cards(f.header))
    if isinstance(grid, ZTFImage):
        header = grid.header
        return Grid(_parse_wcs(header, grid.filename or "grid"), tuple(grid.shape),
                    wcs_cards(header))
    if isinstance(grid, (str, os.PathLike)):
        from ..fitsio import read_fits
        if not os.path.isfile(grid):
            raise InvalidParameterError(f"grid must be 'first' or an existing FITS file (or a "
                                        f"frame, a header, (WCS, shape)); got {grid!r}")
        _, header = read_fits(grid, header_only=True)
        grid = header
    if isinstance(grid, fits.Header):
        if "NAXIS1" not in grid or "NAXIS2" not in grid:
            raise HeaderKeywordError("a grid header needs NAXIS1 and NAXIS2 (the grid's "
                                     "shape) besides its WCS")
        shape = (int(grid["NAXIS2"]), int(grid["NAXIS1"]))
        return Grid(_parse_wcs(grid, "grid"), as_shape(shape, name="a grid shape"),
                    wcs_cards(grid))
    if isinstance(grid, WCS):
        if grid.pixel_shape is None:
            raise InvalidParameterError("a grid WCS needs a shape: pass grid=(wcs, (ny, nx)) "
                                        "or set wcs.pixel_shape")
        grid = (grid, tuple(grid.array_shape))
    if isinstance(grid, tuple) and len(grid) == 2 and isinstance(grid[0], WCS):
        wcs = grid[0].celestial if grid[0].naxis > 2 else grid[0]
        if not wcs.has_celestial:
            raise InvalidParameterError("the grid WCS has no celestial axes")
        shape = as_shape(grid[1], name="a grid shape")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = wcs.to_header(relax=True)
        return Grid(wcs.deepcopy(), shape, wcs_cards(header))
    raise InvalidParameterError(
        f"grid must be 'first', a frame (e.g. a ReferenceImage), a header with NAXIS1/2, a "
        f"FITS file, or (WCS, (ny, nx)); got {type(grid).__name__} {grid!r:.60}")


def footprint(frame, grid, pad=2):
    """Bounding box of a frame on the grid, or None when it does not overlap.

    Parameters
    ----------
    frame : FrameInput
    grid : Grid
    pad : int, default 2
        Pixels added on each side.

    Returns
    -------
    tuple of int or None
        ``(y0, y1, x0, x1)`` on the grid (end excluded), clipped to the grid.

    Examples
    --------
    >>> footprint(frames[1], grid)                                  # doctest: +SKIP
    (0, 300, 3, 300)
    """
    from astropy.coordinates import angular_separation
    ra_g, dec_g, r_g = grid.centre_radius()
    ra_f, dec_f, r_f = _centre_radius(frame.wcs, frame.shape)
    sep = math.degrees(angular_separation(*np.radians([ra_g, dec_g, ra_f, dec_f]).tolist()))
    if not sep <= 1.05 * (r_g + r_f) + 1e-3:
        return None
    x, y = _edges(frame.shape)
    ra, dec = frame.wcs.all_pix2world(x, y, 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gx, gy = grid.wcs.all_world2pix(ra, dec, 0)
    except Exception:  # noqa: BLE001 - a projection that cannot invert: no overlap known
        return None
    ok = np.isfinite(gx) & np.isfinite(gy)
    if not ok.all():
        return None if not ok.any() else (0, grid.shape[0], 0, grid.shape[1])
    ny, nx = grid.shape
    x0 = max(0, int(math.floor(gx.min())) - pad)
    x1 = min(nx, int(math.ceil(gx.max())) + 1 + pad)
    y0 = max(0, int(math.floor(gy.min())) - pad)
    y1 = min(ny, int(math.ceil(gy.max())) + 1 + pad)
    if x0 >= x1 or y0 >= y1:
        return None
    return y0, y1, x0, x1


def _split(n, size):
    """Cut ``n`` pixels into nearly equal pieces of at most ``size``."""
    k = max(1, -(-n // size))
    edges = np.linspace(0, n, k + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:]))


def _tile_bytes(nframes, ny, nx):
    return ny * nx * (4 * nframes + BYTES_PER_PIXEL)


def plan_tiles(grid, footprints, tile=1024, mem_limit=1e9):
    """Tiles covering the grid, each small enough for ``mem_limit`` bytes of work.

    Parameters
    ----------
    grid : Grid
    footprints : sequence of tuple or None
        :func:`footprint` of each frame (None: the frame is not used).
    tile : int, default 1024
        Largest tile side, pixels.
    mem_limit : float, default 1e9
        Bytes of working memory a tile may need (frames' float32 planes plus
        :data:`BYTES_PER_PIXEL` per pixel); larger tiles are halved along their longer side.

    Returns
    -------
    list of Tile
        Row-major order; tiles that no frame touches are included (with no frames).

    Raises
    ------
    InvalidParameterError
        Even a :data:`MIN_TILE`-pixel tile would exceed ``mem_limit`` (too many frames
        overlap): raise ``mem_limit``.

    Examples
    --------
    >>> [t.shape for t in plan_tiles(grid, fps, tile=512)]          # doctest: +SKIP
    [(512, 512), (512, 512), ...]
    """
    ny, nx = grid.shape
    boxes = [(i, fp) for i, fp in enumerate(footprints) if fp is not None]

    def overlapping(y0, y1, x0, x1):
        return tuple(i for i, (a, b, c, d) in boxes if a < y1 and b > y0 and c < x1 and d > x0)

    out = []
    todo = [(y0, y1, x0, x1) for y0, y1 in _split(ny, tile) for x0, x1 in _split(nx, tile)]
    todo.reverse()
    while todo:
        y0, y1, x0, x1 = todo.pop()
        ids = overlapping(y0, y1, x0, x1)
        if _tile_bytes(len(ids), y1 - y0, x1 - x0) <= mem_limit or not ids:
            out.append(Tile(int(y0), int(y1), int(x0), int(x1), ids))
            continue
        if max(y1 - y0, x1 - x0) <= MIN_TILE:
            need = _tile_bytes(len(ids), y1 - y0, x1 - x0)
            raise InvalidParameterError(
                f"{len(ids)} frames overlap one {y1 - y0}x{x1 - x0} tile: it needs "
                f"{need / 1e6:.1f} MB, more than mem_limit={mem_limit / 1e6:.1f} MB; raise "
                "mem_limit")
        if y1 - y0 >= x1 - x0:
            ym = (y0 + y1) // 2
            todo.extend([(ym, y1, x0, x1), (y0, ym, x0, x1)])
        else:
            xm = (x0 + x1) // 2
            todo.extend([(y0, y1, xm, x1), (y0, y1, x0, xm)])
    return out
