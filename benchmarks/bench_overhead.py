"""Per-call cost of frame-level aperture photometry: ztfimg (both engines) vs bare sep.

On the real quadrant, ``ScienceImage.aperture_photometry(x, y, 5, bkgann=(10, 15))`` (exact
circle, centre-sampled annulus mean, flags, DataFrame) with ``engine="kernel"`` and
``engine="sep"``, against bare ``sep.sum_circle`` + ``sep.sum_circann`` on the same
compute array (no flags, no mask handling, no table). The frame is loaded and its
products made once, outside the timings, so what is left is the per-call cost; at 1 and
10 positions that is the fixed overhead. Rounds interleave the three routes; min and
median in ms. Run::

    python benchmarks/bench_overhead.py [--repeat 21] [--sizes 1 10 1000 10000]
"""

import argparse
import os
import statistics
import time

import numpy as np
import sep

from ztfimg import ScienceImage, datasets, overlap

RADIUS, ANNULUS = 5.0, (10.0, 15.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 1000, 10000])
    ap.add_argument("--pause", type=float, default=0.05,
                    help="idle seconds between calls")
    args = ap.parse_args()
    sci, msk = datasets.get_real_quadrant(offline=True, verify=False)
    img = ScienceImage(sci, msk)
    overlap.circle_sums(np.zeros((8, 8), np.float32), [2.0], [2.0], 1.0)  # load the library
    img.aperture_photometry([100.0], [100.0], RADIUS, bkgann=ANNULUS)  # frame products
    arr = np.ascontiguousarray(img._prepared("dataclean").data)
    rng = np.random.default_rng(1)

    def bare(x, y):
        sep.sum_circle(arr, x, y, RADIUS, subpix=0)
        sep.sum_circann(arr, x, y, *ANNULUS, subpix=1)

    routes = {
        "ztfimg kernel": lambda x, y: img.aperture_photometry(x, y, RADIUS, bkgann=ANNULUS,
                                                             engine="kernel"),
        "ztfimg sep": lambda x, y: img.aperture_photometry(x, y, RADIUS, bkgann=ANNULUS,
                                                           engine="sep"),
        "bare sep": bare,
    }
    load0 = os.getloadavg()[0]
    res = {}
    for n in args.sizes:
        x, y = rng.uniform(20, 3050, n), rng.uniform(20, 3060, n)
        for f in routes.values():
            f(x, y)
        times = {k: [] for k in routes}
        for _ in range(args.repeat):
            for name, f in routes.items():
                time.sleep(args.pause)
                t0 = time.perf_counter()
                f(x, y)
                times[name].append(time.perf_counter() - t0)
        res[n] = times
    load1 = os.getloadavg()[0]
    print(f"real quadrant, r={RADIUS:g} px + annulus {ANNULUS[0]:g}-{ANNULUS[1]:g} px, "
          f"{args.repeat} interleaved rounds; load average {load0:.2f} -> {load1:.2f}")
    print("positions | " + " | ".join(f"{k:>19s}" for k in routes) + " | kernel / bare sep (median)")
    for n, times in res.items():
        cells = [f"{1e3 * min(v):8.2f} / {1e3 * statistics.median(v):8.2f}"
                 for v in times.values()]
        ratio = statistics.median(times["ztfimg kernel"]) / statistics.median(times["bare sep"])
        print(f"{n:9d} | " + " | ".join(cells) + f" | {ratio:.2f}")
    print("(ms: min / median)")


if __name__ == "__main__":
    main()
