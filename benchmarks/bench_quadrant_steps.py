"""Measure the level-1 steps on a full ZTF quadrant (3072 x 3080).

1. Background mesh: accuracy and speed of :func:`ztfimg.background.estimate_background`
   for several box/filter sizes, (a) on a simulated quadrant against its noise-free sky and
   (b) on the real quadrant by cross-validation (fit with 32x32-pixel blocks hidden every
   96 pixels, measure the median residual of each hidden block; the std of those medians
   has a floor of ~1.25 sigma / 32 from pixel noise alone).
2. Timing of the whole chain on the real quadrant, sep defaults (bw=64, subpix=5,
   sep's own bkgann mean) against ztfimg defaults (box 64, exact overlap, maskbits).

Run: ``python benchmarks/bench_quadrant_steps.py [--quick]`` (prints tables; ~1-2 min).
"""

import argparse
import time

import numpy as np
import sep
from astropy.io import fits

from ztfimg import datasets, simulate
from ztfimg.aperture import aperture_photometry
from ztfimg.background import estimate_background
from ztfimg.sources import extract_sources

NOT_SOURCE = ~np.int16((1 << 1) | (1 << 11))


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def load_real():
    sci, msk = datasets.get_real_quadrant(offline=True, verify=False)
    data = fits.getdata(sci).astype(np.float32)
    mask = fits.getdata(msk).astype(np.int16)
    return data, mask, fits.getheader(sci)


def holdout(shape, block=32, step=96):
    """Hidden blocks: ``block`` x ``block`` pixels every ``step`` pixels (11% of the frame)."""
    yy, xx = np.indices(shape)
    return ((yy % step) < block) & ((xx % step) < block)


def mesh_table(boxes, filters, repeat):
    frame = simulate.simulate_quadrant(seed=0)
    data, bmask = frame.data, frame.mask != 0
    sigma = float(np.sqrt(np.median(frame.sky) / frame.gain + (frame.readnoise / frame.gain) ** 2))
    real, rmask, _ = load_real()
    rb = rmask != 0
    hold = holdout(real.shape)
    good_hold = hold & ~rb
    yy, xx = np.indices(real.shape)
    blocks = (yy // 96) * (real.shape[1] // 96 + 1) + xx // 96
    sim_hold = hold & ~bmask & np.isfinite(data)
    print(f"simulated sky: mean {frame.sky.mean():.1f} DN, pixel noise {sigma:.2f} DN")
    print("box filt | sim: rms(back-sky)/sigma  max|..|/sigma  CV-resid(DN) | real: CV-resid(DN)  time(s)")
    rows = []
    for box in boxes:
        for filt in filters:
            t, bkg = best_of(lambda: estimate_background(data, bmask, box_size=box,
                                                         filter_size=filt), repeat)
            good = ~bmask
            diff = (bkg.back - frame.sky)[good]
            rms_err = float(np.sqrt(np.mean(diff ** 2)) / sigma)
            max_err = float(np.max(np.abs(diff)) / sigma)
            cv_sim = _cv(data, bmask | hold, sim_hold, blocks, box, filt)
            cv_real = _cv(real, rb | hold, good_hold, blocks, box, filt)
            rows.append((box, filt, rms_err, max_err, cv_sim, cv_real, t))
            print(f"{box:4d} {filt:3d}  | {rms_err:8.4f} {max_err:12.4f} {cv_sim:14.4f}   | "
                  f"{cv_real:12.4f} {t:10.3f}")
    return rows


def _cv(data, fitmask, evalmask, blocks, box, filt):
    """Std over the hidden 32x32 blocks of the median residual (data - back), DN."""
    bkg = estimate_background(data, fitmask, box_size=box, filter_size=filt)
    res = (data - bkg.back)[evalmask]
    lab = blocks[evalmask]
    order = np.argsort(lab, kind="stable")
    lab, res = lab[order], res[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    counts = np.diff(np.r_[starts, len(lab)])
    keep = counts > 200
    meds = np.array([np.median(res[s:s + c]) for s, c in zip(starts[keep], counts[keep])])
    return float(np.std(meds))


def chain_timing(repeat):
    data, mask, header = load_real()
    gain = float(header["GAIN"])
    bmask = mask != 0
    dmask = (mask & NOT_SOURCE) != 0

    def sep_defaults():
        bkg = sep.Background(data, mask=bmask)
        sub = data - bkg.back()
        obj = sep.extract(sub, 5.0, err=bkg.globalrms, mask=dmask)
        s = sep.sum_circle(sub, obj["x"], obj["y"], 3.0, err=bkg.globalrms, gain=gain,
                           mask=dmask, bkgann=(10.0, 15.0))
        return len(obj), s

    def ztfimg_defaults():
        bkg = estimate_background(data, bmask)
        sub = bkg.subtract(data)
        src = extract_sources(sub, err=bkg.globalrms, mask=dmask, gain=gain, bitmask=mask)
        phot = aperture_photometry(sub, src["x"], src["y"], 3.0, rms=bkg.globalrms, gain=gain,
                                   mask=dmask, bkgann=(10.0, 15.0))
        return len(src), phot

    for name, fn in (("sep defaults (bw=64, subpix=5)", sep_defaults),
                     ("ztfimg defaults (box=64, exact)", ztfimg_defaults)):
        t, (n, _) = best_of(fn, repeat)
        print(f"{name:36s}: {t:.3f} s  ({n} sources)")

    # the steps separately, ztfimg defaults
    t_b, bkg = best_of(lambda: estimate_background(data, bmask), repeat)
    sub = bkg.subtract(data)
    t_e, src = best_of(lambda: extract_sources(sub, err=bkg.globalrms, mask=dmask, gain=gain,
                                               bitmask=mask), repeat)
    t_m, _ = best_of(lambda: extract_sources(sub, err=bkg.rms, mask=dmask, gain=gain), repeat)
    t_a, _ = best_of(lambda: aperture_photometry(sub, src["x"], src["y"], 3.0, rms=bkg.globalrms,
                                                 gain=gain, mask=dmask, bkgann=(10.0, 15.0)),
                     repeat)
    t_a3, _ = best_of(lambda: aperture_photometry(sub, src["x"], src["y"], [2.0, 3.0, 5.0],
                                                  rms=bkg.globalrms, gain=gain, mask=dmask,
                                                  bkgann=(10.0, 15.0)), repeat)
    t_med, _ = best_of(lambda: aperture_photometry(sub, src["x"], src["y"], 3.0,
                                                   rms=bkg.globalrms, gain=gain, mask=dmask,
                                                   bkgann=(10.0, 15.0), sky_estimator="median"),
                       repeat)
    print(f"  estimate_background           {t_b:.3f} s")
    print(f"  extract_sources (scalar err)  {t_e:.3f} s  ({len(src)} sources, maskbits OR incl.)")
    print(f"  extract_sources (rms map)     {t_m:.3f} s")
    print(f"  aperture r=3, mean annulus    {t_a:.3f} s")
    print(f"  aperture r=2,3,5, mean ann.   {t_a3:.3f} s")
    print(f"  aperture r=3, median annulus  {t_med:.3f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer mesh sizes, one repeat")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    boxes = (64, 128, 256) if args.quick else (32, 48, 64, 96, 128, 192, 256, 384)
    filters = (3,) if args.quick else (3, 5)
    print("== background mesh ==")
    mesh_table(boxes, filters, repeat)
    print("\n== chain on the real quadrant ==")
    chain_timing(repeat)


if __name__ == "__main__":
    main()
