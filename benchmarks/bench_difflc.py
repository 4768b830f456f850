"""A long transient light curve: forced PSF photometry of one target over many difference frames.

``ztfimg.simtransient`` writes a field with one supernova on its host (``--frames`` epochs of
``--size`` px, their ``*_scimrefdiffimg.fits.fz``, ``*_diffimgpsf.fits``, masks and science
frames), then ``ImageCollection.from_files(sci, kind="difference").forced_photometry(ra, dec,
method="psf")`` runs serially and on a warm 2-worker ``ztfimg.collection.local_cluster``,
alternating (``--repeat`` rounds); frames/s, min and median, and the recovered fluxes
against the truth (pull statistics). Run::

    python benchmarks/bench_difflc.py [--frames 1000] [--size 256] [--repeat 2] [--keep DIR]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ztfimg import ImageCollection, simtransient  # noqa: E402
from ztfimg.collection import local_cluster  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--keep", default=None, help="directory for the frames (kept)")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="difflc-")
    t0 = time.perf_counter()
    series = simtransient.simulate_transient_series(
        shape=(args.size, args.size), n_epochs=args.frames, seed=7, cadence=1.0,
        peak_mag=(18.0, 18.0), fall=(60.0, 60.0))
    files = series.write(work)
    t_write = time.perf_counter() - t0
    host = series.hosts.iloc[0]
    col = ImageCollection.from_files(files["sciimg"].tolist(), kind="difference")
    print(f"{len(col)} difference frames of {args.size}x{args.size} written in {t_write:.0f} s "
          f"to {work}; load average {os.getloadavg()[0]:.2f}")

    def run(client):
        t = time.perf_counter()
        lc = col.forced_photometry(host["ra"], host["dec"], method="psf", client=client,
                                   progress=False)
        return time.perf_counter() - t, lc

    times = {"serial": [], "2 workers": []}
    from distributed import Client
    with local_cluster(2) as cluster, Client(cluster) as client:
        ImageCollection.from_files(files["sciimg"].tolist()[:8], kind="difference") \
            .forced_photometry(host["ra"], host["dec"], method="psf", client=client,
                               progress=False)   # warm the workers (imports)
        for _ in range(args.repeat):
            dt, lc_s = run(None)
            times["serial"].append(dt)
            dt, lc_p = run(client)
            times["2 workers"].append(dt)
    load = os.getloadavg()[0]
    same = np.array_equal(lc_s.flux, lc_p.flux, equal_nan=True)
    truth = series.truth.set_index("obsjd").loc[lc_s.frames["obsjd"].to_numpy(), "flux_dn"]
    flux, err = lc_s.flux[0, 0], lc_s.flux_err[0, 0]
    ok = (lc_s.flags[0, 0] == 0) & np.isfinite(flux)
    pull = (flux[ok] - truth.to_numpy()[ok]) / err[ok]
    print(f"load average at the end {load:.2f}; serial and 2-worker fluxes identical: {same}")
    for k, v in times.items():
        print(f"{k:10s}: {len(col) / min(v):7.1f} frames/s best, "
              f"{len(col) / statistics.median(v):7.1f} median ({min(v):.1f} / "
              f"{statistics.median(v):.1f} s for {len(col)} frames)")
    print(f"speed-up 2 workers / serial (median): "
          f"{statistics.median(times['serial']) / statistics.median(times['2 workers']):.2f}x")
    print(f"pulls vs truth over {ok.sum()} unflagged epochs: mean {pull.mean():+.3f}, "
          f"std {pull.std():.3f}")


if __name__ == "__main__":
    main()
