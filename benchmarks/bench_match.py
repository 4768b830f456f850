"""Benchmark: ztfimg.catalog.match vs a bare cKDTree nearest-neighbour query.

    python benchmarks/bench_match.py [--n 100000] [--repeat 5]

Both sides start from (ra, dec) arrays in degrees and end with index pairs
within 1 arcsec.  The bare version builds a cKDTree on unit vectors and asks
each source for its single nearest neighbour (not one-to-one: two sources may
claim the same counterpart).  ztfimg.catalog.match adds NaN handling, all
candidate pairs within the radius, and the greedy one-to-one selection.
Best-of-``repeat`` wall times are printed side by side with their ratio.
"""

import argparse
import time

import numpy as np
from scipy.spatial import cKDTree

from ztfimg.catalog import match


def bare_ckdtree(ra1, dec1, ra2, dec2, radius_arcsec):
    def xyz(ra, dec):
        ra, dec = np.radians(ra), np.radians(dec)
        return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])

    chord = 2 * np.sin(np.radians(radius_arcsec / 3600) / 2)
    d, j = cKDTree(xyz(ra2, dec2)).query(xyz(ra1, dec1), k=1, distance_upper_bound=chord)
    ok = np.isfinite(d)
    return np.flatnonzero(ok), j[ok], np.degrees(2 * np.arcsin(d[ok] / 2)) * 3600


def best_time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="sources per catalogue")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--radius", type=float, default=1.0, help="arcsec")
    args = ap.parse_args()

    rng = np.random.default_rng(42)
    n = args.n
    # a ZTF-quadrant-sized field (0.86 deg square) at dec 30: ~1.4e5 sources/deg^2
    ra1 = 150 + rng.uniform(0, 0.86, n) / np.cos(np.radians(30))
    dec1 = 30 + rng.uniform(0, 0.86, n)
    jitter = 0.3 / 3600
    ra2 = ra1 + rng.normal(0, jitter, n) / np.cos(np.radians(dec1))
    dec2 = dec1 + rng.normal(0, jitter, n)
    perm = rng.permutation(n)
    ra2, dec2 = ra2[perm], dec2[perm]

    t_bare, (bi, bj, _) = best_time(lambda: bare_ckdtree(ra1, dec1, ra2, dec2, args.radius),
                                    args.repeat)
    t_ztf, (zi, zj, _) = best_time(lambda: match(ra1, dec1, ra2, dec2, args.radius), args.repeat)

    print(f"{n:,} x {n:,} sources, radius {args.radius} arcsec, best of {args.repeat}")
    print(f"{'method':<34}{'time [s]':>10}{'pairs':>10}{'unique 2nd':>12}")
    print(f"{'bare cKDTree (k=1, not 1-to-1)':<34}{t_bare:>10.3f}{len(bi):>10,}"
          f"{len(np.unique(bj)):>12,}")
    print(f"{'ztfimg.catalog.match (1-to-1)':<34}{t_ztf:>10.3f}{len(zi):>10,}"
          f"{len(np.unique(zj)):>12,}")
    print(f"ratio ztfimg / bare = {t_ztf / t_bare:.2f}")


if __name__ == "__main__":
    main()
