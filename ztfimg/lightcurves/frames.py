"""The per-frame table of a light-curve set: its columns, their types, the star shifts.

:data:`FRAME_COLUMNS` fixes the columns of :attr:`LightCurves.frames
<ztfimg.lightcurves.LightCurves.frames>` and their types, so that a table built from
frames, merged, binned, or read back from a ``.phots`` or parquet file is the same table
(the data products round-trip exactly because of it).  Strings are never missing (``""``
instead), floats are NaN when unknown, integers are pandas' nullable ``Int64``.

Per aperture ``k`` the table also has ``apcor_k`` and ``apcorunc_k`` (mag): the header's
aperture correction for that aperture's diameter (NaN when ``2 * radius`` is not one of
IPAC's ``FIXAPERS``, and for PSF photometry).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError

__all__ = ["FRAME_COLUMNS", "normalise_frames", "star_shifts", "apcor_columns"]

#: Columns of the frames table, in order: name -> ``'str'``, ``'float'`` or ``'int'``.
FRAME_COLUMNS = {
    "file": "str", "filename": "str", "obsjd": "float", "mjd": "float",
    "filtername": "str", "fieldid": "int", "ccdid": "int", "qid": "int", "rcid": "int",
    "exptime": "float", "magzp": "float", "magzpunc": "float", "clrcoeff": "float",
    "clrcounc": "float", "maglim": "float", "seeing": "float", "airmass": "float",
    "infobits": "int", "status": "int", "sky": "float", "skyrms": "float",
    "dx": "float", "dy": "float", "nframes": "int",
}


def apcor_columns(n_apertures):
    """Names of the aperture-correction columns for ``n_apertures`` apertures.

    Parameters
    ----------
    n_apertures : int

    Returns
    -------
    list of str
        ``['apcor_0', 'apcorunc_0', 'apcor_1', ...]``.

    Examples
    --------
    >>> apcor_columns(2)
    ['apcor_0', 'apcorunc_0', 'apcor_1', 'apcorunc_1']
    """
    return [f"{p}_{k}" for k in range(int(n_apertures)) for p in ("apcor", "apcorunc")]


def _as_kind(values, kind, name):
    if kind == "str":
        return pd.Series(["" if (v is None or (isinstance(v, float) and np.isnan(v)))
                          else str(v) for v in values], dtype=object)
    if kind == "float":
        try:
            return pd.Series(pd.to_numeric(pd.Series(values, dtype=object), errors="raise"),
                             dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"frames column {name!r} must hold numbers") from None
    s = pd.Series(values, dtype=object)
    s = s.where(pd.notna(s), None)
    try:
        return pd.array(s.tolist(), dtype="Int64")
    except (TypeError, ValueError):
        raise InvalidParameterError(f"frames column {name!r} must hold integers") from None


def normalise_frames(frames, n_apertures):
    """The frames table with the standard columns, order and types (a new table).

    Parameters
    ----------
    frames : pandas.DataFrame or list of dict
        One row per frame; needs ``obsjd``. Missing standard columns are added (empty
        strings, NaN, <NA>); other columns are kept after them.
    n_apertures : int
        Number of apertures (for the ``apcor_k``/``apcorunc_k`` columns).

    Returns
    -------
    pandas.DataFrame
        RangeIndex; ``mjd`` filled from ``obsjd`` where missing; ``nframes`` 1 where missing.

    Raises
    ------
    InvalidParameterError
        No ``obsjd`` column, or a column that cannot take its type.

    Examples
    --------
    >>> normalise_frames([{'obsjd': 2459000.5}], 1)['mjd'].tolist()
    [59000.0]
    """
    df = pd.DataFrame(frames).reset_index(drop=True)
    if "obsjd" not in df.columns:
        raise InvalidParameterError("the frames table needs an 'obsjd' column (Julian date, "
                                    f"UTC); got columns {list(df.columns)}")
    n = len(df)
    out = {}
    columns = dict(FRAME_COLUMNS)
    columns.update({c: "float" for c in apcor_columns(n_apertures)})
    for name, kind in columns.items():
        values = df[name].tolist() if name in df.columns else [None] * n
        out[name] = _as_kind(values, kind, name)
    res = pd.DataFrame(out, index=pd.RangeIndex(n))
    for name in df.columns:
        if name not in res.columns:
            res[name] = df[name].to_numpy()
    missing = res["mjd"].isna() & res["obsjd"].notna()
    res.loc[missing, "mjd"] = res.loc[missing, "obsjd"] - 2400000.5
    res["nframes"] = res["nframes"].fillna(1)
    return res


def star_shifts(x, y):
    """Shift of the stars on each frame from their mean position, pixels.

    Parameters
    ----------
    x, y : numpy.ndarray
        0-based positions, shape ``(n_stars, n_times)`` (NaN where unknown).

    Returns
    -------
    dx, dy : numpy.ndarray
        Per frame, the median over the stars of ``x - mean_t(x)`` (and the same for y);
        NaN for a frame with no known position.

    Examples
    --------
    >>> dx, dy = star_shifts(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))
    >>> dx.tolist(), dy.tolist()
    ([-1.0, 1.0], [0.0, 0.0])
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN rows and columns
        dx = np.nanmedian(x - np.nanmean(x, axis=1, keepdims=True), axis=0)
        dy = np.nanmedian(y - np.nanmean(y, axis=1, keepdims=True), axis=0)
    return dx, dy
