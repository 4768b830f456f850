"""Reading ZTF FITS images once, as native-endian arrays (level 1).

One entry point, :func:`read_fits`, used by every frame object: the primary image (or the
first image extension of a tile-compressed ``.fits.fz``) is read once, converted once to the
requested native-endian dtype and returned read-only.  The mask files' integer type is
checked here so that a science image given where a mask goes is refused at read time.
"""

from __future__ import annotations

import os
import warnings
from typing import NamedTuple

import numpy as np
from astropy.io import fits

from .errors import FileFormatError, InvalidParameterError, MissingFileError

__all__ = ["read_fits", "read_header", "read_pixels", "ImageLayout", "check_fits_path",
           "readonly"]


def check_fits_path(path) -> str:
    """Return ``path`` as a string after checking that it is an existing file.

    Parameters
    ----------
    path : str or path-like

    Raises
    ------
    MissingFileError
        If it does not exist or is a directory.
    """
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        raise InvalidParameterError(f"expected the path of a FITS file (str or path-like); got "
                                    f"{type(path).__name__} {path!r:.60}") from None
    if not os.path.exists(path):
        raise MissingFileError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise MissingFileError(f"{path!r} is a directory, expected a FITS file")
    return path


def readonly(array):
    """A read-only view of ``array``; the array itself stays as it is.

    Parameters
    ----------
    array : array_like

    Returns
    -------
    numpy.ndarray
        A view with ``flags.writeable`` False.
    """
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


#: Big-endian numpy types of the FITS BITPIX values.
_FITS_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def _needs_astropy(hdu):
    """True unless the HDU is a plain, unscaled, uncompressed image in a plain (not gzip,
    bzip2 or zip) file: the direct path."""
    h = hdu.header
    info = hdu.fileinfo() or {}
    return (info.get("datLoc") is None
            or getattr(info.get("file"), "compression", None) is not None
            or not isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU))
            or isinstance(hdu, fits.CompImageHDU)
            or h.get("BITPIX") not in _FITS_DTYPES
            or h.get("BSCALE", 1) != 1 or h.get("BZERO", 0) != 0
            or h.get("NAXIS", 0) != 2)


def _read_direct(path, datloc, bitpix, shape, dtype, signature=None):
    """Read a plain image's bytes straight into a native array of the file's type.

    The memory-mapped route converts a mapped big-endian array into a copy, so both are
    resident at once; this reads into one buffer and byte-swaps it in place. Only for HDUs
    that :func:`_needs_astropy` accepts; a short read (truncated file) is a FileFormatError.
    With ``signature`` (see :class:`ImageLayout`), returns None when the open file is no
    longer the one whose header gave ``datloc``.
    """
    filetype = np.dtype(_FITS_DTYPES[bitpix])
    target = np.dtype(dtype) if dtype is not None else filetype
    with open(path, "rb") as fh:
        if signature is not None and _signature(fh.fileno()) != tuple(signature):
            return None
        out = np.empty(shape, dtype=filetype)
        fh.seek(datloc)
        nread = fh.readinto(memoryview(out).cast("B"))
    if nread != out.nbytes:
        raise FileFormatError(f"{path!r} is truncated: {nread} of {out.nbytes} data bytes")
    out = out.byteswap(inplace=True).view(filetype.newbyteorder("="))
    if out.dtype != target.newbyteorder("="):
        out = out.astype(target.newbyteorder("="))
    return out


def _open(path, *, want_data, dtype=None):
    """Open ``path`` once: (header, layout) or, with ``want_data``, (header, pixels)."""
    try:
        # the file object is ours: closed even when astropy fails inside fits.open
        with open(path, "rb") as fileobj, warnings.catch_warnings():
            warnings.simplefilter("error", category=fits.verify.VerifyWarning)
            warnings.filterwarnings("error", message=".*truncated.*")
            with fits.open(fileobj, memmap=True, lazy_load_hdus=True) as hdul:
                index = 0
                if hdul[0].header.get("NAXIS", 0) == 0 and len(hdul) > 1:
                    index = 1
                hdu = hdul[index]
                # the parsed header is the caller's own: nothing else holds it once the
                # file is closed (astropy edits it only when it scales data, below)
                header = hdu.header
                direct = not _needs_astropy(hdu)
                if not want_data:
                    info = hdu.fileinfo() or {}
                    return header, ImageLayout(path, index, info.get("datLoc") if direct
                                               else None, header.get("BITPIX"),
                                               _shape(header), _signature(path))
                shape = _shape(header)
                if len(shape) != 2:
                    raise FileFormatError(f"{path!r} has no 2-D image in its primary HDU "
                                          f"(NAXIS={header.get('NAXIS', 0)})")
                if not direct:
                    header = header.copy()
                    if any(k in header for k in ("BZERO", "BSCALE", "BLANK")):
                        # astropy cannot scale a memory map: read this one into memory
                        raw = fits.getdata(path, ext=index, memmap=False)
                    else:
                        raw = hdu.data
                    if raw is None or raw.shape != shape:
                        raise FileFormatError(f"{path!r}: data shape "
                                              f"{None if raw is None else raw.shape} differs "
                                              f"from header {shape}")
                    target = np.dtype(dtype) if dtype is not None else raw.dtype
                    data = np.array(raw, dtype=target.newbyteorder("="), copy=True)
                else:
                    data = _read_direct(path, hdu.fileinfo()["datLoc"], header["BITPIX"],
                                        shape, dtype)
    except (OSError, TypeError, ValueError, IndexError, fits.verify.VerifyError,
            UserWarning) as exc:
        if isinstance(exc, (MissingFileError, FileFormatError)):
            raise
        detail = str(exc).split(". If this is really a FITS file")[0]  # astropy's own API hint
        raise FileFormatError(f"cannot read {path!r} as a FITS image (expected a FITS file; "
                              f"it is truncated or not FITS): {detail}") from exc
    return header, data


def _shape(header):
    naxis = header.get("NAXIS", 0)
    return tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(naxis, 0, -1))


def _signature(path_or_fd):
    st = os.stat(path_or_fd)
    return st.st_size, st.st_mtime_ns, st.st_ino


class ImageLayout(NamedTuple):
    """Where a FITS image's pixels are, as found when its header was read
    (:func:`read_header`); :func:`read_pixels` reads them without parsing the header again.

    Attributes
    ----------
    path : str
        The file.
    index : int
        The HDU holding the image (0, or 1 for a tile-compressed ``.fits.fz``).
    datloc : int or None
        Byte offset of a plain image's data; None when astropy must read it (compressed,
        scaled, gzip-ed, not 2-D).
    bitpix : int
        The header's BITPIX.
    shape : tuple of int
        (rows, columns) from the header.
    signature : tuple of int
        The file's size, modification time (ns) and inode when the header was read; a
        file changed since is read from scratch.
    """

    path: str
    index: int
    datloc: int | None
    bitpix: int
    shape: tuple
    signature: tuple


def read_header(path):
    """Read the image header of a FITS file once, and where its pixels are.

    Parameters
    ----------
    path : str or path-like
        FITS file (``.fits`` or ``.fits.fz``: the first image extension).

    Returns
    -------
    header : astropy.io.fits.Header
        The caller's own header (not shared with anything).
    layout : ImageLayout
        For :func:`read_pixels`.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If it is not FITS.
    """
    return _open(check_fits_path(path), want_data=False)


def read_pixels(layout, *, dtype=None, readonly=True):
    """Read the pixels of an image whose header :func:`read_header` has read.

    A plain image is read straight from its data offset; a compressed or scaled one, or a
    file changed since its header was read, goes through :func:`read_fits` (whose header
    is then dropped).

    Parameters
    ----------
    layout : ImageLayout
        From :func:`read_header`.
    dtype : numpy dtype, optional
        Native-endian type to convert to once. Default: the file's type.
    readonly : bool, default True
        Return a read-only array.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    InvalidParameterError
        ``layout`` is not an :class:`ImageLayout`.
    MissingFileError, FileFormatError
        As :func:`read_fits`.
    """
    if not isinstance(layout, ImageLayout):
        raise InvalidParameterError(f"expected the ImageLayout that read_header(path) returns; "
                                    f"got {type(layout).__name__} {layout!r:.60}")
    path = check_fits_path(layout.path)
    data = None
    if layout.datloc is not None and len(layout.shape) == 2:
        try:
            data = _read_direct(path, layout.datloc, layout.bitpix, tuple(layout.shape),
                                dtype, signature=layout.signature)
        except OSError as exc:
            raise FileFormatError(f"cannot read the pixels of {path!r}: {exc}") from exc
    if data is None:  # astropy's route, or a file changed since its header was read
        return read_fits(path, dtype=dtype, readonly=readonly)[0]
    if readonly:
        data.flags.writeable = False
    return data


def read_fits(path, *, header_only=False, dtype=None, readonly=True):
    """Read the primary image of a FITS file once, as a native-endian array.

    Parameters
    ----------
    path : str or path-like
        FITS file (``.fits`` or ``.fits.fz``; compressed images are read from the first
        image extension).
    header_only : bool, default False
        Only read and return the header.
    dtype : numpy dtype, optional
        Convert the data to this native-endian dtype once (``float32`` for images,
        ``int16`` for masks). Default: the file's type in native byte order.
    readonly : bool, default True
        Return a read-only array.

    Returns
    -------
    data : numpy.ndarray or None
        The pixels (None with ``header_only``).
    header : astropy.io.fits.Header

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If it is not FITS, holds no image, or is truncated.
    """
    path = check_fits_path(path)
    header, data = _open(path, want_data=not header_only, dtype=dtype)
    if header_only:
        return None, header
    if readonly:
        data.flags.writeable = False
    return data, header
