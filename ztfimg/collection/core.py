""":class:`ImageCollection`: many ZTF frames, from a laptop to a dask cluster (level 3).

A collection is an immutable list of frame files (science or reference) plus, once read,
their header table.  Nothing is opened when it is built; :attr:`ImageCollection.headers`
reads the headers only; :meth:`ImageCollection.map` opens each frame where it runs
(this process, local worker processes, or a ``distributed`` cluster) and collects one
result per frame, failures included.  Selections (``col[mask]``, ``col[2:10]``,
``col.select(...)``) return new collections that carry the matching rows of the header
table.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import filenames as _filenames
from .builtin import _BuiltinJobs
from ..errors import FileNameError, InvalidParameterError, MissingFileError
from ..filters import normalise_filter
from ..validation import as_bool, as_number, as_sky
from . import execution as _exec
from . import jobs as _jobs
from .headers import _check_max_workers, read_headers
from .stack import build_stack

__all__ = ["ImageCollection", "KINDS"]

#: Frame kinds and the product suffixes (start of) their image files carry.
KINDS = {"science": ("sciimg",), "reference": ("refimg",), "difference": ("scimrefdiffimg",)}
_PATTERNS = {"science": ("*_sciimg.fits", "*_sciimg.fits.fz"),
             "reference": ("*_refimg.fits", "*_refimg.fits.fz"),
             "difference": ("*_scimrefdiffimg.fits.fz", "*_scimrefdiffimg.fits")}


def _check_kind(kind):
    if not (isinstance(kind, str) and kind in KINDS):
        raise InvalidParameterError(f"kind must be one of {tuple(KINDS)}; got {kind!r}")
    return kind


def _frame_path(value, kind):
    """One frame file: a checked ZTF image name of ``kind``, resolved like from_filename."""
    path = _jobs.difference_path(value) if kind == "difference" else _filenames.find_file(value)
    rec = _filenames.parse(path)                    # FileNameError for a non-ZTF name
    if rec.kind != _jobs.NAME_KIND[kind] or not rec.suffix.startswith(KINDS[kind]):
        what = {"science": "*_sciimg.fits", "reference": "*_refimg.fits",
                "difference": "*_scimrefdiffimg.fits.fz"}[kind]
        hint = (" (a reference image: use kind='reference')" if rec.kind == "reference"
                and kind == "science" else "")
        raise FileNameError(
            f"{rec.filename!r} is not a {kind} image{hint}: a {kind} collection takes "
            f"{what} files (masks and catalogues are found beside them)")
    return path


class ImageCollection(_BuiltinJobs):
    """Many ZTF frames (science quadrants or reference images), never opened up front.

    Build one with :meth:`from_files`, :meth:`from_glob` or :meth:`from_directory`.

    Parameters
    ----------
    files : sequence of str or path-like
        ZTF image files (``*_sciimg.fits`` for ``kind='science'``, ``*_refimg.fits`` for
        ``'reference'``, ``*_scimrefdiffimg.fits.fz`` or the science names for
        ``'difference'``); a bare name is looked up in the ``$ZTFDATA`` mirror. Order kept.
    kind : {'science', 'reference', 'difference'}, default 'science'
    check : bool, default True
        Check that every file exists (one ``stat`` each; nothing is opened).

    Raises
    ------
    FileNameError
        A name is not a ZTF image name of that kind (e.g. a mask, or a reference image in a
        science collection).
    MissingFileError
        ``check`` and some files do not exist (the message lists them).
    InvalidParameterError
        Unknown ``kind``, or ``files`` is not a sequence of names.

    Notes
    -----
    The collection is immutable: selections return new collections, and
    :attr:`headers` returns a copy of the table, which is read once per collection.
    ``col[i]`` (an integer) opens frame ``i``; iterating opens one frame after the other.

    Examples
    --------
    >>> from ztfimg import ImageCollection                             # doctest: +SKIP
    >>> col = ImageCollection.from_directory("/data/ztf/sci/2020")  # doctest: +SKIP
    >>> col.headers[["filename", "obsjd", "magzp", "seeing"]]  # doctest: +SKIP
    >>> good = col[col.headers["seeing"] < 2.5].select(filtername="ztfr", fieldid=655)  # doctest: +SKIP
    >>> res = good.map(lambda img: img.get_background().globalrms, client="processes")  # doctest: +SKIP
    >>> zps = good.calibrate("ps1", client="processes")  # doctest: +SKIP
    """

    def __init__(self, files, kind="science", *, check=True):
        kind = _check_kind(kind)
        check = as_bool(check, "check")
        if isinstance(files, (str, bytes, os.PathLike)):
            files = [files]
        elif isinstance(files, Mapping) or not np.iterable(files):
            raise InvalidParameterError(f"files must be a sequence of file names; got "
                                        f"{type(files).__name__} {files!r:.60}")
        paths = tuple(_frame_path(f, kind) for f in files)
        if check:
            missing = [p for p in paths if not os.path.isfile(p)]
            if missing:
                shown = ", ".join(repr(p) for p in missing[:5])
                more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                raise MissingFileError(
                    f"{len(missing)} of {len(paths)} frame file(s) do not exist: {shown}{more}; "
                    "check the paths (or set $ZTFDATA for bare names), or pass check=False to "
                    "report them per frame instead")
        self._files = paths
        self._kind = kind
        self._headers = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_files(cls, files, kind="science", *, check=True):
        """A collection of the given frame files, in the order given.

        Parameters
        ----------
        files : sequence of str or path-like
            ``*_sciimg.fits`` (or ``*_refimg.fits`` with ``kind='reference'``) paths, or
            bare ZTF names found in the ``$ZTFDATA`` mirror. With ``kind='difference'``
            each science name stands for its ``*_scimrefdiffimg.fits.fz`` sibling.
        kind : {'science', 'reference', 'difference'}, default 'science'
        check : bool, default True
            Refuse files that do not exist.

        Returns
        -------
        ImageCollection

        Raises
        ------
        FileNameError
            A name is not a ZTF image of ``kind``.
        MissingFileError
            ``check`` and a file does not exist.
        InvalidParameterError
            Unknown ``kind``.

        Examples
        --------
        >>> col = ImageCollection.from_files(["ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits"])
        ... # doctest: +SKIP
        """
        return cls(files, kind, check=check)

    @classmethod
    def from_glob(cls, pattern, kind="science"):
        """The frames matching a glob pattern (``**`` recurses), sorted by path.

        Files that match but are not images of ``kind`` (masks, catalogues, PSF files) are
        left out, so ``"night/*.fits"`` gives the science frames of a directory.

        Parameters
        ----------
        pattern : str or path-like
            A :mod:`glob` pattern, e.g. ``"/data/sci/2020/09*/*/*_sciimg.fits"``.
        kind : {'science', 'reference', 'difference'}, default 'science'

        Returns
        -------
        ImageCollection

        Raises
        ------
        MissingFileError
            Nothing matches, or nothing that matches is an image of ``kind``.
        InvalidParameterError
            ``pattern`` is not a string, or ``kind`` is unknown.

        Examples
        --------
        >>> col = ImageCollection.from_glob("frames/*_sciimg.fits")      # doctest: +SKIP
        """
        kind = _check_kind(kind)
        if not isinstance(pattern, (str, os.PathLike)):
            raise InvalidParameterError(f"pattern must be a glob pattern (str); got "
                                        f"{type(pattern).__name__} {pattern!r:.60}")
        pattern = os.fspath(pattern)
        matched = sorted(p for p in _glob.glob(pattern, recursive=True) if os.path.isfile(p))
        keep = [p for p in matched if _filenames.is_ztf_filename(p)
                and _filenames.parse(p).kind == _jobs.NAME_KIND[kind]
                and _filenames.parse(p).suffix.startswith(KINDS[kind])]
        if not keep:
            found = (f"it matches {len(matched)} file(s), none a ZTF {kind} image "
                     f"(e.g. {os.path.basename(matched[0])!r})" if matched
                     else "it matches no file")
            raise MissingFileError(f"no ZTF {kind} frame for the pattern {pattern!r}: {found}; "
                                   "check the pattern (and kind=)")
        return cls(keep, kind, check=False)

    @classmethod
    def from_directory(cls, path, kind="science", *, recursive=True):
        """The frames in a directory (and, by default, its subdirectories), sorted by path.

        Parameters
        ----------
        path : str or path-like
            A directory, e.g. a ``$ZTFDATA`` mirror's ``sci/2020/0924``.
        kind : {'science', 'reference', 'difference'}, default 'science'
            ``*_sciimg.fits`` or ``*_refimg.fits`` files (``.fits.fz`` too).
        recursive : bool, default True
            Look in subdirectories too.

        Returns
        -------
        ImageCollection

        Raises
        ------
        MissingFileError
            The directory does not exist, or holds no frame of ``kind``.
        InvalidParameterError
            ``path`` is not a path, or ``kind`` is unknown.

        Examples
        --------
        >>> col = ImageCollection.from_directory("frames/")             # doctest: +SKIP
        """
        kind = _check_kind(kind)
        recursive = as_bool(recursive, "recursive")
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidParameterError(f"path must be a directory (str or path-like); got "
                                        f"{type(path).__name__} {path!r:.60}")
        path = os.fspath(path)
        if not os.path.isdir(path):
            what = "is a file, not a directory" if os.path.exists(path) else "does not exist"
            raise MissingFileError(f"directory {path!r} {what}; give the directory holding "
                                   f"the {kind} frames")
        found = set()
        for pat in _PATTERNS[kind]:
            sub = os.path.join(path, "**", pat) if recursive else os.path.join(path, pat)
            found.update(p for p in _glob.glob(sub, recursive=recursive) if os.path.isfile(p))
        keep = sorted(p for p in found if _filenames.is_ztf_filename(p))
        if not keep:
            raise MissingFileError(f"no {' or '.join(_PATTERNS[kind])} file in {path!r}"
                                   f"{' or below' if recursive else ''}; check the directory "
                                   "(and kind=)")
        return cls(keep, kind, check=False)

    def _new(self, positions):
        """A new collection of the frames at ``positions``, carrying their header rows."""
        out = object.__new__(type(self))
        out._files = tuple(self._files[i] for i in positions)
        out._kind = self._kind
        out._headers = (None if self._headers is None else
                        self._headers.iloc[list(positions)].reset_index(drop=True))
        return out

    # ------------------------------------------------------------------ basics
    @property
    def files(self):
        """list of str: the frames' files, in the collection's order (a copy)."""
        return list(self._files)

    @property
    def kind(self):
        """str: ``'science'`` or ``'reference'``."""
        return self._kind

    def __len__(self):
        return len(self._files)

    def __iter__(self):
        """The opened frames, one at a time (each is read when reached).

        Yields
        ------
        ScienceImage or ReferenceImage
            Frame after frame; a frame that cannot be opened raises when reached.

        Raises
        ------
        MissingFileError, FileFormatError
            A frame (or its mask) cannot be opened.

        Examples
        --------
        >>> for img in col:                                            # doctest: +SKIP
        ...     print(img.filename, img.get_background().globalrms)
        """
        for path in self._files:
            yield _jobs.open_frame(path, self._kind)

    def get_image(self, i):
        """Open frame ``i`` (its header now, its pixels on first use).

        Parameters
        ----------
        i : int
            Position in the collection (negative counts from the end).

        Returns
        -------
        ScienceImage or ReferenceImage

        Raises
        ------
        InvalidParameterError
            ``i`` is not an integer in range.
        MissingFileError, FileFormatError
            The frame (or its mask) cannot be opened.

        Examples
        --------
        >>> img = col.get_image(0)                                      # doctest: +SKIP
        >>> img.magzp, img.has_mask  # doctest: +SKIP
        """
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise InvalidParameterError(f"frame index must be an integer; got {i!r}")
        n = len(self)
        if not -n <= int(i) < n:
            raise InvalidParameterError(f"frame index {int(i)} out of range for a collection "
                                        f"of {n} frames")
        return _jobs.open_frame(self._files[int(i)], self._kind)

    def __getitem__(self, key):
        """``col[i]`` opens frame ``i``; a slice, integer list or boolean mask gives a new
        collection.

        Parameters
        ----------
        key : int, slice, sequence of int, or boolean Series/array
            An integer opens that frame (:meth:`get_image`); a boolean mask needs one value
            per frame (a Series must have the index of :attr:`headers`).

        Returns
        -------
        ScienceImage, ReferenceImage or ImageCollection
            The frame, or a new collection carrying the selected header rows.

        Raises
        ------
        InvalidParameterError
            A key of another type, an index out of range, a mask of the wrong length.

        Examples
        --------
        >>> col[0]                                       # the first frame, opened  # doctest: +SKIP
        >>> col[10:20], col[[0, 5]], col[col.headers["seeing"] < 2.5]   # doctest: +SKIP
        """
        n = len(self)
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            return self.get_image(key)
        if isinstance(key, slice):
            return self._new(range(n)[key])
        if isinstance(key, pd.Series):
            if not key.index.equals(pd.RangeIndex(n)):
                raise InvalidParameterError(
                    "a Series used to select frames must have the index of col.headers "
                    f"(0..{n - 1}); got another index: build it from col.headers, or pass "
                    "its .to_numpy()")
            key = key.to_numpy()
        arr = np.asarray(key)
        if arr.dtype == bool and arr.ndim == 1:
            if arr.shape != (n,):
                raise InvalidParameterError(f"a boolean selection needs one value per frame "
                                            f"({n}); got {arr.shape[0]}")
            return self._new(np.flatnonzero(arr))
        if arr.ndim == 1 and (arr.dtype.kind in "iu" or arr.size == 0):
            arr = arr.astype(np.int64)
            if arr.size and (arr.min() < -n or arr.max() >= n):
                raise InvalidParameterError(f"frame indices must be in -{n}..{n - 1}")
            return self._new([int(i) % n for i in arr])
        raise InvalidParameterError(
            f"select frames with an integer, a slice, a list of integers or a boolean mask "
            f"over col.headers; got {type(key).__name__} {key!r:.60}")

    def __repr__(self):
        n = len(self)
        recs = [_filenames.parse(p) for p in self._files]
        fields = sorted({r.fieldid for r in recs})
        filters = sorted({r.filtername for r in recs})
        parts = [f"{n} {self._kind} frame{'s' if n != 1 else ''}"]
        if fields:
            shown = ", ".join(str(f) for f in fields[:5]) + (" ..." if len(fields) > 5 else "")
            parts.append(f"field{'s' if len(fields) > 1 else ''} {shown}")
            parts.append("filters " + ",".join(filters))
        dates = sorted(r.filefracday[:8] for r in recs if r.filefracday)
        if dates:
            fmt = lambda d: f"{d[:4]}-{d[4:6]}-{d[6:]}"   # noqa: E731
            parts.append(fmt(dates[0]) if dates[0] == dates[-1]
                         else f"{fmt(dates[0])} .. {fmt(dates[-1])}")
        return f"<ImageCollection {', '.join(parts)}>"

    # ------------------------------------------------------------------ headers
    def read_headers(self, max_workers=None):
        """Read (once) and return the header table; :attr:`headers` calls it.

        Parameters
        ----------
        max_workers : int, optional
            Reader threads (default ``min(16, len(col))``).

        Returns
        -------
        pandas.DataFrame
            A copy of the table (see :attr:`headers`).

        Raises
        ------
        InvalidParameterError
            ``max_workers`` is not a positive integer.

        Examples
        --------
        >>> table = col.read_headers(max_workers=32)  # slow network storage  # doctest: +SKIP
        """
        _check_max_workers(max_workers, len(self))
        if self._headers is None:
            self._headers = read_headers(self._files, self._kind, max_workers=max_workers)
        return self._headers.copy()

    @property
    def headers(self):
        """pandas.DataFrame: one row per frame, from the headers only (read once, in threads).

        Columns: ``file``, ``filename``, ``maskfile`` (missing, NaN, when no mask is beside
        the frame), the header values ``obsjd``, ``obsmjd`` (days), ``filtername``
        (``'ztfr'`` ...), ``filterid``, ``fieldid``, ``ccdid``, ``qid``, ``rcid``,
        ``exptime`` (s), ``magzp``, ``magzpunc``, ``magzprms``, ``clrcoeff``, ``clrcounc``
        (mag), ``seeing`` (FWHM, pixels), ``maglim`` (mag), ``infobits``, ``status``,
        ``airmass`` (and ``globmed``, ``nframes`` for references), the file-name fields
        ``filefracday``, ``imgtype``, ``suffix``, ``name_fieldid``, ``name_filter``,
        ``name_ccdid``, ``name_qid``, ``name_rcid``, and ``header_error`` (None, or why a
        header or value could not be read). Values follow the frame properties' rules
        (keyword fallbacks; IPAC's -99 is missing): NaN or <NA> where a header has no
        usable value. A copy: editing it leaves the collection as it is.
        """
        return self.read_headers()

    def select(self, **criteria):
        """The frames whose header-table values match every criterion.

        Parameters
        ----------
        **criteria
            ``column=value``: equal to a value; ``column=[v1, v2]`` (list, tuple, set or
            array): one of the values; ``column=callable``: where ``callable(series)`` is
            True (e.g. ``seeing=lambda s: s < 2.5``). ``filtername`` values may be spelled
            any way :func:`ztfimg.filters.normalise_filter` accepts (``'zr'``, ``'r'``).

        Returns
        -------
        ImageCollection
            A new collection (with the matching rows of the header table).

        Raises
        ------
        InvalidParameterError
            A column is not in :attr:`headers` (the message lists the columns), or a
            callable does not give one boolean per frame.

        Examples
        --------
        >>> col.select(filtername="ztfr", fieldid=655)                  # doctest: +SKIP
        >>> col.select(ccdid=[1, 2, 3], seeing=lambda s: s < 2.2)       # doctest: +SKIP
        """
        table = self.read_headers()
        unknown = [k for k in criteria if k not in table.columns]
        if unknown:
            raise InvalidParameterError(
                f"select: unknown column(s) {unknown}; the header table has "
                f"{', '.join(table.columns)}")
        keep = np.ones(len(table), dtype=bool)
        for column, value in criteria.items():
            series = table[column]
            if callable(value):
                hit = np.asarray(value(series))
                if hit.dtype != bool or hit.shape != (len(table),):
                    raise InvalidParameterError(
                        f"select: the function given for {column!r} must return one boolean "
                        f"per frame; got {hit.dtype} of shape {hit.shape}")
            else:
                many = isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Series))
                values = list(value) if many else [value]
                if column == "filtername":
                    values = [normalise_filter(v) for v in values]
                hit = series.isin(values).fillna(False).to_numpy(dtype=bool)
            keep &= hit
        return self._new(np.flatnonzero(keep))

    # ------------------------------------------------------------------ execution
    def map(self, func, *args, client=None, progress=True, n_workers=None,
            max_in_flight=None, **kwargs):
        """Run ``func(image, *args, **kwargs)`` on every frame and collect the results.

        Parameters
        ----------
        func : callable
            Called with the opened frame (a :class:`~ztfimg.image.ScienceImage` with its
            mask, or a :class:`~ztfimg.image.ReferenceImage`). With a cluster it must be
            picklable (a module-level function; lambdas and closures go by cloudpickle),
            and so must ``args``, ``kwargs`` and what it returns. Return small results
            (a number, a dict, a table), not the frame.
        *args, **kwargs
            Passed to ``func`` after the frame (not named ``client``, ``progress``,
            ``n_workers`` or ``max_in_flight``, which are this method's).
        client : None, 'processes' or distributed.Client, default None
            None: serially in this process. ``'processes'``: a local dask cluster of
            single-threaded worker processes, started for this call and closed after it.
            A ``distributed.Client``: its cluster (local, or a site's).
        progress : bool, default True
            A tqdm progress bar on stderr.
        n_workers : int, optional
            Worker processes of the local cluster (default one per core); giving it
            without a client means ``client='processes'``.
        max_in_flight : int, optional
            Frames submitted to the cluster at a time (default twice its worker threads);
            results stream back as they finish, so memory stays flat.

        Returns
        -------
        MapResult
            ``results`` aligned with the frames (None where one failed), ``errors`` (file,
            exception, message, traceback per failed frame), ``files``. A frame that
            fails (corrupt file, missing mask, no WCS, an exception of ``func``) never
            aborts the run.

        Raises
        ------
        InvalidParameterError
            ``func`` not callable (or not picklable for a cluster), or a bad option;
            checked before any frame is touched.

        Examples
        --------
        >>> res = col.map(lambda img: img.get_background().globalrms)   # doctest: +SKIP
        >>> rms = pd.Series(res.results, index=res.files)  # doctest: +SKIP
        >>> res = col.map(my_job, positions, client="processes", n_workers=4)  # doctest: +SKIP
        """
        if not callable(func):
            raise InvalidParameterError(f"func must be callable, as func(image, *args, "
                                        f"**kwargs); got {type(func).__name__} {func!r:.60}")
        mode = _exec._check_options(client, n_workers, max_in_flight, progress)
        payload = (func, tuple(args), dict(kwargs))
        if mode != "serial":
            import cloudpickle
            try:
                cloudpickle.dumps(payload)
            except Exception as exc:  # noqa: BLE001 - any pickling failure is the caller's
                raise InvalidParameterError(
                    f"func and its arguments must be picklable to run on a cluster: "
                    f"{type(exc).__name__}: {exc}; use a module-level function (or "
                    "client=None)") from None
        name = getattr(func, "__name__", type(func).__name__)
        return _exec.run(self._files, self._kind, payload, client=client,
                         n_workers=n_workers, max_in_flight=max_in_flight,
                         progress=progress, desc=f"ztfimg {name}")

    def calibrate(self, catalog="ps1", *, client=None, progress=True, n_workers=None,
                  max_in_flight=None, source_background=True, **fit_zeropoint_kwargs):
        """The zero point and colour term of every frame, beside the header's.

        The survey-calibration loop: :func:`ztfimg.collection.jobs.calibrate_frame` (a
        sky estimate with sources masked, then
        :func:`ztfimg.workflows.fit_frame_zeropoint`) on every frame through :meth:`map`.

        Parameters
        ----------
        catalog : str, default 'ps1'
            Reference catalogue (``'ps1'``; ``'gaia'`` has no colour term).
        client, progress, n_workers, max_in_flight :
            Where and how to run (see :meth:`map`).
        source_background : bool, default True
            Estimate each sky with the detected sources masked first.
        **fit_zeropoint_kwargs
            Passed to :func:`ztfimg.workflows.fit_frame_zeropoint`: ``magrange``,
            ``isolation``, ``method``, ``aperture_diameter``, ``use_colour``,
            ``sigma_clip``, ``cache_dir``, ``offline``. Give ``cache_dir`` and
            ``offline`` explicitly for a cluster whose workers do not share this
            process's environment.

        Returns
        -------
        pandas.DataFrame
            One row per frame, in order: ``file``, ``filename``, ``obsjd``,
            ``filtername``, ``fieldid``, ``ccdid``, ``qid``, the fit (``zp``, ``zp_err``,
            ``clrcoeff``, ``clrcoeff_err``, ``zpclrcov``, ``nstars``, ``rms``,
            ``chi2_red``; mag), the header's ``header_magzp``, ``header_magzpunc``,
            ``header_clrcoeff``, ``header_clrcounc``, ``dzp`` (fit - header zero point)
            and ``error`` (None, or ``'Class: message'`` for a frame that failed; its fit
            columns are NaN).

        Raises
        ------
        InvalidParameterError
            A bad option (before any work).

        Examples
        --------
        >>> zp = col.calibrate("ps1", client="processes")               # doctest: +SKIP
        >>> zp[["filename", "zp", "zp_err", "header_magzp", "dzp"]]  # doctest: +SKIP
        """
        source_background = as_bool(source_background, "source_background")
        if not isinstance(catalog, str):
            raise InvalidParameterError(f"catalog must be a catalogue name ('ps1', 'gaia'); "
                                        f"got {type(catalog).__name__} {catalog!r:.60}")
        res = self.map(_jobs.calibrate_frame, catalog, client=client, progress=progress,
                       n_workers=n_workers, max_in_flight=max_in_flight,
                       source_background=source_background, **fit_zeropoint_kwargs)
        table = self.read_headers()
        out = table[["file", "filename", "obsjd", "filtername", "fieldid", "ccdid",
                     "qid"]].copy()
        fitted = ("zp", "zp_err", "clrcoeff", "clrcoeff_err", "zpclrcov", "nstars", "rms",
                  "chi2_red")
        for col in fitted:
            out[col] = [np.nan if r is None else r[col] for r in res.results]
        out["nstars"] = pd.array([None if r is None else int(r["nstars"])
                                  for r in res.results], dtype="Int64")
        for key in ("magzp", "magzpunc", "clrcoeff", "clrcounc"):
            out[f"header_{key}"] = table[key].to_numpy(dtype=float)
        out["dzp"] = out["zp"] - out["header_magzp"]
        errors = [None] * len(self)
        for i, row in res.errors.iterrows():
            errors[i] = f"{row['exception']}: {row['message']}"
        out["error"] = errors
        return out

    @classmethod
    def from_sky(cls, ra, dec=None, *, kind="science", download=True, suffixes=None,
                 root=None, progress=True, workers=4, offline=None, base_url=None,
                 **search_kwargs):
        """Every archive frame covering a sky position, fetched into ``$ZTFDATA``.

        Parameters
        ----------
        ra, dec : float, Quantity or SkyCoord
            The position (degrees; a SkyCoord as ``ra`` with ``dec=None``).
        kind : {'science', 'reference', 'difference'}, default 'science'
        download : bool, default True
            Fetch the missing files (:func:`ztfimg.archive.ensure_local_frames`); False
            only looks them up and raises listing what is missing.
        suffixes : sequence of str, optional
            Products beside each image (default: the mask for science frames).
        root, progress, workers, offline, base_url :
            See :func:`ztfimg.archive.download`.
        **search_kwargs
            ``size``, ``filters``, ``start``, ``end``, ``fields``, ``ccdid``, ``qid`` ... of
            :func:`ztfimg.archive.search`.

        Returns
        -------
        ImageCollection

        Examples
        --------
        >>> col = ImageCollection.from_sky(96.92, 77.70, filters="zr")   # doctest: +SKIP
        >>> lc = col.forced_photometry(96.92, 77.70)                      # doctest: +SKIP
        """
        from .. import archive
        if _check_kind(kind) == "difference":
            raise InvalidParameterError("from_sky finds science or reference frames; build "
                                        "the difference collection from their names")
        image = "sciimg.fits" if kind == "science" else "refimg.fits"
        table = archive.search(ra, dec, kind="sci" if kind == "science" else "ref",
                               offline=offline, base_url=base_url, **search_kwargs)
        default = archive.DEFAULT_SUFFIXES if kind == "science" else ()
        wanted = (image,) + tuple(s for s in (suffixes or default) if s != image)
        paths = archive.ensure_local_frames(table, wanted, root=root, download=download,
                                            offline=offline, base_url=base_url,
                                            progress=progress, workers=workers)
        return cls(paths[image].tolist() if len(paths) else [], kind)

    def get_stamps(self, ra, dec=None, size=23, *, data="dataclean", mask_radius=2.0,
                   keep_all=False, client=None, progress=True, n_workers=None,
                   max_in_flight=None):
        """Stamps of sky positions through the frames: one time-ordered stack per position.

        Each frame's pixels are read only when a position falls on it (the WCS decides
        from the header).

        Parameters
        ----------
        ra, dec : float, array_like, Quantity or SkyCoord
            Position(s), ICRS degrees (or a ``SkyCoord`` as ``ra``, ``dec`` omitted).
        size : int, default 23
            Stamp width and height, pixels.
        data : str, default 'dataclean'
            Which pixels (see :meth:`~ztfimg.image.ZTFImage.get_stamp`): the masked,
            background-subtracted ones by default.
        mask_radius : float, default 2
            Flag a stamp MASKED when a masked pixel lies within this radius (pixels).
        keep_all : bool, default False
            Keep every frame in every stack: frames that do not cover a position get NaN
            stamps flagged OFF_IMAGE, frames that failed FAILED. By default a stack holds
            only the frames whose stamp touches the frame.
        client, progress, n_workers, max_in_flight :
            Where and how to run (see :meth:`map`).

        Returns
        -------
        StampStack or list of StampStack
            One stack for a scalar position, else one per position. Each has ``data``
            ``(n_frames, size, size)``, ``mask``, ``times`` (OBSJD), ``mjd``, ``flags``
            (:class:`StackFlag`), ``files``, ``x``, ``y``, ``filters``, ``errors`` (the
            failed frames) and ``show()``.

        Raises
        ------
        InvalidParameterError
            Bad positions, size, selector or option (before any work).

        Examples
        --------
        >>> st = col.get_stamps(55.0612, 33.3493, size=21)              # doctest: +SKIP
        >>> st.show()  # doctest: +SKIP
        """
        from ..image.selectors import normalise_selector
        ras, decs, scalar = as_sky(ra, dec)
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) \
                or size < 1:
            raise InvalidParameterError(f"size must be a positive integer (pixels); got "
                                        f"{size!r}")
        size = int(size)
        data = normalise_selector(data)
        mask_radius = as_number(mask_radius, "mask_radius", "pixels")
        if mask_radius < 0:
            raise InvalidParameterError(f"mask_radius must be >= 0 pixels; got {mask_radius}")
        keep_all = as_bool(keep_all, "keep_all")
        res = self.map(_jobs.stamps_frame, ras, decs, size, data, mask_radius, client=client,
                       progress=progress, n_workers=n_workers, max_in_flight=max_in_flight)
        failed = None   # epochs and filters of failed frames, from the header table
        if keep_all and res.n_failed:
            table = self.read_headers()
            failed = (table["obsjd"].to_numpy(float),
                      [v if isinstance(v, str) else None for v in table["filtername"]])
        stacks = [build_stack(k, ras[k], decs[k], size, res, keep_all, failed)
                  for k in range(len(ras))]
        return stacks[0] if scalar else stacks
