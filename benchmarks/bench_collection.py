"""Many frames: throughput, speed-up, worker memory and scheduler overhead of ImageCollection.

A series of full-size simulated quadrants (3080x3072, ``ztfimg.simseries``, written with
their masks to a temporary directory by two processes) is run through a realistic per-frame
job: open the frame, estimate its background, and measure 1000 forced apertures (r = 5 px,
10-15 px annulus) at fixed sky positions (``aperture_photometry(ra, dec, coords='sky')``),
returning the sums, errors and flags.  Modes, in interleaved rounds (the machine is shared):

* ``serial``: ``col.map(job)`` in this process (one core: ``ZTFIMG_NUM_THREADS=1``);
* ``ztfimg``: an existing ``ztfimg.collection.local_cluster(2)`` (what ``client='processes'``
  starts: single-threaded workers, the C kernel single-threaded, glibc keeping freed frames),
  warmed up; the steady state of a long run;
* ``dask``: an existing plain ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)``
  with dask's defaults, warmed up;
* ``processes``: ``col.map(job, client='processes', n_workers=2)``, the cluster's start-up and
  close included (once).

The machine's own ceiling is printed beside: the speed-up of two processes of a CPU-bound
Python loop over one. Per worker, the peak RSS (``VmHWM`` of ``/proc/self/status``, read *by
the workers themselves* through ``client.run``) after start-up, after the imports and after
the run, on a fresh cluster for the small and the big series (flat: the same peak for 32 and
128 frames), with the C kernel and with sep's aperture engine. Scheduler overhead: a no-op job
(the frame is opened: header and mask header) serially and on the cluster. The load average
is printed at the start and the end.

    python3 benchmarks/bench_collection.py [--frames 32] [--big 128] [--repeat 3] [--keep DIR]

About 8 minutes on 2 cores (2 of them writing the 128 frames, ~7 GB; reused with --keep).
"""

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time

# the serial baseline is one core: the kernels single-threaded, as in the workers
os.environ.setdefault("ZTFIMG_NUM_THREADS", "1")

import numpy as np  # noqa: E402

SEED = 11
N_POS = 1000
NIGHT = 44_800  # quadrants in one ZTF night


def forced_job(image, ra, dec):
    """The per-frame job: background, then 1000 forced apertures at sky positions."""
    image.get_background()
    ph = image.aperture_photometry(ra, dec, radius=5.0, bkgann=(10.0, 15.0), coords="sky")
    return ph[["sum", "sumerr", "aper_flag"]]


def forced_job_sep(image, ra, dec):
    """The same job with sep's aperture engine instead of the C kernel."""
    image.get_background()
    ph = image.aperture_photometry(ra, dec, radius=5.0, bkgann=(10.0, 15.0), coords="sky",
                                   engine="sep")
    return ph[["sum", "sumerr", "aper_flag"]]


def imported_rss_mb():
    """Import what a frame job imports (ztfimg, its frames, pandas, astropy.wcs), then
    (VmHWM, VmRSS) in MB: the worker's floor before any frame."""
    import astropy.wcs  # noqa: F401
    import pandas  # noqa: F401

    import ztfimg.collection  # noqa: F401
    import ztfimg.image  # noqa: F401
    return peak_rss_mb()


def peak_rss_mb():
    """(VmHWM, VmRSS) of this process in MB (run on each worker by client.run)."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":")[0]
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(line.split()[1]) / 1024.0
    return out.get("VmHWM", float("nan")), out.get("VmRSS", float("nan"))


def _write_part(args):
    directory, n, indices = args
    from ztfimg import simseries
    simseries.simulate_series(directory, n_frames=n, shape=(3080, 3072), seed=SEED,
                              indices=indices)
    return len(indices)


def make_series(directory, n):
    """The n-frame series (written by 2 processes), returned as its truth."""
    from ztfimg import simseries
    truth = simseries.simulate_series(directory, n_frames=n, shape=(3080, 3072), seed=SEED,
                                      indices=[])
    todo = [i for i, f in enumerate(truth.files) if not (os.path.exists(f) and os.path.exists(
        truth.maskfiles[i]))]
    if todo:
        parts = [(directory, n, todo[k::2]) for k in range(2)]
        with mp.get_context("spawn").Pool(2) as pool:
            pool.map(_write_part, parts)
    return truth


def positions(truth, n=N_POS):
    """n seeded sky positions inside every (drifted) frame of the series."""
    from ztfimg import ScienceImage
    rng = np.random.default_rng(SEED)
    img = ScienceImage.from_filename(truth.files[0])
    ny, nx = img.shape
    return img.pixels_to_coords(rng.uniform(60, nx - 60, n), rng.uniform(60, ny - 60, n))


def loadavg():
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def timed(col, *args, **kwargs):
    t0 = time.perf_counter()
    res = col.map(*args, progress=False, **kwargs)
    dt = time.perf_counter() - t0
    if res.n_failed:
        print(res.errors[["file", "exception", "message"]].to_string(), file=sys.stderr)
    return res, dt


def _cluster(flavour):
    """'ztfimg': ztfimg.collection.local_cluster(2) (what client='processes' starts);
    'dask': a plain distributed.LocalCluster(2, threads_per_worker=1) with dask's defaults."""
    from distributed import LocalCluster

    from ztfimg.collection import local_cluster
    if flavour == "ztfimg":
        return local_cluster(2)
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                        dashboard_address=None, host="127.0.0.1")


def fresh_cluster_rss(col, ra, dec, job=forced_job, flavour="ztfimg"):
    """Peak RSS per worker (MB): after start-up, after the imports, after the run."""
    from distributed import Client
    with _cluster(flavour) as cluster, Client(cluster) as client:
        started = client.run(peak_rss_mb)
        imported = client.run(imported_rss_mb)
        res, dt = timed(col, job, ra, dec, client=client)
        after = client.run(peak_rss_mb)
    return {w: (started[w][0], imported[w][0], after[w][0], after[w][1]) for w in after}, dt


def _spin(n):
    t0 = time.perf_counter()
    s = 0
    for i in range(n):
        s += i * i
    return time.perf_counter() - t0


def machine_scaling(n=4_000_000, repeat=3):
    """Speed-up of two copies of a CPU-bound Python loop in two processes over one (the
    machine's own ceiling for 2 workers; a shared VM gives less than 2)."""
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [1000, 1000])
        out = []
        for _ in range(repeat):
            one = _spin(n)
            t0 = time.perf_counter()
            pool.map(_spin, [n, n])
            out.append(2 * one / (time.perf_counter() - t0))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=32, help="frames of the throughput runs")
    ap.add_argument("--big", type=int, default=128, help="frames of the memory-flatness run")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the throughput runs")
    ap.add_argument("--keep", help="directory for the frames (kept; reused when present)")
    args = ap.parse_args(argv)
    from distributed import Client

    from ztfimg import ImageCollection
    from ztfimg.collection.jobs import noop

    directory = args.keep or tempfile.mkdtemp(prefix="ztfimg-bench-collection-")
    print(f"load average at start: {loadavg()}  (2 cores: 2.0 = both busy)")
    t0 = time.perf_counter()
    truth = make_series(directory, max(args.frames, args.big))
    print(f"{len(truth.files)} full-size frames in {directory} "
          f"({time.perf_counter() - t0:.0f} s to write)")
    scale0 = machine_scaling()
    print(f"machine: 2 processes of a CPU-bound loop run {', '.join(f'{v:.2f}' for v in scale0)}x "
          f"faster than 1 (load {loadavg()})")
    ra, dec = positions(truth)
    big = ImageCollection.from_files(truth.files[:args.big])
    col = ImageCollection.from_files(truth.files[:args.frames])
    n = len(col)

    times = {k: [] for k in ("serial", "processes", "ztfimg", "dask")}
    results = {}
    col[:1].map(forced_job, ra, dec, progress=False)   # imports and the kernel's load
    with _cluster("ztfimg") as c1, Client(c1) as zc, _cluster("dask") as c2, Client(c2) as dc:
        for client in (zc, dc):
            col[:4].map(forced_job, ra, dec, client=client, progress=False)   # warm up
        for _ in range(args.repeat):       # interleaved rounds: the machine is shared
            results["serial"], dt = timed(col, forced_job, ra, dec)
            times["serial"].append(dt)
            results["ztfimg"], dt = timed(col, forced_job, ra, dec, client=zc)
            times["ztfimg"].append(dt)
            results["dask"], dt = timed(col, forced_job, ra, dec, client=dc)
            times["dask"].append(dt)
        _, t_noop_serial = timed(col, noop)
        _, t_noop_clus = timed(col, noop, client=zc)
        _, t_noop_clus8 = timed(col, noop, client=zc, max_in_flight=8)
    # client="processes": the cluster's start-up and close included
    results["processes"], dt = timed(col, forced_job, ra, dec, client="processes", n_workers=2)
    times["processes"].append(dt)
    same = all(results["serial"].results[i].equals(results[m].results[i])
               for m in ("processes", "ztfimg", "dask") for i in range(n))

    # memory: fresh clusters, small and big series
    memory = {}
    for label, job, flavour in (("C kernel (default), ztfimg cluster", forced_job, "ztfimg"),
                                ("C kernel (default), dask defaults", forced_job, "dask"),
                                ("sep engine, ztfimg cluster", forced_job_sep, "ztfimg"),
                                ("sep engine, dask defaults", forced_job_sep, "dask")):
        for c in (col, big):
            memory[label, len(c)] = fresh_cluster_rss(c, ra, dec, job, flavour)
    scale1 = machine_scaling()

    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"\nper-frame job: background + {N_POS} forced apertures (r=5, annulus 10-15) at sky "
          f"positions; {n} frames of 3080x3072; {args.repeat} interleaved rounds")
    print(f"results identical in all modes: {same}")
    print("| mode | wall time (median; min) | frames/s (median) | speed-up vs serial "
          "(median; best) |")
    print("|---|---|---|---|")
    labels = {"serial": "serial (this process, 1 thread)",
              "ztfimg": "2 workers: `local_cluster(2)` (= client='processes'), warm",
              "dask": "2 workers: plain `LocalCluster(2, threads_per_worker=1)`, warm",
              "processes": "client='processes', n_workers=2 (start-up and close included)"}
    for k in ("serial", "ztfimg", "dask", "processes"):
        t = times[k]
        print(f"| {labels[k]} | {med[k]:.2f} s; {min(t):.2f} s | {n / med[k]:.2f} | "
              f"{med['serial'] / med[k]:.2f}x; {min(times['serial']) / min(t):.2f}x |")
    print("\npeak RSS per worker (VmHWM, MB), a fresh 2-worker cluster per pair of lines")
    print("| job, cluster | frames | after start-up | after imports | peak after the run | "
          "RSS at the end | frames/s |")
    print("|---|---|---|---|---|---|---|")
    for (label, nf), (rows, dt) in memory.items():
        for w, (s0, s1, s2, r) in sorted(rows.items()):
            print(f"| {label} | {nf} | {s0:.0f} | {s1:.0f} | {s2:.0f} | {r:.0f} | "
                  f"{nf / dt:.2f} |")
    per_serial, per_clus = t_noop_serial / n, t_noop_clus / n
    print(f"\nno-op job (opens the frame: header + mask header): serial {1e3 * per_serial:.1f} "
          f"ms/frame; 2-worker cluster {1e3 * per_clus:.1f} ms/frame of wall time "
          f"(max_in_flight=8: {1e3 * t_noop_clus8 / n:.1f}): scheduler overhead "
          f"~{1e3 * (2 * per_clus - per_serial):.1f} ms of worker time per frame")
    f2 = n / med["ztfimg"]
    per_core = f2 / 2
    print(f"\none ZTF night ({NIGHT} quadrants) of this job:")
    print(f"  2 cores: {NIGHT / f2 / 3600:.2f} h ({f2:.2f} frames/s)")
    print(f"  100 cores: {NIGHT / (100 * per_core) / 60:.1f} min at {per_core:.2f} frames/s per "
          f"core, if the storage delivers {100 * per_core * 54 / 1024:.1f} GB/s "
          f"(54 MB of sciimg + mskimg per frame)")
    print(f"machine at the end: CPU-bound scaling {', '.join(f'{v:.2f}' for v in scale1)}x; "
          f"load average {loadavg()}")
    if not args.keep:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
