"""Column normalisation: any PS1 or Gaia table to the ztfimg column convention.

:func:`normalize` accepts the VizieR column names, the archive names (PS1 MAST,
Gaia archive) and the normalised names, case-insensitively, and returns a new
DataFrame with exactly the columns of :func:`empty_catalog`, in the order of the
catalogue's spec (:mod:`ztfimg.refcat.specs`):

- identifiers are int64 (or str), never float: a float id that lost precision
  (above 2**53) is an error, not a silent rounding;
- magnitudes and other measurements are float64, missing values NaN (archive
  sentinels <= -999 included);
- PS1 quality flags are int16, 0 when absent;
- ``ra`` is wrapped to [0, 360); Gaia ``ref_epoch`` defaults to 2016.0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import CatalogError
from .specs import _spec

__all__ = ["normalize", "empty_catalog"]


def empty_catalog(catalog):
    """An empty catalogue with the normalised columns and dtypes.

    Parameters
    ----------
    catalog : str
        Catalogue name or alias.

    Returns
    -------
    pandas.DataFrame
        Zero rows; ids int64, flags int16, everything else float64.

    Raises
    ------
    CatalogError
        Unknown catalogue name.

    Examples
    --------
    >>> list(empty_catalog("gaia").columns[:4])
    ['source_id', 'ra', 'dec', 'ref_epoch']
    """
    spec = _spec(catalog)
    cols = {}
    for f in spec.fields:
        dtype = {"id": "int64", "int": "int16", "float": "float64"}[f.kind]
        cols[f.name] = pd.Series([], dtype=dtype)
    df = pd.DataFrame(cols)
    df.attrs["catalog"] = spec.name
    return df


def _as_id(values, name):
    """Identifiers as int64 (exact) or str; never float."""
    if np.ma.isMaskedArray(values):
        if np.ma.getmaskarray(values).any():
            raise CatalogError(f"identifier column {name!r} has missing values")
        values = np.ma.getdata(values)
    arr = np.asarray(values)
    if arr.dtype.kind == "O" and arr.size and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr):
        arr = np.array([int(v) for v in arr], dtype=np.int64)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise CatalogError(f"identifier column {name!r} overflows int64")
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
            raise CatalogError(f"identifier column {name!r} holds missing or non-integer values")
        if arr.size and np.max(np.abs(arr)) > 2 ** 53:
            raise CatalogError(
                f"identifier column {name!r} was stored as float and its values exceed 2**53: "
                "the ids have lost precision; read them as int64 or strings")
        return arr.astype(np.int64)
    if arr.dtype.kind == "S":
        return np.char.decode(arr, "utf-8").astype(object)
    if arr.dtype.kind in "UO":
        out = np.array([v.decode() if isinstance(v, bytes) else v for v in arr], dtype=object)
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in out):
            raise CatalogError(f"identifier column {name!r} has missing values")
        return np.array([str(v) for v in out], dtype=object)
    raise CatalogError(f"identifier column {name!r} has unsupported dtype {arr.dtype}")


def _as_float(values):
    """Values as float64; masked or unparsable entries become NaN."""
    if np.ma.isMaskedArray(values):
        arr = np.ma.filled(np.ma.asarray(values).astype(float), np.nan)
    else:
        arr = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(float)
    return np.array(arr, dtype=np.float64)


def _as_int(values):
    """Values as int16 flags; masked or unparsable entries become 0."""
    if np.ma.isMaskedArray(values):
        return np.ma.filled(np.ma.asarray(values), 0).astype(np.int16)
    ser = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").fillna(0)
    return ser.to_numpy().astype(np.int16)


def normalize(data, catalog):
    """Give a catalogue table the normalised ztfimg columns.

    Accepts the VizieR column names (``objID``, ``RAJ2000``, ``Source``,
    ``RA_ICRS``, ``pmRA`` ...), the archive names (PS1 MAST ``raMean``,
    ``gMeanPSFMag``, ``gMeanPSFMagErr``; Gaia archive ``source_id``,
    ``phot_g_mean_mag``, ``phot_g_mean_flux_over_error`` ...) and the
    normalised names themselves, case-insensitively.

    Parameters
    ----------
    data : pandas.DataFrame or astropy.table.Table
        Input table; not modified.
    catalog : str
        Catalogue name or alias (``"ps1"``, ``"gaia"`` ...).

    Returns
    -------
    pandas.DataFrame
        New frame with exactly the columns of :func:`empty_catalog`, index
        ``0..n-1``.  Magnitudes <= -999 (archive sentinels) become NaN; optional
        columns absent from the input are NaN (flags 0, Gaia ``ref_epoch`` 2016.0).

    Raises
    ------
    CatalogError
        If the id, ``ra`` or ``dec`` column is missing (message names them), or
        ids are unusable (missing, or floats that lost precision).

    Examples
    --------
    >>> import pandas as pd
    >>> mast = pd.DataFrame({"objID": [1], "raMean": [10.0], "decMean": [1.0],
    ...                      "gMeanPSFMag": [-999.0]})
    >>> out = normalize(mast, "ps1")
    >>> out["objid"].dtype, float(out["gmag"][0])
    (dtype('int64'), nan)
    """
    spec = _spec(catalog)
    if isinstance(data, pd.DataFrame):
        names = list(data.columns)

        def getcol(n):
            s = data[n]
            if s.dtype.kind == "O" or str(s.dtype) in ("string", "str"):
                return s.to_numpy(dtype=object)
            if hasattr(s.dtype, "numpy_dtype"):  # pandas nullable ints/floats
                if s.isna().any():
                    return np.ma.masked_array(s.fillna(0).to_numpy(s.dtype.numpy_dtype),
                                              mask=s.isna().to_numpy())
                return s.to_numpy(s.dtype.numpy_dtype)
            return s.to_numpy()
    else:
        try:
            names = list(data.colnames)
        except AttributeError:
            raise CatalogError(
                f"cannot normalise a {type(data).__name__}; give a DataFrame or astropy Table"
            ) from None

        def getcol(n):
            from astropy.units import Quantity

            col = data[n]
            if isinstance(col, Quantity):  # QTable column
                return np.asarray(col.value)
            if hasattr(col, "mask") and hasattr(col, "filled"):
                return np.ma.MaskedArray(np.ma.asarray(col))
            return np.asarray(col)

    lower = {}
    for n in names:
        lower.setdefault(str(n).lower(), n)

    def find(f):
        for cand in (f.name, f.vizier) + tuple(f.aliases):
            if cand and cand.lower() in lower:
                return lower[cand.lower()]
        return None

    missing = [f"{f.name} (or {f.vizier})" if f.vizier else f.name
               for f in spec.fields if f.required and find(f) is None]
    if missing:
        raise CatalogError(
            f"{spec.name} catalogue lacks required column(s): {', '.join(missing)}; "
            f"found columns: {', '.join(map(str, names))}")
    n = len(data)
    out = {}
    for f in spec.fields:
        src = find(f)
        if src is None:
            if f.kind == "float" and f.name.startswith("e_") and spec.name == "gaia":
                # Gaia archive: error from flux_over_error, 2.5/ln(10) / (F/sigma_F)
                band = f.name[2:-3].lower()
                foe = lower.get(f"phot_{band}_mean_flux_over_error")
                if foe is not None:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        out[f.name] = 2.5 / np.log(10) / _as_float(getcol(foe))
                    continue
            if f.kind == "int":
                out[f.name] = np.zeros(n, dtype=np.int16)
            else:
                out[f.name] = np.full(n, spec.extra_defaults.get(f.name, np.nan), dtype=float)
            continue
        values = getcol(src)
        if f.kind == "id":
            out[f.name] = _as_id(values, src)
        elif f.kind == "int":
            out[f.name] = _as_int(values)
        else:
            out[f.name] = _as_float(values)
            if f.unit == "mag":  # MAST/PS1 style -999 / -999.25 sentinels
                out[f.name][out[f.name] <= -999] = np.nan
    df = pd.DataFrame(out, columns=spec.columns)
    df["ra"] = np.mod(df["ra"].to_numpy(), 360.0)
    if spec.name == "gaia":
        df["ref_epoch"] = df["ref_epoch"].fillna(spec.default_epoch)
    df.attrs["catalog"] = spec.name
    return df
