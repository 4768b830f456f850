"""Exceptions raised by ztfimg.

Every error ztfimg raises on purpose derives from :class:`ZTFImgError`, so a
survey script can catch them all with one ``except`` clause.  Each subclass
also derives from the closest built-in exception (``ValueError``,
``KeyError``, ``FileNotFoundError`` ...) so generic handlers keep working.
"""

__all__ = [
    "ZTFImgError",
    "FileNameError",
    "MissingFileError",
    "FileFormatError",
    "HeaderKeywordError",
    "ShapeMismatchError",
    "InvalidParameterError",
    "CatalogError",
    "OfflineError",
    "PSFFileError",
    "CacheError",
    "ZTFImgWarning",
]


class ZTFImgError(Exception):
    """Base class of every error raised on purpose by ztfimg."""


class FileNameError(ZTFImgError, ValueError):
    """A file name is not a ZTF file name of the expected kind."""


class MissingFileError(ZTFImgError, FileNotFoundError):
    """A file ztfimg needs does not exist (or is not where it was expected)."""


class FileFormatError(ZTFImgError, ValueError):
    """A file exists but cannot be read: truncated, corrupt or not the expected format."""


class HeaderKeywordError(ZTFImgError, KeyError):
    """A header keyword needed for a computation is absent or unusable."""

    def __str__(self):  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ShapeMismatchError(ZTFImgError, ValueError):
    """Arrays that must line up (data and mask, x and y ...) do not."""


class InvalidParameterError(ZTFImgError, ValueError):
    """A parameter value is outside what the function accepts."""


class CatalogError(ZTFImgError, ValueError):
    """A catalogue is unknown, malformed, or lacks the columns needed."""


class OfflineError(ZTFImgError, ConnectionError):
    """Data is not in the local cache and network access is disabled or impossible."""


class PSFFileError(FileFormatError):
    """A DAOPhot PSF file is malformed, truncated or uses an unsupported model."""


class CacheError(ZTFImgError, OSError):
    """The catalogue cache cannot be written (or read) where it was expected.

    Raised instead of the raw :class:`OSError` (permission denied, a path component that
    is a file, a full disk ...); the message names the tile, the directory and what to do.
    Tiles already in the cache are left as they were: a tile is written whole or not at all.
    """


class ZTFImgWarning(UserWarning):
    """Base class of the warnings ztfimg emits (a result is computed, but look at it)."""
