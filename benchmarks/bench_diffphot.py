"""Benchmark: forced PSF photometry of 1, 100 and 1500 positions on one full-size difference frame.

Simulates one ZTF-size epoch (3080 x 3072) with :func:`ztfimg.simtransient.simulate_transient_series`
(stars, 20 transients on galaxies, the science frame, the reference PSF-matched, the
difference image written as ``*_scimrefdiffimg.fits.fz`` with its ``*_diffimgpsf.fits``), then
times, on positions drawn over the frame:

* ``DifferenceImage.forced_psf_photometry`` with its defaults (quintic-spline PSF, free
  background, the static sources' noise from the science frame, 9-pixel aperture fluxes):
  the first call on a freshly opened frame (reading, both sep backgrounds, the noise map,
  the aperture preparation) and then repeated
  calls ("warm");
* ``ztfimg.psfdiff.forced_psf_photometry`` alone on an array (scalar rms, no apertures): the
  fit itself;
* two reference routes on the same pixels, PSF and noise: a per-position loop with
  ``scipy.ndimage.shift`` (order 5) and ``numpy.linalg.lstsq`` (the closed form, no
  vectorisation), and photutils' ``PSFPhotometry`` with an ``ImagePSF`` of fixed position
  (the flux fitted by astropy's iterative fitter).

The warm timings are min and median of interleaved runs (the sizes and methods alternate,
so a load spike hits them alike); ``/proc/loadavg`` is printed before and after.  The
numbers go to ``benchmarks/_diffphot_section.md``.

Run:  python benchmarks/bench_diffphot.py [rounds]
"""

import os
import sys
import tempfile
import time

import numpy as np

from ztfimg import DifferenceImage, simtransient
from ztfimg.psfdiff import forced_psf_photometry

SIZES = (1, 100, 1500)
HERE = os.path.dirname(os.path.abspath(__file__))


def loadavg():
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "n/a"


def loop_scipy(data, var, x, y, psf, half=12):
    """Per-position reference: shift the PSF with ndimage.shift, weighted lstsq of a P + b."""
    from scipy import ndimage
    out = np.full(len(x), np.nan)
    c = (psf.image.shape[0] - 1) // 2
    for k, (xx, yy) in enumerate(zip(x, y)):
        xi, yi = int(np.floor(xx + 0.5)), int(np.floor(yy + 0.5))
        cut = data[yi - half:yi + half + 1, xi - half:xi + half + 1]
        v = var[yi - half:yi + half + 1, xi - half:xi + half + 1]
        p = ndimage.shift(np.pad(psf.image, 6), (yy - yi, xx - xi), order=5, mode="mirror")
        p = p[6 + c - half:6 + c + half + 1, 6 + c - half:6 + c + half + 1]
        yy_, xx_ = np.mgrid[-half:half + 1, -half:half + 1]
        good = (((xx_ + xi - xx) ** 2 + (yy_ + yi - yy) ** 2) <= half ** 2) & np.isfinite(cut)
        w = 1.0 / np.sqrt(v[good])
        A = np.column_stack([p[good], np.ones(good.sum())]) * w[:, None]
        out[k] = np.linalg.lstsq(A, cut[good] * w, rcond=None)[0][0]
    return out


def photutils_fixed(data, err, x, y, psf_image):
    """photutils PSFPhotometry with the positions fixed (flux only, per source)."""
    from astropy.table import Table
    from photutils.psf import ImagePSF, PSFPhotometry
    model = ImagePSF(psf_image, flux=1.0, x_0=12.0, y_0=12.0)
    model.x_0.fixed = True
    model.y_0.fixed = True
    phot = PSFPhotometry(model, fit_shape=(25, 25))
    init = Table({"x": x, "y": y, "flux": np.full(len(x), 100.0)})
    bad = ~np.isfinite(data)
    tab = phot(np.where(bad, 0.0, data), error=err, mask=bad, init_params=init)
    return np.asarray(tab["flux_fit"])


def timed(func):
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def main(rounds=5, seed=3):
    import photutils
    before = loadavg()
    print("load before:", before)
    t_sim, series = timed(lambda: simtransient.simulate_transient_series(
        shape=(3080, 3072), n_epochs=1, seed=seed, n_transients=20, t_explosion=2459290.0))
    tmp = tempfile.mkdtemp(prefix="bench_diffphot_")
    t_write, files = timed(lambda: series.write(tmp))
    path = files["diffimg"][0]
    print(f"simulated in {t_sim:.1f} s, written in {t_write:.1f} s: {os.path.basename(path)}")
    rng = np.random.default_rng(seed)
    pos = {n: (rng.uniform(30, 3040, n), rng.uniform(30, 3050, n)) for n in SIZES}

    # first calls, each on a freshly opened frame
    first = {}
    for n in SIZES:
        img = DifferenceImage.from_filename(path)
        first[n], _ = timed(lambda: img.forced_psf_photometry(*pos[n]))
    img = DifferenceImage.from_filename(path)
    img.forced_psf_photometry(*pos[1500])                     # warm: products made
    data = np.array(img.data, dtype=np.float32)
    noise = np.asarray(img.get_noise_map(), dtype=np.float64)
    rms = float(img.background.globalrms)
    psf = img.psf
    forced_psf_photometry(data, *pos[100], psf, rms=rms, aperture_radius=None)

    methods = {
        "frame": lambda n: img.forced_psf_photometry(*pos[n]),
        "array": lambda n: forced_psf_photometry(data, *pos[n], psf, rms=rms,
                                                 fit_background=True, aperture_radius=None),
        "scipy loop": lambda n: loop_scipy(data, noise ** 2, *pos[n], psf),
    }
    times = {(m, n): [] for m in methods for n in SIZES}
    for r in range(rounds):
        order = SIZES if r % 2 == 0 else SIZES[::-1]
        for n in order:
            for m, f in methods.items():
                dt, _ = timed(lambda: f(n))
                times[m, n].append(dt)
    pu = {}
    for n in (1, 100):
        pu[n] = [timed(lambda: photutils_fixed(data, noise, *pos[n], psf.image))[0]
                 for _ in range(max(1, rounds // 2))]
    pu[1500] = [timed(lambda: photutils_fixed(data, noise, *pos[1500], psf.image))[0]]

    # agreement of the fluxes on the 100 positions (same pixels, PSF and noise)
    rmap = np.asarray(img.background.rms, float)
    ours_b = forced_psf_photometry(data, *pos[100], psf, rms=rmap, fit_background=True,
                                   aperture_radius=None)
    ours_0 = forced_psf_photometry(data, *pos[100], psf, rms=rmap, aperture_radius=None)
    loop = loop_scipy(data, rmap ** 2, *pos[100], psf)
    put = photutils_fixed(data, rmap, *pos[100], psf.image)
    d_loop = np.nanmax(np.abs(ours_b["flux"] - loop) / ours_b["fluxerr"])
    d_pu = np.nanmedian(np.abs(ours_0["flux"] - put) / ours_0["fluxerr"])
    after = loadavg()
    print("load after:", after)

    lines = ["## Forced PSF photometry on a difference image (issue 13)", "",
             "`benchmarks/bench_diffphot.py`: one simulated ZTF-size difference frame "
             "(3080 x 3072, `*_scimrefdiffimg.fits.fz` RICE-compressed, 25 x 25 "
             "`*_diffimgpsf.fits`), positions drawn over the frame; 2 cores, "
             f"load average {before} before and {after} after (photutils "
             f"{photutils.__version__}). Seconds; "
             f"warm = min / median of {rounds} interleaved runs.", "",
             "| positions | first call on a fresh frame | frame, warm | psfdiff on the array "
             "| scipy per-position loop | photutils PSFPhotometry (fixed x, y) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for n in SIZES:
        def mm(v):
            return f"{min(v):.3f} / {np.median(v):.3f}"
        lines.append(f"| {n} | {first[n]:.2f} | {mm(times['frame', n])} | "
                     f"{mm(times['array', n])} | {mm(times['scipy loop', n])} | "
                     f"{mm(pu[n])} |")
    lines += ["",
              "* *frame*: `DifferenceImage.forced_psf_photometry` with its defaults (free "
              "background, static-source noise from the science frame, aperture fluxes). The "
              "first call pays the frame's one-off work: decompressing the .fz (~0.1 s), the "
              "sep backgrounds of the difference and of the science frame (~0.15 s each), "
              "and the noise map.",
              "* *psfdiff on the array*: the vectorised fit alone (scalar rms, no apertures).",
              f"* Same fluxes (100 positions, the same rms map as weights): the scipy loop "
              f"(a P + b) differs from `psfdiff` (`fit_background=True`) by at most "
              f"{d_loop:.1e} sigma; photutils (flux only, its own spline interpolation of "
              f"the PSF image) from `psfdiff` without background by a median {d_pu:.2f} "
              "sigma.", ""]
    text = "\n".join(lines)
    with open(os.path.join(HERE, "_diffphot_section.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
