"""Per-quadrant pipeline on the real ZTF quadrant: ztfimg vs bare sep/astropy vs photutils.

Steps: load (FITS -> native float32 + mask), background, source extraction at 5 sigma,
aperture photometry (r = 5 px) of every source with a sky annulus (8-12 px), pixel -> sky,
and a match of the sources to a PS1-like catalogue of the footprint (1 arcsec; bare: astropy
nearest neighbour, ztfimg: the catalogue projected on the frame with its isolation column,
then the one-to-one match).
Each variant runs ``--repeat`` times from a fresh object (no cache carried over), in the
same process, interleaved; the median is reported with ratios. Run:

    python benchmarks/bench_quadrant.py [--repeat 5]
"""

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import sep
from astropy.io import fits
from astropy.wcs import WCS

from ztfimg import ScienceImage, bitmask, datasets

SCI, MSK = datasets.get_real_quadrant(offline=True, verify=False)
RADIUS, ANNULUS = 5.0, (8.0, 12.0)
MATCH_RADIUS = 1.0  # arcsec


def ps1_like():
    """A PS1-like catalogue of the footprint: the frame's own 5-sigma sources (positions
    scattered by 0.08 arcsec, as PS1 vs ZTF) plus fainter random stars, ~2.5x as many."""
    from ztfimg import simulate
    z = ScienceImage(SCI, MSK)
    src = z.extract_sources(thresh=5.0, setmag=False)
    rng = np.random.default_rng(3)
    cosd = np.cos(np.radians(src["dec"].to_numpy()))
    scatter = 0.08 / 3600.0
    own = pd.DataFrame({"ra": src["ra"].to_numpy() + rng.normal(0, scatter, len(src)) / cosd,
                        "dec": src["dec"].to_numpy() + rng.normal(0, scatter, len(src))})
    ra, dec = z.get_center(system="radec")
    extra = simulate.ps1_like_catalog(ra, dec, z.get_footprint_radius(margin=0.02),
                                      int(1.5 * len(src)), seed=3)
    return pd.concat([own, extra[["ra", "dec"]]], ignore_index=True)


def bare(cat):
    from astropy.coordinates import SkyCoord
    import astropy.units as u
    t = {}
    t0 = time.perf_counter()
    with fits.open(SCI, memmap=True) as h:
        data = h[0].data.astype(np.float32)
        header = h[0].header
    with fits.open(MSK, memmap=True) as h:
        mask = h[0].data.astype(np.int16)
    bkgmask = (mask & int(bitmask.BACKGROUND_BITS)) != 0
    detmask = (mask & int(bitmask.DETECTION_BITS)) != 0
    t["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bkg = sep.Background(data, mask=bkgmask)  # sep defaults: 64x64 mesh, 3x3 filter
    sub = data - bkg.back()
    t["background"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    objs = sep.extract(sub, 5.0, err=bkg.globalrms, mask=detmask)
    t["extract"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # exact overlap (subpix=0), as ztfimg does; sep's default subpix=5 is approximate
    flux, fluxerr, flag = sep.sum_circle(sub, objs["x"], objs["y"], RADIUS, err=bkg.globalrms,
                                         gain=6.0, mask=detmask, bkgann=ANNULUS, subpix=0)
    t["aperture"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ra, dec = WCS(header).all_pix2world(objs["x"], objs["y"], 0)
    t["to_sky"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = SkyCoord(cat["ra"].to_numpy(), cat["dec"].to_numpy(), unit="deg")
    idx, d2d, _ = SkyCoord(ra, dec, unit="deg").match_to_catalog_sky(ref)
    matched = np.count_nonzero(d2d < MATCH_RADIUS * u.arcsec)
    t["match"] = time.perf_counter() - t0
    return t, len(objs), objs["x"], objs["y"], sub, detmask, matched


def ztfimg_pipeline(cat):
    t = {}
    t0 = time.perf_counter()
    z = ScienceImage(SCI, MSK)
    z.data, z.mask
    t["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    z.background
    t["background"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    src = z.extract_sources(thresh=5.0, setmag=False)  # includes ra/dec
    t["extract+to_sky"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    z.aperture_photometry(src["x"].to_numpy(), src["y"].to_numpy(), RADIUS, bkgann=ANNULUS)
    t["aperture"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    z.set_catalog(cat, "ps1")
    pairs = z.catalogs.match("sources", "ps1", radius=MATCH_RADIUS)
    t["match"] = time.perf_counter() - t0
    return t, len(src), len(pairs)


def photutils_aperture(x, y, sub, detmask):
    from photutils.aperture import (ApertureStats, CircularAnnulus, CircularAperture,
                                    aperture_photometry)
    t0 = time.perf_counter()
    pos = np.column_stack([x, y])
    ap = CircularAperture(pos, r=RADIUS)
    ann = CircularAnnulus(pos, r_in=ANNULUS[0], r_out=ANNULUS[1])
    sky = ApertureStats(sub, ann, mask=detmask, sum_method="exact").mean
    tab = aperture_photometry(sub, ap, mask=detmask, method="exact")
    _ = tab["aperture_sum"] - sky * ap.area
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sep.set_extract_pixstack(1_000_000)
    cat = ps1_like()
    from ztfimg import overlap
    overlap.circle_sums(np.zeros((8, 8), np.float32), [2.0], [2.0], 1.0)  # load the library
    runs = {"bare": [], "ztfimg": [], "photutils_ap": []}
    steps_b, steps_z = [], []
    for _ in range(args.repeat):
        tb, nb, x, y, sub, detmask, mb = bare(cat)
        steps_b.append(tb)
        runs["bare"].append(sum(tb.values()))
        tz, nz, mz = ztfimg_pipeline(cat)
        steps_z.append(tz)
        runs["ztfimg"].append(sum(tz.values()))
        runs["photutils_ap"].append(photutils_aperture(x, y, sub, detmask))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"sources: bare sep {nb}, ztfimg {nz}; matched to {len(cat)} catalogue stars: "
          f"bare (nearest) {mb}, ztfimg (one-to-one) {mz}")
    print("step medians (s):")
    for name, steps in (("bare", steps_b), ("ztfimg", steps_z)):
        print(f"  {name:7s} " + "  ".join(f"{k}={statistics.median([s[k] for s in steps]):.3f}"
                                         for k in steps[0]))
    bare_ap = statistics.median([s["aperture"] for s in steps_b])
    print(f"pipeline total (median of {args.repeat}): bare {med['bare']:.3f} s, ztfimg {med['ztfimg']:.3f} s,"
          f" ratio ztfimg/bare = {med['ztfimg'] / med['bare']:.2f}")
    best = {k: min(v) for k, v in runs.items()}
    print(f"pipeline total (best of {args.repeat}): bare {best['bare']:.3f} s, ztfimg {best['ztfimg']:.3f} s,"
          f" ratio ztfimg/bare = {best['ztfimg'] / best['bare']:.2f}")
    print(f"aperture step: sep {bare_ap:.4f} s, photutils {med['photutils_ap']:.4f} s, "
          f"ratio photutils/sep = {med['photutils_ap'] / bare_ap:.1f}")


if __name__ == "__main__":
    main()
