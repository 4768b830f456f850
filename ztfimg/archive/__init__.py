"""From a sky position to frames on disk: IRSA archive search and download into a mirror.

ZTF users start from a position; this package finds the frames that cover it in IRSA's ZTF
image archive and keeps them in a local mirror of the archive tree (``$ZTFDATA``), as
ztfquery does:

* :func:`search` -- the frames (science or reference) covering a position, as a DataFrame
  of IRSA's metadata plus the ZTF ``filename`` of each frame;
* :func:`download` -- their products (``sciimg.fits``, ``mskimg.fits``, ``psfcat.fits``,
  ``sciimgdao.psf``, ``scimrefdiffimg.fits.fz`` ...) into the archive layout under the
  root, in parallel, never twice, atomic, resumable, retried;
* :func:`ensure_local`, :func:`ensure_local_frames` -- local paths, downloading what is
  missing (what ``from_filename(..., download=True)`` and ``from_sky`` call).

Settings: the archive is ``base_url=``, else ``$ZTFIMG_IRSA_URL``, else IRSA's IBE
(:data:`DEFAULT_IRSA_URL`); the mirror root is ``root=``, else ``$ZTFDATA``; offline is
``offline=``, else ``$ZTFIMG_OFFLINE`` (the switch of the catalogue cache): no connection
is made and a missing file is an :class:`~ztfimg.errors.OfflineError` naming it.

Examples
--------
>>> from ztfimg import archive
>>> frames = archive.search(96.9173, 77.7049, filters="zr")              # doctest: +SKIP
>>> files = archive.download(frames, ("sciimg.fits", "mskimg.fits"))     # doctest: +SKIP
>>> files.status.value_counts()                                          # doctest: +SKIP
"""

from .config import DEFAULT_IRSA_URL, IRSA_URL_ENV, data_root, irsa_url, product_url
from .downloads import DEFAULT_SUFFIXES, REFERENCE_SUFFIXES, download, product_names
from .errors import AuthenticationRequiredError, DownloadError, ProductNotFoundError
from .local import ensure_local, ensure_local_frames
from .query import frame_filenames, search
from .transfer import is_complete

__all__ = [
    "search", "frame_filenames", "download", "product_names", "ensure_local",
    "ensure_local_frames", "is_complete", "irsa_url", "product_url", "data_root",
    "DEFAULT_IRSA_URL", "IRSA_URL_ENV", "DEFAULT_SUFFIXES", "REFERENCE_SUFFIXES",
    "ProductNotFoundError", "AuthenticationRequiredError", "DownloadError",
]
