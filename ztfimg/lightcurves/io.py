"""Data products of light curves: prose's ``.phots`` FITS layout, and parquet (level 3).

``.phots`` (:func:`write_phots`, :func:`read_phots`) is the FITS layout the prose pipeline
documents, so a prose user's tools open it (shapes in numpy order; ``fits.info`` prints
them reversed)::

    0  PRIMARY             header: ORIGIN='ztfimg', METHOD, NSTARS, NIMAGES, NAPER, ...
    1  PHOTOMETRY          (n_apertures, n_stars, n_images) float64, DN
    2  PHOTOMETRY ERRORS   (n_apertures, n_stars, n_images) float64, DN
    3  STARS               (n_stars, 2) float64: ra, dec (degrees)
    4  TIME SERIES         binary table, one row per image (the frames table)
    5  APERTURES AREA      (n_apertures, n_images) float64: pi r^2, pixels
    6  ANNULUS AREA        (n_images,) float64: pi (rout^2 - rin^2), pixels
    7  ANNULUS SKY         (n_stars, n_images) float64: local sky per pixel, DN
    after differential photometry (:class:`~ztfimg.lightcurves.DifferentialPhotometry`):
    8  LIGHTCURVES         (n_apertures, n_stars, n_images) float64: flux / artificial
    9  LIGHTCURVES ERRORS  (n_apertures, n_stars, n_images) float64
    10 COMPARISON STARS    (n_apertures, n_comparisons) int64 (-1 pads)
    11 ARTIFICIAL LCS      (n_apertures, n_images) float64

then ztfimg's own HDUs, which make the round trip exact: ``FLAGS`` (the
:class:`~ztfimg.lightcurves.LightCurveFlag` bits, int32, like PHOTOMETRY), ``PIXELS``
(2, n_stars, n_images: x, y), ``APERTURES`` (radii, px), ``STARS TABLE`` (every column of
the stars table), ``FAILED`` (frames that failed) and, after differential photometry,
``WEIGHTS`` (n_apertures, n_stars: the comparison weights, NaN for non-candidates).
Table columns keep their pandas types (nullable integers and missing strings through a
``<name>__mask`` column; strings are UTF-8; trailing blanks of strings are not kept, as
FITS pads with them).

Parquet (:func:`write_parquet`, :func:`read_parquet`) holds the long form of
:meth:`LightCurves.to_dataframe <ztfimg.lightcurves.LightCurves.to_dataframe>`, one row
per aperture, star and time, for collections too large for one FITS array or for query
engines; the stars, frames and failed tables ride in the file's metadata as Arrow IPC.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from ..errors import FileFormatError, InvalidParameterError, MissingFileError
from .core import LightCurves

__all__ = ["write_phots", "read_phots", "read_differential", "write_parquet", "read_parquet",
           "long_form", "PHOTS_HDUS", "DIFFERENTIAL_HDUS"]

#: The prose HDUs of every ``.phots`` file, in order.
PHOTS_HDUS = ("PRIMARY", "PHOTOMETRY", "PHOTOMETRY ERRORS", "STARS", "TIME SERIES",
              "APERTURES AREA", "ANNULUS AREA", "ANNULUS SKY")
#: The prose HDUs written after differential photometry.
DIFFERENTIAL_HDUS = ("LIGHTCURVES", "LIGHTCURVES ERRORS", "COMPARISON STARS",
                     "ARTIFICIAL LCS")
_FORMAT_VERSION = 1


# ------------------------------------------------------------------ tables <-> FITS
def _table_hdu(df, name):
    """A BinTableHDU of a DataFrame, with each column's pandas type in the header."""
    from astropy.io import fits
    cols, types = [], []
    for c in df.columns:
        s = df[c]
        dtype = str(s.dtype)
        mask = None
        if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            vals = [None if (v is None or v is pd.NA or (isinstance(v, float) and v != v))
                    else v for v in s.tolist()]
            if not all(v is None or isinstance(v, str) for v in vals):
                raise InvalidParameterError(f"column {c!r} of {name} mixes strings and other "
                                            "objects; .phots holds numbers and strings only "
                                            "(use to_parquet)")
            mask = np.array([v is None for v in vals], dtype=bool)
            enc = [b"" if v is None else v.encode("utf-8") for v in vals]
            width = max([len(b) for b in enc] + [1])
            values = np.array(enc, dtype=f"S{width}")
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            if s.dtype.kind not in "iub":
                raise InvalidParameterError(f"column {c!r} of {name} has the type {dtype}, "
                                            "which .phots cannot hold; use to_parquet")
            mask = s.isna().to_numpy()
            values = s.to_numpy(dtype=s.dtype.numpy_dtype, na_value=0)
        elif s.dtype.kind in "biuf":
            values = s.to_numpy()
        else:
            raise InvalidParameterError(f"column {c!r} of {name} has the type {dtype}, which "
                                        ".phots cannot hold; use to_parquet")
        cols.append(fits.Column(name=str(c), array=values,
                                format=_fits_format(values)))
        types.append((str(c), dtype, mask is not None and bool(mask.any()),
                      _na_name(s.dtype)))
        if mask is not None and mask.any():
            cols.append(fits.Column(name=f"{c}__mask", array=mask, format="L"))
    hdu = fits.BinTableHDU.from_columns(cols, name=name) if cols else \
        fits.BinTableHDU(name=name)
    hdu.header["NROWS"] = (len(df), "rows of the table")
    for i, (c, dtype, masked, na) in enumerate(types, start=1):
        hdu.header[f"PDTYP{i}"] = (dtype, f"pandas type of {c}"[:47])
        hdu.header[f"PMASK{i}"] = masked
        if na is not None:
            hdu.header[f"PNAVL{i}"] = na
    return hdu


def _na_name(dtype):
    """The missing-value marker of a pandas string type ('nan' or 'NA'), else None."""
    if isinstance(dtype, pd.StringDtype):
        return "NA" if dtype.na_value is pd.NA else "nan"
    return None


def _string_dtype(na):
    """The pandas string type with that missing-value marker (and the default storage)."""
    return pd.StringDtype(na_value=pd.NA if na == "NA" else np.nan)


def _fits_format(values):
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "S":
        return f"{max(size, 1)}A"
    if kind == "b":
        return "L"
    if kind == "f":
        return {4: "E", 8: "D"}.get(size, "D")
    if kind == "u" and size == 1:
        return "B"
    return {1: "I", 2: "I", 4: "J", 8: "K"}[size] if kind in "iu" else "D"


def _native(arr):
    arr = np.asarray(arr)
    return arr.astype(arr.dtype.newbyteorder("=")) if arr.dtype.byteorder not in "=|" else arr


def _table_frame(hdu):
    """The DataFrame of a :func:`_table_hdu`."""
    h = hdu.header
    n = int(h.get("NROWS", 0))
    data = hdu.data
    names = [] if data is None else list(data.columns.names)
    out = {}
    i = 1
    base = [c for c in names if not c.endswith("__mask")]
    for c in base:
        dtype = h.get(f"PDTYP{i}", None)
        masked = bool(h.get(f"PMASK{i}", False))
        i += 1
        raw = _native(data[c])
        mask = _native(data[f"{c}__mask"]).astype(bool) if masked else None
        if dtype == "object" or dtype in ("str", "string"):
            vals = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in raw]
            if mask is not None:
                vals = [None if m else v for v, m in zip(vals, mask)]
            out[c] = pd.Series(vals, dtype=object if dtype == "object" else _string_dtype(
                h.get(f"PNAVL{i - 1}", "nan")))
        elif dtype is not None and (dtype[0].isupper() or dtype == "boolean"):
            arr = pd.array(raw.astype(pd.api.types.pandas_dtype(dtype).numpy_dtype),
                           dtype=dtype)
            if mask is not None:
                arr[mask] = pd.NA
            out[c] = arr
        else:
            out[c] = pd.Series(raw.astype(dtype) if dtype else raw)
    if not out:
        return pd.DataFrame(index=pd.RangeIndex(n))
    return pd.DataFrame(out)


# ------------------------------------------------------------------ .phots
def _check_path_out(path, overwrite):
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(f"path must be a file name; got {type(path).__name__}")
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise InvalidParameterError(f"{path!r} exists; pass overwrite=True to replace it")
    return path


def _check_path_in(path):
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(f"path must be a file name; got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFileError(f"no file {path!r}")
    return path


def write_phots(lc, path, *, differential=None, overwrite=False):
    """Write a :class:`LightCurves` (and a differential result) as a ``.phots`` file.

    Parameters
    ----------
    lc : LightCurves
    path : str or path-like
    differential : DifferentialPhotometry, optional
        Computed from ``lc``: adds the LIGHTCURVES, LIGHTCURVES ERRORS, COMPARISON STARS,
        ARTIFICIAL LCS and WEIGHTS HDUs.
    overwrite : bool, default False

    Returns
    -------
    str
        The path written.

    Raises
    ------
    InvalidParameterError
        The file exists (without ``overwrite``), ``differential`` is not of ``lc``, or a
        table column type FITS cannot hold.

    Examples
    --------
    >>> write_phots(lc, "field655.phots")                              # doctest: +SKIP
    """
    from astropy.io import fits

    from .. import __version__
    path = _check_path_out(path, overwrite)
    if differential is not None and differential.lc is not lc and not differential.lc.equals(lc):
        raise InvalidParameterError("differential was computed from other light curves")
    nap, ns, nt = lc.shape
    primary = fits.PrimaryHDU()
    h = primary.header
    h["ORIGIN"] = ("ztfimg", "written by ztfimg.lightcurves")
    h["ZTFIMGV"] = (__version__, "ztfimg version")
    h["PHOTSVER"] = (_FORMAT_VERSION, "ztfimg .phots layout version")
    h["METHOD"] = (lc.method, "aperture or psf photometry")
    h["NSTARS"], h["NIMAGES"], h["NAPER"] = ns, nt, nap
    filters = [f for f in lc.filters if f]
    h["FILTER"] = (filters[0] if len(filters) == 1 else ",".join(filters), "filter(s)")
    if lc.bkgann is not None:
        h["BKGIN"], h["BKGOUT"] = (lc.bkgann[0], "annulus inner radius, px"), \
            (lc.bkgann[1], "annulus outer radius, px")
    h["META"] = json.dumps(lc._meta)
    stars = lc._stars
    radii = lc._apertures
    area = np.repeat((np.pi * radii ** 2)[:, None], nt, axis=1)
    ann = (np.full(nt, np.pi * (lc.bkgann[1] ** 2 - lc.bkgann[0] ** 2)) if lc.bkgann
           else np.full(nt, np.nan))
    hdus = [primary,
            fits.ImageHDU(lc._flux, name="PHOTOMETRY"),
            fits.ImageHDU(lc._flux_err, name="PHOTOMETRY ERRORS"),
            fits.ImageHDU(stars[["ra", "dec"]].to_numpy(dtype=np.float64), name="STARS"),
            _table_hdu(lc._frames, "TIME SERIES"),
            fits.ImageHDU(area, name="APERTURES AREA"),
            fits.ImageHDU(ann, name="ANNULUS AREA"),
            fits.ImageHDU(lc._sky, name="ANNULUS SKY")]
    hdus[1].header["BUNIT"] = "DN"
    hdus[2].header["BUNIT"] = "DN"
    hdus[3].header["COLUMNS"] = "ra, dec (ICRS degrees)"
    if differential is not None:
        d = differential
        flux, err = d.lightcurves()
        comps = [d._solutions[a].candidates[d._solutions[a].weights > 0]
                 if a in d._solutions else np.array([], int) for a in range(nap)]
        width = max([len(c) for c in comps] + [1])
        table = np.full((nap, width), -1, dtype=np.int64)
        art = np.full((nap, nt), np.nan)
        for a, c in enumerate(comps):
            table[a, :len(c)] = c
            if a in d._solutions:
                art[a] = d._solutions[a].artificial
        weights = fits.ImageHDU(d.weights_array(), name="WEIGHTS")
        weights.header["TARGET"] = (d.target, "target star (position)")
        weights.header["APERTURE"] = (d.aperture, "aperture used (index)")
        for a in range(nap):
            weights.header[f"NITER{a}"] = (d._solutions[a].n_iter if a in d._solutions
                                           else -1)
        weights.header["PARAMS"] = json.dumps(d.params)
        hdus += [fits.ImageHDU(flux, name="LIGHTCURVES"),
                 fits.ImageHDU(err, name="LIGHTCURVES ERRORS"),
                 fits.ImageHDU(table, name="COMPARISON STARS"),
                 fits.ImageHDU(art, name="ARTIFICIAL LCS")]
        hdus[-4].header["TARGET"] = d.target
        hdus[-4].header["APERTURE"] = d.aperture
    hdus += [fits.ImageHDU(lc._flags, name="FLAGS"),
             fits.ImageHDU(np.stack([lc._x, lc._y]), name="PIXELS"),
             fits.ImageHDU(radii, name="APERTURES"),
             _table_hdu(stars, "STARS TABLE"),
             _table_hdu(lc._failed, "FAILED")]
    if differential is not None:
        hdus.append(weights)
    fits.HDUList(hdus).writeto(path, overwrite=overwrite)
    return path


def _open(path):
    from astropy.io import fits
    path = _check_path_in(path)
    try:
        hdul = fits.open(path, memmap=False)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path!r} is not a readable FITS file: {exc}") from None
    names = [h.name for h in hdul]
    need = list(PHOTS_HDUS[1:]) + ["FLAGS", "PIXELS", "APERTURES", "STARS TABLE", "FAILED"]
    missing = [n for n in need if n not in names]
    if hdul[0].header.get("ORIGIN") != "ztfimg" or missing:
        hdul.close()
        raise FileFormatError(f"{path!r} is not a ztfimg .phots file (ORIGIN="
                              f"{hdul[0].header.get('ORIGIN')!r}, missing HDUs {missing}); "
                              "write it with LightCurves.save")
    return hdul


def _lightcurves_from(hdul):
    h = hdul[0].header
    bkgann = (float(h["BKGIN"]), float(h["BKGOUT"])) if "BKGIN" in h else None
    pixels = _native(hdul["PIXELS"].data)
    return LightCurves(_native(hdul["PHOTOMETRY"].data), _native(hdul["PHOTOMETRY ERRORS"].data),
                       _native(hdul["FLAGS"].data), _table_frame(hdul["STARS TABLE"]),
                       _table_frame(hdul["TIME SERIES"]), _native(hdul["APERTURES"].data),
                       x=pixels[0], y=pixels[1], sky=_native(hdul["ANNULUS SKY"].data),
                       method=str(h["METHOD"]), bkgann=bkgann,
                       failed=_table_frame(hdul["FAILED"]), meta=json.loads(h["META"]))


def read_phots(path):
    """Read a ``.phots`` file written by :func:`write_phots`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    LightCurves
        The same data as written (:meth:`LightCurves.equals` is True).

    Raises
    ------
    MissingFileError
        No such file.
    FileFormatError
        Not a FITS file, or not written by ztfimg (a prose file lacks ztfimg's HDUs).

    Examples
    --------
    >>> lc = read_phots("field655.phots")                              # doctest: +SKIP
    """
    hdul = _open(path)
    try:
        return _lightcurves_from(hdul)
    finally:
        hdul.close()


def read_differential(path):
    """The parts of a differential result stored in a ``.phots`` file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    (LightCurves, int, int, numpy.ndarray, list of int, dict)
        The light curves, target, aperture, weights ``(n_apertures, n_stars)``, the
        iterations per aperture and the run's parameters.

    Raises
    ------
    FileFormatError
        The file holds no differential photometry.

    Examples
    --------
    >>> lc, target, aperture, w, n_iter, params = read_differential('t.phots')  # doctest: +SKIP
    """
    hdul = _open(path)
    try:
        if "WEIGHTS" not in [h.name for h in hdul]:
            raise FileFormatError(f"{os.fspath(path)!r} holds no differential photometry "
                                  "(no WEIGHTS HDU): save it with DifferentialPhotometry.save")
        lc = _lightcurves_from(hdul)
        wh = hdul["WEIGHTS"].header
        weights = _native(hdul["WEIGHTS"].data).astype(np.float64)
        n_iter = [int(wh.get(f"NITER{a}", 0)) for a in range(lc.n_apertures)]
        return (lc, int(wh["TARGET"]), int(wh["APERTURE"]), weights, n_iter,
                json.loads(wh["PARAMS"]))
    finally:
        hdul.close()


# ------------------------------------------------------------------ parquet
def _ipc(df):
    """A table as Arrow IPC bytes, with the columns that are plain objects named."""
    import pyarrow as pa
    table = pa.Table.from_pandas(df, preserve_index=False)
    objects = [str(c) for c in df.columns if df[c].dtype == object]
    meta = dict(table.schema.metadata or {})
    meta[b"ztfimg.object_columns"] = json.dumps(objects).encode()
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(raw):
    """The table of :func:`_ipc`: object columns come back as objects (None for missing),
    not as pandas' string type."""
    import pyarrow as pa
    table = pa.ipc.open_stream(raw).read_all()
    objects = json.loads((table.schema.metadata or {}).get(b"ztfimg.object_columns", b"[]"))
    df = table.to_pandas()
    for c in objects:
        df[c] = pd.Series([None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                           else v for v in df[c].tolist()], dtype=object, index=df.index)
    return df


def long_form(lc):
    """The measurements of a :class:`LightCurves`, one row per aperture, star and time.

    Parameters
    ----------
    lc : LightCurves

    Returns
    -------
    pandas.DataFrame
        ``aperture`` (index), ``radius`` (px), ``star``, ``time`` (frame position),
        ``ra``, ``dec``, ``mjd``, ``filtername``, ``file``, ``flux``, ``flux_err`` (DN),
        ``flag``, ``x``, ``y``, ``sky``; rows ordered by aperture, star, time (the C order
        of :attr:`LightCurves.flux`).

    Examples
    --------
    >>> long_form(lc).query("star == 0 and aperture == 1")             # doctest: +SKIP
    """
    nap, nstar, ntime = lc.shape
    a, s, t = (g.ravel() for g in np.meshgrid(np.arange(nap), np.arange(nstar),
                                              np.arange(ntime), indexing="ij"))
    frames = lc._frames
    return pd.DataFrame({
        "aperture": a.astype(np.int16), "radius": lc._apertures[a],
        "star": s.astype(np.int32), "time": t.astype(np.int32),
        "ra": lc._stars["ra"].to_numpy(float)[s], "dec": lc._stars["dec"].to_numpy(float)[s],
        "mjd": frames["mjd"].to_numpy(float)[t],
        "filtername": frames["filtername"].to_numpy(dtype=object)[t],
        "file": frames["file"].to_numpy(dtype=object)[t],
        "flux": lc._flux.ravel(), "flux_err": lc._flux_err.ravel(), "flag": lc._flags.ravel(),
        "x": lc._x[s, t], "y": lc._y[s, t], "sky": lc._sky[s, t]})


def write_parquet(lc, path):
    """Write a :class:`LightCurves` as a long-form parquet file.

    Parameters
    ----------
    lc : LightCurves
    path : str or path-like
        Overwritten if it exists.

    Returns
    -------
    str

    Examples
    --------
    >>> write_parquet(lc, "field655.parquet")                           # doctest: +SKIP
    >>> pd.read_parquet("field655.parquet").query("star == 0 and aperture == 1") # doctest: +SKIP
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(f"path must be a file name; got {type(path).__name__}")
    path = os.fspath(path)
    long = lc.to_dataframe()
    table = pa.Table.from_pandas(long, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    info = {"format": _FORMAT_VERSION, "shape": list(lc.shape), "method": lc.method,
            "bkgann": None if lc.bkgann is None else list(lc.bkgann),
            "apertures": [float(r) for r in lc._apertures], "meta": lc._meta}
    meta.update({b"ztfimg.lightcurves": json.dumps(info).encode(),
                 b"ztfimg.stars": _ipc(lc._stars), b"ztfimg.frames": _ipc(lc._frames),
                 b"ztfimg.failed": _ipc(lc._failed)})
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def read_parquet(path):
    """Read a parquet file written by :func:`write_parquet`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    LightCurves
        The same data as written.

    Raises
    ------
    MissingFileError
        No such file.
    FileFormatError
        Not a parquet file written by ztfimg.

    Examples
    --------
    >>> lc = read_parquet("field655.parquet")                           # doctest: +SKIP
    """
    import pyarrow.parquet as pq

    path = _check_path_in(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a format problem
        raise FileFormatError(f"{path!r} is not a readable parquet file: {exc}") from None
    meta = table.schema.metadata or {}
    if b"ztfimg.lightcurves" not in meta:
        raise FileFormatError(f"{path!r} was not written by LightCurves.to_parquet (no "
                              "ztfimg metadata)")
    info = json.loads(meta[b"ztfimg.lightcurves"])
    nap, ns, nt = info["shape"]
    df = table.select(["aperture", "star", "time", "flux", "flux_err", "flag", "x", "y",
                       "sky"]).to_pandas()
    a = df["aperture"].to_numpy(np.int64)
    s = df["star"].to_numpy(np.int64)
    t = df["time"].to_numpy(np.int64)
    flux, err = np.full((nap, ns, nt), np.nan), np.full((nap, ns, nt), np.nan)
    flags = np.zeros((nap, ns, nt), np.int32)
    x, y, sky = (np.full((ns, nt), np.nan) for _ in range(3))
    flux[a, s, t] = df["flux"].to_numpy()
    err[a, s, t] = df["flux_err"].to_numpy()
    flags[a, s, t] = df["flag"].to_numpy()
    x[s, t], y[s, t], sky[s, t] = (df[c].to_numpy() for c in ("x", "y", "sky"))
    return LightCurves(flux, err, flags, _from_ipc(meta[b"ztfimg.stars"]),
                       _from_ipc(meta[b"ztfimg.frames"]), np.array(info["apertures"]),
                       x=x, y=y, sky=sky, method=info["method"],
                       bkgann=None if info["bkgann"] is None else tuple(info["bkgann"]),
                       failed=_from_ipc(meta[b"ztfimg.failed"]), meta=info["meta"])
