"""Calibration frames: master bias, dark and flat, and raw-frame calibration (level 1).

Plain numpy in and out (FITS files are accepted wherever a frame goes, and read in blocks
of rows, never whole).  The subpackage reads top to bottom as:

* :mod:`ztfimg.calibframes.sections`: FITS/IRAF section strings (``'[x1:x2,y1:y2]'``) and
  numpy slices;
* :mod:`ztfimg.calibframes.reader`: :class:`SectionReader`, rows and sections of an array
  or of a FITS image read on demand (also used by :mod:`ztfimg.stacking`);
* :mod:`ztfimg.calibframes.combine`: the sigma-clipped mean / median kernel
  (:func:`combine_cube`, a C loop) and :func:`combine` over many frames in row blocks;
* :mod:`ztfimg.calibframes.raw`: :class:`RawLayout` (data section, overscan, orientation),
  :func:`overscan_level`, :func:`read_raw`, and :func:`ztf_raw_layout` (the ZTF raw layout
  as the earlier ztfimg package read it: unverified here, see its notes);
* :mod:`ztfimg.calibframes.masters`: :func:`master_bias`, :func:`master_dark` (a rate,
  DN/s), :func:`master_flat` (median 1), :class:`MasterFrame`, and :func:`calibrate` with
  variance propagation.

Examples
--------
>>> import numpy as np
>>> from ztfimg import simraw, calibframes as cf
>>> cam = simraw.RawCamera(shape=(128, 128), seed=0)
>>> lay = cam.layout
>>> bias = cf.master_bias([cam.bias(seed=i).data for i in range(15)], layout=lay)
>>> darks = [cam.dark(300.0, seed=20 + i).data for i in range(8)]
>>> dark = cf.master_dark(darks, 300.0, bias=bias, layout=lay)
>>> flats = [cam.flat(20000.0, seed=40 + i).data for i in range(8)]
>>> flat = cf.master_flat(flats, bias=bias, layout=lay)
>>> sci = cam.science(exptime=30.0, seed=99)
>>> out = cf.calibrate(sci.data, bias=bias, dark=dark, flat=flat, exptime=30.0,
...                    gain=cam.gain, readnoise=cam.readnoise, layout=lay)
>>> pull = (out.data - sci.signal) / np.sqrt(out.variance)
>>> bool(0.95 < pull.std() < 1.05)
True
"""

from .combine import METHODS, Combined, block_rows, combine, combine_cube
from .masters import KINDS, Calibrated, MasterFrame, calibrate, master_bias, master_dark, \
    master_flat
from .raw import OVERSCAN_MODELS, RawData, RawLayout, overscan_level, read_raw, ztf_raw_layout
from .reader import SectionReader, as_reader
from .sections import as_section, format_section, parse_section

__all__ = ["METHODS", "Combined", "block_rows", "combine", "combine_cube", "KINDS",
           "Calibrated", "MasterFrame", "calibrate", "master_bias", "master_dark",
           "master_flat", "OVERSCAN_MODELS", "RawData", "RawLayout", "overscan_level",
           "read_raw", "ztf_raw_layout", "SectionReader", "as_reader", "as_section",
           "format_section", "parse_section"]
