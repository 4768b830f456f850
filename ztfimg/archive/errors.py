"""The archive's own errors, each a subclass of the closest class of :mod:`ztfimg.errors`.

* :class:`ProductNotFoundError` (a :class:`~ztfimg.errors.MissingFileError`): the archive
  answers 404, the product does not exist there;
* :class:`AuthenticationRequiredError` (a :class:`~ztfimg.errors.ZTFImgError` and a
  :class:`PermissionError`): 401/403, a product that is not public;
* :class:`DownloadError` (an :class:`~ztfimg.errors.OfflineError`, so a
  :class:`ConnectionError`): the server could not be reached or kept failing (timeouts,
  dropped connections, 5xx) after the retries, or sent an incomplete or invalid file.

Being offline with files missing is the package's plain
:class:`~ztfimg.errors.OfflineError`.
"""

from ..errors import MissingFileError, OfflineError, ZTFImgError

__all__ = ["ProductNotFoundError", "AuthenticationRequiredError", "DownloadError"]


class ProductNotFoundError(MissingFileError):
    """The archive has no such product (HTTP 404): wrong name, or a product never made."""


class AuthenticationRequiredError(ZTFImgError, PermissionError):
    """The archive refuses the product without credentials (HTTP 401 or 403).

    ZTF data still in its proprietary period (partnership or Caltech time) needs an IRSA
    account with access rights; public data never raises this.
    """


class DownloadError(OfflineError):
    """A transfer failed after its retries, or the server sent a truncated or invalid file.

    A partial download is kept (as a hidden ``.<name>.part`` file beside the target) and is
    resumed by the next call.
    """
