"""ctypes bindings of ztfimg's compiled kernels (``ztfimg/_kernel.c``).

The C file is built at install time as the extension ``ztfimg._kernel`` (setup.py; an
optional extension, so an install without a C compiler still works, with sep's routes
and numpy loops only). Building it adds ~2 s to the install (gcc -O3 on this project's
2-core machine); nothing is compiled at run time, so a new worker process pays only the
load. It is loaded here with :mod:`ctypes`, which releases the GIL for each call, so the
aperture kernel's threads and other Python threads run at the same time. Loading costs
about a millisecond and no memory to speak of (the library is ~110 kB of code, ~450 kB
with the debug symbols setuptools builds in).

:data:`HAVE_KERNEL` says whether the library is there; :func:`library` returns it.
:func:`default_threads` is the one rule for the number of threads a kernel call uses.
Without the library, :func:`bilinear` and :func:`combine` (stacks, calibration frames) run
their numpy versions (:mod:`ztfimg._npkernels`: the same bits, 1-10x slower) after
one :class:`~ztfimg.errors.ZTFImgWarning`; the aperture sums go to sep
(:mod:`ztfimg.aperture`).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading

import numpy as np

from .errors import InvalidParameterError, ZTFImgWarning

_SPEC = importlib.util.find_spec("ztfimg._kernel")
#: True when the compiled kernel library was built at install time.
HAVE_KERNEL = _SPEC is not None and _SPEC.origin is not None
_LIB = {}
_LOCK = threading.Lock()

_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_INT = ctypes.c_int
_D = ctypes.c_double


def library():
    """The loaded C library (``ctypes.CDLL``), loaded once per process.

    Raises
    ------
    InvalidParameterError
        The library was not built (no C compiler at install time).
    """
    lib = _LIB.get("lib")
    if lib is not None:
        return lib
    if not HAVE_KERNEL:
        here = os.path.dirname(os.path.abspath(__file__))
        if os.path.exists(os.path.join(here, "_kernel.c")):
            # a source checkout imported directly (e.g. `python -m ztfimg` run from the
            # repository after a plain `pip install .`): its kernel is built elsewhere
            raise InvalidParameterError(
                f"ztfimg is imported from its source tree ({here}), where the compiled "
                "kernel has not been built: install it in place with `pip install -e .` "
                "(from the repository), or run from another directory")
        raise InvalidParameterError(
            "ztfimg's compiled kernel was not built at install time (it needs a C "
            "compiler: reinstall with one, e.g. `pip install --force-reinstall ztfimg`), "
            "or use engine='sep' / ZTFIMG_ENGINE=sep")
    with _LOCK:
        if "lib" not in _LIB:
            lib = ctypes.CDLL(_SPEC.origin)
            lib.ztf_aperture_sums.restype = _INT
            lib.ztf_aperture_sums.argtypes = [
                _P, _INT, _I64, _I64, _P, _P, _INT, _P, _P, _I64, _P, _P, _I64, _P, _P, _P,
                _INT]
            lib.ztf_pixel_overlap.restype = _D
            lib.ztf_pixel_overlap.argtypes = [_D, _D, _D, _D, _D]
            lib.ztf_bilinear.restype = None
            lib.ztf_bilinear.argtypes = [_P, _I64, _I64, _P, _P, _I64, _I64, _I64, _I64, _I64,
                                         _I64, _D, _P, _INT]
            lib.ztf_combine.restype = _INT
            lib.ztf_combine.argtypes = [_P, _INT, _I64, _I64, _P, _P, _I64, _INT, _D, _I64,
                                        _P, _P, _P, _P, _P, _INT]
            lib.ztf_or_bits.restype = None
            lib.ztf_or_bits.argtypes = [_P, _INT, _INT, _P, _P, _I64, _P, _P, _P, _P, _I64,
                                        _P]
            _LIB["lib"] = lib
    return _LIB["lib"]


def ptr(arr):
    """Address of a C-contiguous array's data for the C calls (None for None)."""
    if arr is None:
        return None
    assert arr.flags.c_contiguous
    return arr.ctypes.data


def default_threads():
    """Threads of a kernel call when the caller does not say (int >= 1).

    ``ZTFIMG_NUM_THREADS`` when set, else ``OMP_NUM_THREADS`` (which dask sets to 1 in its
    workers), else the cores this process may run on.

    On Linux a call's helper threads each start on their own CPU of the calling thread's
    affinity set, other than the caller's current one, for the length of the call (the
    caller is never moved): left to itself the scheduler starts them beside their parent
    and the threads of a short call take turns on one CPU. ``ZTFIMG_SPREAD_THREADS=0``
    leaves their placement to the scheduler. The numbers do not depend on either setting.

    Raises
    ------
    InvalidParameterError
        One of the variables is set to something other than a positive integer.
    """
    for name in ("ZTFIMG_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                n = int(value)
            except ValueError:
                n = 0
            if n < 1:
                raise InvalidParameterError(f"the {name} environment variable must be a "
                                            f"positive integer; got {value!r}")
            return n
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: Whether this process has been told that the numpy versions run (one warning).
_NUMPY_WARNED = False


def _numpy_route(name):
    """The numpy version of kernel ``name`` (no compiled library), warning once."""
    global _NUMPY_WARNED
    from . import _npkernels
    if not _NUMPY_WARNED:
        _NUMPY_WARNED = True
        import warnings
        warnings.warn("ztfimg's compiled kernel is not built (no C compiler at install "
                      "time): stacks and calibration frames use numpy, the same numbers "
                      "1-10x slower; reinstall with a C compiler for speed",
                      ZTFImgWarning, stacklevel=3)
    return getattr(_npkernels, name)


def bilinear(section, x, y, x0, y0, ny, nx, snap, n_threads=None):
    """Bilinear resampling of a float32 frame section at frame positions (``ztfimg.stacking``).

    ``section``: C-contiguous float32 (sh, sw), the frame's pixels from (y0, x0); ``x``,
    ``y``: C-contiguous float64 (th, tw) frame positions; ``ny``, ``nx``: the frame's shape;
    ``snap``: weights closer than this to 0 are 0. Returns a float32 (th, tw) array (NaN
    outside the frame or next to a NaN pixel). Threads: :func:`default_threads`.
    """
    if not HAVE_KERNEL:
        return _numpy_route("bilinear")(section, x, y, x0, y0, ny, nx, snap)
    lib = library()
    out = np.empty(x.shape, np.float32)
    if x.size:
        nt = default_threads() if n_threads is None else int(n_threads)
        lib.ztf_bilinear(ptr(section), section.shape[0], section.shape[1], ptr(x), ptr(y),
                         x.shape[0], x.shape[1], int(x0), int(y0), int(ny), int(nx),
                         float(snap), ptr(out), nt)
    return out


def combine(cube, weights, extra, median, sigma, maxiters, n_threads=None):
    """Combine the columns of a C-contiguous (n, m) float32/float64 cube (``ztfimg.calibframes``).

    ``weights``: float64 (n,); ``extra``: float64 (n, q); ``median``: bool; ``sigma``:
    clipping threshold (0: none); ``maxiters``: int. Returns ``(out, var, count, wsum,
    esum)``: float32 (m,), float32 (m,), int32 (m,), float32 (m,), float32 (q, m).

    Raises
    ------
    MemoryError
        A thread's work buffer could not be allocated.
    """
    if not HAVE_KERNEL:
        return _numpy_route("combine")(cube, weights, extra, median, sigma, maxiters)
    lib = library()
    n, m = cube.shape
    nq = extra.shape[1]
    out = np.empty(m, np.float32)
    var = np.empty(m, np.float32)
    count = np.empty(m, np.int32)
    wsum = np.empty(m, np.float32)
    esum = np.empty((nq, m), np.float32)
    if m:
        nt = default_threads() if n_threads is None else int(n_threads)
        status = lib.ztf_combine(ptr(cube), int(cube.dtype == np.float32), n, m, ptr(weights),
                                 ptr(extra), nq, int(bool(median)), float(sigma),
                                 int(maxiters), ptr(out), ptr(var), ptr(count), ptr(wsum),
                                 ptr(esum), nt)
        if status != 0:
            raise MemoryError("the combine kernel could not allocate its work buffers")
    return out, var, count, wsum, esum


def or_bits(bits, seg, det, xmin, xmax, ymin, ymax):
    """OR of integer ``bits`` over boxes (the compiled loop of :mod:`ztfimg.sources`).

    ``bits`` is a C-contiguous 2-D integer array (1, 2, 4 or 8 bytes; bool viewed as
    uint8), ``seg`` an int32 segmentation map or None (then every pixel of the box
    counts), ``det`` a uint8 mask or None; the boxes are inclusive int64 bounds.
    Returns an int64 array, one value per box.
    """
    lib = library()
    n = xmin.shape[0]
    out = np.zeros(n, dtype=np.int64)
    if n:
        lib.ztf_or_bits(ptr(bits), bits.dtype.itemsize, int(bits.dtype.kind == "i"),
                        ptr(seg), ptr(det), bits.shape[1], ptr(xmin), ptr(xmax), ptr(ymin),
                        ptr(ymax), n, ptr(out))
    return out
