"""Exact-overlap aperture sums: ztfimg.overlap (the C kernel) vs bare sep vs photutils 3.1.

On the real quadrant (background-subtracted float32 data, the detection mask), at 1e3,
1e4 and 1e5 seeded in-frame positions: a circle of radius 5 px and an annulus 10-15 px,
exact pixel overlap, masked pixels left out. Timed, interleaved round by round:

* ``ztfimg.overlap.aperture_sums`` (circle and annulus in one pass; the same numbers as
  ``circle_sums`` + ``annulus_sums``) with 1 and 2 threads;
* bare ``sep.sum_circle`` + ``sep.sum_circann`` (``subpix=0``, ``mask=``; one thread,
  sep holds the GIL);
* photutils ``AperturePhotometry(data, [CircularAperture, CircularAnnulus], mask=...,
  n_threads=1 or 2)`` (``.flux`` and ``.area``), in a Python 3.12 virtual environment run
  as a persistent subprocess fed the same arrays through ``.npy`` files, timed inside it.

Reports min and median of ``--repeat`` rounds and the ratios, and checks the results
(the kernel vs sep's sums with the masked pixels zeroed, and vs photutils' flux and area).
With ``--compile`` it also measures, in fresh processes, the import and the first call
(the library load).

Make the photutils environment once (outside the repository)::

    /root/.pyenv/versions/3.12.1/bin/python -m venv /work/venv-photutils
    /work/venv-photutils/bin/pip install "photutils==3.1.*"

Run::

    python benchmarks/bench_aperture.py [--repeat 7] [--compile]
        [--photutils-python /work/venv-photutils/bin/python]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import sep
from _realquadrant import bare_arrays

from ztfimg import overlap

RADIUS, ANNULUS = 5.0, (10.0, 15.0)
SIZES = (1000, 10000, 100000)
WORK = os.path.join(tempfile.gettempdir(), "ztfimg_bench_aperture")

CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import photutils
    from photutils.aperture import AperturePhotometry, CircularAnnulus, CircularAperture
    work, r, rin, rout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    data = np.load(work + "/data.npy")
    mask = np.load(work + "/mask.npy")
    print(json.dumps({"version": photutils.__version__}), flush=True)
    for line in sys.stdin:
        n, nt, save = line.split()
        pos = np.load(f"{work}/pos{n}.npy")
        t0 = time.perf_counter()
        ph = AperturePhotometry(data, [CircularAperture(pos, r), CircularAnnulus(pos, rin, rout)],
                                mask=mask, n_threads=int(nt))
        flux, area = ph.flux, ph.area
        dt = time.perf_counter() - t0
        if save == "1":
            np.save(f"{work}/pu_flux{n}.npy", np.asarray(flux))
            np.save(f"{work}/pu_area{n}.npy", np.asarray(area.value))
        print(json.dumps({"t": dt}), flush=True)
""")


def load():
    q = bare_arrays()
    return q.sub, q.det


def positions(n, shape, seed=12345):
    rng = np.random.default_rng(seed + n)
    ny, nx = shape
    return np.column_stack([rng.uniform(0, nx - 1, n), rng.uniform(0, ny - 1, n)])


def run_kernel(sub, det, x, y, nt):
    (c,), a = overlap.aperture_sums(sub, x, y, RADIUS, ANNULUS, mask=det, n_threads=nt)
    return c, a


def run_sep(sub, det, x, y):
    c = sep.sum_circle(sub, x, y, RADIUS, mask=det, subpix=0)
    a = sep.sum_circann(sub, x, y, *ANNULUS, mask=det, subpix=0)
    return c, a


def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def compile_times():
    """Import of ztfimg.overlap and its first call (the C library's load), fresh processes."""
    code = ("import time, numpy as np; t0 = time.perf_counter(); "
            "from ztfimg import overlap; t1 = time.perf_counter(); "
            "overlap.circle_sums(np.zeros((8, 8), np.float32), [2.0], [2.0], 1.0); "
            "print(t1 - t0, time.perf_counter() - t1)")
    out = {}
    for label in ("first process", "second process"):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        out[label] = [float(v) for v in res.stdout.split()]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--pause", type=float, default=0.3,
                    help="seconds of idle between timed calls (default 0.3): the previous "
                         "method's worker threads (photutils' pool in the other process) "
                         "spin-wait a while after their work and would otherwise steal a "
                         "core from the next method")
    ap.add_argument("--compile", action="store_true", help="also measure import/first call")
    ap.add_argument("--photutils-python", default="/work/venv-photutils/bin/python")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = ap.parse_args()

    if args.compile:
        for k, v in compile_times().items():
            print(f"kernel import, first call (s), {k}: {v}")

    os.makedirs(WORK, exist_ok=True)
    sub, det = load()
    np.save(f"{WORK}/data.npy", sub)
    np.save(f"{WORK}/mask.npy", det)
    pos = {}
    for n in args.sizes:
        pos[n] = positions(n, sub.shape)
        np.save(f"{WORK}/pos{n}.npy", pos[n])
    overlap.circle_sums(sub[:8, :8], [2.0], [2.0], 1.0)  # load the library outside the timings

    child = None
    if os.path.exists(args.photutils_python):
        child = subprocess.Popen([args.photutils_python, "-c", CHILD, WORK, str(RADIUS),
                                  str(ANNULUS[0]), str(ANNULUS[1])], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        pu_version = json.loads(child.stdout.readline())["version"]
    else:
        pu_version = None
        print(f"no photutils environment at {args.photutils_python}: photutils skipped")

    def photutils(n, nt, save=False):
        child.stdin.write(f"{n} {nt} {int(save)}\n")
        child.stdin.flush()
        return json.loads(child.stdout.readline())["t"]

    methods = ["kernel 1 thread", "kernel 2 threads", "sep"]
    if child:
        methods += ["photutils 1 thread", "photutils 2 threads"]
    times = {(n, m): [] for n in args.sizes for m in methods}
    for n in args.sizes:  # warm-up round (first touches, photutils results saved)
        x, y = pos[n][:, 0].copy(), pos[n][:, 1].copy()
        run_kernel(sub, det, x, y, 2)
        run_sep(sub, det, x, y)
        if child:
            photutils(n, 1, save=True)
    load_before = os.getloadavg()
    def pause():
        time.sleep(args.pause)

    for _ in range(args.repeat):
        for n in args.sizes:
            x, y = pos[n][:, 0].copy(), pos[n][:, 1].copy()
            pause()
            times[n, "kernel 1 thread"].append(timed(run_kernel, sub, det, x, y, 1))
            if child:
                pause()
                times[n, "photutils 1 thread"].append(photutils(n, 1))
            pause()
            times[n, "kernel 2 threads"].append(timed(run_kernel, sub, det, x, y, 2))
            pause()
            times[n, "sep"].append(timed(run_sep, sub, det, x, y))
            if child:
                pause()
                times[n, "photutils 2 threads"].append(photutils(n, 2))
    load_after = os.getloadavg()
    if child:
        child.stdin.close()
        child.wait()

    print(f"\nreal quadrant {sub.shape[1]}x{sub.shape[0]} float32, detection mask "
          f"({det.mean() * 100:.3f}% masked); circle r={RADIUS:g} px + annulus "
          f"{ANNULUS[0]:g}-{ANNULUS[1]:g} px, exact overlap; {args.repeat} interleaved rounds, {args.pause:g} s idle between calls; "
          f"photutils {pu_version}, sep {sep.__version__}; load average before "
          f"{load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"{'positions':>9} | " + " | ".join(f"{m:>19}" for m in methods)
          + " | ratios (median): pu2/k2, pu1/k1, sep/k2")
    for n in args.sizes:
        cells = []
        for m in methods:
            t = times[n, m]
            cells.append(f"{min(t) * 1e3:8.2f} /{statistics.median(t) * 1e3:8.2f}")
        med = {m: statistics.median(times[n, m]) for m in methods}
        ratios = ""
        if child:
            ratios = (f"{med['photutils 2 threads'] / med['kernel 2 threads']:.2f}, "
                      f"{med['photutils 1 thread'] / med['kernel 1 thread']:.2f}, ")
        ratios += f"{med['sep'] / med['kernel 2 threads']:.2f}"
        print(f"{n:>9} | " + " | ".join(f"{c:>19}" for c in cells) + " | " + ratios)
    print("(ms: min / median)")

    # ------------------------------------------------------------------- equality
    print("\nequality:")
    zeroed = np.where(det, np.float32(0), sub)
    ones = np.ones(sub.shape, np.float32)
    for n in args.sizes:
        x, y = pos[n][:, 0].copy(), pos[n][:, 1].copy()
        c, a = run_kernel(sub, det, x, y, 2)
        c1, a1 = run_kernel(sub, det, x, y, 1)
        same_threads = all(np.array_equal(u, v) for u, v in zip(c[:3] + a[:3], c1[:3] + a1[:3]))
        s_sep = sep.sum_circle(zeroed, x, y, RADIUS, subpix=0)[0]
        s_ann = sep.sum_circann(zeroed, x, y, *ANNULUS, subpix=0)[0]
        area_sep = sep.sum_circle(ones, x, y, RADIUS, subpix=0)[0]
        # sums of background-subtracted pixels can be ~0: scale by the sum of |pixel| * weight
        abs_c = sep.sum_circle(np.abs(zeroed), x, y, RADIUS, subpix=0)[0]
        abs_a = sep.sum_circann(np.abs(zeroed), x, y, *ANNULUS, subpix=0)[0]

        def rel(u, v, scale=None):
            scale = np.abs(v) if scale is None else scale
            return float(np.max(np.abs(u - v) / np.maximum(scale, 1e-300)))
        line = (f"  {n:>6}: vs sep (masked pixels zeroed) sum {rel(c.sum, s_sep, abs_c):.1e}, "
                f"annulus {rel(a.sum, s_ann, abs_a):.1e} (relative to sum |pixel| x weight), "
                f"area {rel(c.area, area_sep):.1e}; 1 vs 2 threads bit-identical: "
                f"{same_threads}")
        if child:
            pf = np.load(f"{WORK}/pu_flux{n}.npy")
            pa = np.load(f"{WORK}/pu_area{n}.npy")
            line += (f"; vs photutils flux {rel(c.sum, pf[:, 0], abs_c):.1e} / "
                     f"{rel(a.sum, pf[:, 1], abs_a):.1e}, unmasked area "
                     f"{rel(c.area - c.masked_area, pa[:, 0]):.1e} / "
                     f"{rel(a.area - a.masked_area, pa[:, 1]):.1e}")
        print(line)


if __name__ == "__main__":
    main()
