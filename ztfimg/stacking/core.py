""":func:`stack`: many frames onto one grid, at one zero point, memory bounded (level 3).

The steps, in order:

1. every frame's header, WCS and sky (level and noise, from ~64 rows) are read; no frame
   is held in memory;
2. each frame is scaled to the common zero point, ``s_i = 10**(-0.4 (MAGZP_i - zp))``,
   and weighted by its inverse sky variance ``w_i = 1 / (s_i rms_i)^2`` (default);
3. the output grid is cut into tiles (:func:`~ztfimg.stacking.grid.plan_tiles`) small
   enough that all the frames overlapping one tile fit in ``mem_limit``;
4. per tile, for each frame that overlaps it, only the section of the frame (and of its
   mask) under the tile is read, masked pixels set to NaN, the sky subtracted, the section
   resampled onto the tile (:mod:`~ztfimg.stacking.resample`), scaled by ``s_i`` times the
   pixel-area ratio; the planes are combined pixel by pixel
   (:func:`ztfimg.calibframes.combine_cube`: sigma-clipped weighted mean, or median);
5. tiles run serially, or as dask tasks on a cluster (each task one tile: the memory of a
   worker is one tile's), and are pasted into the output; the sky level is added back as
   a constant, ``GLOBMED``.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .. import bitmask as _bitmask
from ..calibframes.combine import combine_cube
from ..errors import InvalidParameterError
from ..validation import as_bool
from .grid import as_grid, footprint, plan_tiles
from .inputs import prepare_frames, sky_statistics
from .resample import METHODS, TileNodes, frame_map, resample
from .result import Stack, build_header, frames_table

__all__ = ["stack", "stack_tile", "COMBINE", "SKY", "WEIGHTS"]

#: Accepted ``combine`` values.
COMBINE = ("mean", "median")
#: Accepted string values of ``sky``.
SKY = ("median",)
#: Accepted string values of ``weights``.
WEIGHTS = ("ivar", "equal")


def _check_int(value, name, lo):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < lo:
        raise InvalidParameterError(f"{name} must be an integer >= {lo}; got {value!r}")
    return int(value)


def _check_positive(value, name, unit):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or float(value) <= 0:
        raise InvalidParameterError(f"{name} must be a positive number ({unit}); got "
                                    f"{value!r}")
    return float(value)


def _per_frame(value, n, name):
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} must be one finite number per frame ({n}); got "
                                    f"{value!r:.80}")
    return arr


def stack_tile(tile, frames, grid, opts):
    """Stack one tile: read, resample and combine the frames that overlap it.

    Parameters
    ----------
    tile : Tile
    frames : list of FrameInput
        All the frames (with ``sky``, ``rms`` set and ``extra['scale']``,
        ``extra['weight']``).
    grid : Grid
    opts : dict
        ``combine``, ``sigma``, ``maxiters``, ``reproject``, ``coord_step``, ``bits``.

    Returns
    -------
    dict
        ``tile``, ``data``, ``variance`` (expected sky-noise variance), ``count``
        (int32), ``exposure`` (s), ``used`` (frame indices that contributed pixels).

    Examples
    --------
    >>> out = stack_tile(tiles[0], frames, grid, opts)              # doctest: +SKIP
    """
    th, tw = tile.shape
    method = opts["reproject"]
    bits = int(opts["bits"])
    cube = np.empty((len(tile.frames), th, tw), np.float32)
    weights, extra, used = [], [], []
    nodes = TileNodes(grid, tile, opts["coord_step"]) if tile.frames else None
    for i in tile.frames:
        f = frames[i]
        fmap = frame_map(grid, nodes, f, method)
        if fmap is None:
            continue
        y0, y1, x0, x1 = fmap.section
        sec = f.image.read(y0, y1, x0, x1)
        bad = ~np.isfinite(sec)
        if f.mask is not None:
            bad |= (f.mask.read(y0, y1, x0, x1, dtype=None) & bits) != 0
        if f.saturation is not None:
            with np.errstate(invalid="ignore"):
                bad |= sec >= f.saturation
        sec -= np.float32(f.sky)
        sec[bad] = np.nan
        plane = resample(sec, fmap, f, grid, tile, method)
        plane *= np.asarray(f.extra["scale"] * fmap.area, dtype=np.float32)
        if not np.isfinite(plane).any():
            continue
        cube[len(used)] = plane
        used.append(i)
        s = f.extra["scale"] * f.rms
        weights.append(f.extra["weight"])
        extra.append((f.exptime, f.extra["weight"] ** 2 * s * s))
    out = dict(tile=tile, used=tuple(used))
    if not used:
        out.update(data=np.full((th, tw), np.nan, np.float32),
                   variance=np.full((th, tw), np.nan, np.float32),
                   count=np.zeros((th, tw), np.int32), exposure=np.zeros((th, tw), np.float32))
        return out
    res = combine_cube(cube[:len(used)], opts["combine"], sigma=opts["sigma"],
                       maxiters=opts["maxiters"], weights=np.array(weights),
                       extra=np.array(extra))
    del cube
    with np.errstate(divide="ignore", invalid="ignore"):
        var = res.extra[1] / res.weight.astype(np.float64) ** 2
    if opts["combine"] == "median":
        var *= math.pi / 2
    var[res.count == 0] = np.nan
    out.update(data=res.data, variance=var.astype(np.float32), count=res.count,
               exposure=res.extra[0])
    return out


def _run_tiles(tiles, frames, grid, opts, client, progress, n_workers):
    """Yield the result of every tile: serially or on a dask cluster."""
    from tqdm.auto import tqdm
    bar = tqdm(total=len(tiles), disable=not progress, desc="ztfimg stack", unit="tile",
               file=sys.stderr)
    try:
        if client is None:
            for t in tiles:
                yield stack_tile(t, frames, grid, opts)
                bar.update()
            return
        own = None
        if isinstance(client, str):
            from distributed import Client, LocalCluster
            own = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               env={"ZTFIMG_NUM_THREADS": "1"})
            client = Client(own)
        try:
            from distributed import as_completed
            shared = client.scatter([frames, grid, opts], broadcast=True)
            nthreads = max(1, sum(client.nthreads().values()))
            limit = 2 * nthreads
            pending = iter(tiles)
            futures = as_completed()
            for t in tiles[:limit]:
                futures.add(client.submit(stack_tile, t, *shared, pure=False))
                next(pending)
            for fut in futures:
                result = fut.result()
                fut.release()
                nxt = next(pending, None)
                if nxt is not None:
                    futures.add(client.submit(stack_tile, nxt, *shared, pure=False))
                yield result
                bar.update()
        finally:
            if own is not None:
                client.close()
                own.close()
    finally:
        bar.close()


def _check_client(client, n_workers):
    if client is None and n_workers is None:
        return None
    if client is None or (isinstance(client, str) and client == "processes"):
        if n_workers is not None:
            _check_int(n_workers, "n_workers", 1)
        return "processes"
    if isinstance(client, str):
        raise InvalidParameterError(f"client must be None, 'processes' or a "
                                    f"distributed.Client; got {client!r}")
    if not hasattr(client, "submit") or not hasattr(client, "scatter"):
        raise InvalidParameterError(f"client must be None, 'processes' or a "
                                    f"distributed.Client; got {type(client).__name__}")
    return client


def stack(frames, *, grid="first", zeropoint=None, combine="mean", sigma=3.0, maxiters=5,
          tile=1024, reproject="interp", sky="median", weights="ivar",
          mask_bits=_bitmask.DETECTION_BITS, coord_step=16, mem_limit=1e9, output=None,
          overwrite=False, client=None, n_workers=None, progress=True):
    """Stack frames onto one pixel grid at one zero point: a deep image with its maps.

    Parameters
    ----------
    frames : sequence
        FITS file names (a ZTF ``sciimg`` uses its ``mskimg`` beside it), frame objects
        (:class:`~ztfimg.image.ScienceImage` ...), ``(data, header[, mask])`` tuples or
        objects with ``.data``/``.header``/``.mask`` (a
        :class:`~ztfimg.simulate.SimulatedFrame`), or an
        :class:`~ztfimg.collection.ImageCollection`. Files are read by sections, never
        whole. Every frame needs a celestial WCS and MAGZP, and all one filter.
    grid : 'first', frame, header, FITS file or (WCS, (ny, nx)), default 'first'
        The output pixel grid (see :func:`~ztfimg.stacking.grid.as_grid`): the first
        frame's, a reference image's, or any WCS and shape.
    zeropoint : float, optional
        Zero point of the stack, mag (default the first frame's MAGZP). Frame ``i`` is
        multiplied by ``10**(-0.4 (MAGZP_i - zeropoint))``.
    combine : {'mean', 'median'}, default 'mean'
        Sigma-clipped weighted mean, or median (unweighted, unclipped).
    sigma : float or None, default 3.0
        Clipping threshold of the mean, standard deviations around the median of each
        pixel's values; None: a plain weighted mean.
    maxiters : int, default 5
        Clipping iterations.
    tile : int, default 1024
        Largest output tile side, pixels (tiles are cut smaller to honour ``mem_limit``).
    reproject : {'interp', 'adaptive', 'exact'}, default 'interp'
        Resampling (see :mod:`~ztfimg.stacking.resample`): bilinear, or
        :func:`reproject.reproject_adaptive` / :func:`reproject.reproject_exact`.
    sky : 'median', None or array_like, default 'median'
        ``'median'``: each frame's sigma-clipped sky median (masked pixels and stars left
        out) is subtracted, and the median of the scaled sky levels is added back to the
        stack as a constant (written as GLOBMED). None: nothing subtracted (GLOBMED is the
        stack's median). An array: one level per frame, DN in that frame's units.
    weights : 'ivar', 'equal' or array_like, default 'ivar'
        Weights of the mean: inverse sky variance after scaling, all equal, or one per
        frame.
    mask_bits : int, default ztfimg.bitmask.DETECTION_BITS
        Mask bits whose pixels are left out (default every bit but 1 and 11, which mark the
        stars themselves). Non-finite pixels and pixels at or above SATURATE are always
        left out.
    coord_step : int, default 16
        Spacing, output pixels, of the nodes where the WCS mapping is evaluated exactly
        (1: at every pixel).
    mem_limit : float, default 1e9
        Bytes of working memory per tile (see :func:`~ztfimg.stacking.grid.plan_tiles`).
        The output arrays (14 bytes per output pixel) come on top.
    output : str or path-like, optional
        Write the stack there as FITS (see :meth:`Stack.write`).
    overwrite : bool, default False
        Overwrite ``output``.
    client : None, 'processes' or distributed.Client, default None
        None: the tiles one after the other in this process. ``'processes'``: a local dask
        cluster of single-threaded worker processes for this call. A client: its cluster
        (each task is one tile; the frames' readers and the grid are scattered once).
    n_workers : int, optional
        Workers of the local cluster (giving it means ``client='processes'``).
    progress : bool, default True
        A tqdm progress bar on stderr.

    Returns
    -------
    Stack
        ``data`` (DN at ``zeropoint``, sky GLOBMED included), ``weight`` (inverse
        variance, 1/DN^2), ``exposure`` (s), ``count`` (frames per pixel), ``header``
        (readable by :class:`~ztfimg.image.ReferenceImage`: MAGZP, NFRAMES, GLOBMED, WCS
        ...), ``frames`` (a table of the inputs: scale, sky, rms, weight, used).

    Raises
    ------
    InvalidParameterError
        A bad option (checked before any pixel is read), no frames, frames of different
        filters, no frame overlapping the grid, or a tile that cannot fit ``mem_limit``.
    HeaderKeywordError
        A frame without MAGZP or WCS.
    MissingFileError, FileFormatError
        A file cannot be read.

    Examples
    --------
    >>> from ztfimg.stacking import stack                              # doctest: +SKIP
    >>> st = stack(files, sigma=3.0, output="deep.fits")             # doctest: +SKIP
    >>> st.data.shape, st.header["NFRAMES"], st.header["MAGZP"]         # doctest: +SKIP
    >>> from ztfimg import ReferenceImage                               # doctest: +SKIP
    >>> ref = ReferenceImage("deep.fits")   # MAGZP, NFRAMES, GLOBMED   # doctest: +SKIP
    """
    if not (isinstance(combine, str) and combine in COMBINE):
        raise InvalidParameterError(f"combine must be 'mean' (sigma-clipped) or 'median'; "
                                    f"got {combine!r}")
    if not (isinstance(reproject, str) and reproject in METHODS):
        raise InvalidParameterError(f"reproject must be one of {METHODS}; got {reproject!r}")
    if sigma is not None:
        sigma = _check_positive(sigma, "sigma", "standard deviations")
    maxiters = _check_int(maxiters, "maxiters", 1)
    tile = _check_int(tile, "tile", 16)
    coord_step = _check_int(coord_step, "coord_step", 1)
    mem_limit = _check_positive(mem_limit, "mem_limit", "bytes")
    bits = _bitmask.as_bits(mask_bits)
    progress = as_bool(progress, "progress")
    overwrite = as_bool(overwrite, "overwrite")
    if zeropoint is not None:
        zeropoint = _check_positive(zeropoint, "zeropoint", "mag")
    if isinstance(sky, str) and sky not in SKY:
        raise InvalidParameterError(f"sky must be 'median', None or one level per frame; "
                                    f"got {sky!r}")
    if isinstance(weights, str) and weights not in WEIGHTS:
        raise InvalidParameterError(f"weights must be 'ivar', 'equal' or one number per "
                                    f"frame; got {weights!r}")
    client = _check_client(client, n_workers)

    items = prepare_frames(frames)
    n = len(items)
    filters = {f.filtername for f in items if f.filtername is not None}
    if len(filters) > 1:
        raise InvalidParameterError(f"the frames have different filters {sorted(filters)}: "
                                    "stack one filter at a time (col.select(filtername=...))")
    zp = items[0].magzp if zeropoint is None else zeropoint
    skies = None if sky is None or isinstance(sky, str) else _per_frame(sky, n, "sky")
    for i, f in enumerate(items):
        level, rms = sky_statistics(f)
        f.sky = 0.0 if sky is None else (level if skies is None else float(skies[i]))
        f.rms = rms
        f.extra["scale"] = 10 ** (-0.4 * (f.magzp - zp))
    if isinstance(weights, str):
        w = np.array([1.0 / (f.extra["scale"] * f.rms) ** 2 if weights == "ivar" else 1.0
                      for f in items])
        if not np.all(np.isfinite(w)):
            raise InvalidParameterError("a frame has a zero sky noise: its inverse-variance "
                                        "weight is infinite; use weights='equal'")
    else:
        w = _per_frame(weights, n, "weights")
        if np.any(w < 0):
            raise InvalidParameterError(f"weights must be >= 0; got {w}")
    for f, wi in zip(items, w):
        f.extra["weight"] = float(wi)

    g = as_grid(grid, items)
    fps = [footprint(f, g) for f in items]
    if all(fp is None for fp in fps):
        raise InvalidParameterError("no frame overlaps the output grid: check grid= (and "
                                    "the frames' WCS)")
    tiles = plan_tiles(g, fps, tile, mem_limit)
    opts = dict(combine=combine, sigma=sigma, maxiters=maxiters, reproject=reproject,
                coord_step=coord_step, bits=bits)

    ny, nx = g.shape
    data = np.full((ny, nx), np.nan, np.float32)
    var = np.full((ny, nx), np.nan, np.float32)
    count = np.zeros((ny, nx), np.int16 if n < 32768 else np.int32)
    exposure = np.zeros((ny, nx), np.float32)
    used = np.zeros(n, bool)
    for res in _run_tiles(tiles, items, g, opts, client, progress, n_workers):
        t = res["tile"]
        sl = (slice(t.y0, t.y1), slice(t.x0, t.x1))
        data[sl], var[sl], count[sl], exposure[sl] = (res["data"], res["variance"],
                                                      res["count"], res["exposure"])
        used[list(res["used"])] = True
    if not used.any():
        raise InvalidParameterError("no frame contributed a pixel to the grid (all masked or "
                                    "outside): check grid= and mask_bits=")
    if sky is None:
        good = data[np.isfinite(data)]
        globmed = float(np.median(good[:: max(1, good.size // 1_000_000)]))
    else:
        globmed = float(np.median([f.sky * f.extra["scale"] for f, u in zip(items, used)
                                   if u]))
        data += np.float32(globmed)
    table = frames_table(items, used)
    header = build_header(g, items, used, zp=zp, globmed=globmed, combine=combine,
                          sigma=sigma, reproject=reproject, data=data)
    with np.errstate(divide="ignore"):
        weight = np.where(np.isfinite(var) & (var > 0), 1.0 / var, 0.0).astype(np.float32)
    del var
    result = Stack(data, weight, exposure, count, header, table)
    if output is not None:
        result.write(output, overwrite=overwrite)
    return result
