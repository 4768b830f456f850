"""ztfimg: tools for Zwicky Transient Facility images.

The public objects are imported lazily so that ``import ztfimg`` stays fast and
never touches the network::

    from ztfimg import ScienceImage
    img = ScienceImage.from_filename("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "ScienceImage": "ztfimg.image",
    "ReferenceImage": "ztfimg.image",
    "ZTFImage": "ztfimg.image",
    "DifferenceImage": "ztfimg.image",
    "DAOPhotReader": "ztfimg.dao",
    "DAOPhotPSF": "ztfimg.dao",
    "CatalogCollection": "ztfimg.catalog",
    "Stamp": "ztfimg.stamps",
    "ZTFBit": "ztfimg.bitmask",
    "ZTFImgError": "ztfimg.errors",
    "ImageCollection": "ztfimg.collection",
    "LightCurves": "ztfimg.lightcurves",
    "Stack": "ztfimg.stacking",
}

_SUBMODULES = {
    "errors", "filenames", "bitmask", "image", "simulate", "datasets", "background",
    "sources", "photometry", "aperture", "stamps", "dao", "psfphot", "refcat", "catalog",
    "zeropoint", "plotting", "cli", "filters", "flags", "validation", "fitsio", "products",
    "workflows", "matching", "overlap", "collection", "lightcurves", "simseries",
    "psfdiff", "alerts", "simtransient", "archive", "astrometry", "stacking",
    "calibframes", "simraw",
}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"ztfimg.{name}")
    raise AttributeError(f"module 'ztfimg' has no attribute {name!r}")


def __dir__():
    return __all__
