"""Many frames: :class:`ImageCollection`, from a laptop to a dask cluster (level 3).

ZTF work is often about hundreds to tens of thousands of quadrant frames: a season of one
field for a light curve, a night (~44,800 quadrants) for a calibration study.  A collection
holds their file names, reads their headers into one table, selects frames on it, and runs
a job on every frame (serially, on local processes, or on any ``distributed`` cluster),
streaming the results back and reporting each frame that fails instead of stopping.

The subpackage reads top to bottom as:

* :mod:`ztfimg.collection.headers`: the header table, read from the header blocks only, in
  threads, with the frame classes' own keyword rules;
* :mod:`ztfimg.collection.jobs`: the per-frame functions that travel to the workers (they
  take a file name and open the frame there), and the built-in jobs;
* :mod:`ztfimg.collection.execution`: serial, local processes or an existing client;
  bounded tasks in flight, results streamed with ``distributed.as_completed``;
  :class:`MapResult`;
* :mod:`ztfimg.collection.stack`: :class:`StampStack`, the stamps of one position through
  the frames, and its :class:`StackFlag` bits;
* :mod:`ztfimg.collection.core`: :class:`ImageCollection` itself.

Examples
--------
>>> from ztfimg import ImageCollection                                 # doctest: +SKIP
>>> col = ImageCollection.from_directory("frames/")                     # doctest: +SKIP
>>> col.headers[["filename", "obsjd", "filtername", "magzp", "seeing"]]  # doctest: +SKIP
>>> res = col.map(lambda img: img.get_background().globalrms,          # doctest: +SKIP
...               client="processes")
>>> res.results, res.errors                                             # doctest: +SKIP
>>> zp = col.select(filtername="ztfr").calibrate("ps1")                 # doctest: +SKIP
>>> stack = col.get_stamps(55.0612, 33.3493, size=21)                   # doctest: +SKIP
>>> stack.show()                                                        # doctest: +SKIP
"""

from .core import ImageCollection
from .execution import MapResult, local_cluster
from .headers import read_header, read_headers
from .stack import StackFlag, StampStack

__all__ = ["ImageCollection", "MapResult", "StampStack", "StackFlag", "local_cluster",
           "read_header", "read_headers"]
