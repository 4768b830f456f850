"""DAOPhot point-spread functions: read, evaluate, render and write IPAC ``*_sciimgdao.psf``.

The IPAC pipeline fits every ZTF science quadrant with DAOPHOT II and ships the
resulting PSF model as a small text file (``*_sciimgdao.psf``).  This subpackage
is level 1 of ztfimg: it only needs numpy/scipy (and sep for exact apertures);
it knows nothing of images or headers.  Positions are 0-based, x = column,
y = row.

Modules, one concept each
-------------------------
:mod:`~ztfimg.dao.fileformat`
    The fixed-width ``.psf`` text format: :func:`parse_psf_string`,
    :func:`read_psf_file`, :func:`format_psf_string`, :func:`write_psf_file`.
:mod:`~ztfimg.dao.profiles`
    The model's building blocks on plain arrays: :data:`PROFILES`,
    :func:`analytic_profile`, :func:`spatial_weights`, :func:`keys_cubic_weights`.
:mod:`~ztfimg.dao.model`
    :class:`DAOPhotPSF` (alias ``DAOPhotReader``): the model's data,
    constructors, properties, single-star evaluation, forced photometry and
    output.  Its other methods live in one module per concern:
:mod:`~ztfimg.dao.rendering`
    Vectorised stamps of many stars and images of many stars (``get_psf_stamps``,
    ``render``).
:mod:`~ztfimg.dao.apertures`
    Aperture sums, curve of growth and aperture corrections of the model.
:mod:`~ztfimg.dao.synthetic`
    ZTF-like synthetic PSFs for simulations (``DAOPhotPSF.synthetic``).
:mod:`~ztfimg.dao.plotting`
    ``DAOPhotPSF.show``.

:func:`psf_photometry` (forced PSF photometry) lives in :mod:`ztfimg.psfphot`
and is re-exported here.

Examples
--------
>>> from ztfimg.dao import DAOPhotPSF                         # doctest: +SKIP
>>> psf = DAOPhotPSF("ztf_..._sciimgdao.psf")                 # doctest: +SKIP
>>> stamp = psf.get_psf_at(1200.3, 800.7, size=23)            # doctest: +SKIP
>>> phot = psf.photometry(data, x, y, rms=12.0, gain=6.2)     # doctest: +SKIP
"""

from ..psfphot import psf_photometry  # re-exported; psfphot does not import dao
from .fileformat import format_psf_string, parse_psf_string, read_psf_file, write_psf_file
from .model import DAOPhotPSF, DAOPhotReader
from .profiles import PROFILES, analytic_profile, keys_cubic_weights, spatial_weights

__all__ = [
    "DAOPhotPSF",
    "DAOPhotReader",
    "PROFILES",
    "read_psf_file",
    "parse_psf_string",
    "format_psf_string",
    "write_psf_file",
    "analytic_profile",
    "spatial_weights",
    "keys_cubic_weights",
    "psf_photometry",
]
