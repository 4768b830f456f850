"""The numpy versions of the stack and calibration loops (``ztfimg._npkernels``, used when
no C compiler built the kernel) against the compiled kernel on 1 and 2 threads.

Cases: ``combine`` of a 20 x 200 000 cube (1% missing values) as a median and as a
3-sigma-clipped mean (5 iterations), and ``bilinear`` resampling of a 512 x 512 tile from a
600 x 600 section. Rounds interleave the three routes; min and median in ms, and the
ratios numpy / C. The outputs are checked equal bit for bit. Needs the compiled kernel.
Run::

    python benchmarks/bench_npkernels.py [--repeat 9]
"""

import argparse
import os
import statistics
import time

import numpy as np

from ztfimg import _ckernel, _npkernels


def cases():
    rng = np.random.default_rng(1)
    cube = rng.normal(100, 5, (20, 200_000)).astype(np.float32)
    cube[rng.random(cube.shape) < 0.01] = np.nan
    w, ex = np.ones(20), rng.random((20, 2))
    sec = rng.normal(100, 5, (600, 600)).astype(np.float32)
    yy, xx = np.mgrid[0:512, 0:512].astype(float)
    x, y = xx + 40.3, yy + 37.7
    out = {}
    for label, med, sig in (("combine median, 20 x 2e5", True, 0.0),
                            ("combine 3-sigma mean, 20 x 2e5", False, 3.0)):
        out[label] = (lambda nt, med=med, sig=sig: _ckernel.combine(cube, w, ex, med, sig, 5,
                                                                   n_threads=nt),
                      lambda med=med, sig=sig: _npkernels.combine(cube, w, ex, med, sig, 5))
    out["bilinear 512 x 512"] = (
        lambda nt: _ckernel.bilinear(sec, x, y, 0, 0, 3080, 3072, 1e-6, n_threads=nt),
        lambda: _npkernels.bilinear(sec, x, y, 0, 0, 3080, 3072, 1e-6))
    return out


def same(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    return all(np.array_equal(p, q, equal_nan=True) for p, q in zip(a, b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    if not _ckernel.HAVE_KERNEL:
        raise SystemExit("the compiled kernel is not built: nothing to compare with")
    load = os.getloadavg()[0]
    print(f"{args.repeat} interleaved rounds; load average {load:.2f} (ms, min / median)")
    for label, (c, p) in cases().items():
        routes = {"numpy": p, "C 1 thread": lambda c=c: c(1), "C 2 threads": lambda c=c: c(2)}
        for f in routes.values():
            f()
        times = {k: [] for k in routes}
        for _ in range(args.repeat):
            for k, f in routes.items():
                t = time.perf_counter()
                f()
                times[k].append(1e3 * (time.perf_counter() - t))
        med = {k: statistics.median(v) for k, v in times.items()}
        cols = "   ".join(f"{k} {min(v):7.1f} / {med[k]:7.1f}" for k, v in times.items())
        print(f"  {label:32s} {cols}   numpy/C1 {med['numpy'] / med['C 1 thread']:.1f}x, "
              f"numpy/C2 {med['numpy'] / med['C 2 threads']:.1f}x, "
              f"bit-identical {same(p(), c(2))}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
