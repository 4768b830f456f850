"""The one table of the ZTF filters: names, codes, wavelengths and calibration colours.

========= ======== ==== ================ ======== ======
name      FILTERID code wavelength (A)   PS1 band colour
========= ======== ==== ================ ======== ======
``ztfg``  1        zg   4813.97          g        g-r
``ztfr``  2        zr   6421.81          r        g-r
``ztfi``  3        zi   7883.06          i        r-i
========= ======== ==== ================ ======== ======

``code`` is the filter field of the file names (ZTF.md section 1), ``FILTERID`` the header
keyword, ``wavelength`` the effective wavelength used for AB flux densities (ZTF.md
section 5), ``colour`` the PS1 colour of the zero-point fit (header ``PCOLOR``; ZTF.md
section 5). Every other module takes its filter facts from here.

Examples
--------
>>> from ztfimg.filters import get_filter, normalise_filter
>>> normalise_filter("ZTF_r"), normalise_filter("ZTF g"), normalise_filter(3)
('ztfr', 'ztfg', 'ztfi')
>>> get_filter("zr").wavelength
6421.81
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import InvalidParameterError

__all__ = ["ZTFFilter", "FILTERS", "normalise_filter", "get_filter"]


@dataclass(frozen=True)
class ZTFFilter:
    """One ZTF filter.

    Attributes
    ----------
    name : str
        ztfimg's name: ``'ztfg'``, ``'ztfr'`` or ``'ztfi'``.
    filterid : int
        Header ``FILTERID``: 1 (g), 2 (r), 3 (i).
    code : str
        Code in file names: ``'zg'``, ``'zr'``, ``'zi'``.
    wavelength : float
        Effective wavelength, Angstrom.
    ps1_band : str
        The Pan-STARRS1 band the filter is calibrated on: ``'g'``, ``'r'``, ``'i'``.
    colour : str
        The PS1 colour of the zero-point colour term: ``'g-r'`` (zg, zr) or ``'r-i'`` (zi).
    """

    name: str
    filterid: int
    code: str
    wavelength: float
    ps1_band: str
    colour: str

    @property
    def colour_bands(self) -> tuple[str, str]:
        """The two PS1 bands of :attr:`colour`, e.g. ``('g', 'r')``."""
        first, second = self.colour.split("-")
        return first, second


#: The ZTF filters, in FILTERID order.
FILTERS = (
    ZTFFilter("ztfg", 1, "zg", 4813.97, "g", "g-r"),
    ZTFFilter("ztfr", 2, "zr", 6421.81, "r", "g-r"),
    ZTFFilter("ztfi", 3, "zi", 7883.06, "i", "r-i"),
)

_BY_ID = {f.filterid: f for f in FILTERS}
_BY_NAME = {f.name: f for f in FILTERS}


def normalise_filter(value) -> str:
    """Normalise a ZTF filter spelling to ``'ztfg'``, ``'ztfr'`` or ``'ztfi'``.

    Parameters
    ----------
    value : str or int
        A header spelling ``'ZTF_r'`` (2020) or ``'ZTF g'`` (2017), a file-name code
        ``'zr'``, a bare band ``'r'``, ztfimg's ``'ztfr'`` (any case, spaces and
        underscores ignored), or the FILTERID integers 1, 2, 3.

    Returns
    -------
    str
        ``'ztfg'``, ``'ztfr'`` or ``'ztfi'``.

    Raises
    ------
    InvalidParameterError
        For anything else.

    Examples
    --------
    >>> normalise_filter("zi"), normalise_filter("R"), normalise_filter(2)
    ('ztfi', 'ztfr', 'ztfr')
    """
    if isinstance(value, (int, np.integer)):
        if int(value) in _BY_ID:
            return _BY_ID[int(value)].name
    else:
        s = re.sub(r"[\s_]", "", str(value)).lower()
        s = s[3:] if s.startswith("ztf") else s
        s = s[1:] if len(s) == 2 and s[0] == "z" else s
        if s in ("g", "r", "i"):
            return "ztf" + s
    raise InvalidParameterError(f"{value!r} is not a ZTF filter (expected g, r or i)")


def get_filter(value) -> ZTFFilter:
    """The :class:`ZTFFilter` record of a filter, in any spelling.

    Parameters
    ----------
    value : str, int or ZTFFilter
        Any spelling :func:`normalise_filter` accepts (``'ZTF_r'``, ``'zr'``, ``'r'``,
        ``'ztfr'``, 2 ...); a record is returned as is.

    Returns
    -------
    ZTFFilter

    Raises
    ------
    InvalidParameterError
        Not a ZTF filter.

    Examples
    --------
    >>> get_filter("ZTF_i").colour
    'r-i'
    """
    if isinstance(value, ZTFFilter):
        return value
    return _BY_NAME[normalise_filter(value)]
