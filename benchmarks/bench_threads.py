"""Where the C kernels' helper threads run: placed on their own CPUs vs left to the scheduler.

``run_parallel`` in ``ztfimg/_kernel.c`` starts each helper thread on its own CPU of the
caller's affinity set (``ZTFIMG_SPREAD_THREADS=1``, the default) or lets the scheduler place
it (``ZTFIMG_SPREAD_THREADS=0``; the variable is read on every call, so both run in one
process, interleaved call by call). Three parts:

1. ``--host``: a bare pthread test compiled with ``gcc`` (no ztfimg): a 6 ms compute loop
   split over the calling thread and one helper, with and without the helper's affinity
   set to the other CPU; prints when each thread reached 1/4, 1/2 and all of its work. On
   a machine whose scheduler starts a thread beside its parent, the unplaced threads take
   turns on one CPU.
2. Aperture sums at 1e3 positions (real quadrant, r = 5 px + 10-15 px annulus, exact) on 1
   and 2 threads, after an idle pause of 0 to 0.3 s, placed vs unplaced.
3. The other users of the runner: the calibration combine (median of a 30 x 65536 cube)
   and the stack's bilinear resampling (512 x 512), placed vs unplaced.

Run::

    python benchmarks/bench_threads.py [--repeat 11] [--host]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import textwrap
import time

import numpy as np

from ztfimg import _ckernel, overlap

HOST_TEST = textwrap.dedent(r"""
    #define _GNU_SOURCE
    #include <pthread.h>
    #include <sched.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <time.h>
    #include <unistd.h>
    #define NS 64
    static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                              return t.tv_sec * 1e3 + t.tv_nsec * 1e-6; }
    typedef struct { double t0; double stamps[NS]; } arg_t;
    static void *work(void *p) {
        arg_t *a = p; volatile double x = 1.0;
        for (int s = 0; s < NS; s++) {
            for (int k = 0; k < 20000; k++) x = x * 1.0000001 + 1e-9;
            a->stamps[s] = now() - a->t0;
        }
        return NULL;
    }
    int main(int argc, char **argv) {
        int pin = atoi(argv[1]), reps = atoi(argv[2]); double pause = atof(argv[3]);
        for (int r = 0; r < reps; r++) {
            usleep((useconds_t)(pause * 1e6));
            arg_t a, b; pthread_t t; pthread_attr_t at; pthread_attr_init(&at);
            if (pin) { cpu_set_t cs; CPU_ZERO(&cs); CPU_SET(1 - sched_getcpu(), &cs);
                       pthread_attr_setaffinity_np(&at, sizeof cs, &cs); }
            a.t0 = b.t0 = now();
            pthread_create(&t, &at, work, &b); work(&a); pthread_join(t, NULL);
            printf("%.2f %.2f %.2f %.2f %.2f %.2f\n", a.stamps[15], a.stamps[31],
                   a.stamps[NS - 1], b.stamps[15], b.stamps[31], b.stamps[NS - 1]);
        }
        return 0;
    }
""")


def host_test(reps):
    if not shutil.which("gcc") or len(os.sched_getaffinity(0)) < 2:
        print("host test skipped (needs gcc and two CPUs)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "t.c"), os.path.join(tmp, "t")
        with open(src, "w") as fh:
            fh.write(HOST_TEST)
        subprocess.run(["gcc", "-O2", "-pthread", src, "-o", exe], check=True)
        print("\n1. bare pthreads, a 6 ms job split over 2 threads, 0.3 s idle before each "
              "call (ms: main thread at 1/4, 1/2, end | helper at 1/4, 1/2, end)")
        for pin, label in ((0, "left to the scheduler"), (1, "helper on the other CPU")):
            out = subprocess.run([exe, str(pin), str(reps), "0.3"], capture_output=True,
                                 text=True, check=True).stdout.split("\n")
            rows = [list(map(float, line.split())) for line in out if line.strip()]
            total = [max(r[2], r[5]) for r in rows]
            print(f"  {label}: whole call min {min(total):.2f} / median "
                  f"{statistics.median(total):.2f} ms")
            for r in rows[:4]:
                print("     " + " ".join(f"{v:6.2f}" for v in r[:3]) + " | "
                      + " ".join(f"{v:6.2f}" for v in r[3:]))


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def with_spread(flag, fn):
    os.environ["ZTFIMG_SPREAD_THREADS"] = "1" if flag else "0"
    try:
        return timed(fn)
    finally:
        os.environ.pop("ZTFIMG_SPREAD_THREADS", None)


def fmt(v):
    return f"{min(v):6.2f} / {statistics.median(v):6.2f}"


def aperture_part(repeat):
    from _realquadrant import bare_arrays
    q = bare_arrays()
    sub, det = q.sub, q.det
    rng = np.random.default_rng(13)
    x, y = rng.uniform(0, sub.shape[1] - 1, 1000), rng.uniform(0, sub.shape[0] - 1, 1000)
    overlap.aperture_sums(sub, x, y, 5.0, (10.0, 15.0), mask=det)

    def call(nt):
        return lambda: overlap.aperture_sums(sub, x, y, 5.0, (10.0, 15.0), mask=det,
                                             n_threads=nt)

    print("\n2. aperture sums, 1e3 positions (ms, min / median)")
    print(f"  {'idle':>6s} | {'1 thread':>15s} | {'2 thr. placed':>15s} | "
          f"{'2 thr. unplaced':>15s}")
    for pause in (0.0, 0.01, 0.1, 0.3):
        res = {"1": [], "placed": [], "unplaced": []}
        for _ in range(repeat):
            for key in res:
                time.sleep(pause)
                res[key].append(with_spread(key != "unplaced", call(1 if key == "1" else 2)))
        print(f"  {pause:5.2f}s | {fmt(res['1'])} | {fmt(res['placed'])} | "
              f"{fmt(res['unplaced'])}")


def runner_part(repeat):
    rng = np.random.default_rng(0)
    cube = rng.normal(100, 5, (30, 256 * 256)).astype(np.float32)
    weights, extra = np.ones(30), np.zeros((30, 1))
    section = rng.normal(0, 1, (600, 600)).astype(np.float32)
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float64)
    xx += 20.3
    yy += 30.7
    jobs = {"combine, median of 30 x 65536": lambda: _ckernel.combine(
                cube, weights, extra, True, 3.0, 5, 2),
            "bilinear resampling, 512 x 512": lambda: _ckernel.bilinear(
                section, xx, yy, 0, 0, 600, 600, 1e-6, 2)}
    print("\n3. the other kernels, 2 threads, 0.1 s idle (ms, min / median)")
    for name, fn in jobs.items():
        res = {"placed": [], "unplaced": []}
        for _ in range(repeat):
            for key in res:
                time.sleep(0.1)
                res[key].append(with_spread(key == "placed", fn))
        print(f"  {name:32s} placed {fmt(res['placed'])}   unplaced {fmt(res['unplaced'])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--host", action="store_true", help="also run the bare pthread test")
    args = ap.parse_args()
    if not _ckernel.HAVE_KERNEL:
        raise SystemExit("the C kernel is not built: pip install -e .")
    print(f"load average {os.getloadavg()[0]:.2f}; CPUs {sorted(os.sched_getaffinity(0))}")
    if args.host:
        host_test(8)
    aperture_part(args.repeat)
    runner_part(args.repeat)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
