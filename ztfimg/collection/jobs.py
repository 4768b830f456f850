"""The per-frame functions that travel to the workers.

Everything here is a module-level function, so it pickles by reference and a worker
imports it from ztfimg: :func:`run_frame` takes a frame's *file name*, opens the frame
inside the worker (:func:`open_frame`, masks found beside it as
:meth:`ScienceImage.from_filename <ztfimg.image.ScienceImage.from_filename>` does), runs the
job on it, and returns a small tagged result, never an exception: a failed frame becomes an
error record and the run goes on.

The built-in jobs of :class:`~ztfimg.collection.ImageCollection`:

* :func:`calibrate_frame`: the zero point and colour term of a frame against a reference
  catalogue, beside the header's;
* :func:`stamps_frame`: cutouts of a frame at sky positions, with the frame's epoch;
* :func:`noop`: nothing (the cost of opening a frame plus the scheduler's).
"""

from __future__ import annotations

import os
import traceback

import numpy as np

from .. import filenames as _filenames
from ..errors import HeaderKeywordError, InvalidParameterError
from ..image import DifferenceImage, ReferenceImage, ScienceImage

__all__ = ["open_frame", "difference_path", "NAME_KIND", "run_frame", "calibrate_frame", "stamps_frame", "noop", "Payload",
           "share_payload", "CALIBRATION_COLUMNS"]

#: Columns of a frame's calibration (:func:`calibrate_frame`), fitted then from the header.
CALIBRATION_COLUMNS = ("zp", "zp_err", "clrcoeff", "clrcoeff_err", "zpclrcov", "nstars",
                       "rms", "chi2_red", "header_magzp", "header_magzpunc",
                       "header_clrcoeff", "header_clrcounc", "dzp")


#: The file-name kind (:func:`ztfimg.filenames.parse`) of each collection kind: a
#: difference image is a product of its science frame.
NAME_KIND = {"science": "science", "reference": "reference", "difference": "science"}
_DIFF_NAMES = ("scimrefdiffimg.fits.fz", "scimrefdiffimg.fits")


def difference_path(value):
    """The difference-image file of a name: itself, or the science product's sibling.

    Parameters
    ----------
    value : str or path-like
        A ``*_scimrefdiffimg.fits.fz`` path, or the name of any product of the same science
        frame (``*_sciimg.fits`` ...), or a bare ZTF name under ``$ZTFDATA``.

    Returns
    -------
    str
        The ``*_scimrefdiffimg.fits.fz`` path beside it (``.fits`` kept when the name is
        ``*_scimrefdiffimg.fits`` and exists uncompressed).

    Raises
    ------
    FileNameError
        Not a path, or not a ZTF science-product name.

    Examples
    --------
    >>> difference_path("d/ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
    'd/ztf_20200924431759_000655_zr_c13_o_q3_scimrefdiffimg.fits.fz'
    """
    path = _filenames.find_file(value)
    base = os.path.basename(path)
    if base.endswith(_DIFF_NAMES[1]) and not os.path.exists(path):
        return path + ".fz"
    if base.endswith(_DIFF_NAMES):
        return path
    rec = _filenames.parse(path)
    if rec.kind != "science":
        return path                         # refused by the collection with its message
    return _filenames.sibling(path, _DIFF_NAMES[0])


def open_frame(path, kind="science"):
    """Open one frame by file name: a science image with the mask beside it, a reference,
    or a difference image with its mask, PSF and science frame.

    Parameters
    ----------
    path : str
        Path (or bare ZTF name under ``$ZTFDATA``) of a ``*_sciimg.fits``,
        ``*_refimg.fits`` or ``*_scimrefdiffimg.fits.fz``.
    kind : {'science', 'reference', 'difference'}, default 'science'

    Returns
    -------
    ScienceImage, ReferenceImage or DifferenceImage
        Only the header is read; the pixels on first use (a difference image through
        :meth:`DifferenceImage.from_filename <ztfimg.image.DifferenceImage.from_filename>`).
        Science and reference frames have ``pixels_on_demand`` set (the raw pixels are
        released once the compute array exists, and re-read if asked for).

    Raises
    ------
    MissingFileError
        The file, or a science frame's mask, is not there.
    FileFormatError
        The file is not a readable FITS image.
    InvalidParameterError
        Unknown ``kind``.

    Examples
    --------
    >>> img = open_frame("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")  # doctest: +SKIP
    """
    if kind in ("science", "reference"):
        img = (ScienceImage if kind == "science" else ReferenceImage).from_filename(path)
        img.pixels_on_demand = True   # a job measures; the raw pixels are re-read if needed
        return img
    if kind == "difference":
        return DifferenceImage.from_filename(path)
    raise InvalidParameterError(f"kind must be 'science', 'reference' or 'difference'; got "
                                f"{kind!r}")


class Payload:
    """A job and its arguments, as they travel to the workers once per run.

    Parameters
    ----------
    func : callable
        ``func(image, *args, **kwargs)``.
    args : tuple
    kwargs : dict

    Examples
    --------
    >>> run_frame(Payload(noop, (), {}), path)                         # doctest: +SKIP
    """

    __slots__ = ("func", "args", "kwargs")

    def __init__(self, func, args=(), kwargs=None):
        self.func, self.args, self.kwargs = func, tuple(args), dict(kwargs or {})

    def __iter__(self):
        """``func, args, kwargs = payload``, as for the plain tuple."""
        return iter((self.func, self.args, self.kwargs))

    def __getstate__(self):
        return self.func, self.args, self.kwargs

    def __setstate__(self, state):
        self.func, self.args, self.kwargs = state


def share_payload(payload):
    """The payload itself: the task that places it on the cluster (see execution).

    Parameters
    ----------
    payload : Payload

    Returns
    -------
    Payload
        Unchanged.

    Raises
    ------
    Nothing

    Examples
    --------
    >>> share_payload(Payload(noop)).func is noop                      # doctest: +SKIP
    True
    """
    return payload


def run_frame(payload, path, kind="science"):
    """Open the frame ``path`` and apply ``func(image, *args, **kwargs)`` to it.

    Parameters
    ----------
    payload : Payload or tuple
        ``(func, args, kwargs)``.
    path : str
        The frame's file.
    kind : {'science', 'reference', 'difference'}, default 'science'

    Returns
    -------
    (str, object)
        ``('ok', value)``, or ``('error', record)`` with ``record`` a dict of ``file``,
        ``exception`` (class name), ``message`` and ``traceback`` when opening the frame
        or the function raised (any :class:`Exception`: the caller decides what to do).

    Raises
    ------
    BaseException
        Only what is not an :class:`Exception` (``KeyboardInterrupt``, ``SystemExit``).

    Examples
    --------
    >>> run_frame((noop, (), {}), "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits")
    ... # doctest: +SKIP
    ('ok', None)
    """
    func, args, kwargs = payload
    image = None
    try:
        image = open_frame(path, kind)
        value = func(image, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure of a frame is reported, not raised
        return "error", {"file": path, "exception": type(exc).__name__, "message": str(exc),
                         "traceback": traceback.format_exc()}
    finally:
        del image   # the frame's arrays go before the next frame comes
    return "ok", value


def noop(image):
    """Do nothing with the frame (measures the cost of opening it and of the scheduler).

    Parameters
    ----------
    image : ZTFImage

    Returns
    -------
    None

    Raises
    ------
    Nothing
        Opening the frame, done by :func:`run_frame`, is what can fail.

    Examples
    --------
    >>> col.map(noop).elapsed / len(col)          # seconds per frame   # doctest: +SKIP
    """
    return None


def _header_value(image, name):
    try:
        value = getattr(image, name)
    except HeaderKeywordError:
        return np.nan
    return np.nan if value is None else float(value)


def calibrate_frame(image, catalog="ps1", *, source_background=True, **kwargs):
    """Fit one frame's zero point and colour term, and read the header's beside them.

    Parameters
    ----------
    image : ZTFImage
        The frame.
    catalog : str, default 'ps1'
        Reference catalogue (see :func:`ztfimg.workflows.fit_frame_zeropoint`).
    source_background : bool, default True
        First estimate the sky with the detected sources masked
        (:meth:`~ztfimg.image.ZTFImage.load_source_background`); faint wings otherwise lift
        the sky and bias the zero point faint.
    **kwargs
        Passed to :func:`ztfimg.workflows.fit_frame_zeropoint` (``magrange``,
        ``aperture_diameter``, ``method``, ``cache_dir``, ``offline`` ...).

    Returns
    -------
    dict
        The :data:`CALIBRATION_COLUMNS`: fitted ``zp``, ``zp_err``, ``clrcoeff``,
        ``clrcoeff_err``, ``zpclrcov`` (mag, mag^2), ``nstars``, ``rms``, ``chi2_red``;
        the header's ``MAGZP``, ``MAGZPUNC``, ``CLRCOEFF``, ``CLRCOUNC`` (NaN when absent);
        ``dzp`` = fitted minus header zero point.

    Raises
    ------
    ZTFImgError
        No catalogue (offline with an empty cache ...), too few calibrators, no WCS.

    Examples
    --------
    >>> calibrate_frame(img, "ps1", magrange=(15, 19))["zp"]            # doctest: +SKIP
    >>> col.map(calibrate_frame, "ps1", client="processes")            # doctest: +SKIP
    """
    from .. import workflows
    if source_background:
        image.load_source_background()
    res = workflows.fit_frame_zeropoint(image, catalog, **kwargs)
    out = {"zp": float(res.zp), "zp_err": float(res.zp_err), "clrcoeff": float(res.clrcoeff),
           "clrcoeff_err": float(res.clrcoeff_err), "zpclrcov": float(res.zpclrcov),
           "nstars": int(res.nstars), "rms": float(res.rms), "chi2_red": float(res.chi2_red)}
    for key in ("magzp", "magzpunc", "clrcoeff", "clrcounc"):
        out[f"header_{key}"] = _header_value(image, key)
    out["dzp"] = out["zp"] - out["header_magzp"]
    return out


def astrometry_frame(image, catalog="gaia", *, refine=False, **kwargs):
    """One frame's astrometric residuals against a catalogue (and a refit on request).

    Parameters
    ----------
    image : ZTFImage
    catalog : str, default 'gaia'
        Reference catalogue (:func:`ztfimg.astrometry.measure_astrometry`).
    refine : bool, default False
        Also fit a corrected WCS (:func:`ztfimg.astrometry.refine_wcs`).
    **kwargs
        Passed to those functions (``radius``, ``magrange``, ``cache_dir``, ``offline`` ...).

    Returns
    -------
    dict
        ``status``, ``nstars``, ``dra_med``, ``ddec_med`` (header-WCS median offsets, mas),
        ``rms_ra``, ``rms_dec`` (mas), ``header_rms1``, ``header_rms2`` (ASTRRMS, mas) and,
        with ``refine``, ``method``, ``rms_fit_ra``, ``rms_fit_dec``, ``cv_header``,
        ``cv_best`` (cross-validated total rms, mas).
    """
    from .. import astrometry
    res = (astrometry.refine_wcs if refine else astrometry.measure_astrometry)(
        image, catalog, **kwargs)
    out = {"status": res.status, "nstars": int(res.table["used"].sum()) if res.n_matches else 0,
           "dra_med": res.offset[0], "ddec_med": res.offset[1], "rms_ra": res.rms[0],
           "rms_dec": res.rms[1], "header_rms1": res.header_rms[0],
           "header_rms2": res.header_rms[1]}
    if refine:
        cv = res.cv_rms
        out.update(method=res.method, rms_fit_ra=res.rms_fit[0], rms_fit_dec=res.rms_fit[1],
                   cv_header=cv.get("header", np.nan),
                   cv_best=min((v for k, v in cv.items() if k != "header"), default=np.nan))
    return out


def stamps_frame(image, ra, dec, size=23, data="dataclean", mask_radius=2.0):
    """Cutouts of one frame at sky positions (pixels are read only if one falls on it).

    Parameters
    ----------
    image : ZTFImage
        The frame.
    ra, dec : numpy.ndarray
        Positions, ICRS degrees (1-D, same length).
    size : int, default 23
        Stamp width and height, pixels.
    data : str, default 'dataclean'
        Which pixels (see :meth:`~ztfimg.image.ZTFImage.get_stamp`).
    mask_radius : float, default 2
        A stamp is flagged MASKED when a masked pixel lies within this radius (pixels) of
        the position.

    Returns
    -------
    dict
        ``obsjd``, ``filtername``, ``index`` (positions whose stamp touches the frame),
        and for those ``x``, ``y`` (0-based frame pixels), ``data`` (n, size, size)
        float32, ``mask`` (n, size, size) bool, ``flag`` (int64
        :class:`~ztfimg.collection.StackFlag` bits).

    Raises
    ------
    HeaderKeywordError
        The frame has no WCS.
    FileFormatError
        The pixels cannot be read (only when a position falls on the frame).

    Examples
    --------
    >>> out = stamps_frame(img, np.array([55.06]), np.array([33.35]), size=15)  # doctest: +SKIP
    >>> out["index"], out["data"].shape  # doctest: +SKIP
    (array([0]), (1, 15, 15))
    """
    from .stack import StackFlag
    x, y = image.coords_to_pixels(ra, dec)
    x, y = np.atleast_1d(x).astype(float), np.atleast_1d(y).astype(float)
    touch = np.asarray(image.is_inside(x, y, margin=-size / 2.0), dtype=bool)
    index = np.flatnonzero(touch & np.isfinite(x) & np.isfinite(y))
    out = {"obsjd": _header_value(image, "obsjd"), "filtername": None, "index": index,
           "x": x[index], "y": y[index]}
    try:
        out["filtername"] = image.filtername
    except HeaderKeywordError:
        pass
    if index.size == 0:
        out.update(data=np.empty((0, size, size), np.float32),
                   mask=np.empty((0, size, size), bool), flag=np.empty(0, np.int64))
        return out
    stack = image.get_stamp(x[index], y[index], size=size, data=data)
    flag = np.asarray(stack.flag, dtype=np.int64).copy()
    bad = image.get_mask()
    ny, nx = image.shape
    r = float(mask_radius)
    for k, (xi, yi) in enumerate(zip(x[index], y[index])):
        x0, x1 = max(0, int(np.floor(xi - r))), min(nx - 1, int(np.ceil(xi + r)))
        y0, y1 = max(0, int(np.floor(yi - r))), min(ny - 1, int(np.ceil(yi + r)))
        if x1 < x0 or y1 < y0:
            continue
        yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1]
        near = (xx - xi) ** 2 + (yy - yi) ** 2 <= r * r
        if np.any(bad[y0:y1 + 1, x0:x1 + 1][near]):
            flag[k] |= int(StackFlag.MASKED)
    out.update(data=np.asarray(stack.data, dtype=np.float32),
               mask=np.asarray(stack.mask, dtype=bool), flag=flag)
    return out
