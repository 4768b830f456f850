"""Running one job on every frame: serially, on local processes, or on a dask cluster.

:func:`run` takes the frames' file names and a picklable job
(:func:`ztfimg.collection.jobs.run_frame` applied to each name) and returns a
:class:`MapResult`.  Three ways, one code path per frame:

* ``client=None``: in this process, one frame after the other;
* ``client="processes"`` (or ``n_workers=N``): a ``distributed.LocalCluster`` of ``N``
  single-threaded worker processes (:func:`local_cluster`) is started for the call and
  closed after it (sep holds the GIL, so threads would not scale);
* ``client=<distributed.Client>``: an existing cluster, local or a site's.

With a cluster only file names travel to the workers (the job and its arguments are sent
once, scattered to every worker); at most ``max_in_flight`` frames are submitted at a time
and results stream back with :func:`distributed.as_completed`, so the memory of this
process and of the scheduler stays flat whatever the number of frames.  A frame whose job
raises, or whose worker dies, becomes a row of :attr:`MapResult.errors`; the run goes on.
"""

from __future__ import annotations

import os
import sys
import time
import traceback as _tb
import uuid

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError
from .jobs import Payload, run_frame, share_payload

__all__ = ["MapResult", "run", "local_cluster", "ERROR_COLUMNS", "WORKER_ALLOCATOR"]

#: Columns of :attr:`MapResult.errors`.
ERROR_COLUMNS = ("file", "exception", "message", "traceback")


class MapResult:
    """The outcome of :meth:`ImageCollection.map`: one result per frame, and the failures.

    Attributes
    ----------
    results : list
        One entry per frame, in the collection's order: what the function returned, or None
        where the frame failed.
    errors : pandas.DataFrame
        One row per failed frame, indexed by the frame's position in the collection:
        ``file``, ``exception`` (class name), ``message`` and ``traceback`` (text).
    files : list of str
        The frames' files, aligned with ``results``.
    elapsed : float
        Wall-clock seconds of the run.
    mode : str
        ``'serial'``, ``'processes'`` or ``'client'``.

    Examples
    --------
    >>> res = col.map(lambda img: img.get_background().globalrms)     # doctest: +SKIP
    >>> res  # doctest: +SKIP
    <MapResult 32 frames: 31 ok, 1 failed (FileFormatError: 1); serial, 4.1 s>
    >>> res.errors[["file", "exception"]]                              # doctest: +SKIP
    """

    def __init__(self, files, results, errors, elapsed, mode):
        self.files = list(files)
        self.results = list(results)
        self.errors = errors
        self.elapsed = float(elapsed)
        self.mode = mode

    def __len__(self):
        return len(self.results)

    @property
    def ok(self):
        """numpy.ndarray of bool: True for the frames whose job succeeded."""
        out = np.ones(len(self.results), dtype=bool)
        out[self.errors.index.to_numpy(dtype=np.int64)] = False
        return out

    @property
    def n_failed(self):
        """int: number of failed frames."""
        return len(self.errors)

    def __repr__(self):
        n, bad = len(self.results), len(self.errors)
        kinds = ""
        if bad:
            counts = self.errors["exception"].value_counts()
            kinds = " (" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ")"
        return (f"<MapResult {n} frames: {n - bad} ok, {bad} failed{kinds}; {self.mode}, "
                f"{self.elapsed:.1f} s>")


def _errors_frame(records):
    idx = sorted(records)
    return pd.DataFrame([records[i] for i in idx], index=pd.Index(idx, name="frame"),
                        columns=list(ERROR_COLUMNS))


def _progress(total, enabled, desc):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not enabled, desc=desc, unit="frame", file=sys.stderr,
                leave=False, dynamic_ncols=True)


def _count(value, name):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or int(value) < 1:
        raise InvalidParameterError(f"{name} must be a positive integer (or None); got "
                                    f"{value!r}")
    return int(value)


def _check_options(client, n_workers, max_in_flight, progress):
    """Validate the execution options before any work; returns the mode name."""
    n_workers = _count(n_workers, "n_workers")
    _count(max_in_flight, "max_in_flight")
    if not isinstance(progress, (bool, np.bool_)):
        raise InvalidParameterError(f"progress must be True or False; got {progress!r}")
    if client is None:
        return "serial" if n_workers is None else "processes"
    if isinstance(client, str):
        if client != "processes":
            raise InvalidParameterError(f"client must be None (serial), 'processes' (a local "
                                        f"cluster) or a distributed.Client; got {client!r}")
        return "processes"
    from distributed import Client
    if not isinstance(client, Client):
        raise InvalidParameterError(f"client must be None (serial), 'processes' (a local "
                                    f"cluster) or a distributed.Client; got "
                                    f"{type(client).__name__} {client!r:.60}")
    if n_workers is not None:
        raise InvalidParameterError("n_workers starts a local cluster; it cannot be given "
                                    "with an existing client (whose workers are its own)")
    if client.status not in ("running", "connecting", "newly-created"):
        raise InvalidParameterError(f"the distributed.Client is {client.status!r}, not "
                                    "running; connect it (or start a new one) first")
    return "client"


def _serial(files, kind, payload, bar):
    results, errors = [None] * len(files), {}
    for i, path in enumerate(files):
        status, value = run_frame(payload, path, kind)
        if status == "ok":
            results[i] = value
        else:
            errors[i] = value
        bar.update(1)
    return results, errors


def _worker_threads(client):
    """Worker threads of the cluster now (0 for an adaptive cluster not scaled up yet)."""
    try:
        return sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - a scheduler that cannot answer: assume none
        return 0


def _share(client, payload, token):
    """The job and its arguments on the cluster once; tasks then carry only a file name.

    Broadcast to every worker when there are workers; otherwise (an adaptive cluster with
    none yet: a scatter would wait for them, and they come only for tasks) as the result of
    a task, which workers fetch from each other like any dependency.
    """
    if _worker_threads(client):
        [shared] = client.scatter([payload], broadcast=True, hash=False)
        return shared
    return client.submit(share_payload, payload, key=f"ztfimg-payload-{token}", pure=False)


def _distributed(files, kind, payload, client, max_in_flight, bar):
    from distributed import as_completed
    n = len(files)
    results, errors = [None] * n, {}
    if n == 0:
        return results, errors
    limit = max_in_flight or 2 * max(1, _worker_threads(client))
    token = uuid.uuid4().hex[:12]
    shared = _share(client, Payload(*payload), token)
    position, pending = {}, {}
    nxt = 0

    def submit():
        nonlocal nxt
        i = nxt
        nxt += 1
        fut = client.submit(run_frame, shared, files[i], kind, key=f"ztfimg-map-{token}-{i}",
                            pure=False, retries=0)
        position[fut.key] = i
        pending[fut.key] = fut
        return fut

    stream = as_completed([submit() for _ in range(min(limit, n))])
    try:
        for fut in stream:
            i = position.pop(fut.key)
            pending.pop(fut.key, None)
            try:
                # an erred task (a worker died, an argument would not unpickle) or a result
                # that cannot travel back raises here
                status, value = fut.result()
            except Exception as exc:  # noqa: BLE001 - reported for this frame, run goes on
                status, value = "error", {
                    "file": files[i], "exception": type(exc).__name__, "message": str(exc),
                    "traceback": "".join(_tb.format_exception(exc))}
            if status == "ok":
                results[i] = value
            else:
                errors[i] = value
            fut.release()
            bar.update(1)
            if nxt < n:
                stream.add(submit())
    finally:   # an interrupted run leaves nothing behind on the cluster
        if pending:
            client.cancel(list(pending.values()))
        shared.release()
    return results, errors


def run(files, kind, payload, *, client=None, n_workers=None, max_in_flight=None,
        progress=True, desc="ztfimg"):
    """Run ``payload`` on every file (see the module doc) and collect a :class:`MapResult`.

    Parameters
    ----------
    files : sequence of str
        The frames.
    kind : {'science', 'reference', 'difference'}
        How each frame is opened.
    payload : tuple
        ``(func, args, kwargs)``, see :func:`ztfimg.collection.jobs.run_frame`.
    client : None, 'processes' or distributed.Client, optional
    n_workers : int, optional
        Workers of the local cluster (default: one per core with ``client='processes'``).
    max_in_flight : int, optional
        Frames submitted at a time (default twice the cluster's worker threads).
    progress : bool, default True
        A tqdm progress bar on stderr.
    desc : str, default 'ztfimg'
        Its label.

    Returns
    -------
    MapResult

    Raises
    ------
    InvalidParameterError
        A bad option (checked before any work).

    Examples
    --------
    >>> from ztfimg.collection.jobs import noop                        # doctest: +SKIP
    >>> run(files, "science", (noop, (), {}), progress=False)  # doctest: +SKIP
    <MapResult 3 frames: 3 ok, 0 failed; serial, 0.0 s>
    """
    mode = _check_options(client, n_workers, max_in_flight, progress)
    files = list(files)
    t0 = time.perf_counter()
    with _progress(len(files), bool(progress), desc) as bar:
        if mode == "serial":
            results, errors = _serial(files, kind, payload, bar)
        elif mode == "client":
            results, errors = _distributed(files, kind, payload, client, max_in_flight, bar)
        else:
            from distributed import Client
            with local_cluster(n_workers) as cluster, Client(cluster) as own:
                results, errors = _distributed(files, kind, payload, own, max_in_flight, bar)
    return MapResult(files, results, _errors_frame(errors), time.perf_counter() - t0, mode)


#: Environment of the worker processes of :func:`local_cluster`, set before they start.
#: glibc keeps the memory of freed frames for the next one instead of returning it to the
#: system (dask's default ``MALLOC_TRIM_THRESHOLD_=65536`` made each frame re-fault ~18,000
#: pages: measured 25-65% slower on 2 cores; the price is 0-60 MB more peak RSS per worker,
#: see benchmarks/README.md; use a plain ``distributed.LocalCluster`` for the smallest one).
WORKER_ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": 1 << 30, "MALLOC_TRIM_THRESHOLD_": 1 << 30}


def local_cluster(n_workers=None, **kwargs):
    """A ``distributed.LocalCluster`` set up for frame jobs, as ``client='processes'`` uses.

    Single-threaded worker processes (sep holds the GIL; ztfimg's compiled kernels
    single-threaded too, ``ZTFIMG_NUM_THREADS=1``, as dask sets ``OMP_NUM_THREADS=1``), on
    loopback, the
    scheduler's HTTP server on a free port, and :data:`WORKER_ALLOCATOR` in the workers'
    environment.  Keep one open to run many :meth:`ImageCollection.map` calls without
    starting workers each time.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default one per core).
    **kwargs
        Passed to ``distributed.LocalCluster`` (they override the settings above).

    Returns
    -------
    distributed.LocalCluster
        Use it as a context manager, with a ``distributed.Client``.

    Raises
    ------
    InvalidParameterError
        ``n_workers`` is not a positive integer.

    Examples
    --------
    >>> from distributed import Client                                 # doctest: +SKIP
    >>> with local_cluster(2) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     res = col.map(job, client=client)
    ...     zp = col.calibrate("ps1", client=client)
    """
    import dask
    from distributed import LocalCluster
    n_workers = _count(n_workers, "n_workers") or (os.cpu_count() or 1)
    options = dict(n_workers=n_workers, threads_per_worker=1, processes=True,
                   host="127.0.0.1", dashboard_address="127.0.0.1:0",
                   env={"ZTFIMG_NUM_THREADS": "1"})
    options.update(kwargs)
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.update(WORKER_ALLOCATOR)
    saved = {k: os.environ.get(k) for k in environ}
    try:
        # the nanny prefers this process's environment to its configuration: set both
        os.environ.update({k: str(v) for k, v in WORKER_ALLOCATOR.items()})
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            return LocalCluster(**options)
    finally:
        # restored: the nanny writes the pre-spawn variables here before spawning
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
