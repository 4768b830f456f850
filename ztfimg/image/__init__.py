"""ZTF frames as objects: :class:`ScienceImage` and :class:`ReferenceImage`.

The objects are thin: they hold the pixels, the bit mask and the header, read the header
values with ZTF's keyword conventions, and call the array-level modules with ZTF defaults.
The subpackage reads top to bottom as:

* :mod:`ztfimg.image.header`: the header keywords, declared one per line;
* :mod:`ztfimg.image.selectors`: the ``data=`` and ``coords=`` names shared by every method;
* :mod:`ztfimg.image.frame`: :class:`ZTFImage`: pixels, mask, WCS, conversions, background
  and the product store;
* :mod:`ztfimg.image.measure`: sources, apertures, stamps, PSF photometry, display;
* :mod:`ztfimg.image.science`: :class:`ScienceImage` and :class:`ReferenceImage`.

Pixel convention (the one public convention of ztfimg): **0-based**, ``x`` is the column and
``y`` the row (``data[y, x]``), the centre of the first pixel is ``(0, 0)``, in file
orientation. FITS/WCS and IPAC catalogues are 1-based; the conversion happens at that
boundary only (``pixels_to_coords`` / ``coords_to_pixels`` use WCS origin 0).

Examples
--------
>>> from ztfimg import ScienceImage                                  # doctest: +SKIP
>>> img = ScienceImage.from_filename("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")  # doctest: +SKIP
>>> img.magzp, img.filtername, img.data.shape  # doctest: +SKIP
(26.285139, 'ztfr', (3080, 3072))
"""

from ..filters import normalise_filter
from ..fitsio import read_fits
from .frame import ZTFImage
from .header import HeaderAccess, Keyword
from .measure import NoWCSWarning
from .science import ReferenceImage, ScienceImage
from .difference import DifferenceImage
from .selectors import COORDS, PIXEL_SELECTORS

__all__ = ["ZTFImage", "ScienceImage", "ReferenceImage", "read_fits", "normalise_filter",
           "HeaderAccess", "Keyword", "NoWCSWarning", "PIXEL_SELECTORS", "COORDS",
           "QUADRANT_SHAPE", "DEFAULT_FIXAPERS", "DifferenceImage"]

#: Shape (rows, columns) of one ZTF quadrant.
QUADRANT_SHAPE = (3080, 3072)

#: Aperture diameters (pixels) of IPAC's FIXAPERS (APCOR1..6) on ZTF science images.
DEFAULT_FIXAPERS = (2.0, 3.0, 4.0, 6.0, 10.0, 14.0)
