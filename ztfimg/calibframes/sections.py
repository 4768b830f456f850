"""Image sections: FITS/IRAF ``'[x1:x2,y1:y2]'`` strings and numpy slices (level 1).

The IRAF convention of ``DATASEC``, ``BIASSEC``, ``TRIMSEC`` cards: ``x`` (columns) first,
1-based, both ends included.  ztfimg's public convention is numpy's: ``(rows, cols)``
slices, 0-based, end excluded.  ``'[3073:3102,1:3080]'`` is ``(slice(0, 3080),
slice(3072, 3102))``.
"""

from __future__ import annotations

import re

from ..errors import InvalidParameterError, ShapeMismatchError

__all__ = ["parse_section", "format_section", "as_section"]

_SECTION = re.compile(r"^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$")


def parse_section(text):
    """A FITS/IRAF section string as numpy ``(rows, cols)`` slices.

    Parameters
    ----------
    text : str
        ``'[x1:x2,y1:y2]'``: columns ``x1..x2`` and rows ``y1..y2``, 1-based, inclusive,
        ``x1 <= x2`` and ``y1 <= y2`` (reversed sections are not supported).

    Returns
    -------
    (slice, slice)
        0-based rows and columns, end excluded.

    Raises
    ------
    InvalidParameterError
        Not a section string of that form.

    Examples
    --------
    >>> parse_section("[3073:3102,1:3080]")
    (slice(0, 3080, None), slice(3072, 3102, None))
    """
    m = _SECTION.match(text) if isinstance(text, str) else None
    if m is None:
        raise InvalidParameterError(f"a section must be a FITS/IRAF string '[x1:x2,y1:y2]' "
                                    f"(1-based, inclusive); got {text!r}")
    x1, x2, y1, y2 = (int(v) for v in m.groups())
    if not (1 <= x1 <= x2 and 1 <= y1 <= y2):
        raise InvalidParameterError(f"section {text!r} must have 1 <= x1 <= x2 and "
                                    f"1 <= y1 <= y2 (reversed sections are not supported)")
    return slice(y1 - 1, y2), slice(x1 - 1, x2)


def format_section(rows, cols):
    """The FITS/IRAF string of numpy ``(rows, cols)`` slices (inverse of parse_section).

    Parameters
    ----------
    rows, cols : slice
        0-based, end excluded, with explicit start and stop.

    Returns
    -------
    str

    Raises
    ------
    InvalidParameterError
        Open-ended or stepped slices.

    Examples
    --------
    >>> format_section(slice(0, 3080), slice(3072, 3102))
    '[3073:3102,1:3080]'
    """
    for s in (rows, cols):
        if not isinstance(s, slice) or s.start is None or s.stop is None or s.step not in \
                (None, 1) or s.stop <= s.start:
            raise InvalidParameterError(f"format_section needs slices with explicit start < "
                                        f"stop and no step; got {s!r}")
    return f"[{cols.start + 1}:{cols.stop},{rows.start + 1}:{rows.stop}]"


def as_section(section, shape):
    """A section (None, a string or slices) as bounded ``(rows, cols)`` slices of ``shape``.

    Parameters
    ----------
    section : None, str or (slice, slice)
        None: the whole image.
    shape : tuple of int
        (rows, columns) of the full image.

    Returns
    -------
    (slice, slice)
        With integer start and stop, step 1.

    Raises
    ------
    InvalidParameterError
        A malformed section or one with a step.
    ShapeMismatchError
        The section reaches outside the image, or is empty.

    Examples
    --------
    >>> as_section(None, (4, 5))
    (slice(0, 4, None), slice(0, 5, None))
    """
    ny, nx = int(shape[0]), int(shape[1])
    if section is None:
        return slice(0, ny), slice(0, nx)
    if isinstance(section, str):
        rows, cols = parse_section(section)
    elif (isinstance(section, tuple) and len(section) == 2
          and all(isinstance(s, slice) for s in section)):
        rows, cols = section
    else:
        raise InvalidParameterError(f"a section is None, a string '[x1:x2,y1:y2]' or a tuple "
                                    f"of two slices (rows, cols); got {section!r}")
    out = []
    for s, n, what in ((rows, ny, "rows"), (cols, nx, "columns")):
        if s.step not in (None, 1):
            raise InvalidParameterError(f"section {what} must not have a step; got {s!r}")
        start = 0 if s.start is None else int(s.start)
        stop = n if s.stop is None else int(s.stop)
        if start < 0 or stop > n or stop <= start:
            raise ShapeMismatchError(f"section {what} {start}:{stop} is empty or outside the "
                                     f"image ({n} {what}; shape {tuple(shape)})")
        out.append(slice(start, stop))
    return tuple(out)

