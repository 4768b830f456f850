"""The ``ztfimg`` command line (also ``python -m ztfimg``).

Commands
--------
``ztfimg demo [--outdir DIR] [--real] [--size N]``
    The main job on a built-in default, offline: simulate a ZTF quadrant (or use the real
    sample quadrant with ``--real`` when it is cached), load it as a ScienceImage, measure it
    and write pictures and tables to ``DIR``.
``ztfimg info FILE [FILE ...]``
    One line per ZTF image: the ScienceImage summary.
``ztfimg fetch-data``
    Obtain the real sample quadrant into the cache (needs the Python package index).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

__all__ = ["main", "run_demo"]


def _log(msg):
    print(msg, flush=True)


def run_demo(outdir="ztfimg-demo", real=False, size=None, seed=0):
    """Run the demo pipeline and return a dict of what it produced.

    On a simulated quadrant (default): a PS1-like sky is drawn with a DAOPhot PSF (written
    beside the frame as IPAC does), then loaded, background-estimated, sources extracted,
    aperture and forced PSF photometry compared with the truth, and the zero point and
    colour term fitted against the "PS1" catalogue. With ``real=True`` the cached real
    quadrant is measured (no truth, no PSF file, no catalogue: offline).

    Parameters
    ----------
    outdir : str, default 'ztfimg-demo'
        Output directory (created): ``frame.png``, ``stamps.png``, ``zeropoint.png``,
        ``sources.csv``.
    real : bool, default False
        Use the real sample quadrant (must be cached, see ``ztfimg fetch-data``).
    size : int, optional
        Side of a smaller simulated frame (default: a full 3080x3072 quadrant).
    seed : int, default 0
        Seed of the simulation.

    Returns
    -------
    dict
        Paths written and summary numbers.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from astropy.stats import mad_std

    from . import datasets, simulate
    from .dao import DAOPhotPSF as DAOPhotReader
    from .image import ScienceImage

    os.makedirs(outdir, exist_ok=True)
    out = {}
    t0 = time.perf_counter()
    truth = ps1 = None
    if real:
        sciimg, mskimg = datasets.get_real_quadrant(offline=True)
        _log(f"real ZTF quadrant: {os.path.basename(sciimg)}")
    else:
        shape = (3080, 3072) if size is None else (int(size), int(size))
        radius = 0.45 * np.hypot(*shape) / np.hypot(3080, 3072) * 1.35
        ps1 = simulate.ps1_like_catalog(55.0608, 33.35, radius, int(16000 * np.pi * radius**2), seed=seed)
        psf = DAOPhotReader.synthetic(hwhm=1.0, seed=seed, xpsf=shape[1] / 2 - 0.5, ypsf=shape[0] / 2 - 0.5)
        frame = simulate.simulate_quadrant(shape=shape, seed=seed, catalog=ps1, psf=psf,
                                           magzp=26.25, clrcoeff=0.09)
        sciimg, mskimg = frame.write(os.path.join(outdir, "data"))[:2]
        truth = frame.truth
        _log(f"simulated ZTF quadrant ({shape[1]}x{shape[0]}, {int(truth['inside'].sum())} stars "
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
        ok = ap["aper_flag"].to_numpy() == 0
        ratio_ap = np.median(ap["sum_apcor"].to_numpy()[ok] / t["flux"].to_numpy()[ok])
        pp = img.get_psf_photometry(t["x"], t["y"])
        okp = pp["psf_flag"].to_numpy() == 0
        ratio_psf = np.median(pp["flux"].to_numpy()[okp] / t["flux"].to_numpy()[okp])
        pull = (pp["flux"].to_numpy() - t["flux"].to_numpy())[okp] / pp["fluxerr"].to_numpy()[okp]
        _log(f"  {ok.sum()} bright stars: aperture (r=5 px + APCOR) / true flux = {ratio_ap:.4f}; "
             f"PSF fit / true flux = {ratio_psf:.4f} (pull robust std "
             f"{mad_std(pull):.2f})")
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

    # the whole frame, and a 300 px zoom with the catalogue (or sources) circled
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 6))
    img.show(ax=ax1)
    marks = img.catalogs.get(overlay) if overlay != "sources" else img.sources
    cx, cy = img.get_center()
    x0, y0 = cx - 150, cy - 150
    zoom = marks[marks["x"].between(x0, x0 + 300) & marks["y"].between(y0, y0 + 300)]
    if "mag" in zoom:
        zoom = zoom[zoom["mag"] < 20]
    img.show(ax=ax2, overlay=zoom, title=f"zoom, {overlay} circled")
    ax2.set_xlim(x0, x0 + 300)
    ax2.set_ylim(y0, y0 + 300)
    ax1.add_patch(plt.Rectangle((x0, y0), 300, 300, fill=False, color="tab:orange", lw=1.5))
    png = os.path.join(outdir, "frame.png")
    fig.savefig(png, dpi=80, bbox_inches="tight")
    plt.close(fig)
    bright = src[(src["sep_flag"] == 0)].nsmallest(4, "mag")
    fig, axs = plt.subplots(1, len(bright), figsize=(3 * len(bright), 3))
    for axi, (_, row) in zip(np.ravel(axs), bright.iterrows()):
        img.get_stamp(row["x"], row["y"], dx=23).show(ax=axi)
        axi.set_title(f"mag {row['mag']:.2f}")
    spng = os.path.join(outdir, "stamps.png")
    fig.savefig(spng, dpi=80, bbox_inches="tight")
    plt.close(fig)
    out.update(png=png, stamps_png=spng)
    _log(f"  pictures: {png}, {spng}" + (f", {out['zeropoint_png']}" if "zeropoint_png" in out else ""))
    _log(f"done in {time.perf_counter() - t0:.1f} s")
    return out


def main(argv=None) -> int:
    """Entry point of the ``ztfimg`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="ztfimg", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    p_demo = sub.add_parser("demo", help="simulate (or load) a ZTF quadrant and measure it, offline")
    p_demo.add_argument("--outdir", default="ztfimg-demo", help="output directory (default ztfimg-demo)")
    p_demo.add_argument("--real", action="store_true", help="use the cached real sample quadrant")
    p_demo.add_argument("--size", type=int, default=None, help="side of a smaller simulated frame")
    p_demo.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    p_info = sub.add_parser("info", help="summarise ZTF image files")
    p_info.add_argument("files", nargs="+")
    sub.add_parser("fetch-data", help="obtain the real sample quadrant into the cache")
    args = parser.parse_args(argv)

    from .errors import ZTFImgError
    try:
        if args.command == "demo":
            run_demo(args.outdir, real=args.real, size=args.size, seed=args.seed)
        elif args.command == "info":
            from .image import ScienceImage
            for f in args.files:
                print(repr(ScienceImage(f)))
        elif args.command == "fetch-data":
            from . import datasets
            for path in datasets.get_real_quadrant():
                print(path)
        else:
            parser.print_help()
            return 2
    except ZTFImgError as exc:
        print(f"ztfimg: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
