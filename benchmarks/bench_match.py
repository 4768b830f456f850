"""Benchmark: ztfimg.matching.match on random fields and on its worst cases.

    python benchmarks/bench_match.py [--n 100000] [--repeat 5] [--cases random,identical,cluster]
                                     [--impl path/to/matching.py]

Cases (run interleaved: every case once per repeat, in turn, so machine noise hits all alike):

* ``random``: ``--n`` x ``--n`` sources in a ZTF-quadrant-sized field (0.86 deg square at
  dec 30, ~1.4e5 sources/deg^2), list 2 = list 1 jittered by 0.3" and shuffled; radius
  ``--radius``.  Also timed: a bare cKDTree on unit vectors asking each source for its single
  nearest neighbour (not one-to-one: two sources may claim the same counterpart), the floor
  any matcher pays; ztfimg adds NaN handling, all candidates within the radius and the greedy
  one-to-one selection.
* ``identical``: ``--n-worst`` x ``--n-worst`` sources all at the same position (every pair is
  a candidate, every separation ties at 0), radius 1".
* ``cluster``: ``--n-worst`` sources uniform in a disc of 1" diameter matched against
  ``--n-worst`` others in the same disc, radius 1": every source is within the radius of
  every source of the other list.

Min and median wall times over ``repeat`` are printed per case.  ``--impl`` times the
``match`` of another copy of ``ztfimg/catalog.py`` (e.g. a saved earlier version), loaded with
importlib as a module of the installed ``ztfimg`` package.
"""

import argparse
import importlib.util
import statistics
import sys
import time

import numpy as np
from scipy.spatial import cKDTree


def bare_ckdtree(ra1, dec1, ra2, dec2, radius_arcsec):
    def xyz(ra, dec):
        ra, dec = np.radians(ra), np.radians(dec)
        return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])

    chord = 2 * np.sin(np.radians(radius_arcsec / 3600) / 2)
    d, j = cKDTree(xyz(ra2, dec2)).query(xyz(ra1, dec1), k=1, distance_upper_bound=chord)
    ok = np.isfinite(d)
    return np.flatnonzero(ok), j[ok], np.degrees(2 * np.arcsin(d[ok] / 2)) * 3600


def load_match(path):
    """``match`` from ``path`` (a copy of ztfimg/matching.py or an older catalog.py), or the installed one."""
    if path is None:
        from ztfimg.matching import match
        return match
    import ztfimg  # noqa: F401  (the parent package of the loaded copy)

    spec = importlib.util.spec_from_file_location("ztfimg._bench_catalog", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod.match


def random_case(n, seed=42):
    rng = np.random.default_rng(seed)
    ra1 = 150 + rng.uniform(0, 0.86, n) / np.cos(np.radians(30))
    dec1 = 30 + rng.uniform(0, 0.86, n)
    jitter = 0.3 / 3600
    ra2 = ra1 + rng.normal(0, jitter, n) / np.cos(np.radians(dec1))
    dec2 = dec1 + rng.normal(0, jitter, n)
    perm = rng.permutation(n)
    return ra1, dec1, ra2[perm], dec2[perm]


def identical_case(n):
    return np.full(n, 150.0), np.full(n, 30.0), np.full(n, 150.0), np.full(n, 30.0)


def cluster_case(n, seed=1):
    rng = np.random.default_rng(seed)

    def disc(m):  # uniform in a disc of 1" diameter around (150, 30)
        r = 0.5 * np.sqrt(rng.uniform(0, 1, m)) / 3600
        t = rng.uniform(0, 2 * np.pi, m)
        return 150 + r * np.cos(t) / np.cos(np.radians(30)), 30 + r * np.sin(t)

    return (*disc(n), *disc(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="sources per list, random case")
    ap.add_argument("--n-worst", type=int, default=2000,
                    help="sources per list, identical and cluster cases")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--radius", type=float, default=1.0, help="arcsec, random case")
    ap.add_argument("--cases", default="random,identical,cluster")
    ap.add_argument("--impl", default=None, help="path of a catalog.py to time instead")
    args = ap.parse_args()
    match = load_match(args.impl)

    data = {"random": (random_case(args.n), args.radius),
            "identical": (identical_case(args.n_worst), 1.0),
            "cluster": (cluster_case(args.n_worst), 1.0)}
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    runs = []  # (label, case, function)
    for case in cases:
        (ra1, dec1, ra2, dec2), radius = data[case]
        if case == "random":
            runs.append(("bare cKDTree (k=1, not 1-to-1)", case,
                         lambda a=(ra1, dec1, ra2, dec2, radius): bare_ckdtree(*a)))
        runs.append(("ztfimg.matching.match (1-to-1)", case,
                     lambda a=(ra1, dec1, ra2, dec2, radius): match(*a)))

    match(*identical_case(10), 1.0)  # first-call imports out of the timings
    bare_ckdtree(*identical_case(10), 1.0)
    times = {k: [] for k in range(len(runs))}
    pairs = {}
    for _ in range(args.repeat):
        for k, (_, _, fn) in enumerate(runs):
            t0 = time.perf_counter()
            i, j, _ = fn()
            times[k].append(time.perf_counter() - t0)
            pairs[k] = (len(i), len(np.unique(j)))

    print(f"repeat {args.repeat}, implementation: {args.impl or 'installed ztfimg'}")
    print(f"{'case':<26}{'method':<33}{'min [s]':>9}{'median [s]':>12}{'pairs':>9}"
          f"{'unique 2nd':>12}")
    sizes = {"random": f"random {args.n:,}^2 {args.radius}\"",
             "identical": f"identical {args.n_worst:,}^2",
             "cluster": f"cluster {args.n_worst:,}^2 in 1\""}
    med = {}
    for k, (label, case, _) in enumerate(runs):
        med[k] = statistics.median(times[k])
        print(f"{sizes[case]:<26}{label:<33}{min(times[k]):>9.3f}{med[k]:>12.3f}"
              f"{pairs[k][0]:>9,}{pairs[k][1]:>12,}")
    if "random" in cases:
        kb = next(k for k, r in enumerate(runs) if r[1] == "random" and r[0].startswith("bare"))
        kz = kb + 1
        print(f"random: ratio ztfimg / bare = {min(times[kz]) / min(times[kb]):.2f} (min), "
              f"{med[kz] / med[kb]:.2f} (median)")


if __name__ == "__main__":
    main()
