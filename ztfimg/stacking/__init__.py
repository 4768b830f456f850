"""Stacks: many frames reprojected onto one grid, at one zero point (level 3).

:func:`stack` co-adds ZTF frames (or any frames with a WCS and MAGZP) onto the first
frame's grid, a reference image's, or any WCS: frames are scaled to one zero point,
masked pixels left out, sections resampled (bilinear, or :mod:`reproject`'s adaptive and
exact methods), and combined with a sigma-clipped weighted mean or a median, with an
inverse-variance weight map, an exposure map and a coverage (frames per pixel) map.  The
written FITS file opens as a :class:`~ztfimg.image.ReferenceImage`.

Memory is bounded by construction: the output grid is cut into tiles, and for each tile
only the section of each frame under it is read from disk; a tile's working memory is
kept under ``mem_limit`` (tiles are cut smaller when many frames overlap).

The subpackage reads top to bottom as:

* :mod:`ztfimg.stacking.inputs`: the frames (readers, header values, sky), no pixels held;
* :mod:`ztfimg.stacking.grid`: the output grid, frame footprints, the tile plan;
* :mod:`ztfimg.stacking.resample`: one frame onto one tile (WCS mapping on nodes,
  bilinear / adaptive / exact);
* :mod:`ztfimg.stacking.result`: :class:`Stack` and its header;
* :mod:`ztfimg.stacking.core`: :func:`stack`, serially or as dask tasks (one per tile).

Examples
--------
>>> from ztfimg.stacking import stack                                  # doctest: +SKIP
>>> files = sorted(glob.glob("sci/*_sciimg.fits"))                    # doctest: +SKIP
>>> st = stack(files, combine="mean", output="deep.fits")              # doctest: +SKIP
>>> st.show()                                                           # doctest: +SKIP
>>> from ztfimg import ReferenceImage                                   # doctest: +SKIP
>>> ref = ReferenceImage("deep.fits"); ref.magzp, ref.nframes, ref.globmed # doctest: +SKIP
"""

from .core import COMBINE, SKY, WEIGHTS, stack, stack_tile
from .grid import Grid, Tile, as_grid, footprint, plan_tiles
from .inputs import FrameInput, prepare_frames, sky_statistics
from .resample import METHODS
from .result import Stack

__all__ = ["stack", "Stack", "stack_tile", "COMBINE", "SKY", "WEIGHTS", "METHODS", "Grid",
           "Tile", "as_grid", "footprint", "plan_tiles", "FrameInput", "prepare_frames",
           "sky_statistics"]
