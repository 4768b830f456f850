"""Reading parts of a frame (rows, sections) without reading the whole frame (level 1).

:class:`SectionReader` gives ``read(r0, r1, c0, c1)`` on a 2-D array or on an image HDU of
a FITS file.  A plain (uncompressed, unscaled) image in a plain file is read with one
``seek`` and one ``readinto`` of the rows asked for: nothing else of the file is read, and
no memory map is kept, so the pages read do not stay in the process's resident memory
after the call (a memory map's touched pages count in its RSS until it is closed).
Tile-compressed (``.fits.fz``), scaled (BZERO/BSCALE) or gzipped files go through
astropy's ``section``, which also reads only what it needs.

A reader keeps only the file name and offsets (no open file), so it pickles to a dask
worker.  ``flip=True`` reads the image rotated by 180 degrees (both axes reversed), as
raw readout quadrants may be stored.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from astropy.io import fits

from ..errors import FileFormatError, InvalidParameterError, ShapeMismatchError
from ..fitsio import check_fits_path
from .sections import as_section

__all__ = ["SectionReader", "as_reader"]

_FITS_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}

#: Bytes of full rows read at a time when only some columns are wanted.
_CHUNK_BYTES = 8 << 20


def _hdu_index(hdul, hdu, path):
    if isinstance(hdu, str):
        try:
            return hdul.index_of(hdu)
        except KeyError:
            names = [h.name for h in hdul]
            raise FileFormatError(f"{path!r} has no HDU named {hdu!r}; it has {names}") \
                from None
    if isinstance(hdu, (bool, np.bool_)) or not isinstance(hdu, (int, np.integer)):
        raise InvalidParameterError(f"hdu must be an HDU number or name; got {hdu!r}")
    index = int(hdu)
    if index == 0 and hdul[0].header.get("NAXIS", 0) == 0 and len(hdul) > 1:
        index = 1  # an empty primary HDU: the image is the first extension
    if not 0 <= index < len(hdul):
        raise FileFormatError(f"{path!r} has {len(hdul)} HDU(s); HDU {index} does not exist")
    return index


class SectionReader:
    """Row blocks and sections of one 2-D image, read on demand.

    Parameters
    ----------
    source : 2-D array_like, str or path-like
        An array (kept by reference, not copied) or a FITS file.
    hdu : int or str, default 0
        HDU of a FITS file (an empty primary HDU falls through to the first extension).
    section : tuple of slice or str, optional
        The part of the image this reader covers: ``(rows, cols)`` slices (0-based) or a
        FITS/IRAF section string ``'[x1:x2,y1:y2]'`` (1-based, inclusive); default all.
    flip : bool, default False
        Present the section rotated by 180 degrees (rows and columns reversed).

    Attributes
    ----------
    shape : tuple of int
        (rows, columns) of the section.
    header : astropy.io.fits.Header or None
        The HDU's header (None for an array).

    Raises
    ------
    MissingFileError
        The file does not exist.
    FileFormatError
        Not FITS, no such HDU, or the HDU is not a 2-D image.
    ShapeMismatchError
        An array that is not 2-D, or a section outside the image.

    Examples
    --------
    >>> import numpy as np
    >>> r = SectionReader(np.arange(12.0).reshape(3, 4), section="[2:3,1:2]")
    >>> r.shape, r.read(0, 2).tolist()
    ((2, 2), [[1.0, 2.0], [5.0, 6.0]])
    """

    def __init__(self, source, hdu=0, section=None, flip=False):
        self.flip = bool(flip)
        self._array = None
        self.path = None
        self.header = None
        if isinstance(source, (str, bytes, os.PathLike)):
            self.path = check_fits_path(source)
            self._open_file(hdu)
        else:
            arr = np.asarray(source)
            if arr.ndim != 2:
                raise ShapeMismatchError(f"a frame must be a 2-D image; got shape {arr.shape}")
            if arr.dtype.kind not in "fiub":
                raise InvalidParameterError(f"a frame must be numeric; got dtype {arr.dtype}")
            self._array = arr
            self.full_shape = arr.shape
        self._rows, self._cols = as_section(section, self.full_shape)
        self.shape = (self._rows.stop - self._rows.start, self._cols.stop - self._cols.start)

    def _open_file(self, hdu):
        path = self.path
        try:
            # the file object is ours, so it is closed even when astropy fails inside open
            with open(path, "rb") as fileobj, warnings.catch_warnings():
                warnings.filterwarnings("error", message=".*truncated.*")
                hdul = fits.open(fileobj, memmap=False, lazy_load_hdus=True)
                try:
                    self._describe(hdul, hdu)
                finally:
                    hdul.close()
        except (OSError, TypeError, ValueError, IndexError, KeyError, UserWarning) as exc:
            if isinstance(exc, FileFormatError):
                raise
            raise FileFormatError(f"cannot read {path!r} as a FITS image (truncated or not "
                                  f"FITS?): {exc}") from exc

    def _describe(self, hdul, hdu):
        path = self.path
        self.hdu = _hdu_index(hdul, hdu, path)
        h = hdul[self.hdu]
        header = h.header
        if header.get("NAXIS", 0) != 2:
            raise FileFormatError(f"{path!r} HDU {self.hdu} is not a 2-D image "
                                  f"(NAXIS={header.get('NAXIS', 0)})")
        info = h.fileinfo() or {}
        self._direct = (not isinstance(h, fits.CompImageHDU)
                        and isinstance(h, (fits.PrimaryHDU, fits.ImageHDU))
                        and info.get("datLoc") is not None
                        and getattr(info.get("file"), "compression", None) is None
                        and header.get("BITPIX") in _FITS_DTYPES
                        and header.get("BSCALE", 1) == 1 and header.get("BZERO", 0) == 0
                        and "BLANK" not in header)
        self._datloc = int(info["datLoc"]) if self._direct else None
        self._filetype = np.dtype(_FITS_DTYPES[header["BITPIX"]]) if self._direct else None
        self.header = header.copy()
        self.full_shape = (int(header["NAXIS2"]), int(header["NAXIS1"]))

    def __repr__(self):
        what = repr(self.path) if self.path else "array"
        return f"<SectionReader {what} section {self.shape}{' flipped' if self.flip else ''}>"

    def _stored(self, a0, a1, length, sl):
        """Stored index range of logical [a0, a1) along an axis of section ``sl``."""
        if self.flip:
            return sl.start + (length - a1), sl.start + (length - a0)
        return sl.start + a0, sl.start + a1

    def read(self, r0=0, r1=None, c0=0, c1=None, dtype=np.float32):
        """Rows ``r0:r1`` and columns ``c0:c1`` of the section, as a new native array.

        Parameters
        ----------
        r0, r1 : int
            Row range in the section (0-based, ``r1`` exclusive; default all rows).
        c0, c1 : int
            Column range (default all columns).
        dtype : numpy dtype or None, default float32
            Type of the result; None keeps the file's (native byte order).

        Returns
        -------
        numpy.ndarray
            Shape ``(r1 - r0, c1 - c0)``, writable, not shared with anything.

        Raises
        ------
        InvalidParameterError
            A range outside the section.
        FileFormatError
            The file is truncated or unreadable.

        Examples
        --------
        >>> import numpy as np
        >>> SectionReader(np.arange(6).reshape(2, 3)).read(1, 2, dtype=None).tolist()
        [[3, 4, 5]]
        """
        ny, nx = self.shape
        r1 = ny if r1 is None else r1
        c1 = nx if c1 is None else c1
        if not (0 <= r0 <= r1 <= ny and 0 <= c0 <= c1 <= nx):
            raise InvalidParameterError(f"rows {r0}:{r1}, columns {c0}:{c1} are outside the "
                                        f"section of shape {self.shape}")
        s0, s1 = self._stored(r0, r1, ny, self._rows)
        t0, t1 = self._stored(c0, c1, nx, self._cols)
        if self._array is not None:
            out = self._array[s0:s1, t0:t1]
        elif self._direct:
            out = self._read_direct(s0, s1, t0, t1)
        else:
            out = self._read_astropy(s0, s1, t0, t1)
        if self.flip:
            out = out[::-1, ::-1]
        target = out.dtype.newbyteorder("=") if dtype is None else np.dtype(dtype)
        return np.array(out, dtype=target, copy=True)

    def _read_direct(self, s0, s1, t0, t1):
        nx = self.full_shape[1]
        nrows = s1 - s0
        item = self._filetype.itemsize
        if t0 == 0 and t1 == nx:
            out = np.empty((nrows, nx), dtype=self._filetype)
            self._read_rows(s0, s1, out)
            return out
        # a column range: full rows are read in chunks of ~8 MB, the columns kept
        out = np.empty((nrows, t1 - t0), dtype=self._filetype)
        chunk = max(1, _CHUNK_BYTES // max(1, nx * item))
        buf = np.empty((min(chunk, nrows), nx), dtype=self._filetype)
        for r in range(0, nrows, chunk):
            n = min(chunk, nrows - r)
            self._read_rows(s0 + r, s0 + r + n, buf[:n])
            out[r:r + n] = buf[:n, t0:t1]
        return out

    def _read_rows(self, s0, s1, out):
        if s1 <= s0:
            return
        nx = self.full_shape[1]
        with open(self.path, "rb") as fh:
            fh.seek(self._datloc + s0 * nx * self._filetype.itemsize)
            nread = fh.readinto(memoryview(out).cast("B"))
        if nread != out.nbytes:
            raise FileFormatError(f"{self.path!r} is truncated: rows {s0}:{s1} are not all "
                                  f"in the file")

    def _read_astropy(self, s0, s1, t0, t1):
        try:
            with fits.open(self.path, memmap=False, lazy_load_hdus=True) as hdul:
                return np.asarray(hdul[self.hdu].section[s0:s1, t0:t1])
        except (OSError, TypeError, ValueError, IndexError) as exc:
            raise FileFormatError(f"cannot read rows {s0}:{s1} of {self.path!r}: {exc}") \
                from exc


def as_reader(source, hdu=0, section=None, flip=False):
    """A :class:`SectionReader` for ``source`` (returned as is when it already is one).

    Parameters
    ----------
    source : SectionReader, 2-D array_like, str or path-like
    hdu, section, flip :
        See :class:`SectionReader` (ignored for a reader).

    Returns
    -------
    SectionReader

    Raises
    ------
    InvalidParameterError, ShapeMismatchError, MissingFileError, FileFormatError
        As :class:`SectionReader`.

    Examples
    --------
    >>> import numpy as np
    >>> as_reader(np.zeros((4, 5))).shape
    (4, 5)
    """
    if isinstance(source, SectionReader):
        return source
    if source is None:
        raise InvalidParameterError("a frame is None: expected a 2-D array or a FITS file")
    return SectionReader(source, hdu=hdu, section=section, flip=flip)
