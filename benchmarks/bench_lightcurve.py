"""Forced-photometry light curves of many stars through many full-size frames.

A series of full-size simulated quadrants (3080x3072, ``ztfimg.simseries``: drifting
pointing, changing seeing, sky and zero point; written with their masks by two processes to
a temporary directory, or reused with ``--keep``) is measured at 1000 fixed sky positions
(3 apertures r = 2, 3, 5 px, 10-15 px annulus) by ``ztfimg.lightcurves.forced_photometry``
through an ``ImageCollection``:

* ``serial``: ``client=None`` in this process (one core: ``ZTFIMG_NUM_THREADS=1``);
* ``cluster``: an existing 2-worker ``ztfimg.collection.local_cluster`` (what
  ``client='processes'`` starts), warmed up: the steady state of a long run;
* ``processes``: ``client='processes', n_workers=2``, the cluster's start-up included.

Against it, the same work by hand (no collection, no LightCurves): a loop that opens each
frame and calls ``img.aperture_photometry(ra, dec, radius=[2, 3, 5], coords='sky',
bkgann=(10, 15))`` once, and the cost of that one call on an already loaded frame (its
background computed). Orchestration overhead = forced serial / hand loop - 1, and, robust
to a shared machine's drifting load, the paired per-frame comparison of the hand call and
the forced job (``measure_frame``) timed back to back on each frame, plus the cost of
assembling the LightCurves. Per star per frame = wall time / (frames x stars). The load average is printed at the start and end
(the machine is shared).

    python3 benchmarks/bench_lightcurve.py [--frames 32] [--stars 1000] [--repeat 3] [--keep DIR]

About 5 minutes on 2 cores (1 to write the 32 frames, ~1.8 GB; reused with --keep).
"""

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time

os.environ.setdefault("ZTFIMG_NUM_THREADS", "1")    # the serial baseline is one core

import numpy as np  # noqa: E402

SEED = 12
RADII = [2.0, 3.0, 5.0]
BKGANN = (10.0, 15.0)


def _write_part(args):
    directory, n, indices = args
    from ztfimg import simseries
    simseries.simulate_series(directory, n_frames=n, shape=(3080, 3072), seed=SEED,
                              indices=indices)
    return len(indices)


def make_series(directory, n):
    """The n-frame full-size series (missing frames written by 2 processes)."""
    from ztfimg import simseries
    truth = simseries.simulate_series(directory, n_frames=n, shape=(3080, 3072), seed=SEED,
                                      indices=[])
    todo = [i for i, f in enumerate(truth.files)
            if not (os.path.exists(f) and os.path.exists(truth.maskfiles[i]))]
    if todo:
        with mp.get_context("spawn").Pool(2) as pool:
            pool.map(_write_part, [(directory, n, todo[k::2]) for k in range(2)])
    return truth


def positions(truth, n):
    """n seeded sky positions inside the (drifted) frames."""
    from ztfimg import ScienceImage
    rng = np.random.default_rng(SEED)
    img = ScienceImage.from_filename(truth.files[0])
    ny, nx = img.shape
    return img.pixels_to_coords(rng.uniform(60, nx - 60, n), rng.uniform(60, ny - 60, n))


def loadavg():
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def by_hand(files, ra, dec):
    """The same measurements without the orchestration: open, one call, keep the table."""
    from ztfimg import ScienceImage
    out = []
    for f in files:
        img = ScienceImage.from_filename(f)
        out.append(img.aperture_photometry(ra, dec, radius=RADII, coords="sky", bkgann=BKGANN))
    return out


def paired(files, ra, dec, rounds=2):
    """Per frame, the hand call and the forced-photometry job timed back to back (order
    alternating), each on a freshly opened frame: (hand seconds, job seconds) lists. Paired
    differences cancel most of a shared machine's drifting load."""
    from ztfimg import ScienceImage
    from ztfimg.lightcurves.forced import measure_frame
    hand, job = [], []
    for r in range(rounds):
        for k, f in enumerate(files):
            for which in ((0, 1) if (k + r) % 2 == 0 else (1, 0)):
                t0 = time.perf_counter()
                img = ScienceImage.from_filename(f)
                if which == 0:
                    img.aperture_photometry(ra, dec, radius=RADII, coords="sky", bkgann=BKGANN)
                else:
                    measure_frame(img, ra, dec, RADII, BKGANN)
                (hand if which == 0 else job).append(time.perf_counter() - t0)
    return np.array(hand), np.array(job)


def one_call(path, ra, dec, repeat=7):
    """Seconds of one aperture_photometry call on a loaded frame (background computed)."""
    from ztfimg import ScienceImage
    img = ScienceImage.from_filename(path)
    img.aperture_photometry(ra, dec, radius=RADII, coords="sky", bkgann=BKGANN)   # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        img.aperture_photometry(ra, dec, radius=RADII, coords="sky", bkgann=BKGANN)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def load_and_background(path, repeat=5):
    """Seconds to open a frame, read its pixels and mask and compute its background."""
    from ztfimg import ScienceImage
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        img = ScienceImage.from_filename(path)
        img.get_background()
        img.dataclean  # noqa: B018 - the compute array the apertures use
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--stars", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5, help="rounds of each mode")
    ap.add_argument("--keep", help="directory for the frames (kept; reused when present)")
    args = ap.parse_args(argv)
    import pandas as pd
    from distributed import Client

    from ztfimg import ImageCollection, ScienceImage
    from ztfimg.collection import local_cluster
    from ztfimg.lightcurves import forced_photometry
    from ztfimg.lightcurves.forced import assemble, measure_frame

    directory = args.keep or tempfile.mkdtemp(prefix="ztfimg-bench-lightcurve-")
    print(f"load average at start: {loadavg()}  (2 cores: 2.0 = both busy)")
    t0 = time.perf_counter()
    truth = make_series(directory, args.frames)
    print(f"{len(truth.files)} full-size frames in {directory} "
          f"({time.perf_counter() - t0:.0f} s to write)")
    ra, dec = positions(truth, args.stars)
    col = ImageCollection.from_files(truth.files)
    n, ns = len(col), len(ra)
    kw = dict(radius=RADII, bkgann=BKGANN, progress=False)

    t_call = one_call(truth.files[0], ra, dec)
    t_load = load_and_background(truth.files[0])
    print(f"one aperture_photometry call ({ns} stars x {len(RADII)} radii, sky positions) on "
          f"a loaded frame: {t_call * 1e3:.1f} ms = {t_call / ns * 1e6:.1f} us per star; "
          f"opening + background + compute array: {t_load:.2f} s a frame")

    hand, job = paired(truth.files, ra, dec)
    ratio = job / hand - 1
    print(f"paired per frame ({len(hand)} pairs): hand {np.median(hand) * 1e3:.0f} ms, "
          f"forced job {np.median(job) * 1e3:.0f} ms; job/hand - 1: median "
          f"{np.median(ratio) * 100:+.1f} %, mean {np.mean(ratio) * 100:+.1f} % "
          f"(+- {np.std(ratio) / np.sqrt(len(ratio)) * 100:.1f} %); extra "
          f"{np.median(job - hand) * 1e3:+.1f} ms a frame (load {loadavg()})", flush=True)

    rows = {"hand loop": [], "serial": [], "cluster": [], "processes": []}
    lc = None
    with local_cluster(2) as cluster, Client(cluster) as client:
        forced_photometry(ImageCollection.from_files(truth.files[:2]), ra, dec, client=client,
                          **kw)                                     # warm the workers
        for r in range(args.repeat):
            t0 = time.perf_counter()
            by_hand(truth.files, ra, dec)
            rows["hand loop"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            lc = forced_photometry(col, ra, dec, **kw)
            rows["serial"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            par = forced_photometry(col, ra, dec, client=client, **kw)
            rows["cluster"].append(time.perf_counter() - t0)
            assert par.equals(lc), "the cluster and the serial run differ"
            print(f"  round {r + 1}: hand {rows['hand loop'][-1]:.1f} s, serial "
                  f"{rows['serial'][-1]:.1f} s, cluster {rows['cluster'][-1]:.1f} s "
                  f"(load {loadavg()})", flush=True)
    t0 = time.perf_counter()
    forced_photometry(col, ra, dec, client="processes", n_workers=2, **kw)
    rows["processes"].append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    lc.to_dataframe()
    t_long = time.perf_counter() - t0
    results = [measure_frame(ScienceImage.from_filename(f), ra, dec, RADII, BKGANN)
               for f in truth.files[:4]] * (n // 4)
    t0 = time.perf_counter()
    assemble(results, pd.DataFrame(columns=["file", "exception", "message"]), lc.stars,
             np.array(RADII), BKGANN, "aperture", {"max_seeing": 4.0})
    t_assemble = time.perf_counter() - t0
    print(f"\n{lc}\n")
    print(f"| mode ({n} frames x {ns} stars x {len(RADII)} apertures) | wall median (best) | "
          f"frames/s (best) | per star per frame (best) |")
    print("|---|---|---|---|")
    med = {k: float(np.median(v)) for k, v in rows.items() if v}
    best = {k: float(np.min(v)) for k, v in rows.items() if v}
    for k, v in med.items():
        b = best[k]
        print(f"| {k} | {v:.1f} s ({b:.1f} s) | {n / v:.2f} ({n / b:.2f}) | "
              f"{v / (n * ns) * 1e6:.0f} us ({b / (n * ns) * 1e6:.0f} us) |")
    over = med["serial"] / med["hand loop"] - 1
    pairs = [s / h - 1 for s, h in zip(rows["serial"], rows["hand loop"])]
    print(f"\norchestration overhead (forced serial / hand loop - 1): median {over * 100:+.1f} %, "
          f"best-of {(best['serial'] / best['hand loop'] - 1) * 100:+.1f} %, per round "
          + ", ".join(f"{p * 100:+.1f} %" for p in pairs))
    print(f"speed-up of the 2-worker cluster over serial: median "
          f"{med['serial'] / med['cluster']:.2f}x, best-of {best['serial'] / best['cluster']:.2f}x")
    print(f"one call on a loaded frame: {t_call / ns * 1e6:.1f} us per star; a whole frame "
          f"(open, background, call): {med['serial'] / n:.2f} s, of which the call is "
          f"{t_call / (med['serial'] / n) * 100:.0f} %")
    print(f"assembling the LightCurves from {n} frame results: {t_assemble * 1e3:.0f} ms "
          f"({t_assemble / n * 1e3:.1f} ms a frame); long-form table of "
          f"{np.prod(lc.shape):,} rows: {t_long:.2f} s")
    print(f"load average at end: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
