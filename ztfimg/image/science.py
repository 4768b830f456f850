"""ZTF science and reference frames (level 2).

:class:`ScienceImage` is a ``*_sciimg.fits`` quadrant with its ``*_mskimg.fits`` bit mask;
:class:`ReferenceImage` a ``*_refimg.fits`` co-add (no bit mask, GLOBMED sky, DBFIELD/DBRCID
keywords).  Both are :class:`~ztfimg.image.ZTFImage` with a constructor from a file name.
"""

from __future__ import annotations

import os

import numpy as np

from .. import bitmask as _bitmask
from .. import filenames as _filenames
from ..errors import HeaderKeywordError, MissingFileError
from ..fitsio import check_fits_path
from .frame import ZTFImage
from .header import Keyword, read_keyword

__all__ = ["ScienceImage", "ReferenceImage"]


def _fetchable(filename, download):
    """A bare ZTF name (no directory) with download asked: the archive resolves it."""
    if not download:
        return False
    return (_filenames.is_ztf_filename(filename)
            and not os.path.dirname(os.fspath(filename)))


class ScienceImage(ZTFImage):
    """A ZTF science quadrant (``*_sciimg.fits``) with its bit mask (``*_mskimg.fits``).

    Parameters
    ----------
    imagefile : str or path-like
        The ``sciimg`` FITS file.
    maskfile : str or path-like, optional
        The ``mskimg`` FITS file. Use :meth:`from_filename` to find it automatically.

    Examples
    --------
    >>> from ztfimg import image                                          # doctest: +SKIP
    >>> z = image.ScienceImage(sciimg, mskimg)  # doctest: +SKIP
    >>> z.get_mask().sum(), z.magzp  # doctest: +SKIP
    """

    @classmethod
    def from_filename(cls, filename, maskfile=None, *, require_mask=True, download=False,
                      **download_kwargs):
        """Open a science image and the mask beside it (fetched from IRSA on request).

        Parameters
        ----------
        filename : str or path-like
            Path of a ``*_sciimg.fits`` file, or just its ZTF name: a bare name that does
            not exist in the working directory is looked up in the ``$ZTFDATA`` mirror.
        maskfile : str or path-like, optional
            Explicit mask path. Default: the ``*_mskimg.fits`` sibling.
        require_mask : bool, default True
            Raise when the sibling mask is absent (False: open without a mask).
        download : bool, default False
            For a bare ZTF name: fetch the image (and its mask) from IRSA into the
            ``$ZTFDATA`` mirror when they are missing (:func:`ztfimg.archive.ensure_local`;
            never twice, atomic, the offline switch honoured).
        **download_kwargs
            ``root``, ``offline``, ``base_url``, ``timeout``, ``retries``, ``session`` ...
            of :func:`ztfimg.archive.ensure_local`.

        Returns
        -------
        ScienceImage

        Raises
        ------
        MissingFileError
            If the image (or the required mask) cannot be found.
        """
        if _fetchable(filename, download):
            from ..archive import ensure_local
            wanted = (("sciimg.fits", "mskimg.fits") if maskfile is None and require_mask
                      else ("sciimg.fits",))
            path = ensure_local(filename, wanted, **download_kwargs)[0]
        else:
            path = _filenames.find_file(filename)
        path = check_fits_path(path)
        if maskfile is None:
            candidate = _filenames.sibling(path, "mskimg")
            if os.path.exists(candidate):
                maskfile = candidate
            elif require_mask:
                raise MissingFileError(
                    f"mask file {candidate!r} not found beside {path!r}; pass maskfile=... or "
                    "require_mask=False")
        return cls(path, maskfile)


class ReferenceImage(ZTFImage):
    """A ZTF reference image (``*_refimg.fits``): a co-add without a bit mask.

    Reference headers use DBFIELD/DBRCID/DBFID where science headers have
    FIELDID/RCID/FILTERID, and carry GLOBMED (global median sky, DN) and NFRAMES.

    Parameters
    ----------
    imagefile : str or path-like
        The ``refimg`` FITS file.
    """

    globmed = Keyword("GLOBMED", unit="DN", doc="Global median of the co-add")
    nframes = Keyword("NFRAMES", cast=int, doc="Number of frames co-added")

    @classmethod
    def from_filename(cls, filename, *, download=False, **download_kwargs):
        """Open a reference image by path (or bare ZTF name looked up under ``$ZTFDATA``).

        Parameters
        ----------
        filename : str or path-like
        download : bool, default False
            Fetch a bare ZTF name from IRSA into ``$ZTFDATA`` when missing (see
            :meth:`ScienceImage.from_filename`).
        **download_kwargs
            Passed to :func:`ztfimg.archive.ensure_local`.

        Returns
        -------
        ReferenceImage
        """
        if _fetchable(filename, download):
            from ..archive import ensure_local
            return cls(ensure_local(filename, ("refimg.fits",), **download_kwargs)[0])
        return cls(_filenames.find_file(filename))

    def get_background(self, box_size=None, filter_size=None, *, use_globmed=None, **kwargs):
        """Background of the co-add: the constant GLOBMED convention, or a sep mesh.

        Parameters
        ----------
        box_size, filter_size : optional
            Mesh and filter sizes of a sep background.
        use_globmed : bool, optional
            True: constant sky at the header's GLOBMED (DN) with a constant noise, the
            sigma-clipped standard deviation of the unmasked pixels. False: a sep mesh
            background as for science images. Default: GLOBMED unless mesh parameters or
            ``sources`` are given.
        **kwargs
            ``sources``, ``ellipse_scale``, ``bits``, ``fthresh`` of
            :meth:`ZTFImage.get_background`.

        Returns
        -------
        ztfimg.background.Background
        """
        if use_globmed is None:
            use_globmed = box_size is None and filter_size is None and not kwargs
        if not use_globmed:
            return super().get_background(box_size, filter_size, **kwargs)
        return self._products.get("background", "globmed", self._globmed_background)

    def _globmed_background(self):
        from astropy.stats import sigma_clipped_stats

        from ..background import Background
        med = self.globmed
        pixels = self._pixels()
        good = np.isfinite(pixels) & ~self._mask_owner(_bitmask.BACKGROUND_BITS)
        sample = pixels[good][:: max(1, int(good.sum() // 2_000_000))]
        _, _, std = sigma_clipped_stats(sample, sigma=3.0, maxiters=5)
        shape = self.shape
        return Background(np.full(shape, med, np.float32), np.full(shape, std, np.float32),
                          med, std, box_size=shape, filter_size=(1, 1), fthresh=0.0,
                          nmasked=int((~good).sum()))

    @property
    def obsjd(self) -> float:
        """Reference images have no single epoch: OBSJD if present, else the midpoint of
        the co-added epochs (OBSJDST..OBSJDEN or JDSTART/JDEND), days."""
        jd = read_keyword(self._header, ("OBSJD",), default=None)
        if jd is not None:
            return jd
        for a, b in (("OBSJDST", "OBSJDEN"), ("JDSTART", "JDEND")):
            ja = read_keyword(self._header, (a,), default=None)
            jb = read_keyword(self._header, (b,), default=None)
            if ja is not None and jb is not None:
                return 0.5 * (ja + jb)
        raise HeaderKeywordError("reference header has no OBSJD nor start/end epochs")
