"""The demo's simulated season: many frames of one field, calibrated, light curves and a
transient on difference images, all offline.

Each step writes its figure or table into the demo folder and records one
``(file, what it shows, the call that made it)`` line for ``report.txt``.
"""

from __future__ import annotations

import os
import tempfile
import time

from ._common import MAX_SEASON_FRAMES, MIN_SEASON_FRAMES, _log

__all__ = ["run_season", "run_transient", "MIN_SEASON_FRAMES", "MAX_SEASON_FRAMES"]



def _save(fig, path, dpi=80):
    import matplotlib.pyplot as plt
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def run_season(outdir, n_frames=24, size=400, seed=0, report=None, t0=None):
    """Simulate a season of one field and run the collection workflow on it.

    Parameters
    ----------
    outdir : str
        The demo folder (frames go to ``outdir/season``).
    n_frames : int, default 24
        Frames (nights) of the season.
    size : int, default 400
        Side of each frame, pixels.
    seed : int, default 0
    report : list, optional
        Receives ``(file name, what it shows, call)`` tuples.
    t0 : float, optional
        ``time.perf_counter()`` at the start of the demo (for the progress lines).

    Returns
    -------
    dict
        Paths written and summary numbers: ``zp_offset_rms`` (fitted minus injected zero
        points, mag), ``diff_rms`` (differential minus injected magnitudes of the variable,
        after removing the mean, mag), ``diff_amplitude`` and ``true_amplitude`` (half the
        peak-to-peak, mag).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from .. import simseries
    from ..collection import ImageCollection
    from ..lightcurves import forced_photometry

    report = [] if report is None else report
    t0 = time.perf_counter() if t0 is None else t0

    def step(msg):
        _log(f"[{time.perf_counter() - t0:5.1f} s] {msg}")

    out = {}
    step(f"season: simulating {n_frames} frames of {size}x{size} px of field 655 (seed {seed})")
    frames_dir = os.path.join(outdir, "season")
    s = simseries.simulate_series(frames_dir, n_frames, shape=(size, size), seed=seed,
                                  amplitude=0.3)
    tmp_cache = tempfile.TemporaryDirectory(prefix="ztfimg-demo-cache-")
    cache = tmp_cache.name
    s.ingest(cache_dir=cache)
    step(f"  its PS1-like catalogue ({len(s.catalog)} stars) ingested into a temporary "
         f"catalogue cache (removed at the end)")

    col = ImageCollection.from_files(s.files)
    headers = col.headers
    hcols = ["filename", "obsjd", "filtername", "fieldid", "ccdid", "qid", "exptime", "magzp",
             "clrcoeff", "seeing", "maglim", "airmass"]
    path = os.path.join(outdir, "season_headers.csv")
    headers[[c for c in hcols if c in headers]].to_csv(path, index=False)
    report.append(("season_headers.csv", "one row per frame of the season, from the FITS "
                   "headers only: time, filter, field/CCD/quadrant, MAGZP, seeing ...",
                   "ImageCollection.from_files(files).headers"))
    step(f"  collection of {len(col)} frames; headers table -> {path}")

    step("  calibrating every frame against the cached PS1-like catalogue (offline)")
    try:
        zp = col.calibrate("ps1", progress=False, cache_dir=cache, offline=True)
    finally:
        tmp_cache.cleanup()
    zp.insert(zp.columns.get_loc("zp") + 1, "injected_zp", s.frames["magzp"].to_numpy())
    zp.insert(zp.columns.get_loc("clrcoeff") + 1, "injected_clrcoeff",
              s.frames["clrcoeff"].to_numpy())
    path = os.path.join(outdir, "season_calibrate.csv")
    zp.drop(columns=["file"]).to_csv(path, index=False)
    good = zp["error"].isna().to_numpy()
    dzp = (zp["zp"] - zp["injected_zp"]).to_numpy()[good]
    out.update(calibrate=zp, zp_offset_rms=float(np.sqrt(np.mean(dzp**2))),
               zp_failed=int((~good).sum()))
    report.append(("season_calibrate.csv", "per-frame zero point and colour term fitted "
                   "against the catalogue, beside the injected ones (injected_zp, "
                   "injected_clrcoeff) and the header's", "ImageCollection.calibrate('ps1', "
                   "cache_dir=..., offline=True)"))
    step(f"  {int(good.sum())} of {len(zp)} frames calibrated: fitted - injected zero point "
         f"rms {out['zp_offset_rms']:.4f} mag (median {np.median(dzp):+.4f}) -> {path}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    mjd = zp["obsjd"].to_numpy() - 2400000.5
    ax1.errorbar(mjd[good], zp["zp"][good], zp["zp_err"][good], fmt="o", ms=4,
                 label="fitted (calibrate)")
    ax1.plot(mjd, zp["injected_zp"], "x", color="k", label="injected")
    ax1.set(xlabel="MJD (days)", ylabel="zero point (mag)", title="season: per-frame zero point")
    lo, hi = np.nanmin(zp["injected_zp"]), np.nanmax(zp["injected_zp"])
    ax1.set_ylim(lo - 0.05 * (hi - lo), hi + 0.3 * (hi - lo))
    ax1.legend(loc="upper center", ncol=2, fontsize=8)
    ax2.errorbar(zp["injected_zp"][good], dzp * 1000, zp["zp_err"][good] * 1000, fmt="o", ms=4)
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set(xlabel="injected zero point (mag)", ylabel="fitted - injected (mmag)",
            title=f"rms {1000 * out['zp_offset_rms']:.1f} mmag over {int(good.sum())} frames")
    fig.tight_layout()
    out["calibrate_png"] = _save(fig, os.path.join(outdir, "season_zeropoints.png"))
    report.append(("season_zeropoints.png", "left: fitted and injected zero point of every "
                   "frame against time; right: their difference", "ImageCollection.calibrate"))
    out.update(_stack(col, outdir, report, step))

    # light curves of the brighter stars near the field centre, the variable among them
    stars = s.stars
    ra0, dec0 = s.frames["ra"].mean(), s.frames["dec"].mean()
    half = 0.4 * size * 1.0 / 3600                    # ~1 arcsec pixels, away from the edges
    near = (np.abs((stars["ra"] - ra0) * np.cos(np.radians(dec0))) < half) & \
           (np.abs(stars["dec"] - dec0) < half)
    targets = stars[near & ((stars["mag"] < 18.5) | stars["variable"])]
    targets = targets[["objid", "ra", "dec", "mag", "colour", "variable"]].reset_index(drop=True)
    step(f"  forced aperture photometry of {len(targets)} stars on {len(col)} frames")
    lc = forced_photometry(col, targets, radius=[2, 3, 5], bkgann=(10, 15), progress=False)
    target = int(np.flatnonzero(lc.stars["variable"].to_numpy())[0])
    diff = lc.broeg2005(target=target)
    table = diff.get_lightcurve()
    table.to_csv(os.path.join(outdir, "season_differential.csv"), index=False)
    lc.to_parquet(os.path.join(outdir, "season_lightcurves.parquet"))

    truth = s.lightcurve.set_index("obsjd")["mag"]
    true_mag = truth.loc[lc.frames["obsjd"].to_numpy()].to_numpy()
    flux = np.asarray(table["flux"], float)
    ok = np.isfinite(flux) & (flux > 0)
    dmag = -2.5 * np.log10(flux[ok])
    resid = (dmag - np.mean(dmag)) - (true_mag[ok] - np.mean(true_mag[ok]))
    out.update(lightcurves=lc, differential=diff,
               diff_rms=float(np.std(resid)),
               diff_amplitude=float((dmag.max() - dmag.min()) / 2),
               true_amplitude=float((true_mag.max() - true_mag.min()) / 2),
               n_comparisons=int(len(diff.comparison_stars)))
    report.append(("season_differential.csv", "the variable star's differential light curve "
                   "(flux relative to the artificial comparison star, normalised to 1)",
                   "LightCurves.broeg2005(target=...).get_lightcurve()"))
    report.append(("season_lightcurves.parquet", "the forced photometry of every target star "
                   "on every frame (long form, DN, 3 apertures)",
                   "ztfimg.lightcurves.forced_photometry(collection, targets).to_parquet"))
    step(f"  differential photometry (Broeg 2005, {out['n_comparisons']} comparison stars): "
         f"semi-amplitude {out['diff_amplitude']:.3f} mag (injected {out['true_amplitude']:.3f}), "
         f"residual rms vs the truth {out['diff_rms']:.4f} mag")

    fig, axes = plt.subplots(3, 1, figsize=(8, 9.5))
    lc.plot(target, 1, ax=axes[0], colour="colour")
    axes[0].set_title("variable star, calibrated (zero point + colour term of each frame)")
    diff.plot(ax=axes[1])
    norm = 10 ** (-0.4 * (true_mag - np.mean(true_mag)))
    injected = norm / np.nanmedian(norm) * np.nanmedian(flux)
    axes[1].plot(table["mjd"], injected, "k+", ms=8, label="injected")
    axes[1].legend(fontsize=8)
    period, tmax = float(s.variable["period"]), float(s.variable["t0"]) - 2400000.5
    phase = ((np.asarray(table["mjd"], float) - tmax) / period) % 1.0
    axes[2].errorbar(phase, flux, np.asarray(table["flux_err"], float), fmt="o", ms=4,
                     label="differential (broeg2005)")
    axes[2].plot(phase, injected, "k+", ms=8, label="injected")
    axes[2].set(xlabel=f"phase (period {period:g} d, 0 = maximum light)",
                ylabel="differential flux", title="the same, folded on the injected period")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    out["lightcurve_png"] = _save(fig, os.path.join(outdir, "season_lightcurve.png"))
    report.append(("season_lightcurve.png", "top: the variable's calibrated magnitudes; "
                   "middle: its differential light curve with the injected one (+); bottom: folded "
                   "on the period",
                   "LightCurves.plot(target) and DifferentialPhotometry.plot()"))
    axes = diff.plot_comparisons()
    fig = axes.ravel()[0].figure if hasattr(axes, "ravel") else axes[0].figure
    out["comparisons_png"] = _save(fig, os.path.join(outdir, "season_comparisons.png"), dpi=80)
    report.append(("season_comparisons.png", "the comparison stars' own light curves against "
                   "the artificial star, with their Broeg weights",
                   "DifferentialPhotometry.plot_comparisons()"))
    return out


def _stack(col, outdir, report, step):
    """Stack the season's frames onto the first one's grid: stack.fits and stack.png."""
    import numpy as np

    from ..image import ScienceImage
    from .figures import stack_figure
    step(f"  stacking the {len(col)} frames onto the first one's grid and zero point")
    fits_path = os.path.join(outdir, "stack.fits")
    st = col.stack(combine="mean", sigma=3.0, output=fits_path, overwrite=True, progress=False)
    used = st.frames["used"].to_numpy(bool)
    scaled = (st.frames["rms"] * st.frames["scale"]).to_numpy()[used]
    full = st.count == st.count.max()
    deep = float(np.sqrt(np.median(st.variance[full])))
    png = stack_figure(st, ScienceImage.from_filename(col.files[0]),
                       os.path.join(outdir, "stack.png"))
    report.append(("stack.png", f"left: one frame; middle: the stack of {st.nframes} frames "
                   "(same display range: faint stars appear); right: frames per pixel, the "
                   f"pointings drift. Sky noise per pixel {np.median(scaled):.2f} DN in a frame, "
                   f"{deep:.2f} DN in the stack, at MAGZP {st.zeropoint:.3f}",
                   "ImageCollection.stack(combine='mean', sigma=3.0, output='stack.fits'); "
                   "Stack.show()"))
    report.append(("stack.fits", "the stack with its WEIGHT, EXPOSURE and COUNT maps; opens as "
                   "a ReferenceImage (MAGZP, NFRAMES, GLOBMED)",
                   "ImageCollection.stack(output=...); ztfimg.ReferenceImage('stack.fits')"))
    step(f"  stack of {st.nframes} frames: sky noise {deep:.2f} DN per pixel against "
         f"{np.median(scaled):.2f} DN in one frame (1/sqrt({st.nframes}) would be "
         f"{np.median(scaled) / np.sqrt(st.nframes):.2f}) -> {png}, {fits_path}")
    return {"stack_png": png, "stack_fits": fits_path, "stack_noise": deep,
            "frame_noise": float(np.median(scaled)), "stack_nframes": int(st.nframes)}


def run_transient(outdir, n_epochs=20, seed=0, report=None, t0=None):
    """Simulate a supernova on a galaxy and measure it on the difference images.

    Returns
    -------
    dict
        ``transient_png``, ``transient_csv``, ``n_detections``, ``n_limits`` and
        ``peak_mag`` / ``true_peak_mag`` (AB).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from .. import simtransient
    from ..collection import ImageCollection
    from ..lightcurves import transients

    report = [] if report is None else report
    t0 = time.perf_counter() if t0 is None else t0
    _log(f"[{time.perf_counter() - t0:5.1f} s] transient: simulating {n_epochs} epochs of a "
         "supernova on a galaxy (128x128 px, reference, difference images)")
    series = simtransient.simulate_transient_series(shape=(128, 128), n_epochs=n_epochs,
                                                    seed=seed, n_transients=1, nframes_ref=10)
    files = series.write(os.path.join(outdir, "transient"))
    col = ImageCollection.from_files(files["sciimg"].tolist(), kind="difference")
    h = series.hosts
    lc = col.forced_photometry(h["ra"].to_numpy(), h["dec"].to_numpy(), method="psf",
                               progress=False)
    lc = transients.baseline_correct(lc)
    table = transients.transient_table(lc, 0)
    path = os.path.join(outdir, "transient.csv")
    table.to_csv(path, index=False)
    det = table["is_detection"].to_numpy(bool)
    truth = series.truth
    ax = transients.plot_transient(lc, 0, title="supernova on difference images "
                                   "(PSF forced photometry)")
    tmjd = truth["mjd"].to_numpy()
    ax.plot(tmjd, truth["mag"], "k-", lw=1, alpha=0.6, label="injected")
    ax.legend(fontsize=8)
    png = _save(ax.figure, os.path.join(outdir, "transient.png"))
    mags = np.asarray(table["mag"], float)[det] if "mag" in table else np.array([])
    out = {"transient_csv": path, "transient_png": png, "n_detections": int(det.sum()),
           "n_limits": int((~det).sum()),
           "peak_mag": float(np.nanmin(mags)) if mags.size else float("nan"),
           "true_peak_mag": float(np.nanmin(truth["mag"]))}
    report.append(("transient.csv", "the transient's light curve as fitters take it: one row "
                   "per epoch, flux (uJy), AB magnitude or 5-sigma limit",
                   "ImageCollection(kind='difference').forced_photometry(method='psf'); "
                   "transients.baseline_correct; transients.transient_table"))
    report.append(("transient.png", "the transient: detections with error bars, limits as "
                   "arrows, the injected light curve as a line", "transients.plot_transient"))
    _log(f"[{time.perf_counter() - t0:5.1f} s]   {out['n_detections']} detections, "
         f"{out['n_limits']} limits; brightest {out['peak_mag']:.2f} AB mag (injected peak "
         f"{out['true_peak_mag']:.2f}) -> {path}, {png}")
    plt.close("all")
    return out
