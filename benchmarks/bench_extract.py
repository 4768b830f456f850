"""Source extraction on the real quadrant: ztfimg's level-1 ``extract_sources`` vs bare sep.

The same background-subtracted float32 quadrant, detection mask and global rms for all
three, interleaved round by round:

* bare ``sep.extract`` (5 sigma), without and with the segmentation map;
* ``ztfimg.sources.extract_sources`` (5 sigma): the segmentation map, the per-source OR of
  the ZTF mask bits through it (``maskbits``), the flags and the DataFrame.

Prints min and median of ``--repeat`` rounds (ms) and the ratios. Run::

    python benchmarks/bench_extract.py [--repeat 9]
"""

import argparse
import os
import statistics
import time

import sep
from _realquadrant import bare_arrays

from ztfimg.sources import extract_sources


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    sep.set_extract_pixstack(1_000_000)
    q = bare_arrays()
    sub, det, mask, rms = q.sub, q.det, q.mask, q.rms
    cases = {
        "bare sep.extract": lambda: sep.extract(sub, 5.0, err=rms, mask=det),
        "bare sep.extract + segmentation map": lambda: sep.extract(
            sub, 5.0, err=rms, mask=det, segmentation_map=True),
        "ztfimg extract_sources (maskbits, flags, table)": lambda: extract_sources(
            sub, thresh=5.0, err=rms, mask=det, bitmask=mask, gain=6.0),
    }
    counts = {}
    for k, f in cases.items():  # warm-up round: the source counts
        out = f()
        counts[k] = len(out[0] if isinstance(out, tuple) else out)
    times = {k: [] for k in cases}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for k, f in cases.items():
            t0 = time.perf_counter()
            f()
            times[k].append((time.perf_counter() - t0) * 1e3)
    print(f"real quadrant, 5 sigma, {args.repeat} interleaved rounds; load average "
          f"{load:.2f} -> {os.getloadavg()[0]:.2f} (ms, min / median)")
    ref = statistics.median(times["bare sep.extract + segmentation map"])
    for k, v in times.items():
        print(f"  {k:48s} {min(v):7.1f} / {statistics.median(v):7.1f}   "
              f"{counts[k]} sources   x{statistics.median(v) / ref:.2f} of sep with its map")


if __name__ == "__main__":
    main()
