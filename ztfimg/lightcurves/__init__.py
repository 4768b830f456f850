"""Light curves: forced photometry through many frames, differential photometry, products.

The subpackage (level 3, orchestration) reads top to bottom as:

* :mod:`ztfimg.lightcurves.pointflags`: :class:`LightCurveFlag`, the bits of a point;
* :mod:`ztfimg.lightcurves.frames`: the per-frame table (its columns and types);
* :mod:`ztfimg.lightcurves.core`: :class:`LightCurves`, the measurements of many stars on
  many frames, ``(n_apertures, n_stars, n_times)`` in DN, with selection and merging;
* :mod:`ztfimg.lightcurves.forced`: :func:`forced_photometry` through an
  :class:`~ztfimg.collection.ImageCollection` (each frame read once, thousands of
  positions, any dask cluster) and :func:`append` for a grown collection;
* :mod:`ztfimg.lightcurves.calibration`: zero points, aperture corrections, AB magnitudes
  and flux densities, upper limits;
* :mod:`ztfimg.lightcurves.binning`: time bins with the errors of a weighted mean;
* :mod:`ztfimg.lightcurves.differential`: Broeg et al. (2005) differential photometry,
  :class:`DifferentialPhotometry`;
* :mod:`ztfimg.lightcurves.time`: barycentric times from Palomar, offline;
* :mod:`ztfimg.lightcurves.io`: prose's ``.phots`` FITS layout, and parquet;
* :mod:`ztfimg.lightcurves.plotting`: the figures.

Imports point one way: the modules that work on light curves import core, and core's
convenience methods (``lc.select``, ``lc.broeg2005``, ``lc.save`` ...) reach them only
through one labelled function, ``core._helpers``.

Examples
--------
>>> from ztfimg import ImageCollection                                 # doctest: +SKIP
>>> from ztfimg.lightcurves import forced_photometry                    # doctest: +SKIP
>>> col = ImageCollection.from_directory("frames/")                    # doctest: +SKIP
>>> lc = forced_photometry(col, targets, radius=[2, 3, 5], bkgann=(10, 15), # doctest: +SKIP
...                        client="processes")
>>> lc.get_lightcurve(0, bjd=True)                    # doctest: +SKIP
>>> diff = lc.select(filtername="zr").broeg2005(target=0)               # doctest: +SKIP
>>> diff.save("target.phots")                    # doctest: +SKIP
"""

from .core import METHODS, LightCurves
from .differential import DifferentialPhotometry, broeg2005, weighted_mean
from .forced import append, forced_photometry, measure_frame
from .pointflags import LightCurveFlag
from .time import bjd_tdb, palomar

__all__ = ["LightCurves", "DifferentialPhotometry", "LightCurveFlag", "forced_photometry",
           "append", "measure_frame", "broeg2005", "weighted_mean", "bjd_tdb", "palomar",
           "METHODS"]
