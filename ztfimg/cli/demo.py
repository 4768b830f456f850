"""``ztfimg demo``: the whole workflow on a built-in default, offline."""

from __future__ import annotations

import os
import time

from ._common import _check_frames, _check_seed, _check_size, _log
from . import figures
from .season import run_season, run_transient

#: Frames of the demo's simulated season (0: no season and no transient).
DEFAULT_FRAMES = 30
#: Side of the season's frames, pixels.
DEFAULT_SEASON_SIZE = 400

__all__ = ["run_demo", "DEFAULT_FRAMES", "DEFAULT_SEASON_SIZE"]


def run_demo(outdir="ztfimg-demo", real=False, size=None, seed=0, frames=DEFAULT_FRAMES,
             season_size=DEFAULT_SEASON_SIZE):
    """Run the demo pipeline and return a dict of what it produced.

    Two parts, offline. **One frame**: on a simulated quadrant (default), a PS1-like sky is drawn with a DAOPhot PSF (written
    beside the frame as IPAC does), then loaded, background-estimated, sources extracted,
    aperture and forced PSF photometry compared with the truth, and the zero point and
    colour term fitted against the "PS1" catalogue. With ``real=True`` the cached real
    quadrant is measured (no truth, no PSF file, no catalogue: offline). **A season**
    (``frames`` > 0): ``frames`` simulated nights of one field through
    :func:`ztfimg.simseries.simulate_series`, its catalogue ingested into a temporary
    catalogue cache; the collection's headers, every frame's zero point
    (``ImageCollection.calibrate``), forced photometry and Broeg differential photometry of
    a variable star, a stack of the season (``ImageCollection.stack``), then a supernova
    measured on difference images
    (:func:`ztfimg.simtransient.simulate_transient_series`, ``plot_transient``).
    ``report.txt`` in ``outdir`` says what each file shows and which call made it.

    Parameters
    ----------
    outdir : str, default 'ztfimg-demo'
        Output directory (created): ``frame.png``, ``stamps.png``, ``zeropoint.png``,
        ``photometry.png``/``.csv``, ``sources.csv``; with a season ``stack.png``/``.fits``,
        ``season_*`` and ``transient.*``; ``report.txt`` says what each shows.
    real : bool, default False
        Use the real sample quadrant (must be cached, see ``ztfimg fetch-data``).
    size : int, optional
        Side of a smaller simulated frame, :data:`MIN_DEMO_SIZE` to :data:`MAX_DEMO_SIZE`
        pixels (default: a full 3080x3072 quadrant).
    seed : int, default 0
        Seed of the simulation, a non-negative integer.
    frames : int, default 30
        Frames of the simulated season, 0 (no season, no transient) or 5 to 200.
    season_size : int, default 400
        Side of the season's frames, pixels.

    Returns
    -------
    dict
        Paths written and summary numbers.

    Raises
    ------
    InvalidParameterError
        If ``size`` or ``seed`` is out of range.
    OfflineError
        With ``real=True`` when the real quadrant is not cached.
    OSError
        If ``outdir`` cannot be created or written.
    """
    size = None if size is None else _check_size(size)
    seed = _check_seed(seed)
    frames = _check_frames(frames)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from astropy.stats import mad_std

    from .. import datasets, simulate
    from ..dao import DAOPhotPSF as DAOPhotReader
    from ..image import ScienceImage

    os.makedirs(outdir, exist_ok=True)
    out = {}
    t0 = time.perf_counter()
    truth = ps1 = None
    if real:
        sciimg, mskimg = datasets.get_real_quadrant(offline=True)
        _log(f"[  0.0 s] single frame: real ZTF quadrant {os.path.basename(sciimg)}")
    else:
        shape = (3080, 3072) if size is None else (int(size), int(size))
        radius = 0.45 * np.hypot(*shape) / np.hypot(3080, 3072) * 1.35
        ps1 = simulate.ps1_like_catalog(55.0608, 33.35, radius, int(16000 * np.pi * radius**2), seed=seed)
        psf = DAOPhotReader.synthetic(hwhm=1.0, seed=seed, xpsf=shape[1] / 2 - 0.5, ypsf=shape[0] / 2 - 0.5)
        frame = simulate.simulate_quadrant(shape=shape, seed=seed, catalog=ps1, psf=psf,
                                           magzp=26.25, clrcoeff=0.09)
        sciimg, mskimg = frame.write(os.path.join(outdir, "data"))[:2]
        truth = frame.truth
        del frame, psf                          # the frame is read back from its files
        _log(f"[{time.perf_counter() - t0:5.1f} s] single frame: simulated ZTF quadrant ({shape[1]}x{shape[0]}, {int(truth['inside'].sum())} stars "
             f"from a PS1-like catalogue, DAOPhot PSF, seed {seed}) written to {os.path.dirname(sciimg)}")
    img = ScienceImage.from_filename(sciimg)
    _log(repr(img))
    mask = img.get_mask()
    ra, dec = img.get_center("radec")
    _log(f"  centre RA {ra:.5f} Dec {dec:.5f} deg; masked pixels {int(mask.sum())} "
         f"({100 * mask.mean():.3f}%); gain {img.gain} e-/DN; saturation {img.saturation:.0f} DN")

    img.load_source_background()
    src = img.extract_sources(thresh=5, setmag=True)
    _log(f"  background {img.background.globalback:.2f} DN, rms {img.background.globalrms:.2f} DN; "
         f"{len(src)} sources at 5 sigma")
    src_path = os.path.join(outdir, "sources.csv")
    src.to_csv(src_path, index=False)
    out.update(image=img, sources=src_path)

    if truth is not None:
        t = truth[truth["inside"] & (truth["snr"] > 20)]
        t = t[t["x"].between(20, img.shape[1] - 21) & t["y"].between(20, img.shape[0] - 21)]
        ap = img.aperture_photometry(t["x"], t["y"], 5.0, apcor=True)
        pp = img.get_psf_photometry(t["x"], t["y"])
        table = figures.photometry_table(t, ap, pp)
        ok, okp = table["aper_flag"].to_numpy() == 0, table["psf_flag"].to_numpy() == 0
        ratio_ap = np.median((table["aper_flux"] / table["true_flux"]).to_numpy()[ok])
        ratio_psf = np.median((table["psf_flux"] / table["true_flux"]).to_numpy()[okp])
        pull = ((table["psf_flux"] - table["true_flux"]) / table["psf_fluxerr"]).to_numpy()[okp]
        _log(f"  {ok.sum()} bright stars: aperture (r=5 px + APCOR) / true flux = {ratio_ap:.4f}; "
             f"PSF fit / true flux = {ratio_psf:.4f} (pull robust std "
             f"{mad_std(pull):.2f})")
        phot_csv = os.path.join(outdir, "photometry.csv")
        table.to_csv(phot_csv, index=False)
        cx, cy = (img.shape[1] - 1) / 2, (img.shape[0] - 1) / 2
        psf_xy = (round(cx, 1), round(cy, 1))
        phot_png = figures.photometry_figure(
            table, img.psf.get_psf_at(*psf_xy, normalize=True), psf_xy,
            os.path.join(outdir, "photometry.png"))
        out.update(photometry_csv=phot_csv, photometry_png=phot_png, aperture_ratio=ratio_ap,
                   psf_ratio=ratio_psf, psf_pull_std=float(mad_std(pull)))
        img.set_catalog(ps1, "ps1", kind="ps1", inside_only=True)
        zp = img.fit_zeropoint("ps1")
        _log(f"  zero point vs PS1: {zp.zp:.4f} +- {zp.zp_err:.4f} (injected 26.25), colour term "
             f"{zp.clrcoeff:.4f} +- {zp.clrcoeff_err:.4f} (injected 0.09), {zp.nstars} stars, "
             f"rms {zp.rms:.3f} mag")
        axes = zp.show()
        fig = np.ravel(axes)[0].figure
        zpng = os.path.join(outdir, "zeropoint.png")
        fig.savefig(zpng, dpi=80, bbox_inches="tight")
        plt.close(fig)
        out.update(zeropoint=zp, zeropoint_png=zpng)
        overlay = "ps1"
    else:
        overlay = "sources"

    # the whole frame (block-averaged when large), and a 300 px zoom with marks circled
    marks = img.catalogs.get(overlay) if overlay != "sources" else img.sources
    png, factor = figures.frame_figure(img, marks, overlay, os.path.join(outdir, "frame.png"))
    unsaturated = (src["peak"] < 0.5 * img.saturation) if "peak" in src else True
    bright = src[(src["sep_flag"] == 0) & unsaturated].nsmallest(4, "mag")
    fig, axs = plt.subplots(1, len(bright), figsize=(3.8 * len(bright), 3.4))
    for axi, (_, row) in zip(np.ravel(axs), bright.iterrows()):
        img.get_stamp(row["x"], row["y"], dx=23).show(
            ax=axi, stretch="asinh", scale="percentile", percentile=(1, 99.9))
        axi.set_title(f"({row['x']:.1f}, {row['y']:.1f}), mag {row['mag']:.2f}", fontsize=9)
    fig.tight_layout()
    spng = os.path.join(outdir, "stamps.png")
    fig.savefig(spng, dpi=80, bbox_inches="tight")
    plt.close(fig)
    out.update(png=png, stamps_png=spng)
    shown = [png, spng] + [out[k] for k in ("zeropoint_png", "photometry_png") if k in out]
    _log(f"[{time.perf_counter() - t0:5.1f} s]   pictures: {', '.join(shown)}")
    img.drop_products()        # the pixels' derived products: recomputed if asked for again
    report = [
        ("frame.png", f"the {'real' if real else 'simulated'} frame (left"
         + (f", averaged in {factor}x{factor} px blocks" if factor > 1 else "")
         + f"; masked pixels blue) and a 300 px zoom at full resolution with the {overlay} "
         "circled (right)", "ztfimg.plotting.show_image(img.dataclean, overlay=...), as "
         "ScienceImage.show(overlay=...) draws it"),
        ("stamps.png", "the four brightest unflagged, unsaturated sources (asinh)", "ScienceImage.get_stamp(x, y)"
         ".show()"),
        ("sources.csv", f"the {len(src)} sources found at 5 sigma (x, y 0-based pixels, "
         "instrumental mag, sep flags)", "ScienceImage.extract_sources(thresh=5, setmag=True)")]
    if "photometry_png" in out:
        report[2:2] = [
            ("photometry.png", "left: IPAC-style DAOPhot PSF at the frame centre (log scale); "
             "middle: measured / true flux of the bright stars for aperture photometry "
             "(r=5 px, aperture-corrected) and the PSF fit; right: the PSF fit's pulls "
             f"against N(0, 1) (robust std {out['psf_pull_std']:.2f})",
             "ScienceImage.aperture_photometry(x, y, 5, apcor=True); "
             "ScienceImage.get_psf_photometry(x, y); ScienceImage.psf.get_psf_at(x, y)"),
            ("photometry.csv", "the same stars: true flux beside the aperture and PSF fluxes, "
             "errors and flags (DN)", "as photometry.png")]
    if "zeropoint_png" in out:
        report.insert(2, ("zeropoint.png", "the frame's zero-point fit against the PS1-like "
                          "catalogue: residuals against colour and magnitude",
                          "ScienceImage.fit_zeropoint('ps1').show()"))
    if frames:
        out.update(run_season(outdir, frames, season_size, seed, report, t0))
        out.update(run_transient(outdir, 20, seed, report, t0))
    out["report"] = _write_report(outdir, report, real, size, seed, frames, season_size)
    _log(f"done in {time.perf_counter() - t0:.1f} s: {len(report)} files in {outdir} "
         f"(see {out['report']})")
    return out


def _write_report(outdir, report, real, size, seed, frames, season_size):
    """Write ``report.txt``: one paragraph per output file (what it shows, which call)."""
    import textwrap
    lines = ["ztfimg demo: what each file in this folder shows and which call made it.", "",
             f"single frame: {'the cached real ZTF quadrant' if real else 'a simulated quadrant'}"
             + ("" if real else f" ({'3080x3072' if size is None else f'{size}x{size}'} px, "
                f"seed {seed})"),
             f"season: {frames} simulated frames of {season_size}x{season_size} px (0: none),"
             " and a 20-epoch transient on difference images", ""]
    for name, what, call in report:
        lines.append(name)
        lines += textwrap.wrap(what, 88, initial_indent="    ", subsequent_indent="    ")
        lines += textwrap.wrap(f"made by: {call}", 88, initial_indent="    ",
                               subsequent_indent="        ")
    path = os.path.join(outdir, "report.txt")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path

