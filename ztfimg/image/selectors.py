"""The two selectors every frame method shares: which pixels (``data=``) and which
position system (``coords=``), with the old spellings accepted (level 2)."""

from __future__ import annotations

from ..errors import InvalidParameterError

__all__ = ["PIXEL_SELECTORS", "COORDS", "normalise_selector", "normalise_coords"]

#: The pixel selectors of every method (``data=``), with their old spellings.
PIXEL_SELECTORS = {"data": "data", "raw": "data", "datamasked": "datamasked",
                   "masked": "datamasked", "dataclean": "dataclean", "clean": "dataclean",
                   "background": "background", "back": "background", "rms": "rms"}

#: The position systems of every method (``coords=``), with their old spellings.
COORDS = {"pixels": "pixels", "pixel": "pixels", "xy": "pixels",
          "sky": "sky", "radec": "sky", "world": "sky"}


def normalise_selector(data):
    """``'data'``, ``'datamasked'``, ``'dataclean'``, ``'background'`` or ``'rms'``.

    Raises
    ------
    InvalidParameterError
        For another name.
    """
    try:
        return PIXEL_SELECTORS[data]
    except (KeyError, TypeError):
        raise InvalidParameterError(
            f"data must be one of 'data', 'datamasked', 'dataclean', 'background', 'rms' "
            f"or a 2-D array of the image's shape; got {data!r}") from None


def normalise_coords(coords):
    """``'pixels'`` or ``'sky'`` (aliases ``'pixel'``, ``'xy'``, ``'radec'``, ``'world'``)."""
    try:
        return COORDS[coords]
    except (KeyError, TypeError):
        raise InvalidParameterError(f"coords must be 'pixels' or 'sky'; got {coords!r}") from None
