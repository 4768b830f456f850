"""Benchmark: forced PSF photometry vs sep aperture photometry on a full ZTF-size frame.

Simulates a 3080 x 3072 quadrant (ZTF-like synthetic DAOPhot PSF, sky 150 DN,
gain 6.2 e-/DN, read noise 9 e-) with 10,000 stars, then times

* ``DAOPhotReader.render`` (drawing the stars),
* ``psf_photometry`` (amplitude + local sky, Poisson-weighted refit),
* ``sep.sum_circle`` with a radius equal to the PSF fit radius and a local sky
  annulus (the usual aperture photometry of the same stars),

and prints the times, their ratio to sep, and the flux accuracy of each.

Run:  python benchmarks/bench_psf.py [nstars]
"""

import sys
import time

import numpy as np
import sep

from ztfimg.dao import DAOPhotReader
from ztfimg.psfphot import psf_photometry


def best_of(func, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(nstars=10_000, seed=0):
    rng = np.random.default_rng(seed)
    ny, nx = 3080, 3072
    gain, rn, sky = 6.2, 9.0, 150.0
    psf = DAOPhotReader.synthetic(1.5, nexp=3, seed=seed)
    x = rng.uniform(20, nx - 21, nstars)
    y = rng.uniform(20, ny - 21, nstars)
    flux = 10 ** rng.uniform(3.0, 5.0, nstars)

    t_render, model = best_of(lambda: psf.render((ny, nx), x, y, flux), repeat=1)
    model += sky
    img = (rng.poisson(model * gain) / gain + rng.normal(0, rn / gain, model.shape)).astype(np.float32)
    rms = float(np.sqrt(sky / gain + (rn / gain) ** 2))
    radius = max(3.0, 1.5 * psf.fwhm)

    t_psf, tab = best_of(lambda: psf_photometry(img, x, y, psf, rms=rms, gain=gain,
                                                fit_radius=radius))
    data = np.ascontiguousarray(img, dtype=np.float64)
    t_sep, (f_sep, fe_sep, flag_sep) = best_of(
        lambda: sep.sum_circle(data, x, y, radius, err=rms, gain=gain,
                               bkgann=(radius + 3, radius + 8), subpix=0))
    t_sep0, _ = best_of(lambda: sep.sum_circle(data, x, y, radius, err=rms, gain=gain, subpix=0))
    # aperture fluxes corrected to total with the PSF's own curve of growth
    cog = float(psf.curve_of_growth(radius))
    f_sep_tot = f_sep / cog

    def stats(r):
        r = r[np.isfinite(r)]
        med = np.median(r)
        return med, 1.4826 * np.median(np.abs(r - med))

    bright = flux > 2e4
    rows = [
        ("render 1e4 stars (PSF)", t_render, None, None),
        ("psf_photometry (amp + sky)", t_psf, *stats((tab.flux / flux)[bright].to_numpy())),
        ("sep.sum_circle + annulus", t_sep, *stats((f_sep_tot / flux)[bright])),
        ("sep.sum_circle, no sky", t_sep0, None, None),
    ]
    print(f"{nstars} stars on a {ny}x{nx} frame; fit/aperture radius {radius:.2f} px; "
          f"accuracy on the {bright.sum()} stars with flux > 2e4 DN")
    print(f"{'method':32s} {'time [s]':>9s} {'ratio/sep':>10s} {'stars/s':>10s} "
          f"{'med f/ftrue':>12s} {'scatter':>8s}")
    for name, t, med, sc in rows:
        medtxt = f"{med:12.4f} {sc:8.4f}" if med is not None else f"{'':12s} {'':8s}"
        print(f"{name:32s} {t:9.3f} {t / t_sep:10.1f} {nstars / t:10.0f} {medtxt}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
